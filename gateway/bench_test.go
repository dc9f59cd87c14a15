package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// benchRooms is the number of rooms, each with one waiting participant, that polls cycle over.
const benchRooms = 1000

type waitingPoll struct {
	url    string
	cookie string
}

// BenchmarkRequestEntryPoll measures request-entry polls of waiting participants through the
// real gateway and room actors (Redis-backed, but polls only read actor memory), over loopback
// HTTP, across 1,000 rooms. Compare with BenchmarkBareHandler, run in the same `go test` run:
//
//	make bench
func BenchmarkRequestEntryPoll(b *testing.B) {
	n := servicetest.StartNode(b, nil)
	owner := n.Client(n.Token("bench-owner", "owner@example.org", "Bench Owner"))
	polls := make([]waitingPoll, 0, benchRooms)
	for i := range benchRooms {
		res := owner.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": fmt.Sprint("room ", i), "access_level": "restricted"})
		if res.Status != http.StatusCreated {
			b.Fatalf("create room: %d %s", res.Status, res.Body)
		}
		guest := n.Client("")
		path := servicetest.Path("rooms", res.JSON()["id"].(string), "request-entry")
		if got := guest.Do(http.MethodPost, path, map[string]any{"username": "guest"}).JSON()["status"]; got != "waiting" {
			b.Fatalf("knock: %v", got)
		}
		polls = append(polls, waitingPoll{url: n.URL + path, cookie: "lobbyParticipantId=" + guest.Cookie("lobbyParticipantId")})
	}
	runPolls(b, polls, "waiting")
}

// BenchmarkBareHandler is the baseline: a net/http handler that decodes the same body and
// answers a JSON object of the same shape, with nothing behind it.
func BenchmarkBareHandler(b *testing.B) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "d1ac1855-d5da-4e2c-9abc-c9762020b154", "status": "waiting", "username": body["username"],
			"color": "hsl(222, 73%, 48%)", "livekit": nil,
		})
	}))
	defer server.Close()
	polls := make([]waitingPoll, benchRooms)
	for i := range polls {
		polls[i] = waitingPoll{url: fmt.Sprintf("%s/api/v1.0/rooms/%d/request-entry/", server.URL, i), cookie: "lobbyParticipantId=x"}
	}
	runPolls(b, polls, "waiting")
}

func runPolls(b *testing.B, polls []waitingPoll, wantStatus string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	body := []byte(`{"username":"guest"}`)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := polls[int(next.Add(1))%len(polls)]
			req, _ := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Cookie", p.cookie)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var out struct {
				Status string `json:"status"`
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || out.Status != wantStatus {
				b.Fatalf("poll: %d %q %v", resp.StatusCode, out.Status, err)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
}
