// Package recordingwebhook tells an outside service (a transcript summarizer, a mailer that
// sends owners their recording) that a recording is saved: one JSON POST to a configured URL,
// authenticated with a bearer token, retried on failures a retry may cure. The room actor
// moves the recording to notification_succeeded when the service answered 2xx.
package recordingwebhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	lkclient "meetcoord/actors/livekit"
	"meetcoord/actors/room"
	"meetcoord/messages"
)

// Config is the RECORDING_NOTIFICATION_* settings.
type Config struct {
	URL        string // where notices are POSTed
	Token      string // sent as "Authorization: Bearer <token>"; empty: no header
	AppBaseURL string // the front end: room links (APP_BASE_URL/<slug>)
	Output     lkclient.RecordingOutput
	// Client sends the notices; nil: a client without its own timeout (the caller's context
	// bounds). Redirects are never followed: Go would turn the POST into a GET without body.
	Client *http.Client
	// Backoff is the wait before the second attempt, doubled after each; 0: 500 ms.
	Backoff time.Duration
}

// Notifier POSTs notices of saved recordings.
type Notifier struct {
	cfg Config
}

var _ room.RecordingNotifier = (*Notifier)(nil)

// New returns a notifier.
func New(cfg Config) *Notifier {
	client := http.Client{}
	if cfg.Client != nil {
		client = *cfg.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.Client = &client
	if cfg.Backoff == 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	return &Notifier{cfg: cfg}
}

// maxAttempts bounds the attempts of one notice; the caller's context bounds their total time.
const maxAttempts = 3

// Notice is the JSON body of a notification.
type Notice struct {
	Type      string          `json:"type"` // "recording.saved"
	Recording NoticeRecording `json:"recording"`
	Room      NoticeRoom      `json:"room"`
	Owners    []NoticeOwner   `json:"owners"`
}

// NoticeRecording is the recording in a notice.
type NoticeRecording struct {
	ID        string `json:"id"`
	Mode      string `json:"mode"` // screen_recording or transcript
	Status    string `json:"status"`
	File      string `json:"file"` // its key in the recording bucket
	Language  string `json:"language,omitempty"`
	StartedBy string `json:"started_by,omitempty"` // user id
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// NoticeRoom is the room in a notice.
type NoticeRoom struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
	URL  string `json:"url,omitempty"`
}

// NoticeOwner is one of the room's owners in a notice.
type NoticeOwner struct {
	ID       string `json:"id"`
	Sub      string `json:"sub,omitempty"`
	Email    string `json:"email"`
	FullName string `json:"full_name,omitempty"`
	Language string `json:"language,omitempty"`
}

// RecordingSaved POSTs the notice. The recording id goes in an Idempotency-Key header: a
// notice may arrive twice (an attempt that timed out after the service took it is retried).
func (n *Notifier) RecordingSaved(ctx context.Context, saved room.RecordingNotice) error {
	body, err := json.Marshal(n.notice(saved))
	if err != nil {
		return fmt.Errorf("encode recording notice: %w", err)
	}
	wait := n.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err = n.post(ctx, saved.Recording.GetId(), body)
		var permanent permanentError
		if err == nil || errors.As(err, &permanent) || attempt == maxAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (then %v)", err, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// permanentError is an answer a retry cannot change (a redirect, a 4xx other than 408 and 429).
type permanentError struct{ error }

func (n *Notifier) post(ctx context.Context, recordingID string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return permanentError{fmt.Errorf("recording notice request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", recordingID)
	if n.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+n.cfg.Token)
	}
	res, err := n.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post recording notice: %w", err)
	}
	defer res.Body.Close()
	detail, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return nil
	case res.StatusCode < 400 || (res.StatusCode < 500 && res.StatusCode != http.StatusRequestTimeout && res.StatusCode != http.StatusTooManyRequests):
		return permanentError{fmt.Errorf("recording notice refused: %s: %s", res.Status, strings.TrimSpace(string(detail)))}
	default:
		return fmt.Errorf("recording notice failed: %s: %s", res.Status, strings.TrimSpace(string(detail)))
	}
}

func (n *Notifier) notice(saved room.RecordingNotice) Notice {
	rec, room := saved.Recording, saved.Room
	out := Notice{
		Type: "recording.saved",
		Recording: NoticeRecording{
			ID: rec.GetId(), Mode: rec.GetMode(), Status: messages.RecordingStatusName(rec.CurrentStatus()),
			File:      n.cfg.Output.Filepath(rec.GetId(), rec.GetMode() == "transcript"),
			Language:  rec.GetOptions().GetLanguage(),
			StartedBy: rec.GetStartedBy(),
			CreatedAt: timestamp(rec.GetCreatedUnixMs()), UpdatedAt: timestamp(rec.GetUpdatedUnixMs()),
		},
		Room:   NoticeRoom{ID: room.GetId(), Name: room.GetName(), Slug: room.GetSlug()},
		Owners: []NoticeOwner{},
	}
	if n.cfg.AppBaseURL != "" && room.GetSlug() != "" {
		out.Room.URL = strings.TrimSuffix(n.cfg.AppBaseURL, "/") + "/" + room.GetSlug()
	}
	for _, u := range saved.Owners {
		out.Owners = append(out.Owners, NoticeOwner{ID: u.GetId(), Sub: u.GetSub(), Email: u.GetEmail(), FullName: u.GetFullName(), Language: u.GetLanguage()})
	}
	return out
}

func timestamp(unixMs int64) string {
	return time.UnixMilli(unixMs).UTC().Format(time.RFC3339Nano)
}
