package mailer_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"meetcoord/cmd/meetcoord/service/servicetest"
	"meetcoord/gateway/invitations"
	"meetcoord/gateway/invitations/mailer"
)

// The SMTP mailer against a real SMTP server (emersion/go-smtp) in the test process.

var testEmail = invitations.Email{
	To:      "bob@example.org",
	Subject: "Alice Martin vous invite à rejoindre «\u00a0Réunion\u00a0»",
	Text:    "Bonjour,\n\nRejoindre la réunion :\nhttps://meet.example.org/abc-defg-hij\n",
	HTML:    `<p>Bonjour, <a href="https://meet.example.org/abc-defg-hij">rejoindre</a></p>`,
}

func send(t *testing.T, cfg mailer.Config, timeout time.Duration) error {
	t.Helper()
	m, err := mailer.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return m.Send(ctx, testEmail)
}

func TestSMTPDelivers(t *testing.T) {
	tests := []struct {
		name     string
		server   servicetest.SMTPOptions
		security mailer.Security
		username string
	}{
		{"plain", servicetest.SMTPOptions{}, mailer.Plain, ""},
		{"STARTTLS with AUTH", servicetest.SMTPOptions{STARTTLS: true, Username: "relay", Password: "s3cret"}, mailer.StartTLS, "relay"},
		{"implicit TLS with AUTH", servicetest.SMTPOptions{ImplicitTLS: true, Username: "relay", Password: "s3cret"}, mailer.ImplicitTLS, "relay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := servicetest.StartSMTP(t, tt.server)
			cfg := mailer.Config{Host: srv.Host, Port: srv.Port, From: "Meet <noreply@meet.example.org>", Security: tt.security,
				Username: tt.username, Password: tt.server.Password}
			if srv.CA != nil {
				cfg.TLS = &tls.Config{RootCAs: srv.CA, ServerName: srv.Host, MinVersion: tls.VersionTLS12}
			}
			if err := send(t, cfg, 10*time.Second); err != nil {
				t.Fatalf("send: %v", err)
			}
			mails := srv.Mails()
			if len(mails) != 1 {
				t.Fatalf("%d messages received, want 1", len(mails))
			}
			got := mails[0]
			if got.From != "noreply@meet.example.org" || len(got.To) != 1 || got.To[0] != "bob@example.org" {
				t.Errorf("envelope from %q to %v", got.From, got.To)
			}
			if wantTLS := tt.security != mailer.Plain; got.TLS != wantTLS {
				t.Errorf("session TLS = %v, want %v", got.TLS, wantTLS)
			}
			if got.User != tt.username {
				t.Errorf("authenticated as %q, want %q", got.User, tt.username)
			}
			p, err := servicetest.ParseMail(got.Data)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, got.Data)
			}
			if p.Subject != testEmail.Subject {
				t.Errorf("subject %q, want %q", p.Subject, testEmail.Subject)
			}
			if len(p.To) != 1 || p.To[0].Address != "bob@example.org" {
				t.Errorf("To header %v", p.To)
			}
			if p.Text != testEmail.Text {
				t.Errorf("text body %q, want %q", p.Text, testEmail.Text)
			}
			if p.HTML != testEmail.HTML {
				t.Errorf("HTML body %q, want %q", p.HTML, testEmail.HTML)
			}
			if p.Header.Get("Message-Id") == "" || p.Header.Get("Date") == "" {
				t.Errorf("missing Message-ID or Date: %v", p.Header)
			}
		})
	}
}

func TestSMTPFailures(t *testing.T) {
	t.Run("STARTTLS required but not offered", func(t *testing.T) {
		srv := servicetest.StartSMTP(t, servicetest.SMTPOptions{})
		err := send(t, mailer.Config{Host: srv.Host, Port: srv.Port, From: "noreply@meet.example.org", Security: mailer.StartTLS}, 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("error %v, want a STARTTLS refusal", err)
		}
		if n := len(srv.Mails()); n != 0 {
			t.Fatalf("%d messages sent in clear", n)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := servicetest.StartSMTP(t, servicetest.SMTPOptions{STARTTLS: true})
		err := send(t, mailer.Config{Host: srv.Host, Port: srv.Port, From: "noreply@meet.example.org", Security: mailer.StartTLS}, 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("error %v, want a certificate error", err)
		}
		if n := len(srv.Mails()); n != 0 {
			t.Fatalf("%d messages sent", n)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		srv := servicetest.StartSMTP(t, servicetest.SMTPOptions{STARTTLS: true, Username: "relay", Password: "s3cret"})
		err := send(t, mailer.Config{Host: srv.Host, Port: srv.Port, From: "noreply@meet.example.org", Security: mailer.StartTLS,
			Username: "relay", Password: "wrong", TLS: &tls.Config{RootCAs: srv.CA, ServerName: srv.Host}}, 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), "535") {
			t.Fatalf("error %v, want an authentication failure (535)", err)
		}
		if n := len(srv.Mails()); n != 0 {
			t.Fatalf("%d messages sent", n)
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		err := send(t, mailer.Config{Host: "127.0.0.1", Port: servicetest.ClosedPort(t), From: "noreply@meet.example.org"}, 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("error %v, want connection refused", err)
		}
	})
	t.Run("server never answers", func(t *testing.T) {
		host, port := servicetest.StartSilentSMTP(t)
		err := send(t, mailer.Config{Host: host, Port: port, From: "noreply@meet.example.org"}, 300*time.Millisecond)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want the deadline", err)
		}
	})
}
