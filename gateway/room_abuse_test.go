package gateway_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// Issue 10, attack 5 (first half), as a caller from outside: one user cannot create rooms without
// bound; the limit is per user (others create on) and answers 429 with Retry-After.
func TestRoomCreationIsLimitedPerUser(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{"ROOM_CREATION_THROTTLE_RATES": "5/minute"})
	alice := n.NewUser("alice")
	bob := n.NewUser("bob")
	create := func(u servicetest.User) servicetest.Response {
		return u.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "flood-" + uuid.NewString()[:8]})
	}
	for i := range 5 {
		if res := create(alice); res.Status != http.StatusCreated {
			t.Fatalf("creation %d: %d %s", i+1, res.Status, res.Body)
		}
	}
	res := create(alice)
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("6th creation in a minute: %d %s, want 429", res.Status, res.Body)
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 || s > 12 {
		t.Fatalf("Retry-After %q, want 1 to 12 seconds (5/minute)", res.Header.Get("Retry-After"))
	}
	if res := create(bob); res.Status != http.StatusCreated {
		t.Fatalf("another user's creation: %d %s", res.Status, res.Body)
	}
	list := alice.Do(http.MethodGet, servicetest.Path("rooms"), nil)
	if count, _ := list.JSON()["count"].(float64); count != 5 {
		t.Fatalf("alice holds %v rooms, want 5", count)
	}
}

// A creation callback id names one creation: another user cannot take it over (calendar
// integrations poll it anonymously), and it is bounded in length.
func TestCreationCallbackIDIsBound(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := n.NewUser("alice")
	mallory := n.NewUser("mallory")
	callback := "cal-" + uuid.NewString()
	res := alice.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "standup-" + uuid.NewString()[:8], "callback_id": callback})
	if res.Status != http.StatusCreated {
		t.Fatalf("create with callback: %d %s", res.Status, res.Body)
	}
	roomID, _ := res.JSON()["id"].(string)
	res = mallory.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "phish-" + uuid.NewString()[:8], "callback_id": callback})
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "callback_id") {
		t.Fatalf("another user reusing the callback id: %d %s, want 400 on callback_id", res.Status, res.Body)
	}
	poll := n.Client("").Do(http.MethodPost, servicetest.Path("rooms", "creation-callback"), map[string]any{"callback_id": callback})
	room, _ := poll.JSON()["room"].(map[string]any)
	if room["id"] != roomID {
		t.Fatalf("callback answers %s, want alice's room %s", poll.Body, roomID)
	}
	long := strings.Repeat("c", 256)
	for _, path := range []string{servicetest.Path("rooms"), servicetest.Path("rooms", "creation-callback")} {
		res := alice.Do(http.MethodPost, path, map[string]any{"name": "x-" + uuid.NewString()[:8], "callback_id": long})
		if res.Status != http.StatusBadRequest {
			t.Fatalf("%s with a 256-byte callback id: %d %s, want 400", path, res.Status, res.Body)
		}
	}
}
