// Package marketing adds new users to a marketing contact list when they sign up
// (SIGNUP_NEW_USER_TO_MARKETING_EMAIL). The provider is behind Service: another provider is one
// new file beside brevo.go. Sign-up never waits for it: contacts are sent in the background with
// a timeout, and failures are logged and counted, never reported to the user.
package marketing

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Contact is what a provider gets of a new user.
type Contact struct {
	Email     string
	FullName  string
	ShortName string
	Language  string
}

// Service adds a contact to the provider's lists. It must honour ctx's deadline.
type Service interface {
	AddContact(ctx context.Context, c Contact) error
}

// maxInFlight bounds the contacts being sent at once: a burst of sign-ups while the provider
// hangs must not pile up goroutines (each lives at most the timeout anyway).
const maxInFlight = 64

// Signups sends new users' contacts to a Service in the background.
type Signups struct {
	service Service
	timeout time.Duration
	log     *slog.Logger
	sent    *prometheus.CounterVec
	slots   chan struct{}
	wg      sync.WaitGroup
}

// NewSignups sends contacts to service, each call bounded by timeout; its counter
// meetcoord_marketing_contacts_total{outcome} is registered on reg.
func NewSignups(service Service, timeout time.Duration, logger *slog.Logger, reg prometheus.Registerer) *Signups {
	s := &Signups{
		service: service,
		timeout: timeout,
		log:     logger,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meetcoord_marketing_contacts_total",
			Help: "Contacts of new users sent to the marketing provider, by outcome (added, failed, timeout, dropped).",
		}, []string{"outcome"}),
		slots: make(chan struct{}, maxInFlight),
	}
	for _, o := range []string{"added", "failed", "timeout", "dropped"} {
		s.sent.WithLabelValues(o)
	}
	reg.MustRegister(s.sent)
	return s
}

// SignedUp sends a new user's contact in the background and returns at once. Users without an
// email have no contact to add.
func (s *Signups) SignedUp(c Contact) {
	if c.Email == "" {
		return
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.sent.WithLabelValues("dropped").Inc()
		s.log.Warn("marketing contact dropped: too many in flight", "in_flight", maxInFlight)
		return
	}
	s.wg.Go(func() {
		defer func() { <-s.slots }()
		// Not the request's context: the sign-up's request is over long before this ends.
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		err := s.service.AddContact(ctx, c)
		switch {
		case err == nil:
			s.sent.WithLabelValues("added").Inc()
		case ctx.Err() != nil:
			s.sent.WithLabelValues("timeout").Inc()
			s.log.Warn("marketing contact not added: provider timed out", "timeout", s.timeout, "error", err)
		default:
			s.sent.WithLabelValues("failed").Inc()
			s.log.Warn("marketing contact not added", "error", err)
		}
	})
}

// Wait returns when every contact in flight is sent or has timed out (at shutdown).
func (s *Signups) Wait() { s.wg.Wait() }
