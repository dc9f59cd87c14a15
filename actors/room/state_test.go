package room

import (
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"meetcoord/messages"
)

// fullRoom is a room with every part of its state set.
func fullRoom(now time.Time) *Room {
	r := &Room{
		lobby:    newLobby(lobbyTimeouts{waiting: 3 * time.Second, denied: 5 * time.Second, accepted: time.Hour}),
		presence: presence{},
	}
	r.record = &messages.RoomRecord{Id: "room", Name: "Board", Slug: "abc-defg-hij", PinCode: "0123456789"}
	r.lobby.knock("p1", "p1", "Guest", now)
	r.live, r.liveUpdatedAt = true, now.UnixMilli()
	r.appliedEvents = []string{"EV_1"}
	r.replies = []*messages.RememberedReply{{RequestId: "req", Reply: ack("ok")}}
	r.deleted = true
	r.subtitlesDispatched = true
	r.presence["alice"] = &messages.Presence{Identity: "alice", Present: true, AtUnixMs: 1}
	r.sipRuleID = "SDR_1"
	r.recordingWork().recordings = []*messages.Recording{{Id: "rec", RecordingStatus: statusActive, EgressId: "EG_1", Mode: modeTranscript}}
	r.recordingWork().metaStatus = "started"
	return r
}

// TestStatePersistsEveryField: every field of RoomState is written by state() and read back by
// load(), so that nothing the room knows is lost on a restart or a move. A field added to the
// snapshot but forgotten here fails this test.
func TestStatePersistsEveryField(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	state := fullRoom(now).state()
	// Read from snapshots written before lobby entries were stored apart (lobbystore.go).
	notFromState := map[protoreflect.Name]bool{"exact_deadlines": true, "lobby": true}
	fields := state.ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if !notFromState[f.Name()] && !state.ProtoReflect().Has(f) {
			t.Errorf("state() leaves RoomState.%s unset", f.Name())
		}
	}
	restored := &Room{lobby: newLobby(lobbyTimeouts{waiting: 3 * time.Second, denied: 5 * time.Second, accepted: time.Hour}), presence: presence{}}
	restored.load(state, now)
	if again := restored.state(); !proto.Equal(again, state) {
		t.Errorf("load() then state() differs:\n got  %v\n want %v", again, state)
	}
	if _, mode := restored.recordingMetadata(); mode != modeTranscript {
		t.Errorf("recording mode after load = %q, want %q", mode, modeTranscript)
	}
}

// state is the persisted form of the room, a copy the room's later changes do not touch.
func (r *Room) state() *messages.RoomState {
	s := r.stateSharing()
	s.Record = proto.CloneOf(r.record)
	return s
}

// TestChangesKeepTheRecordTheyStartedFrom: a change's before-image shares the room's record
// until the change modifies the record (changingRecord). Each command that modifies the record
// must leave the before-image as the room was, or a failed write would not be undone and the
// index would miss the change.
func TestChangesKeepTheRecordTheyStartedFrom(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	owner := &messages.User{Id: "owner"}
	member := &messages.User{Id: "member"}
	caller := &messages.Caller{User: owner}
	name := "Renamed"
	cases := []struct {
		name string
		run  func(r *Room, ch *change) *messages.RoomReply
	}{
		{"create access", func(r *Room, ch *change) *messages.RoomReply {
			return r.createAccess(&messages.CreateAccess{Caller: caller, User: &messages.User{Id: "new"}, Role: messages.Role_ROLE_MEMBER}, ch)
		}},
		{"update access", func(r *Room, ch *change) *messages.RoomReply {
			return r.updateAccess(&messages.UpdateAccess{Caller: caller, AccessId: "a-member", Role: messages.Role_ROLE_ADMINISTRATOR}, ch)
		}},
		{"delete access", func(r *Room, ch *change) *messages.RoomReply {
			return r.deleteAccess(&messages.DeleteAccess{Caller: caller, AccessId: "a-member"}, ch)
		}},
		{"participant role, existing access", func(r *Room, ch *change) *messages.RoomReply {
			r.setRoleOf(ch, member, messages.Role_ROLE_ADMINISTRATOR)
			return nil
		}},
		{"participant role, new access", func(r *Room, ch *change) *messages.RoomReply {
			r.setRoleOf(ch, &messages.User{Id: "participant"}, messages.Role_ROLE_MEMBER)
			return nil
		}},
		{"update room", func(r *Room, ch *change) *messages.RoomReply {
			return r.updateRoom(&messages.UpdateRoom{Caller: caller, Name: &name, AccessLevel: messages.AccessLevel_ACCESS_LEVEL_PUBLIC,
				Configuration: &messages.RoomConfiguration{EveryoneCanMute: proto.Bool(true)}}, ch)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := fullRoom(now)
			r.deps = &Deps{Config: Config{LiveKitAPIKey: "key", LiveKitAPISecret: "a-livekit-secret-of-at-least-32-bytes"}, Logger: slog.New(slog.DiscardHandler)}
			r.deleted = false
			r.record.AccessLevel = messages.AccessLevel_ACCESS_LEVEL_RESTRICTED
			r.record.Accesses = []*messages.Access{
				{Id: "a-owner", User: owner, Role: messages.Role_ROLE_OWNER},
				{Id: "a-member", User: member, Role: messages.Role_ROLE_MEMBER},
			}
			was := proto.CloneOf(r.record)
			ch := &change{now: now}
			r.changing(ch) // an earlier step of the same change, sharing the record
			if reply := tc.run(r, ch); reply.GetFailure() != nil {
				t.Fatalf("command failed: %v", reply.GetFailure())
			}
			if proto.Equal(r.record, was) {
				t.Fatal("the command changed nothing: the test checks nothing")
			}
			if !proto.Equal(ch.before.GetRecord(), was) {
				t.Errorf("before-image record\n got  %v\n want %v", ch.before.GetRecord(), was)
			}
		})
	}
}

// TestLoggerMadeOnceAcrossGoroutines: the room's logger is made on first use, and the room's
// LiveKit calls log from the outbox's goroutine while the actor logs from its own; under the race
// detector (make test) an unsynchronised first use fails this test.
func TestLoggerMadeOnceAcrossGoroutines(t *testing.T) {
	r := &Room{id: "room", deps: &Deps{Logger: slog.New(slog.DiscardHandler)}}
	loggers := make(chan *slog.Logger, 2)
	for range 2 {
		go func() { loggers <- r.logger() }()
	}
	if a, b := <-loggers, <-loggers; a != b || a != r.logger() {
		t.Fatalf("two loggers made for one room: %p and %p", a, b)
	}
}
