package gateway

import (
	"net/http"
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

// spend takes n of key's allowance from l. Its error says the limit could not be checked (its
// store failed, a 503): a request is neither let through unchecked nor refused as if throttled.
func (g *Gateway) spend(r *http.Request, l ratelimit.Limiter, key string, n int) (ratelimit.Decision, error) {
	d, err := l.AllowN(r.Context(), key, n)
	if err != nil {
		return ratelimit.Decision{}, storeFailure("check rate limit", err)
	}
	return d, nil
}

// allow spends one of key's allowance; the error is the answer (429 or 503).
func (g *Gateway) allow(r *http.Request, l ratelimit.Limiter, key string) error {
	d, err := g.spend(r, l, key, 1)
	if err == nil && !d.Allowed {
		return throttled(d, errThrottled.detail)
	}
	return err
}

// retryAfterSeconds is the decision's wait in whole seconds, rounded up (at least 1).
func retryAfterSeconds(d ratelimit.Decision) int {
	return max(1, int((d.RetryAfter+time.Second-1)/time.Second))
}
