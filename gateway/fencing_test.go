package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"meetcoord/actors/store"
	"meetcoord/cmd/meetcoord/service/servicetest"
)

// TestStaleActivationWriteIsRefused: another activation took the room's epoch and its
// announcement was lost (pub/sub is best effort): the old activation still serves, but its next
// write is refused by the epoch check. It stops, and the request is retried on a fresh
// activation, which applies it on the newest state: the caller sees a success, nothing is lost.
func TestStaleActivationWriteIsRefused(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.Client(n.Token("alice", "alice@example.org", "Alice"))
	id := owner.CreateRoom(map[string]any{"name": "Fenced", "access_level": "restricted"}).ID
	first := n.Client("")
	if e := first.Do(http.MethodPost, servicetest.Path("rooms", id, "request-entry"), map[string]any{"username": "First"}).JSON(); e["status"] != "waiting" {
		t.Fatalf("first knock: %v", e)
	}

	// What a newer activation elsewhere does to the store, minus its announcement.
	opts, err := redis.ParseURL(n.Env["REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(opts)
	defer raw.Close()
	if err := raw.Incr(context.Background(), "meetcoord:room:"+id+":epoch").Err(); err != nil {
		t.Fatal(err)
	}

	second := n.Client("")
	res := second.Do(http.MethodPost, servicetest.Path("rooms", id, "request-entry"), map[string]any{"username": "Second"})
	if res.Status != http.StatusOK || res.JSON()["status"] != "waiting" {
		t.Fatalf("knock after the epoch moved: %d %s", res.Status, res.Body)
	}
	if fenced := n.Metric("meetcoord_room_fenced_total"); fenced != 1 {
		t.Fatalf("%v fenced writes, want the stale activation's one", fenced)
	}
	waiting := owner.Do(http.MethodGet, servicetest.Path("rooms", id, "waiting-participants"), nil).JSON()["participants"].([]any)
	if len(waiting) != 2 {
		t.Fatalf("waiting list after the retried knock: %v, want both participants", waiting)
	}
}

// TestAnnouncedActivationStopsTheOldOne: an activation announced by the store (as another node's
// would be) stops the local one at once, before it serves a stale read.
func TestAnnouncedActivationStopsTheOldOne(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.Client(n.Token("alice", "alice@example.org", "Alice"))
	id := owner.CreateRoom(map[string]any{"name": "Announced", "access_level": "restricted"}).ID
	owner.Do(http.MethodGet, servicetest.Path("rooms", id), nil) // active here

	other, err := store.NewRedis(n.Env["REDIS_URL"], 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// Another member's activation, whose address the store does not know: the room asks no
	// one to release it when it is activated here again.
	if _, err := other.Activate(context.Background(), id, ""); err != nil {
		t.Fatal(err)
	}
	servicetest.Eventually(t, 5*time.Second, "the old activation to stop", func() bool {
		return n.Metric("meetcoord_room_superseded_total") == 1
	})
	if res := owner.Do(http.MethodGet, servicetest.Path("rooms", id), nil); res.Status != http.StatusOK {
		t.Fatalf("room after its activation was superseded: %d %s", res.Status, res.Body)
	}
	if fenced := n.Metric("meetcoord_room_fenced_total"); fenced != 0 {
		t.Fatalf("%v fenced writes: the old activation should have stopped before writing", fenced)
	}
}
