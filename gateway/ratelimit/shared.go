package ratelimit

import (
	"context"
	"fmt"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Shared limits each key across every node sharing one Redis: a client behind a load balancer
// gets the configured allowance once, not once per node. It is the same algorithm as Local
// (GCRA, a token bucket in one Redis key per client, expiring when full again), run by
// redis_rate as one Lua script, so concurrent requests on several nodes cannot overspend.
type Shared struct {
	limiter *redis_rate.Limiter
	name    string
	limit   redis_rate.Limit
	rate    Rate
}

var _ Limiter = (*Shared)(nil)

// NewShared returns a limiter allowing r per key in Redis; name keeps limiters apart.
func NewShared(client *redis.Client, name string, r Rate) *Shared {
	return &Shared{
		limiter: redis_rate.NewLimiter(client),
		name:    "meetcoord:ratelimit:" + name + ":", // redis_rate prefixes "rate:"
		limit:   redis_rate.Limit{Rate: r.Requests, Burst: r.Requests, Period: r.Per},
		rate:    r,
	}
}

// AllowN spends n of key's allowance if it has that much left.
func (s *Shared) AllowN(ctx context.Context, key string, n int) (Decision, error) {
	if s.rate.overBurst(n) {
		return Decision{}, nil
	}
	res, err := s.limiter.AllowN(ctx, s.name+key, s.limit, n)
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %s: %w", s.name, err)
	}
	if res.Allowed < n {
		return Decision{RetryAfter: max(res.RetryAfter, 0)}, nil
	}
	return Decision{Allowed: true}, nil
}
