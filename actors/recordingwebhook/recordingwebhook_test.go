package recordingwebhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	lkclient "meetcoord/actors/livekit"
	"meetcoord/actors/room"
	"meetcoord/messages"
)

func TestNoticeContent(t *testing.T) {
	saved := room.RecordingNotice{
		Recording: &messages.Recording{Id: "r1", Mode: "screen_recording", Status: "saved", CreatedUnixMs: 1_700_000_000_000,
			Options: &messages.RecordingOptions{Language: "fr"}, StartedBy: "u1"},
		Room:   &messages.RoomRecord{Id: "room1", Name: "Weekly", Slug: "abc-defg-hij"},
		Owners: []*messages.User{{Id: "u1", Email: "ada@example.org", FullName: "Ada"}},
	}
	tests := []struct {
		name              string
		folder, base      string
		wantFile, wantURL string
	}{
		{"folder and front end", "recordings/", "https://meet.example.org/", "recordings/r1.mp4", "https://meet.example.org/abc-defg-hij"},
		{"bucket root, no front end", "", "", "r1.mp4", ""},
	}
	for _, tt := range tests {
		n := New(Config{URL: "http://unused", AppBaseURL: tt.base, Output: lkclient.RecordingOutput{Folder: tt.folder}})
		got := n.notice(saved)
		if got.Recording.File != tt.wantFile || got.Room.URL != tt.wantURL || got.Recording.Language != "fr" ||
			got.Recording.CreatedAt != "2023-11-14T22:13:20Z" || len(got.Owners) != 1 || got.Owners[0].Email != "ada@example.org" {
			t.Errorf("%s: notice %+v", tt.name, got)
		}
	}
}

// The caller's deadline ends the retries: a notice never outlives RECORDING_NOTIFICATION_TIMEOUT.
func TestDeadlineEndsRetries(t *testing.T) {
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	n := New(Config{URL: srv.URL, Backoff: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := n.RecordingSaved(ctx, room.RecordingNotice{Recording: &messages.Recording{Id: "r1"}, Room: &messages.RoomRecord{}})
	if err == nil || attempts.Load() != 1 {
		t.Fatalf("err %v after %d attempts, want an error after 1 (the deadline came before the retry)", err, attempts.Load())
	}
}

// A redirect is a failure, never followed: Go would resend the POST as a GET without its body,
// and the GET's 200 would count as the notice taken.
func TestRedirectIsNotFollowed(t *testing.T) {
	var redirected, attempts atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { redirected.Add(1) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	defer srv.Close()
	err := New(Config{URL: srv.URL}).RecordingSaved(context.Background(),
		room.RecordingNotice{Recording: &messages.Recording{Id: "r1"}, Room: &messages.RoomRecord{}})
	if err == nil || attempts.Load() != 1 || redirected.Load() != 0 {
		t.Fatalf("err %v, %d attempts, %d requests at the redirect target; want an error after 1 attempt and none there",
			err, attempts.Load(), redirected.Load())
	}
}
