package gateway_test

import (
	"fmt"
	"net/http"
	"testing"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// TestHotRoutesServedAsTheRouterWould: lobby polls and webhooks, served before the router
// (hotroutes.go), answer and are recorded as every route is, and the router still answers what
// the fast path leaves.
func TestHotRoutesServedAsTheRouterWould(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := n.NewUserNamed("owner", "Olivia Owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
	lobbyGoLive(t, n, roomID)

	requests := func(route string, status int) float64 {
		v, _ := n.Metrics().Value("meetcoord_http_request_duration_seconds",
			"route", route, "method", http.MethodPost, "status", fmt.Sprint(status))
		return v
	}

	t.Run("a poll is answered and recorded under its route", func(t *testing.T) {
		const route = "/api/v1.0/rooms/{room}/request-entry/"
		before := requests(route, http.StatusOK)
		guest := n.Client("")
		lobbyExpectStatus(t, lobbyKnock(t, guest, roomID, "Gus"), "waiting")
		lobbyExpectStatus(t, lobbyKnock(t, guest, roomID, "Gus"), "waiting")
		if got := requests(route, http.StatusOK); got != before+2 {
			t.Errorf("%s 200 samples = %v, want %v", route, got, before+2)
		}
		// A failure goes through the same exit as on any route: JSON, recorded with its status.
		beforeNotFound := requests(route, http.StatusNotFound)
		res := lobbyRequestEntry(guest, "no-such-room", "Gus")
		if res.Status != http.StatusNotFound || res.JSON()["detail"] == nil {
			t.Errorf("request-entry of an unknown room: %d %s, want a JSON 404", res.Status, res.Body)
		}
		if got := requests(route, http.StatusNotFound); got != beforeNotFound+1 {
			t.Errorf("%s 404 samples = %v, want %v", route, got, beforeNotFound+1)
		}
	})

	t.Run("a webhook is answered and recorded under its route", func(t *testing.T) {
		const route = "/api/v1.0/rooms/webhooks-livekit/"
		before := requests(route, http.StatusOK)
		if res := n.PostWebhook(event("participant_joined", roomID, 0)); res.Status != http.StatusOK {
			t.Fatalf("webhook: %d %s", res.Status, res.Body)
		}
		if got := requests(route, http.StatusOK); got != before+1 {
			t.Errorf("%s 200 samples = %v, want %v", route, got, before+1)
		}
	})

	t.Run("another method is the router's", func(t *testing.T) {
		path := servicetest.Path("rooms", roomID, "request-entry")
		res := n.Client("").Do(http.MethodGet, path, nil)
		if res.Status != http.StatusMethodNotAllowed || res.JSON()["detail"] == nil {
			t.Errorf("GET %s: %d %s, want a JSON 405", path, res.Status, res.Body)
		}
		// GET rooms/webhooks-livekit/ is rooms/{room}/: a room of that name, which there is not.
		path = servicetest.Path("rooms", "webhooks-livekit")
		if res := n.Client("").Do(http.MethodGet, path, nil); res.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want the room route's 404", path, res.Status, res.Body)
		}
	})

	t.Run("an unread body owed by the caller does not hold the answer", func(t *testing.T) {
		// The room is unknown: the answer needs no body, and the connection is closed rather
		// than drained of a megabyte that never comes (see readBody).
		status := statusWhileBodyOwed(t, n, "POST /api/v1.0/rooms/no-such-room/request-entry/ HTTP/1.1\r\nHost: node\r\n"+
			"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
		if status != http.StatusNotFound {
			t.Fatalf("status %d, want 404", status)
		}
	})

	t.Run("a body declared past the bound is refused unread", func(t *testing.T) {
		// The room is known, so its body is owed an answer; one declared past the bound gets
		// that answer before a byte of it is read.
		status := statusWhileBodyOwed(t, n, "POST "+servicetest.Path("rooms", roomID, "request-entry")+" HTTP/1.1\r\nHost: node\r\n"+
			"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n")
		if status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", status)
		}
	})
}
