package gateway_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	roomactor "meetcoord/actors/room"
	"meetcoord/cmd/meetcoord/service/servicetest"
	"meetcoord/messages"
)

// stallFixture is a node on a Redis of the test's own, with a restricted room active on it and a
// guest waiting in its lobby.
type stallFixture struct {
	redis  *servicetest.RedisServer
	node   *servicetest.Node
	owner  *servicetest.Client
	guest  *servicetest.Client
	roomID string
}

func startStallFixture(t *testing.T) stallFixture {
	t.Helper()
	redisServer := servicetest.StartRedis(t)
	n := servicetest.StartNode(t, map[string]string{"REDIS_URL": redisServer.URL, "REDIS_TIMEOUT": "0.5"})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	id := owner.CreateRoom(map[string]any{"name": "Before the stall", "access_level": "restricted"}).ID
	guest := n.Client("")
	if got := entryStatus(t, guest, id); got != "waiting" {
		t.Fatalf("knock: %s, want waiting", got)
	}
	return stallFixture{redis: redisServer, node: n, owner: owner, guest: guest, roomID: id}
}

// moveElsewhere does to the store what a newer activation on another node does while this node
// stands still: it takes the next epoch and writes the room renamed and made public. Its
// announcement is lost (pub/sub is best effort, and the paused node's requests run before it
// arrives), so nothing tells this node's activation but the store.
func (f stallFixture) moveElsewhere(t *testing.T) {
	t.Helper()
	opts, err := redis.ParseURL(f.redis.URL)
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(opts)
	defer raw.Close()
	ctx := context.Background()
	epoch, err := raw.Incr(ctx, "meetcoord:room:"+f.roomID+":epoch").Result()
	if err != nil {
		t.Fatal(err)
	}
	data, err := raw.Get(ctx, "meetcoord:room:"+f.roomID+":state").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	state := &messages.RoomState{}
	if err := proto.Unmarshal(data, state); err != nil {
		t.Fatal(err)
	}
	state.Record.Name = "Renamed elsewhere"
	state.Record.AccessLevel = messages.AccessLevel_ACCESS_LEVEL_PUBLIC
	if data, err = proto.Marshal(state); err != nil {
		t.Fatal(err)
	}
	if _, err := f.node.Redis.Save(ctx, roomactor.Snapshot{RoomID: f.roomID, Epoch: epoch, State: data}); err != nil {
		t.Fatalf("the newer activation's write: %v", err)
	}
}

// TestStalledNodeChecksItsRoomsAreCurrent: after the node stood still (SIGSTOP beyond its
// membership lease, told here by hand), a room checks its epoch in the store before it answers
// from memory. Moved meanwhile, its old activation stops and the request is answered by a fresh
// one with the newer state, for queries and for commands that write nothing alike; still
// current, it answers as before; with the store unreachable, it answers 503, not what it holds.
func TestStalledNodeChecksItsRoomsAreCurrent(t *testing.T) {
	roomName := func(f stallFixture) (int, string) {
		res := f.owner.Do(http.MethodGet, servicetest.Path("rooms", f.roomID), nil)
		if res.Status != http.StatusOK {
			return res.Status, ""
		}
		return res.Status, res.JSON()["name"].(string)
	}
	guestPoll := func(f stallFixture) (int, string) {
		res := f.guest.Do(http.MethodPost, servicetest.Path("rooms", f.roomID, "request-entry"), map[string]any{"username": "Guest"})
		if res.Status != http.StatusOK {
			return res.Status, ""
		}
		return res.Status, res.JSON()["status"].(string)
	}
	tests := []struct {
		name      string
		moved     bool
		storeDown bool
		ask       func(stallFixture) (int, string)
		status    int
		answer    string
		stopped   float64 // stale activations stopped after the stall
	}{
		{"moved: room read (a query)", true, false, roomName, http.StatusOK, "Renamed elsewhere", 1},
		{"moved: lobby poll (a command that writes nothing)", true, false, guestPoll, http.StatusOK, "accepted", 1},
		{"still current: room read", false, false, roomName, http.StatusOK, "Before the stall", 0},
		{"still current: lobby poll", false, false, guestPoll, http.StatusOK, "waiting", 0},
		{"store unreachable: lobby poll", false, true, guestPoll, http.StatusServiceUnavailable, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startStallFixture(t)
			if tt.moved {
				f.moveElsewhere(t)
			}
			activations := f.node.Metric("meetcoord_room_activations_total")
			f.node.Stalls.Stall()
			if tt.storeDown {
				f.redis.Stop()
			}
			if status, answer := tt.ask(f); status != tt.status || answer != tt.answer {
				t.Fatalf("answer after the stall: %d %q, want %d %q", status, answer, tt.status, tt.answer)
			}
			if tt.storeDown {
				return
			}
			if got := f.node.Metric("meetcoord_room_stale_after_stall_total"); got != tt.stopped {
				t.Errorf("%v stale activations stopped after the stall, want %v", got, tt.stopped)
			}
			// Moved, the room was activated afresh; current, the old activation answered.
			if got := f.node.Metric("meetcoord_room_activations_total") - activations; got != tt.stopped {
				t.Errorf("%v activations after the stall, want %v", got, tt.stopped)
			}
		})
	}
}

// TestStallCheckCostsOneStoreReadPerStall: a room reads its epoch once after a stall, and never
// without one (the polls' fast path stays free of store calls).
func TestStallCheckCostsOneStoreReadPerStall(t *testing.T) {
	f := startStallFixture(t)
	commandsOfAPoll := func() int64 {
		before := f.redis.CommandsProcessed(t)
		if got := entryStatus(t, f.guest, f.roomID); got != "waiting" {
			t.Fatalf("poll: %s, want waiting", got)
		}
		return f.redis.CommandsProcessed(t) - before
	}
	ordinary := commandsOfAPoll()
	f.node.Stalls.Stall()
	if got := commandsOfAPoll(); got != ordinary+1 {
		t.Errorf("the first poll after a stall cost %d Redis commands, want %d (the epoch read)", got, ordinary+1)
	}
	for i := range 3 {
		if got := commandsOfAPoll(); got != ordinary {
			t.Errorf("poll %d after the check cost %d Redis commands, want %d as before the stall", i+1, got, ordinary)
		}
	}
}
