package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"meetcoord/cmd/meetcoord/service/servicetest"
	"meetcoord/gateway/ratelimit"
)

// nodes returns two Shared limiters on one Redis, as two nodes would have, each with its own
// client.
func nodes(t *testing.T, r ratelimit.Rate) (*ratelimit.Shared, *ratelimit.Shared) {
	t.Helper()
	opts, err := redis.ParseURL(servicetest.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	a, b := redis.NewClient(opts), redis.NewClient(opts)
	t.Cleanup(func() { a.Close(); b.Close() })
	return ratelimit.NewShared(a, "test", r), ratelimit.NewShared(b, "test", r)
}

func allowShared(t *testing.T, l ratelimit.Limiter, key string, n int) ratelimit.Decision {
	t.Helper()
	d, err := l.AllowN(context.Background(), key, n)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The rules of TestLocalAllowN, without a clock to move (6 per hour: nothing refills while the
// test runs), and one allowance across nodes.
func TestSharedAllowN(t *testing.T) {
	type step struct {
		node      int
		key       string
		n         int
		want      bool
		wantRetry time.Duration // when refused; checked to the second (Redis's clock moves)
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"one allowance across nodes", []step{{0, "a", 3, true, 0}, {1, "a", 3, true, 0}, {0, "a", 1, false, 10 * time.Minute}, {1, "a", 1, false, 10 * time.Minute}}},
		{"more than the burst is refused for good", []step{{0, "a", 7, false, 0}, {1, "a", 6, true, 0}}},
		{"all or none: a refused cost spends nothing", []step{{0, "a", 4, true, 0}, {1, "a", 3, false, 10 * time.Minute}, {0, "a", 2, true, 0}, {1, "a", 1, false, 10 * time.Minute}}},
		{"per key", []step{{0, "a", 6, true, 0}, {1, "b", 6, true, 0}, {0, "a", 1, false, 10 * time.Minute}}},
		{"retry after is the time for the whole cost", []step{{0, "a", 6, true, 0}, {1, "a", 3, false, 30 * time.Minute}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := nodes(t, ratelimit.Rate{Requests: 6, Per: time.Hour})
			limiters := []*ratelimit.Shared{a, b}
			for i, s := range tt.steps {
				got := allowShared(t, limiters[s.node], s.key, s.n)
				if got.Allowed != s.want || (!got.Allowed && got.RetryAfter.Round(time.Second) != s.wantRetry) {
					t.Fatalf("step %d: %s costing %d on node %d: %+v, want allowed %v retry after %s",
						i+1, s.key, s.n, s.node, got, s.want, s.wantRetry)
				}
			}
		})
	}
}

// Concurrent requests on two nodes never spend more than the allowance.
func TestSharedConcurrentRequestsCannotOverspend(t *testing.T) {
	a, b := nodes(t, ratelimit.Rate{Requests: 25, Per: time.Hour})
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 100 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			if d, err := l.AllowN(context.Background(), "k", 1); err != nil {
				t.Error(err)
			} else if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 25 {
		t.Fatalf("%d of 100 concurrent requests allowed, want the allowance of 25", allowed.Load())
	}
}

// The allowance comes back with time, as Redis's clock moves.
func TestSharedRefills(t *testing.T) {
	a, b := nodes(t, ratelimit.Rate{Requests: 20, Per: time.Second})
	if d := allowShared(t, a, "k", 20); !d.Allowed {
		t.Fatalf("the whole burst refused: %+v", d)
	}
	if d := allowShared(t, b, "k", 1); d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 50*time.Millisecond {
		t.Fatalf("after the burst: %+v, want refused with a retry within one token's 50ms", d)
	}
	servicetest.Eventually(t, 5*time.Second, "a token to come back", func() bool {
		return allowShared(t, b, "k", 1).Allowed
	})
}

// A Redis fault is an error, never a silent allow or refusal.
func TestSharedReportsRedisFaults(t *testing.T) {
	srv := servicetest.StartRedis(t)
	opts, _ := redis.ParseURL(srv.URL)
	opts.MaxRetries = -1
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	l := ratelimit.NewShared(client, "test", ratelimit.Rate{Requests: 5, Per: time.Minute})
	if d := allowShared(t, l, "k", 1); !d.Allowed {
		t.Fatalf("refused with Redis up: %+v", d)
	}
	srv.Stop()
	if d, err := l.AllowN(context.Background(), "k", 1); err == nil {
		t.Fatalf("Redis down gave %+v and no error", d)
	}
}
