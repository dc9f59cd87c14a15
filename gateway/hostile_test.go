package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// Values a hostile caller controls are bounded and validated before they reach a handler's
// arithmetic or the room's stored state.
func TestHostileRequestValuesAreRefused(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := n.NewUser("alice")
	anonymous := n.Client("")
	cases := []struct {
		name    string
		caller  *servicetest.Client
		method  string
		path    string
		body    any
		headers []string
		status  int
	}{
		// page*size overflowed: the handler panicked and the connection dropped.
		{"overflowing page, anonymous", anonymous, http.MethodGet, servicetest.Path("rooms") + "?page=461168601842738792", nil, nil, 400},
		{"overflowing page of recordings", alice.Client, http.MethodGet, servicetest.Path("recordings") + "?page=9223372036854775807", nil, nil, 400},
		{"negative page", alice.Client, http.MethodGet, servicetest.Path("rooms") + "?page=-3", nil, nil, 400},
		{"page past the end is empty", alice.Client, http.MethodGet, servicetest.Path("rooms") + "?page=1000000&page_size=100", nil, nil, 200},
		{"Idempotency-Key too long", alice.Client, http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "x"},
			[]string{"Idempotency-Key", strings.Repeat("k", 256)}, 400},
		{"Idempotency-Key not UTF-8", alice.Client, http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "x"},
			[]string{"Idempotency-Key", "key-\xff\xfe"}, 400},
		{"Idempotency-Key of 255 bytes", alice.Client, http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "y"},
			[]string{"Idempotency-Key", strings.Repeat("k", 255)}, 201},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.caller.Do(tc.method, tc.path, tc.body, tc.headers...)
			if res.Status != tc.status {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, res.Status, res.Body, tc.status)
			}
			if tc.status >= 400 {
				if _, ok := res.JSON()["detail"].(string); !ok {
					t.Fatalf("error without a detail: %s", res.Body)
				}
			}
		})
	}
}

// /readyz says which part is down, never the internal error (it names addresses and ports).
func TestReadyzNamesThePartNotTheError(t *testing.T) {
	redis := servicetest.StartRedis(t)
	n := servicetest.StartNode(t, map[string]string{"REDIS_URL": redis.URL})
	if res := n.Client("").Do(http.MethodGet, "/readyz", nil); res.Status != http.StatusOK {
		t.Fatalf("readyz with Redis up: %d %s", res.Status, res.Body)
	}
	redis.Stop()
	res := n.Client("").Do(http.MethodGet, "/readyz", nil)
	if res.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with Redis down: %d %s, want 503", res.Status, res.Body)
	}
	if detail, _ := res.JSON()["detail"].(string); detail != "store unavailable" {
		t.Fatalf("readyz detail %q, want \"store unavailable\"", detail)
	}
	port := strings.TrimSuffix(redis.URL[strings.LastIndex(redis.URL, ":")+1:], "/0")
	if strings.Contains(string(res.Body), port) || strings.Contains(string(res.Body), "127.0.0.1") {
		t.Fatalf("readyz shows internal addresses: %s", res.Body)
	}
}

// POST resource-accesses/ by a caller without a role on the room answers the same for a user id
// that exists and one that does not: no user-existence oracle.
func TestAccessCreationRevealsNoUser(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.NewUser("owner")
	mallory := n.NewUser("mallory")
	victim := n.NewUser("victim")
	room := owner.CreateRoom(map[string]any{"name": servicetest.UniqueRoomName("Private"), "access_level": "restricted"}).ID
	for _, user := range []string{victim.ID, "6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60"} {
		res := mallory.Do(http.MethodPost, servicetest.Path("resource-accesses"), map[string]any{"user": user, "resource": room, "role": "member"})
		if res.Status != http.StatusForbidden {
			t.Fatalf("grant of user %s by a caller without a role: %d %s, want 403 whether the user exists or not", user, res.Status, res.Body)
		}
	}
	// The owner still gets the precise answer.
	res := owner.Do(http.MethodPost, servicetest.Path("resource-accesses"), map[string]any{"user": "6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60", "resource": room, "role": "member"})
	if res.Status != http.StatusBadRequest {
		t.Fatalf("owner granting an unknown user: %d %s, want 400", res.Status, res.Body)
	}
}
