package ratelimit

import (
	"context"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		wantErr bool
	}{
		{"150/minute", Rate{150, time.Minute}, false},
		{"10/second", Rate{10, time.Second}, false},
		{"5/hour", Rate{5, time.Hour}, false},
		{"1/day", Rate{1, 24 * time.Hour}, false},
		{"150", Rate{}, true},
		{"0/minute", Rate{}, true},
		{"x/minute", Rate{}, true},
		{"3/fortnight", Rate{}, true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if !tt.wantErr && got.String() != tt.in {
			t.Errorf("ParseRate(%q).String() = %q, want it back", tt.in, got.String())
		}
	}
}

// allow asks l for n of key's allowance and fails the test on an error.
func allow(t *testing.T, l Limiter, key string, n int) Decision {
	t.Helper()
	d, err := l.AllowN(context.Background(), key, n)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLocalForgetsIdleKeys(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := NewLocal(Rate{Requests: 3, Per: time.Minute})
	l.now = func() time.Time { return now }
	allow(t, l, "b", 1)
	now = now.Add(2 * time.Minute)
	allow(t, l, "c", 1)
	if _, ok := l.keys["b"]; ok {
		t.Fatal("idle key b not forgotten after a whole period")
	}
}

// TestLocalAllowN runs on a fake clock; the same rules hold for Shared (shared_test.go).
func TestLocalAllowN(t *testing.T) {
	// 6 per minute: one token back every 10 seconds, a burst of 6.
	type step struct {
		after     time.Duration // clock advance before the call
		key       string
		n         int
		want      bool
		wantRetry time.Duration // when refused
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"the whole burst at once", []step{{0, "a", 6, true, 0}, {0, "a", 1, false, 10 * time.Second}}},
		{"more than the burst is refused for good, even when full", []step{{0, "a", 7, false, 0}, {time.Hour, "a", 7, false, 0}, {0, "a", 6, true, 0}}},
		{"all or none: a refused cost spends nothing", []step{{0, "a", 4, true, 0}, {0, "a", 3, false, 10 * time.Second}, {0, "a", 2, true, 0}, {0, "a", 1, false, 10 * time.Second}}},
		{"refill is per token", []step{{0, "a", 6, true, 0}, {10 * time.Second, "a", 2, false, 10 * time.Second}, {10 * time.Second, "a", 2, true, 0}, {0, "a", 1, false, 10 * time.Second}}},
		{"refill stops at the burst", []step{{0, "a", 6, true, 0}, {time.Hour, "a", 6, true, 0}, {0, "a", 1, false, 10 * time.Second}}},
		{"per key", []step{{0, "a", 6, true, 0}, {0, "b", 6, true, 0}, {0, "a", 1, false, 10 * time.Second}}},
		{"retry after is the time for the whole cost", []step{{0, "a", 6, true, 0}, {0, "a", 3, false, 30 * time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			l := NewLocal(Rate{Requests: 6, Per: time.Minute})
			l.now = func() time.Time { return now }
			for i, s := range tt.steps {
				now = now.Add(s.after)
				got := allow(t, l, s.key, s.n)
				if got.Allowed != s.want || (!got.Allowed && got.RetryAfter != s.wantRetry) {
					t.Fatalf("step %d: %s costing %d after %s: %+v, want allowed %v retry after %s",
						i+1, s.key, s.n, s.after, got, s.want, s.wantRetry)
				}
			}
		})
	}
}
