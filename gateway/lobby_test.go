package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// Black-box tests of the lobby (rooms.md "Lobby", "LiveKit tokens"; api.md "Lobby"): who gets
// in directly, the knock / poll / admit / deny cycle with its deadlines, the participant cookie,
// the LiveKit grants, the "someone is waiting" notifications and the request-entry rate limit.
// Every top-level test shares one node between its subtests; every case uses a room of its own.
// Lobby deadlines follow the node's manual clock (waiting 3 s, denied 5 s by default).

const lobbyCookieName = "lobbyParticipantId"

var lobbyDefaultSources = []string{"camera", "microphone", "screen_share", "screen_share_audio"}

// lobbySettle is how long a test waits, once the expected notifications have arrived, before
// asserting that no further one was sent.
const lobbySettle = 200 * time.Millisecond

func lobbyWebhook(t *testing.T, n *servicetest.Node, kind, roomID string) {
	t.Helper()
	res := n.PostWebhook(&livekit.WebhookEvent{
		Event: kind, Id: "EV_" + uuid.NewString(), CreatedAt: time.Now().Unix(), Room: &livekit.Room{Name: roomID},
	})
	if res.Status != http.StatusOK {
		t.Fatalf("%s webhook: %d %s", kind, res.Status, res.Body)
	}
}

// lobbyGoLive makes the LiveKit room live (notifications are sent only then).
func lobbyGoLive(t *testing.T, n *servicetest.Node, roomID string) {
	t.Helper()
	lobbyWebhook(t, n, "room_started", roomID)
}

type lobbyLiveKit struct {
	URL   string `json:"url"`
	Room  string `json:"room"`
	Token string `json:"token"`
}

type lobbyEntry struct {
	ID       string        `json:"id"`
	Status   string        `json:"status"`
	Username string        `json:"username"`
	Color    string        `json:"color"`
	LiveKit  *lobbyLiveKit `json:"livekit"`
}

func lobbyRequestEntry(c *servicetest.Client, roomID, username string, headers ...string) servicetest.Response {
	return c.Do(http.MethodPost, servicetest.Path("rooms", roomID, "request-entry"), map[string]any{"username": username}, headers...)
}

func lobbyDecodeEntry(t *testing.T, res servicetest.Response) lobbyEntry {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("request-entry: %d %s", res.Status, res.Body)
	}
	var e lobbyEntry
	if err := json.Unmarshal(res.Body, &e); err != nil {
		t.Fatalf("request-entry body %s: %v", res.Body, err)
	}
	return e
}

// lobbyKnock sends a request-entry and decodes the 200 answer.
func lobbyKnock(t *testing.T, c *servicetest.Client, roomID, username string) lobbyEntry {
	t.Helper()
	return lobbyDecodeEntry(t, lobbyRequestEntry(c, roomID, username))
}

func lobbyExpectStatus(t *testing.T, e lobbyEntry, status string) {
	t.Helper()
	if e.Status != status {
		t.Fatalf("entry %s: status %q, want %q", e.ID, e.Status, status)
	}
	if (status == "accepted") != (e.LiveKit != nil) {
		t.Fatalf("entry %s (%s): livekit %+v; want it present only when accepted", e.ID, e.Status, e.LiveKit)
	}
}

func lobbyWaiting(t *testing.T, c *servicetest.Client, roomID string) []lobbyEntry {
	t.Helper()
	res := c.Do(http.MethodGet, servicetest.Path("rooms", roomID, "waiting-participants"), nil)
	if res.Status != http.StatusOK {
		t.Fatalf("waiting-participants: %d %s", res.Status, res.Body)
	}
	var body struct {
		Participants []lobbyEntry `json:"participants"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil || body.Participants == nil {
		t.Fatalf("waiting-participants body %s: %v", res.Body, err)
	}
	return body.Participants
}

func lobbyWaitingIDs(t *testing.T, c *servicetest.Client, roomID string) []string {
	t.Helper()
	var ids []string
	for _, e := range lobbyWaiting(t, c, roomID) {
		if e.Status != "waiting" {
			t.Errorf("waiting-participants lists %s with status %q", e.ID, e.Status)
		}
		ids = append(ids, e.ID)
	}
	return ids
}

func lobbyDecide(c *servicetest.Client, roomID, participantID string, allow bool) servicetest.Response {
	return c.Do(http.MethodPost, servicetest.Path("rooms", roomID, "enter"),
		map[string]any{"participant_id": participantID, "allow_entry": allow})
}

func lobbyMustDecide(t *testing.T, c *servicetest.Client, roomID, participantID string, allow bool) {
	t.Helper()
	res := lobbyDecide(c, roomID, participantID, allow)
	if res.Status != http.StatusOK {
		t.Fatalf("enter %s allow=%v: %d %s", participantID, allow, res.Status, res.Body)
	}
	if msg, _ := res.JSON()["message"].(string); msg == "" {
		t.Fatalf("enter: no message in %s", res.Body)
	}
}

// lobbyClaims verifies a LiveKit token with the node's key and secret and returns its grants.
func lobbyClaims(t *testing.T, n *servicetest.Node, token string) *auth.ClaimGrants {
	t.Helper()
	v, err := auth.ParseAPIToken(token)
	if err != nil {
		t.Fatalf("parse livekit token: %v", err)
	}
	if v.APIKey() != n.Env["LIVEKIT_API_KEY"] {
		t.Fatalf("livekit token issued by %q, want %q", v.APIKey(), n.Env["LIVEKIT_API_KEY"])
	}
	_, grants, err := v.Verify(n.Env["LIVEKIT_API_SECRET"])
	if err != nil {
		t.Fatalf("verify livekit token: %v", err)
	}
	if grants.Video == nil {
		t.Fatal("livekit token without video grant")
	}
	return grants
}

// lobbyCheckAccess checks a livekit {url, room, token} block and returns the token's grants.
func lobbyCheckAccess(t *testing.T, n *servicetest.Node, lk *lobbyLiveKit, roomID, identity string) *auth.ClaimGrants {
	t.Helper()
	if lk == nil {
		t.Fatal("no livekit access")
	}
	if lk.Room != roomID || lk.URL == "" || lk.Token == "" {
		t.Fatalf("livekit access %+v; want room %s, a url and a token", lk, roomID)
	}
	g := lobbyClaims(t, n, lk.Token)
	if g.Video.Room != roomID || !g.Video.RoomJoin {
		t.Fatalf("video grant room=%q roomJoin=%v; want %s, true", g.Video.Room, g.Video.RoomJoin, roomID)
	}
	if g.Identity != identity {
		t.Fatalf("token identity %q, want %q", g.Identity, identity)
	}
	return g
}

func lobbyBool(p *bool) string {
	if p == nil {
		return "unset"
	}
	return strconv.FormatBool(*p)
}

var lobbyColorPattern = regexp.MustCompile(`^hsl\((\d+), (\d+)%, (\d+)%\)$`)

func lobbyCheckColor(t *testing.T, color string) {
	t.Helper()
	m := lobbyColorPattern.FindStringSubmatch(color)
	if m == nil {
		t.Fatalf("color %q is not hsl(h, s%%, l%%)", color)
	}
	h, _ := strconv.Atoi(m[1])
	s, _ := strconv.Atoi(m[2])
	l, _ := strconv.Atoi(m[3])
	if h > 360 || s < 50 || s > 75 || l < 25 || l > 60 {
		t.Fatalf("color %q out of range (hue 0-360, saturation 50-75, lightness 25-60)", color)
	}
}

// lobbyNotifications counts the participantWaiting messages sent to a room, failing on any
// message to it that is not exactly {"type":"participantWaiting"}.
func lobbyNotifications(t *testing.T, n *servicetest.Node, roomID string) int {
	t.Helper()
	count := 0
	for _, d := range n.LiveKit.Data() {
		if d.Room != roomID {
			continue
		}
		var payload map[string]any
		if err := json.Unmarshal([]byte(d.Payload), &payload); err != nil || len(payload) != 1 || payload["type"] != "participantWaiting" {
			t.Errorf("unexpected data message to room %s: %s", roomID, d.Payload)
			continue
		}
		count++
	}
	return count
}

// lobbyExpectNotifications waits for want notifications to the room, then checks that no more
// arrive within a short settle time.
func lobbyExpectNotifications(t *testing.T, n *servicetest.Node, roomID string, want int) {
	t.Helper()
	servicetest.Eventually(t, 5*time.Second, fmt.Sprintf("%d participantWaiting notifications", want), func() bool {
		return lobbyNotifications(t, n, roomID) >= want
	})
	time.Sleep(lobbySettle)
	if got := lobbyNotifications(t, n, roomID); got != want {
		t.Fatalf("%d participantWaiting notifications to room %s, want exactly %d", got, roomID, want)
	}
}

// lobbySetCookies returns the Set-Cookie lines of a response that set the lobby cookie.
func lobbySetCookies(t *testing.T, res servicetest.Response) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range res.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("bad Set-Cookie %q: %v", line, err)
		}
		if c.Name == lobbyCookieName {
			out = append(out, c)
		}
	}
	return out
}

// TestLobbyEntryAccessMatrix: who bypasses the lobby, on request-entry and on GET rooms/{id}/.
func TestLobbyEntryAccessMatrix(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.NewUserNamed("owner", "Olivia Owner")
	plain := n.NewUserNamed("plain", "Paul Plain")
	member := n.NewUserNamed("member", "Mia Member")
	admin := n.NewUserNamed("admin", "Adam Admin")

	type caller struct {
		name string
		user *servicetest.User // nil: anonymous
		role string            // room_role attribute
	}
	callers := []caller{
		{"anonymous", nil, "none"},
		{"authenticated", &plain, "none"},
		{"member", &member, "member"},
		{"administrator", &admin, "administrator"},
		{"owner", &owner, "owner"},
	}
	levels := []struct {
		level  string
		direct map[string]bool
	}{
		{"public", map[string]bool{"anonymous": true, "authenticated": true, "member": true, "administrator": true, "owner": true}},
		{"trusted", map[string]bool{"authenticated": true, "member": true, "administrator": true, "owner": true}},
		{"restricted", map[string]bool{"member": true, "administrator": true, "owner": true}},
	}
	for _, lv := range levels {
		roomID := owner.CreateRoom(map[string]any{"access_level": lv.level}).ID
		owner.Grant(roomID, member.ID, "member")
		owner.Grant(roomID, admin.ID, "administrator")
		for _, cl := range callers {
			direct := lv.direct[cl.name]
			t.Run(lv.level+"/"+cl.name, func(t *testing.T) {
				c := n.Client("")
				if cl.user != nil {
					c = cl.user.Fresh()
				}
				e := lobbyKnock(t, c, roomID, "Guest "+cl.name)
				lobbyCheckIDHidesCookie(t, e.ID, c.Cookie(lobbyCookieName))
				if e.Username != "Guest "+cl.name {
					t.Errorf("username %q, want %q", e.Username, "Guest "+cl.name)
				}
				lobbyCheckColor(t, e.Color)
				identity := e.ID
				if cl.user != nil {
					identity = cl.user.Subject
				}
				if direct {
					lobbyExpectStatus(t, e, "accepted")
					g := lobbyCheckAccess(t, n, e.LiveKit, roomID, identity)
					if g.Attributes["room_role"] != cl.role || g.Attributes["is_authenticated"] != strconv.FormatBool(cl.user != nil) {
						t.Errorf("attributes %v; want room_role %s, is_authenticated %v", g.Attributes, cl.role, cl.user != nil)
					}
				} else {
					lobbyExpectStatus(t, e, "waiting")
				}

				res := c.Do(http.MethodGet, servicetest.Path("rooms", roomID), nil)
				if res.Status != http.StatusOK {
					t.Fatalf("GET room: %d %s", res.Status, res.Body)
				}
				var room struct {
					ID              string        `json:"id"`
					AccessLevel     string        `json:"access_level"`
					IsAdministrable bool          `json:"is_administrable"`
					LiveKit         *lobbyLiveKit `json:"livekit"`
				}
				if err := json.Unmarshal(res.Body, &room); err != nil {
					t.Fatal(err)
				}
				if room.ID != roomID || room.AccessLevel != lv.level {
					t.Errorf("GET room: %s", res.Body)
				}
				if privileged := cl.role == "owner" || cl.role == "administrator"; room.IsAdministrable != privileged {
					t.Errorf("is_administrable %v, want %v", room.IsAdministrable, privileged)
				}
				if (room.LiveKit != nil) != direct {
					t.Fatalf("GET room: livekit %+v, want present=%v", room.LiveKit, direct)
				}
				if direct {
					g := lobbyCheckAccess(t, n, room.LiveKit, roomID, identity)
					if g.Attributes["room_role"] != cl.role {
						t.Errorf("GET room token room_role %q, want %q", g.Attributes["room_role"], cl.role)
					}
				}
			})
		}
	}
}

// TestLobbyFlow: knock, poll, expiry, admit, deny and the errors of the lobby endpoints.
func TestLobbyFlow(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.NewUserNamed("owner", "Olivia Owner")
	admin := n.NewUserNamed("admin", "Adam Admin")
	member := n.NewUserNamed("member", "Mia Member")
	plain := n.NewUserNamed("plain", "Paul Plain")

	t.Run("polling keeps the place, silence drops it", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		lobbyGoLive(t, n, roomID)
		guest := n.Client("")
		first := lobbyKnock(t, guest, roomID, "Gus")
		lobbyExpectStatus(t, first, "waiting")
		lobbyExpectNotifications(t, n, roomID, 1)
		for i := range 5 { // 10 s of polling, well past the 3 s waiting timeout
			n.Clock.Advance(2 * time.Second)
			e := lobbyKnock(t, guest, roomID, "Gus")
			lobbyExpectStatus(t, e, "waiting")
			if e.ID != first.ID || e.Color != first.Color {
				t.Fatalf("poll %d: entry %+v, want the place of %+v", i, e, first)
			}
			if ids := lobbyWaitingIDs(t, owner.Client, roomID); !slices.Equal(ids, []string{first.ID}) {
				t.Fatalf("poll %d: waiting %v, want [%s]", i, ids, first.ID)
			}
		}
		lobbyExpectNotifications(t, n, roomID, 1) // polls never notify

		n.Clock.Advance(4 * time.Second) // no poll for longer than the waiting timeout
		if ids := lobbyWaitingIDs(t, owner.Client, roomID); len(ids) != 0 {
			t.Fatalf("waiting %v after the entry expired, want none", ids)
		}
		again := lobbyKnock(t, guest, roomID, "Gus")
		lobbyExpectStatus(t, again, "waiting")
		if again.ID != first.ID {
			t.Fatalf("knock again with id %s, want the cookie's %s", again.ID, first.ID)
		}
		lobbyExpectNotifications(t, n, roomID, 2) // a new knock, announced again
	})

	t.Run("admit anonymous", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		guest := n.Client("")
		e := lobbyKnock(t, guest, roomID, "Ann Onymous")
		lobbyExpectStatus(t, e, "waiting")
		listed := lobbyWaiting(t, owner.Client, roomID)
		if len(listed) != 1 || listed[0].ID != e.ID || listed[0].Username != "Ann Onymous" ||
			listed[0].Color != e.Color || listed[0].Status != "waiting" || listed[0].LiveKit != nil {
			t.Fatalf("waiting-participants %+v, want just %+v", listed, e)
		}
		lobbyMustDecide(t, owner.Client, roomID, e.ID, true)
		if ids := lobbyWaitingIDs(t, owner.Client, roomID); len(ids) != 0 {
			t.Fatalf("waiting %v after admission, want none", ids)
		}
		accepted := lobbyKnock(t, guest, roomID, "Ann Onymous")
		lobbyExpectStatus(t, accepted, "accepted")
		if accepted.ID != e.ID || accepted.Username != "Ann Onymous" {
			t.Fatalf("accepted entry %+v, want id %s", accepted, e.ID)
		}
		lobbyCheckAccess(t, n, accepted.LiveKit, roomID, e.ID)
		n.Clock.Advance(time.Minute) // accepted entries live for hours
		lobbyExpectStatus(t, lobbyKnock(t, guest, roomID, "Ann Onymous"), "accepted")
	})

	t.Run("admit authenticated user without role", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		owner.Grant(roomID, admin.ID, "administrator")
		c := plain.Fresh()
		e := lobbyKnock(t, c, roomID, "Paulo")
		lobbyExpectStatus(t, e, "waiting")
		lobbyCheckIDHidesCookie(t, e.ID, c.Cookie(lobbyCookieName))
		if ids := lobbyWaitingIDs(t, admin.Client, roomID); !slices.Equal(ids, []string{e.ID}) {
			t.Fatalf("waiting %v, want [%s]", ids, e.ID)
		}
		lobbyMustDecide(t, admin.Client, roomID, e.ID, true) // administrators decide too
		accepted := lobbyKnock(t, c, roomID, "Paulo")
		lobbyExpectStatus(t, accepted, "accepted")
		g := lobbyCheckAccess(t, n, accepted.LiveKit, roomID, plain.Subject)
		if g.Name != plain.FullName {
			t.Errorf("token name %q, want the full name %q", g.Name, plain.FullName)
		}
		if g.Attributes["is_authenticated"] != "true" || g.Attributes["room_role"] != "none" {
			t.Errorf("attributes %v", g.Attributes)
		}
	})

	t.Run("deny, then knock again after the denied timeout", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "trusted"}).ID
		lobbyGoLive(t, n, roomID)
		guest := n.Client("")
		e := lobbyKnock(t, guest, roomID, "Dennis")
		lobbyExpectStatus(t, e, "waiting")
		lobbyMustDecide(t, owner.Client, roomID, e.ID, false)
		lobbyExpectStatus(t, lobbyKnock(t, guest, roomID, "Dennis"), "denied")
		if ids := lobbyWaitingIDs(t, owner.Client, roomID); len(ids) != 0 {
			t.Fatalf("waiting %v after denial, want none", ids)
		}
		n.Clock.Advance(4 * time.Second)
		lobbyExpectStatus(t, lobbyKnock(t, guest, roomID, "Dennis"), "denied")
		n.Clock.Advance(2 * time.Second) // 6 s since the denial: past LOBBY_DENIED_TIMEOUT
		again := lobbyKnock(t, guest, roomID, "Dennis")
		lobbyExpectStatus(t, again, "waiting")
		if again.ID != e.ID {
			t.Fatalf("knock again with id %s, want %s", again.ID, e.ID)
		}
		if ids := lobbyWaitingIDs(t, owner.Client, roomID); !slices.Equal(ids, []string{e.ID}) {
			t.Fatalf("waiting %v, want [%s]", ids, e.ID)
		}
		lobbyExpectNotifications(t, n, roomID, 2)
	})

	t.Run("bypass is checked on every poll", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		guest := n.Client("")
		user := plain.Fresh()
		g := lobbyKnock(t, guest, roomID, "Guest")
		u := lobbyKnock(t, user, roomID, "User")
		lobbyExpectStatus(t, g, "waiting")
		lobbyExpectStatus(t, u, "waiting")
		patch := func(level string) {
			t.Helper()
			res := owner.Do(http.MethodPatch, servicetest.Path("rooms", roomID), map[string]any{"access_level": level})
			if res.Status != http.StatusOK {
				t.Fatalf("PATCH access_level %s: %d %s", level, res.Status, res.Body)
			}
		}
		patch("trusted") // the authenticated user now gets in without a decision
		lobbyCheckAccess(t, n, lobbyKnock(t, user, roomID, "User").LiveKit, roomID, plain.Subject)
		lobbyExpectStatus(t, lobbyKnock(t, guest, roomID, "Guest"), "waiting")
		patch("public") // everyone does, and a public room has no lobby to show
		lobbyCheckAccess(t, n, lobbyKnock(t, guest, roomID, "Guest").LiveKit, roomID, g.ID)
		if ids := lobbyWaitingIDs(t, owner.Client, roomID); len(ids) != 0 {
			t.Fatalf("public room lists waiting participants %v", ids)
		}
	})

	t.Run("enter errors", func(t *testing.T) {
		restricted := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		public := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		expired := lobbyKnock(t, n.Client(""), restricted, "Late")
		n.Clock.Advance(4 * time.Second)
		publicGuest := lobbyKnock(t, n.Client(""), public, "Pub")
		lobbyExpectStatus(t, publicGuest, "accepted")
		tests := []struct {
			name   string
			room   string
			body   map[string]any
			status int
			field  string
		}{
			{"unknown participant", restricted, map[string]any{"participant_id": uuid.NewString(), "allow_entry": true}, http.StatusNotFound, ""},
			{"expired participant", restricted, map[string]any{"participant_id": expired.ID, "allow_entry": true}, http.StatusNotFound, ""},
			{"public room", public, map[string]any{"participant_id": publicGuest.ID, "allow_entry": true}, http.StatusNotFound, ""},
			{"unknown room", uuid.NewString(), map[string]any{"participant_id": uuid.NewString(), "allow_entry": true}, http.StatusNotFound, ""},
			{"invalid participant id", restricted, map[string]any{"participant_id": "not-a-uuid", "allow_entry": true}, http.StatusBadRequest, "participant_id"},
			{"missing participant id", restricted, map[string]any{"allow_entry": true}, http.StatusBadRequest, "participant_id"},
			{"missing allow_entry", restricted, map[string]any{"participant_id": uuid.NewString()}, http.StatusBadRequest, "allow_entry"},
			{"allow_entry not a boolean", restricted, map[string]any{"participant_id": uuid.NewString(), "allow_entry": "yes"}, http.StatusBadRequest, "allow_entry"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := owner.Do(http.MethodPost, servicetest.Path("rooms", tt.room, "enter"), tt.body)
				if res.Status != tt.status {
					t.Fatalf("enter: %d %s, want %d", res.Status, res.Body, tt.status)
				}
				body := res.JSON()
				if _, ok := body["detail"].(string); !ok {
					t.Errorf("error without detail: %s", res.Body)
				}
				if tt.field != "" {
					if msgs, ok := body[tt.field].([]any); !ok || len(msgs) == 0 {
						t.Errorf("no %q messages in %s", tt.field, res.Body)
					}
				}
			})
		}
	})

	t.Run("only privileged users see and decide", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		owner.Grant(roomID, member.ID, "member")
		guest := n.Client("")
		e := lobbyKnock(t, guest, roomID, "Waiting Wendy")
		tests := []struct {
			name   string
			c      *servicetest.Client
			status int
		}{
			{"anonymous", n.Client(""), http.StatusUnauthorized},
			{"authenticated without role", plain.Client, http.StatusForbidden},
			{"member", member.Client, http.StatusForbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := tt.c.Do(http.MethodGet, servicetest.Path("rooms", roomID, "waiting-participants"), nil)
				if res.Status != tt.status {
					t.Errorf("waiting-participants: %d %s, want %d", res.Status, res.Body, tt.status)
				}
				if _, ok := res.JSON()["detail"].(string); !ok {
					t.Errorf("waiting-participants error without detail: %s", res.Body)
				}
				if res := lobbyDecide(tt.c, roomID, e.ID, true); res.Status != tt.status {
					t.Errorf("enter: %d %s, want %d", res.Status, res.Body, tt.status)
				}
			})
		}
		lobbyExpectStatus(t, lobbyKnock(t, guest, roomID, "Waiting Wendy"), "waiting")
	})

	t.Run("username validation", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		tests := []struct {
			name string
			body any
		}{
			{"missing", map[string]any{}},
			{"empty body", nil},
			{"null", map[string]any{"username": nil}},
			{"empty", map[string]any{"username": ""}},
			{"blank", map[string]any{"username": "   "}},
			{"not a string", map[string]any{"username": 42}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := n.Client("")
				res := c.Do(http.MethodPost, servicetest.Path("rooms", roomID, "request-entry"), tt.body)
				if res.Status != http.StatusBadRequest {
					t.Fatalf("request-entry: %d %s, want 400", res.Status, res.Body)
				}
				if msgs, ok := res.JSON()["username"].([]any); !ok || len(msgs) == 0 {
					t.Fatalf("no username messages in %s", res.Body)
				}
			})
		}
		if ids := lobbyWaitingIDs(t, owner.Client, roomID); len(ids) != 0 {
			t.Fatalf("invalid requests left entries %v", ids)
		}
		if res := lobbyRequestEntry(n.Client(""), uuid.NewString(), "Nobody"); res.Status != http.StatusNotFound {
			t.Fatalf("request-entry of an unknown room: %d %s, want 404", res.Status, res.Body)
		}
	})
}

// TestLobbyCookie: the lobby secret cookie is set once, reused, never shown (the participant id
// is derived from it), and never trusted when it is not a UUID.
func TestLobbyCookie(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.NewUserNamed("owner", "Olivia Owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID

	t.Run("set on the first request, reused after", func(t *testing.T) {
		c := n.Client("")
		res := lobbyRequestEntry(c, roomID, "Cookie Monster")
		e := lobbyDecodeEntry(t, res)
		cookies := lobbySetCookies(t, res)
		if len(cookies) != 1 {
			t.Fatalf("Set-Cookie %q: want one %s cookie", res.Header.Values("Set-Cookie"), lobbyCookieName)
		}
		ck := cookies[0]
		if c.Cookie(lobbyCookieName) != ck.Value {
			t.Fatalf("cookie %q, jar %q: want the same", ck.Value, c.Cookie(lobbyCookieName))
		}
		lobbyCheckIDHidesCookie(t, e.ID, ck.Value)
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
			t.Fatalf("cookie attributes %q: want HttpOnly, SameSite=Lax, Path=/, not Secure", res.Header.Values("Set-Cookie"))
		}
		for i := range 3 {
			res := lobbyRequestEntry(c, roomID, "Cookie Monster")
			again := lobbyDecodeEntry(t, res)
			if again.ID != e.ID {
				t.Fatalf("request %d: id %s, want %s", i+2, again.ID, e.ID)
			}
			if got := lobbySetCookies(t, res); len(got) != 0 {
				t.Fatalf("request %d set the cookie again: %q", i+2, res.Header.Values("Set-Cookie"))
			}
		}
		if ids := lobbyWaitingIDs(t, owner.Client, roomID); !slices.Contains(ids, e.ID) || len(ids) != 1 {
			t.Fatalf("waiting %v, want only %s", ids, e.ID)
		}
	})

	t.Run("a cookie that is not a UUID is replaced", func(t *testing.T) {
		c := n.Client("")
		res := lobbyRequestEntry(c, roomID, "Mallory", "Cookie", lobbyCookieName+"=not-a-uuid")
		e := lobbyDecodeEntry(t, res)
		if e.ID == "not-a-uuid" {
			t.Fatal("the garbage cookie became the participant id")
		}
		if _, err := uuid.Parse(e.ID); err != nil {
			t.Fatalf("participant id %q is not a UUID", e.ID)
		}
		cookies := lobbySetCookies(t, res)
		if len(cookies) != 1 || cookies[0].Value == "not-a-uuid" {
			t.Fatalf("Set-Cookie %q: want a fresh %s", res.Header.Values("Set-Cookie"), lobbyCookieName)
		}
		lobbyCheckIDHidesCookie(t, e.ID, cookies[0].Value)
		again := lobbyKnock(t, c, roomID, "Mallory")
		if again.ID != e.ID {
			t.Fatalf("next request id %s, want %s", again.ID, e.ID)
		}
		if ids := lobbyWaitingIDs(t, owner.Client, roomID); slices.Contains(ids, "not-a-uuid") || !slices.Contains(ids, e.ID) {
			t.Fatalf("waiting %v", ids)
		}
	})

	t.Run("a different browser gets a different id", func(t *testing.T) {
		a := lobbyKnock(t, n.Client(""), roomID, "Twin")
		b := lobbyKnock(t, n.Client(""), roomID, "Twin")
		if a.ID == b.ID {
			t.Fatalf("two browsers share the participant id %s", a.ID)
		}
	})
}

// TestLobbyTokenGrants: what the LiveKit tokens allow.
func TestLobbyTokenGrants(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.NewUserNamed("owner", "Olivia Owner")
	admin := n.NewUserNamed("admin", "Adam Admin")
	member := n.NewUserNamed("member", "Mia Member")

	res := n.Client("").Do(http.MethodGet, servicetest.Path("config"), nil)
	var config struct {
		LiveKit struct {
			URL string `json:"url"`
		} `json:"livekit"`
	}
	if res.Status != http.StatusOK || json.Unmarshal(res.Body, &config) != nil || config.LiveKit.URL == "" {
		t.Fatalf("config: %d %s", res.Status, res.Body)
	}

	t.Run("admitted anonymous participant", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		guest := n.Client("")
		e := lobbyKnock(t, guest, roomID, "Zoé Anonyme")
		lobbyMustDecide(t, owner.Client, roomID, e.ID, true)
		accepted := lobbyKnock(t, guest, roomID, "Zoé Anonyme")
		lobbyExpectStatus(t, accepted, "accepted")
		if accepted.LiveKit.URL != config.LiveKit.URL {
			t.Errorf("livekit url %q, want the configured %q", accepted.LiveKit.URL, config.LiveKit.URL)
		}
		g := lobbyCheckAccess(t, n, accepted.LiveKit, roomID, e.ID)
		v := g.Video
		if v.RoomAdmin || lobbyBool(v.CanSubscribe) != "true" || lobbyBool(v.CanPublish) != "true" ||
			lobbyBool(v.CanUpdateOwnMetadata) != "false" || !slices.Equal(v.CanPublishSources, lobbyDefaultSources) {
			t.Errorf("video grant roomAdmin=%v canSubscribe=%s canPublish=%s canUpdateOwnMetadata=%s sources=%v",
				v.RoomAdmin, lobbyBool(v.CanSubscribe), lobbyBool(v.CanPublish), lobbyBool(v.CanUpdateOwnMetadata), v.CanPublishSources)
		}
		if g.Name != "Zoé Anonyme" {
			t.Errorf("name %q, want the requested username", g.Name)
		}
		lobbyCheckColor(t, e.Color)
		want := map[string]string{"color": e.Color, "room_role": "none", "is_authenticated": "false"}
		for k, w := range want {
			if g.Attributes[k] != w {
				t.Errorf("attribute %s = %q, want %q (all: %v)", k, g.Attributes[k], w, g.Attributes)
			}
		}
	})

	t.Run("owner via room GET", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		// The requested username is not the authenticated user's name (the service does not let
		// authenticated participants edit it by default).
		res := owner.Do(http.MethodGet, servicetest.Path("rooms", roomID)+"?username=Someone+Else", nil)
		if res.Status != http.StatusOK {
			t.Fatalf("GET room: %d %s", res.Status, res.Body)
		}
		var room struct {
			LiveKit *lobbyLiveKit `json:"livekit"`
		}
		if err := json.Unmarshal(res.Body, &room); err != nil {
			t.Fatal(err)
		}
		g := lobbyCheckAccess(t, n, room.LiveKit, roomID, owner.Subject)
		v := g.Video
		if !v.RoomAdmin || lobbyBool(v.CanSubscribe) != "true" || lobbyBool(v.CanPublish) != "true" ||
			lobbyBool(v.CanUpdateOwnMetadata) != "false" || !slices.Equal(v.CanPublishSources, lobbyDefaultSources) {
			t.Errorf("video grant %+v", v)
		}
		if g.Name != owner.FullName {
			t.Errorf("name %q, want %q", g.Name, owner.FullName)
		}
		if g.Attributes["room_role"] != "owner" || g.Attributes["is_authenticated"] != "true" {
			t.Errorf("attributes %v", g.Attributes)
		}
		lobbyCheckColor(t, g.Attributes["color"])
	})

	t.Run("anonymous display name in a public room", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		c := n.Client("")
		e := lobbyKnock(t, c, roomID, "  Bob  ")
		lobbyExpectStatus(t, e, "accepted")
		if g := lobbyCheckAccess(t, n, e.LiveKit, roomID, e.ID); g.Name != "Bob" {
			t.Errorf("name %q, want the trimmed username %q", g.Name, "Bob")
		}
		res := c.Do(http.MethodGet, servicetest.Path("rooms", roomID), nil)
		var room struct {
			LiveKit *lobbyLiveKit `json:"livekit"`
		}
		if res.Status != http.StatusOK || json.Unmarshal(res.Body, &room) != nil {
			t.Fatalf("GET room: %d %s", res.Status, res.Body)
		}
		if g := lobbyCheckAccess(t, n, room.LiveKit, roomID, e.ID); g.Name != "Anonymous" {
			t.Errorf("name without username %q, want Anonymous", g.Name)
		}
	})

	t.Run("configured sources", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted", "configuration": map[string]any{"can_publish_sources": []string{"microphone"}}}).ID
		owner.Grant(roomID, member.ID, "member")
		owner.Grant(roomID, admin.ID, "administrator")
		tests := []struct {
			name    string
			user    servicetest.User
			sources []string
			admin   bool
		}{
			{"member", member, []string{"microphone"}, false},
			{"administrator", admin, lobbyDefaultSources, true},
			{"owner", owner, lobbyDefaultSources, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := lobbyKnock(t, tt.user.Fresh(), roomID, tt.name)
				lobbyExpectStatus(t, e, "accepted")
				v := lobbyCheckAccess(t, n, e.LiveKit, roomID, tt.user.Subject).Video
				if !slices.Equal(v.CanPublishSources, tt.sources) || lobbyBool(v.CanPublish) != "true" || v.RoomAdmin != tt.admin {
					t.Errorf("sources %v canPublish %s roomAdmin %v; want %v, true, %v",
						v.CanPublishSources, lobbyBool(v.CanPublish), v.RoomAdmin, tt.sources, tt.admin)
				}
			})
		}
	})

	t.Run("no sources", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public", "configuration": map[string]any{"can_publish_sources": []string{}}}).ID
		owner.Grant(roomID, member.ID, "member")
		for _, c := range []*servicetest.Client{member.Fresh(), n.Client("")} {
			e := lobbyKnock(t, c, roomID, "Silent")
			lobbyExpectStatus(t, e, "accepted")
			identity := e.ID
			if c.Token != "" {
				identity = member.Subject
			}
			v := lobbyCheckAccess(t, n, e.LiveKit, roomID, identity).Video
			if lobbyBool(v.CanPublish) != "false" || len(v.CanPublishSources) != 0 || lobbyBool(v.CanSubscribe) != "true" {
				t.Errorf("%s: canPublish %s sources %v canSubscribe %s; want false, none, true",
					identity, lobbyBool(v.CanPublish), v.CanPublishSources, lobbyBool(v.CanSubscribe))
			}
		}
		e := lobbyKnock(t, owner.Fresh(), roomID, "Owner")
		if v := lobbyCheckAccess(t, n, e.LiveKit, roomID, owner.Subject).Video; lobbyBool(v.CanPublish) != "true" ||
			!slices.Equal(v.CanPublishSources, lobbyDefaultSources) {
			t.Errorf("owner: canPublish %s sources %v; want the defaults", lobbyBool(v.CanPublish), v.CanPublishSources)
		}
	})
}

// TestLobbyNotifications: one participantWaiting message per new knock, only while live.
func TestLobbyNotifications(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.NewUserNamed("owner", "Olivia Owner")
	member := n.NewUserNamed("member", "Mia Member")

	t.Run("live room: one per new knock, none for polls or direct entries", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		owner.Grant(roomID, member.ID, "member")
		lobbyGoLive(t, n, roomID)
		a := n.Client("")
		lobbyExpectStatus(t, lobbyKnock(t, a, roomID, "A"), "waiting")
		lobbyExpectNotifications(t, n, roomID, 1)
		for range 3 {
			lobbyExpectStatus(t, lobbyKnock(t, a, roomID, "A"), "waiting")
		}
		lobbyExpectStatus(t, lobbyKnock(t, member.Fresh(), roomID, "Mia"), "accepted")
		lobbyExpectStatus(t, lobbyKnock(t, owner.Fresh(), roomID, "Olivia"), "accepted")
		// The room's LiveKit calls go out in order: once B's notification is there, any message
		// the polls or direct entries above caused would be too.
		lobbyExpectStatus(t, lobbyKnock(t, n.Client(""), roomID, "B"), "waiting")
		n.Clock.Advance(time.Second) // the knock notice interval: a knock inside it is announced once it ends
		lobbyExpectNotifications(t, n, roomID, 2)
		for _, d := range n.LiveKit.Data() {
			if d.Room == roomID && d.Payload != `{"type":"participantWaiting"}` {
				t.Errorf("payload %s", d.Payload)
			}
		}
	})

	t.Run("room not live: none", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		a := n.Client("")
		lobbyExpectStatus(t, lobbyKnock(t, a, roomID, "A"), "waiting")
		lobbyExpectStatus(t, lobbyKnock(t, n.Client(""), roomID, "B"), "waiting")
		time.Sleep(lobbySettle)
		if got := lobbyNotifications(t, n, roomID); got != 0 {
			t.Fatalf("%d notifications to a room that is not live", got)
		}
		lobbyGoLive(t, n, roomID)
		lobbyExpectStatus(t, lobbyKnock(t, a, roomID, "A"), "waiting") // a poll: still nothing
		lobbyExpectStatus(t, lobbyKnock(t, n.Client(""), roomID, "C"), "waiting")
		n.Clock.Advance(time.Second) // the knock notice interval: a knock inside it is announced once it ends
		lobbyExpectNotifications(t, n, roomID, 1)
	})

	t.Run("room finished: none", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		lobbyGoLive(t, n, roomID)
		lobbyExpectStatus(t, lobbyKnock(t, n.Client(""), roomID, "A"), "waiting")
		lobbyExpectNotifications(t, n, roomID, 1)
		lobbyWebhook(t, n, "room_finished", roomID)
		lobbyExpectStatus(t, lobbyKnock(t, n.Client(""), roomID, "B"), "waiting")
		lobbyExpectNotifications(t, n, roomID, 1)
	})
}

// TestLobbyClearedWhenLiveKitRoomFinishes: room_finished takes the lobby with it.
func TestLobbyClearedWhenLiveKitRoomFinishes(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.NewUserNamed("owner", "Olivia Owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
	lobbyGoLive(t, n, roomID)

	admitted := n.Client("")
	a := lobbyKnock(t, admitted, roomID, "Admitted")
	lobbyMustDecide(t, owner.Client, roomID, a.ID, true)
	lobbyExpectStatus(t, lobbyKnock(t, admitted, roomID, "Admitted"), "accepted")
	waiting := n.Client("")
	w := lobbyKnock(t, waiting, roomID, "Waiting")
	lobbyExpectStatus(t, w, "waiting")
	if ids := lobbyWaitingIDs(t, owner.Client, roomID); !slices.Equal(ids, []string{w.ID}) {
		t.Fatalf("waiting %v, want [%s]", ids, w.ID)
	}
	n.Clock.Advance(time.Second) // the knock notice interval: a knock inside it is announced once it ends
	lobbyExpectNotifications(t, n, roomID, 2)

	lobbyWebhook(t, n, "room_finished", roomID)
	if ids := lobbyWaitingIDs(t, owner.Client, roomID); len(ids) != 0 {
		t.Fatalf("waiting %v after room_finished, want none", ids)
	}
	again := lobbyKnock(t, admitted, roomID, "Admitted")
	lobbyExpectStatus(t, again, "waiting")
	if again.ID != a.ID {
		t.Fatalf("knock again with id %s, want %s", again.ID, a.ID)
	}
	if ids := lobbyWaitingIDs(t, owner.Client, roomID); !slices.Equal(ids, []string{a.ID}) {
		t.Fatalf("waiting %v, want only the new knock [%s]", ids, a.ID)
	}
	lobbyExpectNotifications(t, n, roomID, 2) // not live any more: the new knock is not announced
}

// TestLobbyEntryRateLimit: request-entry is limited per lobby cookie, not for everybody.
func TestLobbyEntryRateLimit(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{"REQUEST_ENTRY_THROTTLE_RATES": "3/minute"})
	owner := n.NewUserNamed("owner", "Olivia Owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID

	a := n.Client("")
	var id string
	for i := range 3 {
		e := lobbyKnock(t, a, roomID, "Hasty")
		if id == "" {
			id = e.ID
		} else if e.ID != id {
			t.Fatalf("request %d: id %s, want %s", i+1, e.ID, id)
		}
	}
	res := lobbyRequestEntry(a, roomID, "Hasty")
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("4th request-entry: %d %s, want 429", res.Status, res.Body)
	}
	if detail, _ := res.JSON()["detail"].(string); detail == "" {
		t.Fatalf("429 without detail: %s", res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("429 content type %q", ct)
	}
	// 3/minute: one request comes back every 20 seconds.
	if retry, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || retry < 1 || retry > 20 {
		t.Errorf("Retry-After %q, want 1 to 20 seconds", res.Header.Get("Retry-After"))
	}
	b := n.Client("")
	lobbyExpectStatus(t, lobbyKnock(t, b, roomID, "Patient"), "waiting")
	if res := lobbyRequestEntry(a, roomID, "Hasty"); res.Status != http.StatusTooManyRequests {
		t.Fatalf("5th request-entry of the throttled client: %d %s, want 429", res.Status, res.Body)
	}
}

// TestLobbyConcurrentKnocks: 200 guests knock at once on a live restricted room while its owner
// admits whoever is listed. Nobody is lost, duplicated or admitted twice, and the meeting is
// not flooded with notices.
func TestLobbyConcurrentKnocks(t *testing.T) {
	const guests = 200
	const limit = 4 * time.Minute // generous: CI runs packages side by side on 2 cores, maybe loaded
	n := servicetest.StartNode(t, nil)
	owner := n.NewUserNamed("owner", "Olivia Owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
	lobbyGoLive(t, n, roomID)
	began := time.Now()
	deadline := began.Add(limit)

	type outcome struct {
		id     string
		status string
		token  string
		polls  int
	}
	results := make([]outcome, guests)
	clients := make([]*servicetest.Client, guests)
	for i := range clients {
		clients[i] = n.Client("")
	}

	var knockers sync.WaitGroup
	start := make(chan struct{})
	for i := range guests {
		knockers.Add(1)
		go func(i int) {
			defer knockers.Done()
			c := clients[i]
			name := fmt.Sprintf("guest-%03d", i)
			<-start
			var out outcome
			defer func() { results[i] = out }()
			for time.Now().Before(deadline) {
				res := lobbyRequestEntry(c, roomID, name)
				if res.Status != http.StatusOK {
					t.Errorf("%s: request-entry %d %s", name, res.Status, res.Body)
					return
				}
				var e lobbyEntry
				if err := json.Unmarshal(res.Body, &e); err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				out.polls++
				if out.id == "" {
					out.id = e.ID
				} else if e.ID != out.id {
					t.Errorf("%s: id changed from %s to %s", name, out.id, e.ID)
					return
				}
				out.status = e.Status
				switch e.Status {
				case "waiting":
					time.Sleep(150 * time.Millisecond)
				case "accepted":
					if e.LiveKit == nil {
						t.Errorf("%s: accepted without livekit", name)
						return
					}
					out.token = e.LiveKit.Token
					return
				default:
					t.Errorf("%s: status %q", name, e.Status)
					return
				}
			}
		}(i)
	}

	admitted := map[string]int{}
	ownerDone := make(chan struct{})
	go func() {
		defer close(ownerDone)
		for len(admitted) < guests && time.Now().Before(deadline) {
			res := owner.Do(http.MethodGet, servicetest.Path("rooms", roomID, "waiting-participants"), nil)
			if res.Status != http.StatusOK {
				t.Errorf("waiting-participants: %d %s", res.Status, res.Body)
				return
			}
			var body struct {
				Participants []lobbyEntry `json:"participants"`
			}
			if err := json.Unmarshal(res.Body, &body); err != nil {
				t.Errorf("waiting-participants: %v", err)
				return
			}
			if len(body.Participants) == 0 {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			for _, p := range body.Participants {
				if admitted[p.ID] > 0 {
					t.Errorf("%s listed as waiting after it was admitted", p.ID)
				}
				if res := lobbyDecide(owner.Client, roomID, p.ID, true); res.Status != http.StatusOK {
					t.Errorf("admit %s: %d %s", p.ID, res.Status, res.Body)
					continue
				}
				admitted[p.ID]++
			}
		}
	}()

	close(start)
	knockers.Wait()
	<-ownerDone
	if t.Failed() {
		t.FailNow()
	}

	if len(admitted) != guests {
		t.Fatalf("owner admitted %d distinct participants, want %d", len(admitted), guests)
	}
	seen := map[string]int{}
	for i, out := range results {
		if out.status != "accepted" {
			t.Errorf("guest %d (%s): ended %q after %d requests, want accepted", i, out.id, out.status, out.polls)
			continue
		}
		if seen[out.id]++; seen[out.id] > 1 {
			t.Errorf("participant id %s given to two guests", out.id)
		}
		if admitted[out.id] != 1 {
			t.Errorf("guest %d (%s) admitted %d times, want once", i, out.id, admitted[out.id])
		}
		if out.id == clients[i].Cookie(lobbyCookieName) {
			t.Errorf("guest %d: the participant id shows the cookie %s", i, out.id)
		}
		g := lobbyClaims(t, n, out.token)
		if g.Identity != out.id || g.Video.Room != roomID || !g.Video.RoomJoin || g.Video.RoomAdmin {
			t.Errorf("guest %d: token identity %q room %q join %v admin %v", i, g.Identity, g.Video.Room, g.Video.RoomJoin, g.Video.RoomAdmin)
		}
		if g.Name != fmt.Sprintf("guest-%03d", i) {
			t.Errorf("guest %d: token name %q", i, g.Name)
		}
	}
	if len(seen) != guests {
		t.Errorf("%d distinct accepted participants, want %d", len(seen), guests)
	}
	if ids := lobbyWaitingIDs(t, owner.Client, roomID); len(ids) != 0 {
		t.Errorf("still waiting after everyone was admitted: %v", ids)
	}
	// Admins are told of new knocks at most once a second per room: the burst is a few notices,
	// not one per knock, and its last knocks are announced too (a trailing notice).
	n.Clock.Advance(time.Second) // the knock notice interval: a knock inside it is announced once it ends
	servicetest.Eventually(t, 10*time.Second, "the burst's trailing notice", func() bool { return lobbyNotifications(t, n, roomID) >= 2 })
	if got, most := lobbyNotifications(t, n, roomID), 2+int(time.Since(began)/time.Second); got > most {
		t.Errorf("%d participantWaiting notifications for %d knocks in %v, want at most %d (one a second)", got, guests, time.Since(began).Round(time.Millisecond), most)
	}
}

// lobbyCheckIDHidesCookie: a participant id is a UUID and is not the cookie it comes from (the
// cookie is a secret; ids are seen by admins and the meeting).
func lobbyCheckIDHidesCookie(t *testing.T, id, cookie string) {
	t.Helper()
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("participant id %q is not a UUID", id)
	}
	if _, err := uuid.Parse(cookie); err != nil {
		t.Fatalf("cookie %q is not a UUID", cookie)
	}
	if id == cookie {
		t.Fatalf("participant id %s equals the lobby cookie: anyone who sees it can use the admission", id)
	}
}
