package gateway

import (
	"net/http"
	"strconv"
	"time"

	"meetcoord/gateway/ratelimit"
)

// rateLimit builds the named limit: shared between nodes when the service provides shared
// limits (Redis), else this node's own.
func (cfg Config) rateLimit(name string, r ratelimit.Rate) ratelimit.Limiter {
	if cfg.RateLimits != nil {
		return cfg.RateLimits(name, r)
	}
	return ratelimit.NewLocal(r)
}

// spend takes n of key's allowance from l. ok=false means the limit could not be checked (its
// store failed) and the 503 is written: a request is neither let through unchecked nor refused
// as if throttled.
func (g *Gateway) spend(w http.ResponseWriter, r *http.Request, l ratelimit.Limiter, key string, n int) (ratelimit.Decision, bool) {
	d, err := l.AllowN(r.Context(), key, n)
	if err != nil {
		g.storeFailed(w, "check rate limit", err)
		return ratelimit.Decision{}, false
	}
	return d, true
}

// allow spends one of key's allowance; ok=false means the answer (429 or 503) is written.
func (g *Gateway) allow(w http.ResponseWriter, r *http.Request, l ratelimit.Limiter, key string) bool {
	d, ok := g.spend(w, r, l, key, 1)
	if ok && !d.Allowed {
		writeThrottled(w, d, "Request was throttled.")
	}
	return ok && d.Allowed
}

// writeThrottled answers 429, with Retry-After when waiting would help.
func writeThrottled(w http.ResponseWriter, d ratelimit.Decision, detail string) {
	if d.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(d)))
	}
	writeError(w, http.StatusTooManyRequests, detail)
}

// retryAfterSeconds is the decision's wait in whole seconds, rounded up (at least 1).
func retryAfterSeconds(d ratelimit.Decision) int {
	return max(1, int((d.RetryAfter+time.Second-1)/time.Second))
}
