// Package ratelimit limits requests per client key (a lobby cookie, a user), not per IP: many
// meeting participants share one NAT address.
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a number of requests per period, written like the reference product's settings:
// "150/minute", "10/second", "1000/hour", "5000/day".
type Rate struct {
	Requests int
	Per      time.Duration
}

// ParseRate parses "N/period".
func ParseRate(s string) (Rate, error) {
	count, period, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q is not a rate like 150/minute", s)
	}
	n, err := strconv.Atoi(count)
	if err != nil || n <= 0 {
		return Rate{}, fmt.Errorf("%q: %q is not a positive count", s, count)
	}
	per, ok := map[string]time.Duration{
		"s": time.Second, "sec": time.Second, "second": time.Second,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute,
		"h": time.Hour, "hour": time.Hour,
		"d": 24 * time.Hour, "day": 24 * time.Hour,
	}[period]
	if !ok {
		return Rate{}, fmt.Errorf("%q: unknown period %q (second, minute, hour, day)", s, period)
	}
	return Rate{Requests: n, Per: per}, nil
}

// String writes r back in ParseRate's form, for messages ("200/hour").
func (r Rate) String() string {
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"second", time.Second}, {"minute", time.Minute}, {"hour", time.Hour}, {"day", 24 * time.Hour}} {
		if r.Per == p.d {
			return strconv.Itoa(r.Requests) + "/" + p.name
		}
	}
	return strconv.Itoa(r.Requests) + "/" + r.Per.String()
}

// Limiter limits what each key (a client) may spend. Allowances are all or none: a refused
// request spends nothing.
type Limiter interface {
	// AllowN spends n of key's allowance if it has that much left.
	AllowN(ctx context.Context, key string, n int) (Decision, error)
}

// Decision is a limiter's answer.
type Decision struct {
	Allowed bool
	// RetryAfter, when refused, is how long until the same request would fit (if nothing else
	// is spent meanwhile); 0 when it never will, because it costs more than a whole period's
	// allowance.
	RetryAfter time.Duration
}

// overBurst reports a cost no wait can pay (more than a whole period's allowance): it is refused
// with a zero Decision, whose RetryAfter 0 says so.
func (r Rate) overBurst(n int) bool { return n > r.Requests }

// Local is a token bucket per key in this process: a burst of the whole allowance, refilled
// evenly over the period. Idle keys are forgotten so that memory follows active clients only.
// Behind several nodes each has its own allowance: use Shared there.
type Local struct {
	rate  Rate
	now   func() time.Time
	mu    sync.Mutex
	keys  map[string]*bucket
	swept time.Time
}

var _ Limiter = (*Local)(nil)

type bucket struct {
	limiter *rate.Limiter
	seen    time.Time
}

// NewLocal returns a limiter allowing r per key, in this process.
func NewLocal(r Rate) *Local {
	return &Local{rate: r, now: time.Now, keys: map[string]*bucket{}}
}

// AllowN spends n of key's allowance if it has that much left.
func (l *Local) AllowN(_ context.Context, key string, n int) (Decision, error) {
	if l.rate.overBurst(n) {
		return Decision{}, nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.keys[key]
	if !ok {
		every := rate.Every(l.rate.Per / time.Duration(l.rate.Requests))
		b = &bucket{limiter: rate.NewLimiter(every, l.rate.Requests)}
		l.keys[key] = b
	}
	b.seen = now
	if b.limiter.AllowN(now, n) { // no allocation: a reservation is one
		return Decision{Allowed: true}, nil
	}
	// Refused: a reservation tells how long the tokens take to come; it is given back at once.
	r := b.limiter.ReserveN(now, n)
	delay := r.DelayFrom(now)
	r.CancelAt(now)
	return Decision{RetryAfter: delay}, nil
}

// sweep forgets keys idle for a whole period: their bucket would be full again anyway.
func (l *Local) sweep(now time.Time) {
	if now.Sub(l.swept) < l.rate.Per {
		return
	}
	l.swept = now
	for k, b := range l.keys {
		if now.Sub(b.seen) >= l.rate.Per {
			delete(l.keys, k)
		}
	}
}
