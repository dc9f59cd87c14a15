package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// Issue 10, attack 3, as a caller from outside: rotating the lobby cookie on every knock escapes
// the per-cookie limit, but every knock that creates an entry is also charged to the address;
// X-Forwarded-For counts only from TRUSTED_PROXIES.
func TestLobbyFloodFromOneAddressIsBounded(t *testing.T) {
	const allowance = 5
	cases := []struct {
		name    string
		env     map[string]string
		forward bool // each knock claims another X-Forwarded-For address
		admits  int  // new entries accepted out of 3*allowance knocks
	}{
		{"rotating cookies", nil, false, allowance},
		{"rotating cookies and forged X-Forwarded-For", nil, true, allowance},
		{"a trusted proxy's X-Forwarded-For", map[string]string{"TRUSTED_PROXIES": "127.0.0.0/8, ::1"}, true, 3 * allowance},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"REQUEST_ENTRY_THROTTLE_RATES": fmt.Sprintf("%d/minute", allowance)}
			for k, v := range tc.env {
				env[k] = v
			}
			n := servicetest.StartNode(t, env)
			owner := n.NewUserNamed("owner", "Olivia Owner")
			roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
			accepted, throttled := 0, 0
			for i := range 3 * allowance {
				var headers []string
				if tc.forward {
					headers = []string{"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1)}
				}
				res := lobbyRequestEntry(n.Client(""), roomID, "Flood", headers...) // a new cookie each time
				switch res.Status {
				case http.StatusOK:
					accepted++
				case http.StatusTooManyRequests:
					throttled++
				default:
					t.Fatalf("knock %d: %d %s", i, res.Status, res.Body)
				}
			}
			if accepted != tc.admits || throttled != 3*allowance-tc.admits {
				t.Fatalf("%d knocks accepted, %d throttled; want %d accepted", accepted, throttled, tc.admits)
			}
			if got := len(lobbyWaitingIDs(t, owner.Client, roomID)); got != tc.admits {
				t.Fatalf("%d entries in the admins' list, want %d", got, tc.admits)
			}
		})
	}
}

// A room holds at most LOBBY_MAX_WAITING waiting entries; those already waiting keep polling.
func TestLobbyMaxWaiting(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{"LOBBY_MAX_WAITING": "3", "LOBBY_WAITING_TIMEOUT": "60"})
	owner := n.NewUserNamed("owner", "Olivia Owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
	var guests []*servicetest.Client
	for range 3 {
		g := n.Client("")
		lobbyExpectStatus(t, lobbyKnock(t, g, roomID, "Guest"), "waiting")
		guests = append(guests, g)
	}
	res := lobbyRequestEntry(n.Client(""), roomID, "One too many")
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("4th waiting entry: %d %s, want 429", res.Status, res.Body)
	}
	for i, g := range guests {
		lobbyExpectStatus(t, lobbyKnock(t, g, roomID, "Guest"), "waiting")
		_ = i
	}
	// A decision frees a place.
	lobbyMustDecide(t, owner.Client, roomID, lobbyWaitingIDs(t, owner.Client, roomID)[0], false)
	lobbyExpectStatus(t, lobbyKnock(t, n.Client(""), roomID, "Next"), "waiting")
}

// A display name is 1 to 255 characters, at the lobby and on room retrieval.
func TestLobbyUsernameBounds(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.NewUserNamed("owner", "Olivia Owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
	public := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	long := strings.Repeat("é", 256)
	cases := []struct {
		name   string
		do     func() servicetest.Response
		status int
	}{
		{"knock with 256 characters", func() servicetest.Response { return lobbyRequestEntry(n.Client(""), roomID, long) }, 400},
		{"knock with 900 KB", func() servicetest.Response {
			return lobbyRequestEntry(n.Client(""), roomID, strings.Repeat("x", 900<<10))
		}, 400},
		{"knock with spaces only", func() servicetest.Response { return lobbyRequestEntry(n.Client(""), roomID, "   ") }, 400},
		{"knock with 255 characters", func() servicetest.Response { return lobbyRequestEntry(n.Client(""), roomID, long[2:]) }, 200},
		{"room retrieval with 256 characters", func() servicetest.Response {
			return n.Client("").Do(http.MethodGet, servicetest.Path("rooms", public)+"?username="+long, nil)
		}, 400},
		{"room retrieval with an empty name (the front end's way of saying none)", func() servicetest.Response {
			return n.Client("").Do(http.MethodGet, servicetest.Path("rooms", public)+"?username=", nil)
		}, 200},
		{"room retrieval with 255 characters", func() servicetest.Response {
			return n.Client("").Do(http.MethodGet, servicetest.Path("rooms", public)+"?username="+long[2:], nil)
		}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if res := tc.do(); res.Status != tc.status {
				t.Fatalf("%d %.200s, want %d", res.Status, res.Body, tc.status)
			}
		})
	}
	if ids := lobbyWaitingIDs(t, owner.Client, roomID); len(ids) != 1 {
		t.Fatalf("waiting %v, want only the valid knock", ids)
	}
}

// A caller who never returns the cookie gets a fresh allowance each time: such requests are
// charged to the address, also where nobody waits (a public room answers with a token at once).
func TestCookielessRequestsAreChargedToTheAddress(t *testing.T) {
	const allowance = 4
	n := servicetest.StartNode(t, map[string]string{"REQUEST_ENTRY_THROTTLE_RATES": fmt.Sprintf("%d/minute", allowance)})
	owner := n.NewUserNamed("owner", "Olivia Owner")
	public := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	answered := 0
	for range 3 * allowance {
		switch res := lobbyRequestEntry(n.Client(""), public, "No cookie"); res.Status {
		case http.StatusOK:
			answered++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("request-entry: %d %s", res.Status, res.Body)
		}
	}
	if answered != allowance {
		t.Fatalf("%d cookieless requests from one address answered, want %d", answered, allowance)
	}
}

// One address cannot take every place of a lobby: it holds at most LOBBY_MAX_WAITING_PER_ADDRESS
// waiting entries of a room, whatever cookies it uses; guests from elsewhere still get in line.
func TestLobbyPlacesPerAddress(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{
		"LOBBY_MAX_WAITING_PER_ADDRESS": "3", "LOBBY_WAITING_TIMEOUT": "60", "TRUSTED_PROXIES": "127.0.0.0/8",
	})
	owner := n.NewUserNamed("owner", "Olivia Owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
	from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }
	for i := range 3 {
		res := lobbyRequestEntry(n.Client(""), roomID, fmt.Sprint("Squatter ", i), from("203.0.113.7")...)
		lobbyExpectStatus(t, lobbyDecodeEntry(t, res), "waiting")
	}
	if res := lobbyRequestEntry(n.Client(""), roomID, "Squatter 4", from("203.0.113.7")...); res.Status != http.StatusTooManyRequests {
		t.Fatalf("4th waiting entry from one address: %d %s, want 429", res.Status, res.Body)
	}
	lobbyExpectStatus(t, lobbyKnock(t, n.Client(""), roomID, "Someone else"), "waiting") // from 127.0.0.1
	if got := len(lobbyWaitingIDs(t, owner.Client, roomID)); got != 4 {
		t.Fatalf("%d waiting, want 3 from the busy address and 1 from elsewhere", got)
	}
}
