// Package ratelimit limits requests per client key (a lobby cookie, a user), not per IP: many
// meeting participants share one NAT address.
package ratelimit

import (
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

// Limiter is a token bucket per key: a burst of the whole allowance, refilled evenly over the
// period. Idle keys are forgotten so that memory follows active clients only.
type Limiter struct {
	rate  Rate
	now   func() time.Time
	mu    sync.Mutex
	keys  map[string]*bucket
	swept time.Time
}

type bucket struct {
	limiter *rate.Limiter
	seen    time.Time
}

// New returns a limiter allowing r per key.
func New(r Rate) *Limiter {
	return &Limiter{rate: r, now: time.Now, keys: map[string]*bucket{}}
}

// Allow reports whether one more request of key is within the rate.
func (l *Limiter) Allow(key string) bool { return l.AllowN(key, 1) }

// AllowN reports whether key may spend n tokens at once (a request that costs more than one,
// such as one email per invited address), and spends them if so: all or none. More than the
// burst (the whole allowance of a period) is always refused, however long the key waited.
func (l *Limiter) AllowN(key string, n int) bool {
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
	return b.limiter.AllowN(now, n)
}

// sweep forgets keys idle for a whole period: their bucket would be full again anyway.
func (l *Limiter) sweep(now time.Time) {
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
