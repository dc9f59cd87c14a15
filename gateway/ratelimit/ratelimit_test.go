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
