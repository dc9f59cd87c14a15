package mailer

import (
	"context"
	"log/slog"

	"meetcoord/gateway/invitations"
)

// Log writes emails to the log instead of sending them: dev mode without EMAIL_HOST, so that
// invitations can be tried (and their links followed) without a mail server.
type Log struct {
	Logger *slog.Logger
}

var _ invitations.Mailer = Log{}

// Send implements invitations.Mailer.
func (l Log) Send(ctx context.Context, e invitations.Email) error {
	l.Logger.InfoContext(ctx, "invitation email (dev mode: logged, not sent)",
		"to", e.To, "subject", e.Subject, "text", e.Text)
	return nil
}
