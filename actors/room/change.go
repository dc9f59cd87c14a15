package room

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// change is what one command changes, handed to its handler explicitly: the handler records in
// it the state before its first modification (changing), the index entries and LiveKit calls that
// go with the change, and the recording notices it makes due. commit stores it (with the lobby
// entries the command changed, which the lobby tracks itself, lobbystore.go) and only then lets
// its LiveKit calls and notices out; a failed write undoes it whole.
type change struct {
	now    time.Time           // the command's time: every deadline and timestamp it sets
	before *messages.RoomState // state before the first modification; nil: state unchanged
	// recordCopied: the room's record is a copy made for this change (changingRecord), so
	// before's record is the one the room had; until then the two share it.
	recordCopied bool
	extra        []IndexOp // index operations beyond those derived from the record (callback, recordings)
	effects      []effect  // LiveKit calls to make once the change is stored
	noticesDue   []string  // recordings saved by the change, to announce once it is stored
	clientSlug   string    // the slug a creation was asked for: taken, it is the client's error, not drawn again
	// repeatShowsRoom: a repeat of the request is answered with the room as its caller sees it
	// then, not with a kept copy of this reply (RememberedReply.room_view; commandShowing).
	repeatShowsRoom bool
	// presence: the change modified what LiveKit is the record of (who is in the room, when it
	// last said so), which is written behind (changingPresence).
	presence bool
}

// openChange starts the change of a command running at now.
func (r *Room) openChange(now time.Time) *change {
	r.lobby.beginCommand()
	return &change{now: now}
}

// changing marks the change as modifying the room's state, keeping what the state was so that a
// failed write can be undone. Call it before the first modification; before modifying the
// record in place, call changingRecord instead.
//
// The kept state shares the room's record: most changes (webhooks, recordings, presence) leave
// it alone, and cloning it for each was a visible part of what a webhook cost.
func (r *Room) changing(ch *change) {
	if ch.before == nil {
		ch.before = r.stateSharing()
	}
}

// changingPresence marks the change as modifying only what LiveKit is the record of: who is in
// the room and the time of the last event that said the room is live. Such a change is not
// written before its reply: it stays in memory and goes to the store with the room's next write
// or when the activation stops. A crash loses at most that, and LiveKit holds it: the next
// activation asks LiveKit who is in the room where it matters (telephony; afterActivation). A
// participant event was a snapshot write each, most of what a webhook cost (docs/performance.md,
// docs/decisions.md).
func (r *Room) changingPresence(ch *change) {
	ch.presence = true
	r.presenceUnsaved = true
}

// changingRecord is changing for a change that modifies the record in place: the room goes on
// with a copy of its record, the kept state keeps the record as it was.
func (r *Room) changingRecord(ch *change) {
	r.changing(ch)
	if !ch.recordCopied && r.record != nil {
		r.record = proto.CloneOf(r.record)
		ch.recordCopied = true
	}
}

// apply runs fn as one change of its own, at the clock's time, and commits it: the
// continuations of LiveKit calls and timers change state this way.
func (r *Room) apply(ctx actor.Context, requestID string, fn func(ch *change) *messages.RoomReply) *messages.RoomReply {
	ch := r.openChange(r.deps.Clock.Now())
	return r.commit(ctx, requestID, ch, fn(ch))
}
