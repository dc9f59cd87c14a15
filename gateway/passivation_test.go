package gateway_test

import (
	"net/http"
	"testing"
	"time"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// TestRoomsPassivateAndComeBack: idle rooms stop and re-activate from the store on their next
// message, and requests that race a grain's stop are answered promptly, never lost.
func TestRoomsPassivateAndComeBack(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{"ROOM_IDLE_TIMEOUT": "0.05"})
	owner := n.Client(n.Token("alice", "alice@example.org", "Alice"))
	worst := time.Duration(0)
	timed := func(method, path string, body any) servicetest.Response {
		start := time.Now()
		res := owner.Do(method, path, body)
		worst = max(worst, time.Since(start))
		return res
	}
	for i := range 20 {
		res := timed(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": servicetest.UniqueRoomName("Idle"), "access_level": "trusted"})
		id := res.JSON()["id"].(string)
		// Requests spaced around the idle timeout on the node's clock: some reach a live grain,
		// some a stopping one, some a fresh activation.
		for j := range 5 {
			n.Clock.Advance(time.Duration((i+j)%6*15) * time.Millisecond)
			if res := timed(http.MethodGet, servicetest.Path("rooms", id), nil); res.Status != http.StatusOK || res.JSON()["access_level"] != "trusted" {
				t.Fatalf("room after idling: %d %s", res.Status, res.Body)
			}
		}
		// A grain stops itself right after a delete; the next request reaches a new activation.
		timed(http.MethodDelete, servicetest.Path("rooms", id), nil)
		if res := timed(http.MethodGet, servicetest.Path("rooms", id), nil); res.Status != http.StatusNotFound {
			t.Fatalf("room after delete: %d, want 404", res.Status)
		}
	}
	if p := n.Metric("meetcoord_room_passivations_total"); p < 20 {
		t.Fatalf("%v passivations, want at least one per room", p)
	}
	// The request timeout is 10 s: a request lost in a stopping grain would wait for all of it.
	if worst > 5*time.Second {
		t.Fatalf("slowest request took %v: a request raced a stopping grain and waited for its timeout", worst)
	}
	t.Logf("slowest request: %v", worst)
}
