package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/livekit/protocol/livekit"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// noticeService stands in for the service told of saved recordings (RECORDING_NOTIFICATION_URL):
// it keeps what it receives and answers with the status the current case sets.
type noticeService struct {
	*httptest.Server
	status   atomic.Int32
	mu       sync.Mutex
	received []receivedNotice
}

type receivedNotice struct {
	auth, idempotencyKey string
	body                 map[string]any
}

func startNoticeService(t *testing.T) *noticeService {
	t.Helper()
	s := &noticeService{}
	s.status.Store(http.StatusOK)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		s.mu.Lock()
		s.received = append(s.received, receivedNotice{auth: r.Header.Get("Authorization"), idempotencyKey: r.Header.Get("Idempotency-Key"), body: body})
		s.mu.Unlock()
		w.WriteHeader(int(s.status.Load()))
	}))
	t.Cleanup(s.Close)
	return s
}

// noticesOf are the notices received for a recording.
func (s *noticeService) noticesOf(recordingID string) []receivedNotice {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []receivedNotice
	for _, n := range s.received {
		if n.idempotencyKey == recordingID {
			out = append(out, n)
		}
	}
	return out
}

// TestRecordingNotification: with RECORDING_NOTIFICATION_URL, a saved recording is announced
// to that service (bearer token, idempotency key, recording, room and owners), and moves to
// notification_succeeded when the service takes it; a service that fails leaves it saved.
func TestRecordingNotification(t *testing.T) {
	svc := startNoticeService(t)
	e := recStart(t, map[string]string{
		"RECORDING_NOTIFICATION_URL": svc.URL + "/hooks/recordings", "RECORDING_NOTIFICATION_TOKEN": "notice-token",
		"RECORDING_NOTIFICATION_TIMEOUT": "10", "APP_BASE_URL": "https://meet.example.org",
	})
	owner := e.n.NewUser("owner")

	// record runs a recording of a new room of owner's to egress_ended COMPLETE.
	record := func(t *testing.T, mode string) (string, recRecording) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		rec := e.startOK(t, owner.Client, roomID, mode)
		egressID := e.egressOf(t, roomID)
		e.send(t, "egress_started", egressID, livekit.EgressStatus_EGRESS_ACTIVE)
		recExpect(t, recPost(owner.Client, roomID, "stop-recording", nil), http.StatusOK, "stop")
		e.send(t, "egress_ended", egressID, livekit.EgressStatus_EGRESS_COMPLETE)
		return roomID, rec
	}

	t.Run("taken by the service", func(t *testing.T) {
		svc.status.Store(http.StatusAccepted)
		roomID, rec := record(t, "transcript")
		done := recWaitStatus(t, owner.Client, rec.ID, "notification_succeeded", recWithin)
		notices := svc.noticesOf(rec.ID)
		if len(notices) != 1 {
			t.Fatalf("%d notices for the recording, want 1", len(notices))
		}
		got := notices[0]
		room, _ := got.body["room"].(map[string]any)
		recording, _ := got.body["recording"].(map[string]any)
		owners, _ := got.body["owners"].([]any)
		if got.auth != "Bearer notice-token" || got.body["type"] != "recording.saved" ||
			recording["id"] != rec.ID || recording["mode"] != "transcript" || recording["status"] != "saved" ||
			recording["file"] != "recordings/"+rec.ID+".ogg" ||
			room["id"] != roomID || room["slug"] != done.Room.Slug || room["url"] != "https://meet.example.org/"+done.Room.Slug ||
			len(owners) != 1 || owners[0].(map[string]any)["email"] != owner.Subject+"@example.org" {
			t.Fatalf("notice %+v", got)
		}
		// A repeated egress_ended changes nothing and announces nothing again: a second recording
		// of the same room, completed after it, is announced, and the first still only once.
		e.send(t, "egress_ended", e.egressOf(t, roomID), livekit.EgressStatus_EGRESS_COMPLETE)
		next := e.startOK(t, owner.Client, roomID, "transcript")
		e.send(t, "egress_ended", e.egressOf(t, roomID), livekit.EgressStatus_EGRESS_COMPLETE)
		recWaitStatus(t, owner.Client, next.ID, "notification_succeeded", recWithin)
		if again, _ := recGet(t, owner.Client, rec.ID); again.Status != "notification_succeeded" || len(svc.noticesOf(rec.ID)) != 1 {
			t.Fatalf("after a repeated egress_ended: %s, %d notices", again.Status, len(svc.noticesOf(rec.ID)))
		}
	})

	// A failing service leaves the recording saved: an answer a retry may change is retried,
	// a refusal is not.
	failures := []struct {
		name         string
		status       int
		wantAttempts int
	}{
		{"unavailable, retried", http.StatusServiceUnavailable, 3},
		{"refused, not retried", http.StatusBadRequest, 1},
	}
	for i, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			svc.status.Store(int32(tt.status))
			_, rec := record(t, "screen_recording")
			// Counted means the notifier returned: every attempt it made has been received.
			servicetest.Eventually(t, recWithin, "the failure to be counted", func() bool {
				failed, _ := e.n.Metrics().Value("meetcoord_recording_notifications_total", "outcome", "failed")
				return failed == float64(i+1)
			})
			if n := len(svc.noticesOf(rec.ID)); n != tt.wantAttempts {
				t.Fatalf("%d attempts at a service answering %d, want %d", n, tt.status, tt.wantAttempts)
			}
			if got, _ := recGet(t, owner.Client, rec.ID); got.Status != "saved" {
				t.Fatalf("recording %s after a failed notification, want saved", got.Status)
			}
		})
	}
}
