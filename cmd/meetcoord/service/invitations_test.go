package service

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"meetcoord/cmd/meetcoord/config"
	"meetcoord/gateway/invitations"
)

// Which sender the node gets: none without EMAIL_HOST, the log in dev mode (so that `make run`
// can try invitations), SMTP otherwise (tested through the gateway against a real server).
func TestInvitationSender(t *testing.T) {
	base := map[string]string{"LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s", "OIDC_ISSUER": "https://id.example.org", "SECRET_KEY": "a-test-server-key-of-at-least-32-bytes"}

	cfg, err := config.Load(envOf(base), false)
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	if inv, err := s.invitations(prometheus.NewRegistry()); err != nil || inv != nil {
		t.Fatalf("without EMAIL_HOST: %v, %v; want no sender", inv, err)
	}

	cfg, err = config.Load(envOf(base), true)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s = &Service{cfg: cfg, log: slog.New(slog.NewTextHandler(&logs, nil))}
	inv, err := s.invitations(prometheus.NewRegistry())
	if err != nil || inv == nil {
		t.Fatalf("dev mode: %v, %v; want the log sender", inv, err)
	}
	defer inv.Close()
	failed, err := inv.Invite(context.Background(), invitations.Invitation{Room: "Standup", Slug: "abc-defg-hij", Sender: "Alice"},
		[]string{"bob@example.org"})
	if err != nil || len(failed) != 0 {
		t.Fatalf("invite: %v, failed %v", err, failed)
	}
	for _, want := range []string{"bob@example.org", "http://localhost:3000/abc-defg-hij", "Alice invites you"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
