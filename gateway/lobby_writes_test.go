package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"meetcoord/cmd/meetcoord/service/servicetest"
	"meetcoord/messages"
)

// TestLobbyDecisionStoreDown: a decision writes its lobby entry before it is answered; when the
// store cannot take it, the answer is 503 and the lobby is as it was (nothing half-applied).
func TestLobbyDecisionStoreDown(t *testing.T) {
	redisServer := servicetest.StartRedis(t)
	n := servicetest.StartNode(t, map[string]string{"REDIS_URL": redisServer.URL, "REDIS_TIMEOUT": "0.5", "LOBBY_WAITING_TIMEOUT": "60"})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID, admitted := restrictedRoomWithAdmitted(t, n, owner)
	waiting := n.Client("")
	waitingID := lobbyKnock(t, waiting, roomID, "Wanda").ID
	admittedID := lobbyKnock(t, admitted, roomID, "Guest").ID

	redisServer.Stop()
	decisions := []struct {
		id    string
		allow bool
	}{{waitingID, true}, {waitingID, false}, {admittedID, false}}
	for _, d := range decisions {
		if res := lobbyDecide(owner, roomID, d.id, d.allow); res.Status != http.StatusServiceUnavailable {
			t.Fatalf("decision (allow=%v) with Redis down: %d %s, want 503", d.allow, res.Status, res.Body)
		}
	}
	for _, c := range []struct {
		who    *servicetest.Client
		status string
	}{{waiting, "waiting"}, {admitted, "accepted"}} {
		if got := entryStatus(t, c.who, roomID); got != c.status {
			t.Errorf("after failed decisions: %s, want %s", got, c.status)
		}
	}
	if got := fmt.Sprint(lobbyWaitingIDs(t, owner, roomID)); got != fmt.Sprint([]string{waitingID}) {
		t.Errorf("waiting list after failed decisions %s, want [%s]", got, waitingID)
	}
}

// TestLobbyEntriesOfAnOldSnapshotMoveApart: a snapshot written before lobby entries were stored
// apart still carries them; they are honoured on activation, and the next write stores them
// apart and rewrites the snapshot without them.
func TestLobbyEntriesOfAnOldSnapshotMoveApart(t *testing.T) {
	redisServer := servicetest.StartRedis(t)
	n := servicetest.StartNode(t, map[string]string{"REDIS_URL": redisServer.URL})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	res := owner.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": servicetest.UniqueRoomName("Old"), "access_level": "restricted"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create room: %d %s", res.Status, res.Body)
	}
	roomID := res.JSON()["id"].(string)
	opts, err := redis.ParseURL(redisServer.URL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	stateKey, lobbyKey := "meetcoord:room:"+roomID+":state", "meetcoord:room:"+roomID+":lobby"
	readState := func() *messages.RoomState {
		t.Helper()
		data, err := rdb.Get(ctx, stateKey).Bytes()
		if err != nil {
			t.Fatalf("read snapshot: %v", err)
		}
		state := &messages.RoomState{}
		if err := proto.Unmarshal(data, state); err != nil {
			t.Fatalf("decode snapshot: %v", err)
		}
		return state
	}

	// The snapshot as an older version wrote it: with a waiting entry in it.
	state := readState()
	if len(state.GetLobby()) != 0 {
		t.Fatalf("a new snapshot carries lobby entries: %v", state.GetLobby())
	}
	const oldID = "0ld0ld00-0000-4000-8000-000000000001"
	state.Lobby = []*messages.LobbyEntry{{ParticipantId: oldID, Identity: oldID, Username: "Old Timer",
		Status: messages.EntryStatus_ENTRY_STATUS_WAITING, DeadlineUnixMs: time.Now().Add(time.Minute).UnixMilli()}}
	data, err := proto.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, stateKey, data, 0).Err(); err != nil {
		t.Fatal(err)
	}
	n.Restart() // a new activation reads it

	if got := fmt.Sprint(lobbyWaitingIDs(t, owner, roomID)); got != fmt.Sprint([]string{oldID}) {
		t.Fatalf("waiting list from an old snapshot %s, want [%s]", got, oldID)
	}
	newID := lobbyKnock(t, n.Client(""), roomID, "New Guest").ID
	if lobby := readState().GetLobby(); len(lobby) != 0 {
		t.Errorf("after the next write the snapshot still carries %d lobby entries", len(lobby))
	}
	stored, err := rdb.HKeys(ctx, lobbyKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(stored)
	want := []string{oldID, newID}
	slices.Sort(want)
	if !slices.Equal(stored, want) {
		t.Errorf("entries stored apart %v, want %v", stored, want)
	}
	if got := len(lobbyWaitingIDs(t, owner, roomID)); got != 2 {
		t.Errorf("%d waiting after the knock, want 2", got)
	}
}

// TestLobbyDecisionRepeatAfterRestart: a decision's answer is stored with it, so that a repeat of
// the request (its first answer lost as the node stopped) gets that answer from the next
// activation, even after the room changed, instead of running the decision again.
func TestLobbyDecisionRepeatAfterRestart(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{"LOBBY_WAITING_TIMEOUT": "60"})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID, _ := restrictedRoomWithAdmitted(t, n, owner)
	guestID := lobbyKnock(t, n.Client(""), roomID, "Wanda").ID
	decide := func() servicetest.Response {
		return owner.Do(http.MethodPost, servicetest.Path("rooms", roomID, "enter"),
			map[string]any{"participant_id": guestID, "allow_entry": true}, "Idempotency-Key", "admit-wanda")
	}
	if res := decide(); res.Status != http.StatusOK {
		t.Fatalf("admit: %d %s", res.Status, res.Body)
	}
	n.Restart() // the room's next activation reads what the decision stored
	if res := owner.Do(http.MethodPatch, servicetest.Path("rooms", roomID), map[string]any{"access_level": "public"}); res.Status != http.StatusOK {
		t.Fatalf("make the room public: %d %s", res.Status, res.Body)
	}
	res := decide()
	if msg, _ := res.JSON()["message"].(string); res.Status != http.StatusOK || msg != "Participant was allowed access to the room." {
		t.Fatalf("repeated admission after a restart: %d %s, want the first answer (200, allowed)", res.Status, res.Body)
	}
}
