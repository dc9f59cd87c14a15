// Package invitations sends room invitations by email: one message per recipient, rendered in
// the inviting user's language (text and HTML), delivered by a Mailer on a bounded pool of
// workers so that a slow or dead mail server never holds up a room or piles up goroutines.
package invitations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Mailer delivers one email. It must give up when ctx is done.
type Mailer interface {
	Send(ctx context.Context, e Email) error
}

// Config sizes the service.
type Config struct {
	// BaseURL is the front end's address (APP_BASE_URL); a room's link is BaseURL/slug.
	BaseURL string
	// Workers is how many emails are sent at once (SMTP connections).
	Workers int
	// QueueSize is how many emails may wait for a worker.
	QueueSize int
	// Timeout bounds each email from the moment it is accepted, queueing included, so that
	// a request waiting for its sends answers within Timeout.
	Timeout  time.Duration
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Service sends invitations.
type Service struct {
	cfg    Config
	mailer Mailer
	pool   *pool
	log    *slog.Logger
	sent   *prometheus.CounterVec
}

// New starts the workers; Close stops them.
func New(cfg Config, mailer Mailer) (*Service, error) {
	if cfg.Workers < 1 || cfg.QueueSize < 1 || cfg.Timeout <= 0 {
		return nil, fmt.Errorf("invitations: workers (%d), queue size (%d) and timeout (%s) must be positive",
			cfg.Workers, cfg.QueueSize, cfg.Timeout)
	}
	s := &Service{
		cfg: cfg, mailer: mailer, log: cfg.Logger,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meetcoord_invitation_emails_total",
			Help: "Invitation emails by result: sent, failed (mail server error or timeout), rejected (queue full), throttled (over the sender's INVITATION_THROTTLE_RATES).",
		}, []string{"result"}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.Registry != nil {
		if err := cfg.Registry.Register(s.sent); err != nil {
			return nil, fmt.Errorf("invitations: register metrics: %w", err)
		}
	}
	s.pool = newPool(cfg.Workers, cfg.QueueSize)
	return s, nil
}

// Close waits for the queued emails (each bounded by the timeout) and stops the workers.
func (s *Service) Close() { s.pool.close() }

// Link is the address of a room in the front end.
func (s *Service) Link(slug string) string {
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/" + url.PathEscape(slug)
}

// Invite sends the invitation to every address (already validated and distinct) and waits
// for the results, at most the timeout. It returns the addresses whose email could not be
// sent; ErrQueueFull or ErrClosed when nothing was accepted.
func (s *Service) Invite(ctx context.Context, inv Invitation, to []string) (failed []string, err error) {
	link := s.Link(inv.Slug)
	emails := make([]Email, 0, len(to))
	for _, addr := range to {
		e, err := render(inv, link, addr)
		if err != nil {
			return nil, err
		}
		emails = append(emails, e)
	}

	// The sends belong to the service, not to the request: an email accepted is attempted
	// even if the client goes away, within the timeout counted from now.
	deadline := time.Now().Add(s.cfg.Timeout)
	results := make(chan sendResult, len(emails))
	batch := make([]func(), len(emails))
	for i, e := range emails {
		batch[i] = func() { results <- s.send(deadline, e) }
	}
	if err := s.pool.submit(batch); err != nil {
		s.sent.WithLabelValues("rejected").Add(float64(len(emails)))
		return nil, err
	}

	// The mailer gives up at the deadline; the grace only covers a mailer that does not.
	wait := time.NewTimer(time.Until(deadline) + time.Second)
	defer wait.Stop()
	pending := map[string]bool{}
	for _, e := range emails {
		pending[e.To] = true
	}
	for len(pending) > 0 {
		select {
		case r := <-results:
			delete(pending, r.to)
			if r.err != nil {
				failed = append(failed, r.to)
			}
		case <-wait.C:
			for _, addr := range to {
				if pending[addr] {
					failed = append(failed, addr)
				}
			}
			return orderAs(to, failed), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return orderAs(to, failed), nil
}

// Throttled counts n emails refused before reaching the service because their sender was over
// the invitations rate (the gateway limits per user): they belong with the other outcomes of
// meetcoord_invitation_emails_total.
func (s *Service) Throttled(n int) { s.sent.WithLabelValues("throttled").Add(float64(n)) }

type sendResult struct {
	to  string
	err error
}

// send delivers one email before the deadline, then logs and counts the outcome.
func (s *Service) send(deadline time.Time, e Email) sendResult {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	err := ctx.Err()
	if err != nil {
		err = fmt.Errorf("waited in the queue past the timeout: %w", err)
	} else {
		err = s.mailer.Send(ctx, e)
	}
	if err != nil {
		s.sent.WithLabelValues("failed").Inc()
		s.log.Warn("invitation email not sent", "to", e.To, "error", err,
			"timed_out", errors.Is(err, context.DeadlineExceeded))
		return sendResult{to: e.To, err: err}
	}
	s.sent.WithLabelValues("sent").Inc()
	s.log.Debug("invitation email sent", "to", e.To)
	return sendResult{to: e.To}
}

// orderAs returns the members of subset in the order of all (results arrive in any order).
func orderAs(all, subset []string) []string {
	in := map[string]bool{}
	for _, s := range subset {
		in[s] = true
	}
	var out []string
	for _, s := range all {
		if in[s] {
			out = append(out, s)
		}
	}
	return out
}
