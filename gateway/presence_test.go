package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"meetcoord/cmd/meetcoord/service/servicetest"
	"meetcoord/messages"
)

// storedState is the room's stored snapshot.
func storedState(t *testing.T, n *servicetest.Node, roomID string) *messages.RoomState {
	t.Helper()
	data, err := n.Redis.Client().Get(context.Background(), "meetcoord:room:"+roomID+":state").Bytes()
	if err != nil {
		t.Fatalf("read the room's snapshot: %v", err)
	}
	state := &messages.RoomState{}
	if err := proto.Unmarshal(data, state); err != nil {
		t.Fatalf("decode the room's snapshot: %v", err)
	}
	return state
}

// storedParticipants is who the room's stored snapshot says is in the LiveKit room.
func storedParticipants(t *testing.T, n *servicetest.Node, roomID string) []string {
	t.Helper()
	state := storedState(t, n, roomID)
	var ids []string
	for _, p := range state.GetParticipants() {
		if p.GetPresent() {
			ids = append(ids, p.GetIdentity())
		}
	}
	return ids
}

// TestParticipantsWrittenBehind: who is in the LiveKit room is LiveKit's record, applied in
// memory at once and written with the room's next write or when its activation stops, not one
// snapshot write per participant event (docs/decisions.md). A stopping node leaves it stored.
func TestParticipantsWrittenBehind(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID := owner.CreateRoom(map[string]any{"name": "Presence", "access_level": "public"}).ID
	joined := func(identity string, at time.Time) {
		t.Helper()
		res := n.PostWebhook(&livekit.WebhookEvent{
			Event: "participant_joined", Id: "EV_" + uuid.NewString(), CreatedAt: at.Unix(),
			Room: &livekit.Room{Name: roomID}, Participant: &livekit.ParticipantInfo{Identity: identity},
		})
		if res.Status != http.StatusOK {
			t.Fatalf("participant_joined of %s: %d %s", identity, res.Status, res.Body)
		}
	}
	now := time.Now()
	joined("alice", now) // the room goes live: a write, with alice
	if got := storedParticipants(t, n, roomID); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("stored participants after the room went live = %v, want [alice]", got)
	}
	joined("bob", now.Add(time.Second)) // presence alone: kept in memory
	if got := storedParticipants(t, n, roomID); len(got) != 1 {
		t.Fatalf("stored participants right after bob joined = %v, want alice alone (written behind)", got)
	}

	// A new LiveKit session's start is stored at once: a retried room_finished of the session
	// before must find it after a crash.
	startedAt := now.Add(2 * time.Second)
	if res := n.PostWebhook(&livekit.WebhookEvent{Event: "room_started", Id: "EV_" + uuid.NewString(), CreatedAt: startedAt.Unix(),
		Room: &livekit.Room{Name: roomID}}); res.Status != http.StatusOK {
		t.Fatalf("room_started: %d %s", res.Status, res.Body)
	}
	if got := storedState(t, n, roomID).GetLiveUpdatedUnixMs(); got != startedAt.Unix()*1000 {
		t.Fatalf("stored liveness time after room_started = %d, want %d", got, startedAt.Unix()*1000)
	}

	n.Restart() // a clean stop writes what is in memory
	if got := storedParticipants(t, n, roomID); len(got) != 2 || got[0] != "alice" || got[1] != "bob" {
		t.Fatalf("stored participants after a clean stop = %v, want [alice bob]", got)
	}
}
