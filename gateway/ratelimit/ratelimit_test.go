package ratelimit

import (
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

func TestLimiterPerKeyBurstAndRefill(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := New(Rate{Requests: 3, Per: time.Minute})
	l.now = func() time.Time { return now }
	for i := range 3 {
		if !l.Allow("a") {
			t.Fatalf("request %d of a refused within the burst", i+1)
		}
	}
	if l.Allow("a") {
		t.Fatal("fourth request of a allowed; want refused")
	}
	if !l.Allow("b") {
		t.Fatal("b refused because of a: limits must be per key")
	}
	now = now.Add(20 * time.Second) // one token back (3 per minute)
	if !l.Allow("a") {
		t.Fatal("a still refused after a refill period")
	}
	if l.Allow("a") {
		t.Fatal("a allowed twice after one refill period")
	}
	now = now.Add(2 * time.Minute)
	l.Allow("c")
	if _, ok := l.keys["b"]; ok {
		t.Fatal("idle key b not forgotten after a whole period")
	}
}

func TestLimiterAllowN(t *testing.T) {
	// 6 per minute: one token back every 10 seconds, a burst of 6.
	type step struct {
		after time.Duration // clock advance before the call
		key   string
		n     int
		want  bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"the whole burst at once", []step{{0, "a", 6, true}, {0, "a", 1, false}}},
		{"more than the burst is refused, even when full", []step{{0, "a", 7, false}, {time.Hour, "a", 7, false}, {0, "a", 6, true}}},
		{"all or none: a refused cost spends nothing", []step{{0, "a", 4, true}, {0, "a", 3, false}, {0, "a", 2, true}, {0, "a", 1, false}}},
		{"refill is per token", []step{{0, "a", 6, true}, {10 * time.Second, "a", 2, false}, {10 * time.Second, "a", 2, true}, {0, "a", 1, false}}},
		{"refill stops at the burst", []step{{0, "a", 6, true}, {time.Hour, "a", 6, true}, {0, "a", 1, false}}},
		{"per key", []step{{0, "a", 6, true}, {0, "b", 6, true}, {0, "a", 1, false}}},
		{"Allow costs one", []step{{0, "a", 5, true}, {0, "a", 1, true}, {0, "a", 1, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			l := New(Rate{Requests: 6, Per: time.Minute})
			l.now = func() time.Time { return now }
			for i, s := range tt.steps {
				now = now.Add(s.after)
				var got bool
				if s.n == 1 {
					got = l.Allow(s.key)
				} else {
					got = l.AllowN(s.key, s.n)
				}
				if got != s.want {
					t.Fatalf("step %d: %s costing %d after %s: allowed %v, want %v", i+1, s.key, s.n, s.after, got, s.want)
				}
			}
		})
	}
}
