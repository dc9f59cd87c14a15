package room

// The room actor's ports: what it needs from the outside world, declared here where it is used,
// so that the adapters (Redis or memory store, LiveKit client, recording webhook) and the test
// stand-ins implement them without the actor knowing which one it talks to. Each adapter checks
// that it does with a compile-time guard beside its type.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/livekit/protocol/livekit"

	"meetcoord/messages"
)

// ErrFenced is returned by a store write whose activation epoch is no longer the newest: another
// activation of the same room has started since, and this one must stop writing.
var ErrFenced = errors.New("room activation is stale (fenced by a newer epoch)")

// ErrIndexTaken is returned by a save whose exclusive index entry (a slug) already points to
// another room. Nothing of that save was written.
var ErrIndexTaken = errors.New("index entry already taken by another room")

// IndexTakenError says which exclusive index entry a save collided on (errors.Is it
// ErrIndexTaken): a slug the client chose is the client's error, a random slug or PIN is drawn
// again.
type IndexTakenError struct {
	Index Index
	Key   string
}

func (e *IndexTakenError) Error() string {
	return fmt.Sprintf("%v (index %d, key %q)", ErrIndexTaken, e.Index, e.Key)
}

// Unwrap makes errors.Is(err, ErrIndexTaken) hold.
func (e *IndexTakenError) Unwrap() error { return ErrIndexTaken }

// ErrLiveKitNotFound is returned by LiveKit calls on a room that is not running or a
// participant or track that is not in it.
var ErrLiveKitNotFound = errors.New("not found on livekit")

// ErrLiveKitInvalid is returned by LiveKit calls that LiveKit refused as invalid (a value
// beyond its limits, such as a participant name too long): the caller's input, not an outage.
var ErrLiveKitInvalid = errors.New("livekit refused the request as invalid")

// Clock tells the time and runs the room's timers (passivation, reconciliation, knock notices),
// so that tests move time by hand instead of sleeping (the shape of tailscale's tstime.Clock).
type Clock interface {
	Now() time.Time
	// Since is the time passed since t.
	Since(t time.Time) time.Duration
	// AfterFunc calls f once d has passed, on a goroutine that is not the actor's: the room's
	// timers only send the room a message, which it handles in turn with the rest.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer of a Clock.
type Timer interface {
	// Stop prevents the timer from firing; false when it had already fired or been stopped.
	Stop() bool
	// Reset makes the timer fire d from now (again, when it has fired).
	Reset(d time.Duration) bool
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// Since returns the time passed since t.
func (SystemClock) Since(t time.Time) time.Duration { return time.Since(t) }

// AfterFunc is time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Index names a secondary index that room actors maintain beside their snapshots, so that the
// gateway can find rooms without asking every actor.
type Index int

const (
	// IndexUserRooms: per user, the summaries of the rooms where they hold a role.
	IndexUserRooms Index = iota + 1
	// IndexSlug: slug -> room id.
	IndexSlug
	// IndexCallback: creation callback id -> room id, for a limited time.
	IndexCallback
	// IndexAccess: resource access id -> room id.
	IndexAccess
	// IndexPin: telephony PIN -> room id (PINs are unique across rooms).
	IndexPin
	// IndexUserRecordings: per user, the recordings they started or of rooms they own, by
	// recording id (Field).
	IndexUserRecordings
	// IndexRecording: recording id -> room id, so that a recording nobody lets the caller see
	// is told apart from one that does not exist.
	IndexRecording
	// IndexRoomAccesses: room id -> the room's accesses (encoded messages.AccessList, in
	// Summary), so that resource-accesses/ is answered without activating rooms.
	IndexRoomAccesses
)

// IndexOp is one change to an index, applied atomically with the snapshot it comes with.
type IndexOp struct {
	Index     Index
	Key       string        // user id, slug, callback id, access id, PIN or recording id
	Field     string        // IndexUserRecordings: the recording id
	Summary   []byte        // hash indexes: the entry for this user (or this room's accesses)
	TTL       time.Duration // pointer indexes: 0 means no expiry
	Remove    bool          // remove the entry (pointers only if they still point to this room)
	Exclusive bool          // pointer put fails with ErrIndexTaken when held by another room
}

// Snapshot is a room's persisted state as a store holds it.
type Snapshot struct {
	RoomID string
	Epoch  int64
	// Holder is the address of the member whose activation writes: a room's first save records
	// it as the room's holder (see Activation.Holders).
	Holder string
	State  []byte        // encoded messages.RoomState
	TTL    time.Duration // 0: kept until overwritten; tombstones of deleted rooms expire
	Index  []IndexOp
	Lobby  *LobbyChange // lobby entries changed with the snapshot (nil: none), applied atomically with it
}

// LobbyChange is what a command changed in a room's lobby. The entries are kept apart from the
// snapshot, one per participant id, so that a knock or a decision writes one entry, whatever the
// number of participants waiting.
type LobbyChange struct {
	Put    []LobbyEntryPut // entries created or changed
	Remove []string        // participant ids whose entries are gone (removed or expired)
	// TTL is how long the room's stored entries are kept after this write, all together: the
	// longest life left to any of them, so that an abandoned room leaves nothing behind. 0 means
	// that no entry is left: every stored entry of the room is removed (Put and Remove unused).
	TTL time.Duration
}

// LobbyEntryPut is one stored lobby entry: its participant id and the encoded
// messages.LobbyEntriesRecord.
type LobbyEntryPut struct {
	ParticipantID string
	Record        []byte
}

// Activation is a room's stored state as a new activation takes it over.
type Activation struct {
	Epoch int64
	State []byte // nil: no such room
	// Holders are the addresses of the other members whose activations held the room before
	// this one and were not yet seen to let it go, newest first. The new activation asks each to
	// release the room (messages.ReleaseRoom) before it answers anything: members' views of the
	// membership can disagree for a while, and an older activation that still believes it owns
	// the room would answer reads from memory that the newer one has made stale.
	Holders []string
}

// Store persists room snapshots with fencing. It is used only by room actors.
type Store interface {
	// Activate takes a new epoch for a stored room (fencing out every older activation),
	// records holder (this member's address) as the room's newest holder and returns the stored
	// state with the earlier holders. For a room never stored it returns epoch 0 and nil state
	// without writing anything, so that looking up unknown ids leaves no trace.
	Activate(ctx context.Context, roomID, holder string) (Activation, error)
	// SoleHolder records that every earlier holder let the room go, so that holder alone holds
	// it; nothing changes if epoch is no longer the room's newest.
	SoleHolder(ctx context.Context, roomID string, epoch int64, holder string) error
	// DropHolder removes holder from the room's holders: its activation (at epoch) stopped.
	// Nothing changes if epoch is no longer the room's newest: the newer activation's record
	// stands (a late removal must not erase a holder that came back since).
	DropHolder(ctx context.Context, roomID string, epoch int64, holder string) error
	// Save writes the snapshot and its index changes atomically, or returns ErrFenced when the
	// snapshot's epoch is not the room's newest. The first save of a room never stored before is
	// made with epoch 0 and succeeds only if no other activation stored it first; the store then
	// returns the room's first real epoch, which the activation keeps.
	Save(ctx context.Context, s Snapshot) (epoch int64, err error)
	// SaveLobbyEntries writes a lobby change alone, without the snapshot, fenced like Save
	// (ErrFenced when epoch is not the room's newest; the room must have been saved before).
	SaveLobbyEntries(ctx context.Context, roomID string, epoch int64, change LobbyChange) error
	// LobbyEntries returns the room's stored lobby entries (encoded messages.LobbyEntriesRecord),
	// read once on activation.
	LobbyEntries(ctx context.Context, roomID string) ([][]byte, error)
	// Epoch returns the room's newest epoch, without taking a new one: 0 for a room never stored
	// (or whose tombstone expired). An activation whose node stood still compares it with its own.
	Epoch(ctx context.Context, roomID string) (int64, error)
}

// LiveKit is what a room actor asks of the LiveKit server.
type LiveKit interface {
	// SendData sends a reliable data message to every participant of the room.
	SendData(ctx context.Context, room string, payload []byte) error
	// UpdateRoomMetadata replaces the LiveKit room's metadata; ErrLiveKitNotFound when the
	// room is not running.
	UpdateRoomMetadata(ctx context.Context, room string, metadata string) error
	// MutePublishedTrack mutes a participant's published track.
	MutePublishedTrack(ctx context.Context, room, identity, trackSID string) error
	// UpdateParticipant changes a participant's name, metadata, attributes or permission.
	UpdateParticipant(ctx context.Context, room, identity string, update ParticipantUpdate) error
	// RemoveParticipant disconnects a participant from the room.
	RemoveParticipant(ctx context.Context, room, identity string) error
	// DispatchAgent asks LiveKit to send the named agent to the room.
	DispatchAgent(ctx context.Context, room, agentName string) error
	// ListParticipants lists who is in the room (ErrLiveKitNotFound when it is not running).
	ListParticipants(ctx context.Context, room string) ([]Participant, error)
	// SIPDispatchRuleIDs lists the ids of the SIP dispatch rules with this name.
	SIPDispatchRuleIDs(ctx context.Context, name string) ([]string, error)
	// CreateSIPDispatchRule creates a rule sending dial-in callers with the PIN to the room.
	CreateSIPDispatchRule(ctx context.Context, name, room, pin string) (id string, err error)
	// DeleteSIPDispatchRule deletes a rule; a rule already gone is not an error.
	DeleteSIPDispatchRule(ctx context.Context, id string) error
	// StartRoomCompositeEgress records the room into a file named after the recording id.
	StartRoomCompositeEgress(ctx context.Context, room string, audioOnly bool, recordingID string) (egressID string, err error)
	// StopEgress stops an egress and returns the status LiveKit answered with.
	StopEgress(ctx context.Context, egressID string) (livekit.EgressStatus, error)
	// Egress returns the egress's current information (ErrLiveKitNotFound when unknown).
	Egress(ctx context.Context, egressID string) (*livekit.EgressInfo, error)
}

// RecordingNotifier tells an outside service that a recording is saved (rooms.md: "when
// external notification of recordings is configured and succeeds, notification_succeeded").
type RecordingNotifier interface {
	// RecordingSaved delivers the notice; nil means the service took it.
	RecordingSaved(ctx context.Context, n RecordingNotice) error
}

// RecordingNotice is what the outside is told of a saved recording: the recording, its room,
// and the room's owners (who the recording is for).
type RecordingNotice struct {
	Recording *messages.Recording
	Room      *messages.RoomRecord
	Owners    []*messages.User
}

// Participant is one participant of a LiveKit room.
type Participant struct {
	Identity string
	SIP      bool // a dial-in caller, who does not keep a room "occupied"
}

// ParticipantUpdate is what UpdateParticipant may change; nil fields stay as they are.
type ParticipantUpdate struct {
	Name       *string
	Metadata   *string
	Attributes map[string]string
	Permission *livekit.ParticipantPermission
}
