package gateway_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/livekit"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

var eventSeq atomic.Int64

// event makes a LiveKit webhook event for a room, with a unique id and the given age.
func event(kind, room string, age time.Duration) *livekit.WebhookEvent {
	return &livekit.WebhookEvent{
		Event:     kind,
		Id:        fmt.Sprintf("EV_%d", eventSeq.Add(1)),
		CreatedAt: time.Now().Add(-age).Unix(),
		Room:      &livekit.Room{Name: room, Sid: "RM_test"},
	}
}

// restrictedRoomWithAdmitted makes a restricted room and an anonymous participant admitted to it.
func restrictedRoomWithAdmitted(t *testing.T, n *servicetest.Node, owner *servicetest.Client) (roomID string, guest *servicetest.Client) {
	t.Helper()
	res := owner.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": servicetest.UniqueRoomName("Board"), "access_level": "restricted"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create room: %d %s", res.Status, res.Body)
	}
	roomID = res.JSON()["id"].(string)
	guest = n.Client("")
	knock := guest.Do(http.MethodPost, servicetest.Path("rooms", roomID, "request-entry"), map[string]any{"username": "Guest"})
	if got := knock.JSON()["status"]; got != "waiting" {
		t.Fatalf("knock: status %v (%s)", got, knock.Body)
	}
	admit := owner.Do(http.MethodPost, servicetest.Path("rooms", roomID, "enter"),
		map[string]any{"participant_id": knock.JSON()["id"], "allow_entry": true})
	if admit.Status != http.StatusOK {
		t.Fatalf("admit: %d %s", admit.Status, admit.Body)
	}
	return roomID, guest
}

func entryStatus(t *testing.T, c *servicetest.Client, roomID string) string {
	t.Helper()
	res := c.Do(http.MethodPost, servicetest.Path("rooms", roomID, "request-entry"), map[string]any{"username": "Guest"})
	if res.Status != http.StatusOK {
		t.Fatalf("request-entry: %d %s", res.Status, res.Body)
	}
	return res.JSON()["status"].(string)
}

func TestWebhookVerification(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	key, secret := n.Env["LIVEKIT_API_KEY"], n.Env["LIVEKIT_API_SECRET"]
	body := servicetest.WebhookBody(t, event("room_started", "9b2f5e1c-8a7d-4f3e-9c1b-2d4e6f8a0b1c", 0))
	tampered := []byte(strings.Replace(string(body), "room_started", "room_finished", 1))

	tests := []struct {
		name          string
		body          []byte
		authorization string
		want          int
	}{
		{"missing authorization", body, "", http.StatusUnauthorized},
		{"unknown api key", body, servicetest.SignWebhook(t, body, "otherkey", secret, time.Minute), http.StatusBadRequest},
		{"wrong secret", body, servicetest.SignWebhook(t, body, key, "another-secret-of-at-least-32-characters", time.Minute), http.StatusBadRequest},
		{"tampered body", tampered, servicetest.SignWebhook(t, body, key, secret, time.Minute), http.StatusBadRequest},
		{"expired token", body, servicetest.SignWebhook(t, body, key, secret, -10*time.Minute), http.StatusBadRequest}, // beyond the library's leeway
		{"expired within the leeway", body, servicetest.SignWebhook(t, body, key, secret, -30*time.Second), http.StatusOK},
		{"no expiry", body, signWebhookClaims(t, jwt.SigningMethodHS256, secret, webhookClaims(key, body, nil)), http.StatusBadRequest},
		{"HS384", body, signWebhookClaims(t, jwt.SigningMethodHS384, secret, webhookClaims(key, body, time.Now().Add(time.Minute))), http.StatusBadRequest},
		{"alg none", body, signWebhookClaims(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, webhookClaims(key, body, time.Now().Add(time.Minute))), http.StatusBadRequest},
		{"not valid yet", body, signWebhookClaims(t, jwt.SigningMethodHS256, secret, notBefore(webhookClaims(key, body, time.Now().Add(time.Hour)), time.Now().Add(10*time.Minute))), http.StatusBadRequest},
		{"valid within the leeway", body, signWebhookClaims(t, jwt.SigningMethodHS256, secret, notBefore(webhookClaims(key, body, time.Now().Add(time.Hour)), time.Now().Add(30*time.Second))), http.StatusOK},
		{"signature of another token", body, otherSignature(servicetest.SignWebhook(t, body, key, secret, time.Minute), servicetest.SignWebhook(t, tampered, key, secret, time.Minute)), http.StatusBadRequest},
		{"not a token", body, "Bearer nonsense", http.StatusBadRequest},
		{"four parts", body, servicetest.SignWebhook(t, body, key, secret, time.Minute) + ".x", http.StatusBadRequest},
		{"body not an event", []byte("{not json"), servicetest.SignWebhook(t, []byte("{not json"), key, secret, time.Minute), http.StatusBadRequest},
		{"valid", body, servicetest.SignWebhook(t, body, key, secret, time.Minute), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := n.PostRawWebhook(tt.body, tt.authorization)
			if res.Status != tt.want {
				t.Fatalf("status %d, want %d (%s)", res.Status, tt.want, res.Body)
			}
			if _, ok := res.JSON()["detail"]; tt.want != http.StatusOK && !ok {
				t.Fatalf("error without detail: %s", res.Body)
			}
		})
	}
}

// webhookClaims are the claims of a webhook token for body, with an expiry unless exp is nil.
func webhookClaims(key string, body []byte, exp any) jwt.MapClaims {
	sum := sha256.Sum256(body)
	claims := jwt.MapClaims{"iss": key, "nbf": time.Now().Unix(), "sha256": base64.StdEncoding.EncodeToString(sum[:])}
	if t, ok := exp.(time.Time); ok {
		claims["exp"] = t.Unix()
	}
	return claims
}

// notBefore sets the claims' nbf.
func notBefore(claims jwt.MapClaims, at time.Time) jwt.MapClaims {
	claims["nbf"] = at.Unix()
	return claims
}

// otherSignature is token with the signature of other.
func otherSignature(token, other string) string {
	return token[:strings.LastIndex(token, ".")] + other[strings.LastIndex(other, "."):]
}

// signWebhookClaims signs claims as a forger might: any method, any key.
func signWebhookClaims(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	if s, ok := key.(string); ok {
		key = []byte(s)
	}
	token, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestWebhookEventTypes(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID, _ := restrictedRoomWithAdmitted(t, n, owner)

	unknown := event("room_exploded", roomID, 0)
	if res := n.PostWebhook(unknown); res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown event type: %d, want 422 (%s)", res.Status, res.Body)
	}
	for _, kind := range []string{"track_published", "track_unpublished", "ingress_started", "participant_left"} {
		if res := n.PostWebhook(event(kind, roomID, 0)); res.Status != http.StatusOK {
			t.Fatalf("%s: %d, want 200 (%s)", kind, res.Status, res.Body)
		}
	}
	// Rooms that are not ours: a name that is not a room id, an id that is no room.
	for _, name := range []string{"connection-test-1234", "3f1c9a2e-0000-4000-8000-000000000000"} {
		if res := n.PostWebhook(event("room_finished", name, 0)); res.Status != http.StatusOK {
			t.Fatalf("room %q: %d, want 200 (%s)", name, res.Status, res.Body)
		}
	}
	// An egress event names its room in egressInfo.
	egress := &livekit.WebhookEvent{Event: "egress_started", Id: "EV_egress", CreatedAt: time.Now().Unix(),
		EgressInfo: &livekit.EgressInfo{EgressId: "EG_1", RoomName: roomID}}
	if res := n.PostWebhook(egress); res.Status != http.StatusOK {
		t.Fatalf("egress event: %d (%s)", res.Status, res.Body)
	}
}

// TestWebhookIgnoredEventsDoNotWakeRooms: events no room acts on (track_*, ingress_*) are
// acknowledged as before without activating the passivated room they name.
func TestWebhookIgnoredEventsDoNotWakeRooms(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{"ROOM_IDLE_TIMEOUT": "0.2"})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	res := owner.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": servicetest.UniqueRoomName("Quiet"), "access_level": "public"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create room: %d %s", res.Status, res.Body)
	}
	roomID := res.JSON()["id"].(string)
	servicetest.Eventually(t, 10*time.Second, "the room passivates", func() bool {
		n.Clock.Advance(time.Second) // past ROOM_IDLE_TIMEOUT: the room's idle timer fires
		return n.Metric("meetcoord_room_passivations_total") >= 1
	})
	activations := n.Metric("meetcoord_room_activations_total")

	for _, kind := range []string{"track_published", "track_unpublished", "ingress_started", "ingress_ended"} {
		res := n.PostWebhook(event(kind, roomID, 0))
		if res.Status != http.StatusOK || res.JSON()["status"] != "success" {
			t.Fatalf("%s: %d %s, want 200 success", kind, res.Status, res.Body)
		}
	}
	if got := n.Metric("meetcoord_room_activations_total"); got != activations {
		t.Fatalf("%v room activations after ignored events, want %v (the room was woken)", got, activations)
	}
	// An event the room acts on does reach it, and so activates it.
	if res := n.PostWebhook(event("room_started", roomID, 0)); res.Status != http.StatusOK {
		t.Fatalf("room_started: %d %s", res.Status, res.Body)
	}
	if got := n.Metric("meetcoord_room_activations_total"); got != activations+1 {
		t.Fatalf("%v room activations after room_started, want %v", got, activations+1)
	}
}

func TestRoomFinishedClearsLobby(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID, guest := restrictedRoomWithAdmitted(t, n, owner)
	if got := entryStatus(t, guest, roomID); got != "accepted" {
		t.Fatalf("before room_finished: %s, want accepted", got)
	}
	other := n.Client("")
	entryStatus(t, other, roomID) // a second participant waiting

	finished := event("room_finished", roomID, 0)
	if res := n.PostWebhook(finished); res.Status != http.StatusOK {
		t.Fatalf("room_finished: %d %s", res.Status, res.Body)
	}
	waiting := owner.Do(http.MethodGet, servicetest.Path("rooms", roomID, "waiting-participants"), nil)
	if list := waiting.JSON()["participants"].([]any); len(list) != 0 {
		t.Fatalf("waiting list after room_finished: %v, want empty", list)
	}
	if got := entryStatus(t, guest, roomID); got != "waiting" {
		t.Fatalf("admitted participant after room_finished: %s, want waiting (knocks again)", got)
	}
}

func TestWebhookDuplicatesAndReordering(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID, guest := restrictedRoomWithAdmitted(t, n, owner)

	finished := event("room_finished", roomID, 0)
	if res := n.PostWebhook(finished); res.Status != http.StatusOK {
		t.Fatalf("room_finished: %d", res.Status)
	}
	// The guest knocks again for the next session and is admitted again.
	knock := guest.Do(http.MethodPost, servicetest.Path("rooms", roomID, "request-entry"), map[string]any{"username": "Guest"})
	owner.Do(http.MethodPost, servicetest.Path("rooms", roomID, "enter"), map[string]any{"participant_id": knock.JSON()["id"], "allow_entry": true})

	// LiveKit delivers the same room_finished again (a retry): it must not clear the new admission.
	if res := n.PostWebhook(finished); res.Status != http.StatusOK {
		t.Fatalf("duplicate room_finished: %d", res.Status)
	}
	if got := entryStatus(t, guest, roomID); got != "accepted" {
		t.Fatalf("after a duplicate room_finished: %s, want accepted (event applied twice)", got)
	}

	// A room_started older than the room_finished arrives late: the room must stay not live,
	// so a new knock sends no notification.
	if res := n.PostWebhook(event("room_started", roomID, time.Hour)); res.Status != http.StatusOK {
		t.Fatalf("late room_started: %d", res.Status)
	}
	before := len(n.LiveKit.Data())
	entryStatus(t, n.Client(""), roomID)
	// A fresh room_started makes it live: the next knock is announced.
	n.PostWebhook(event("room_started", roomID, 0))
	entryStatus(t, n.Client(""), roomID)
	n.Clock.Advance(time.Second) // the knock notice interval: a knock inside it is announced once it ends
	servicetest.Eventually(t, 5*time.Second, "one notification for the knock in the live room", func() bool {
		return len(n.LiveKit.Data()) == before+1
	})
}

func TestWebhookRoomFilter(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	keptRoom, keptGuest := restrictedRoomWithAdmitted(t, n, owner)
	ignoredRoom, ignoredGuest := restrictedRoomWithAdmitted(t, n, owner)
	n.Env["LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX"] = "^" + regexp.QuoteMeta(keptRoom) + "$"
	n.Restart()

	for _, room := range []string{keptRoom, ignoredRoom} {
		if res := n.PostWebhook(event("room_finished", room, 0)); res.Status != http.StatusOK {
			t.Fatalf("room_finished for %s: %d", room, res.Status)
		}
	}
	if got := entryStatus(t, keptGuest, keptRoom); got != "waiting" {
		t.Fatalf("matching room: %s, want waiting (event processed)", got)
	}
	if got := entryStatus(t, ignoredGuest, ignoredRoom); got != "accepted" {
		t.Fatalf("filtered-out room: %s, want accepted (event ignored)", got)
	}
}

// TestWebhookStoreDown: an event that cannot be stored is answered 503 so that LiveKit retries,
// and the room keeps the state it had.
func TestWebhookStoreDown(t *testing.T) {
	redisServer := servicetest.StartRedis(t)
	n := servicetest.StartNode(t, map[string]string{"REDIS_URL": redisServer.URL, "REDIS_TIMEOUT": "0.5"})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID, guest := restrictedRoomWithAdmitted(t, n, owner)

	redisServer.Stop()
	if res := n.PostWebhook(event("room_finished", roomID, 0)); res.Status != http.StatusServiceUnavailable {
		t.Fatalf("room_finished with Redis down: %d, want 503 (%s)", res.Status, res.Body)
	}
	if got := entryStatus(t, guest, roomID); got != "accepted" {
		t.Fatalf("after a failed write: %s, want accepted (nothing half-applied)", got)
	}
	res := owner.Do(http.MethodPatch, servicetest.Path("rooms", roomID), map[string]any{"name": "Renamed"})
	if res.Status != http.StatusServiceUnavailable {
		t.Fatalf("update with Redis down: %d, want 503 (%s)", res.Status, res.Body)
	}
	if got, _ := owner.Do(http.MethodGet, servicetest.Path("rooms", roomID), nil).JSON()["name"].(string); !strings.HasPrefix(got, "Board ") {
		t.Fatalf("name after failed update: %v, want the name it was created with (Board ...)", got)
	}
	if res := n.Client("").Do(http.MethodGet, "/readyz", nil); res.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with Redis down: %d, want 503", res.Status)
	}
}

// TestPollDoesNotTouchRedis: a waiting participant's poll is answered from the room actor's
// memory; only changes are written.
func TestPollDoesNotTouchRedis(t *testing.T) {
	redisServer := servicetest.StartRedis(t)
	n := servicetest.StartNode(t, map[string]string{"REDIS_URL": redisServer.URL})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	res := owner.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "Quiet", "access_level": "restricted"})
	roomID := res.JSON()["id"].(string)
	guest := n.Client("")
	entryStatus(t, guest, roomID) // the knock: one write

	before := redisServer.CommandsProcessed(t)
	const polls = 50
	for range polls {
		if got := entryStatus(t, guest, roomID); got != "waiting" {
			t.Fatalf("poll: %s, want waiting", got)
		}
	}
	// The INFO command that reads the counter is itself counted once.
	if delta := redisServer.CommandsProcessed(t) - before; delta > 1 {
		t.Fatalf("%d polls made %d Redis commands, want none", polls, delta-1)
	}
}

// TestRoomStartedPushesMetadataWhateverTheOrder: a LiveKit room that starts again (LiveKit
// restarted and lost it) gets the room's metadata even when the participant_joined of the same
// second reaches the node before room_started: the join finds the room live already.
func TestRoomStartedPushesMetadataWhateverTheOrder(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID := owner.CreateRoom(map[string]any{"name": servicetest.UniqueRoomName("Restarted"), "access_level": "public"}).ID
	joined := func(identity string, at time.Time) {
		t.Helper()
		ev := &livekit.WebhookEvent{Event: "participant_joined", Id: fmt.Sprintf("EV_%d", eventSeq.Add(1)), CreatedAt: at.Unix(),
			Room: &livekit.Room{Name: roomID, Sid: "RM_test"}, Participant: &livekit.ParticipantInfo{Identity: identity}}
		if res := n.PostWebhook(ev); res.Status != http.StatusOK {
			t.Fatalf("participant_joined: %d %s", res.Status, res.Body)
		}
	}
	first := time.Now().Add(-time.Minute)
	joined("alice", first)
	servicetest.Eventually(t, 30*time.Second, "the metadata pushed when the room went live", func() bool {
		_, ok := n.LiveKit.Metadata(roomID)
		return ok
	})

	n.LiveKit.ForgetMetadata(roomID) // LiveKit restarted; no room_finished ever came
	again := time.Now()
	joined("bob", again)
	started := &livekit.WebhookEvent{Event: "room_started", Id: fmt.Sprintf("EV_%d", eventSeq.Add(1)), CreatedAt: again.Unix(),
		Room: &livekit.Room{Name: roomID, Sid: "RM_test2"}}
	if res := n.PostWebhook(started); res.Status != http.StatusOK {
		t.Fatalf("room_started: %d %s", res.Status, res.Body)
	}
	servicetest.Eventually(t, 30*time.Second, "the metadata pushed again at the new start", func() bool {
		_, ok := n.LiveKit.Metadata(roomID)
		return ok
	})
}

// TestWebhookTokenCheckedBeforeTheBody: a webhook whose token is not valid is refused before
// its body is read, so that a caller without the API secret cannot have the node set aside a
// buffer of the length it declares and then keep it waiting.
func TestWebhookTokenCheckedBeforeTheBody(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	status := statusWhileBodyOwed(t, n, "POST /api/v1.0/rooms/webhooks-livekit/ HTTP/1.1\r\nHost: node\r\n"+
		"Content-Type: application/webhook+json\r\nAuthorization: not-a-token\r\nContent-Length: 1000000\r\n\r\n")
	if status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", status)
	}
}

// statusWhileBodyOwed sends the node a request's head, whose declared body never comes, and
// returns the status of the answer, which must come all the same.
func statusWhileBodyOwed(t *testing.T, n *servicetest.Node, head string) int {
	t.Helper()
	// The node's handler itself: the test server's exchange checker reads every body first.
	server := httptest.NewServer(n.Service.Handler())
	defer server.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(server.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, head)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the body was still owed: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}
