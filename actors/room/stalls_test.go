package room

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// manualElapsed is a monotonic clock moved by hand.
type manualElapsed struct{ now atomic.Int64 }

func (m *manualElapsed) elapsed() time.Duration  { return time.Duration(m.now.Load()) }
func (m *manualElapsed) advance(d time.Duration) { m.now.Add(int64(d)) }

// TestStallDetectorGenerations: a gap beyond the threshold since the last tick is one stall,
// found by whoever looks first (the ticker, or a request that runs before it after SIGCONT), and
// counted once; ticks and checks within the threshold change nothing.
func TestStallDetectorGenerations(t *testing.T) {
	const threshold = time.Second
	type step struct {
		advance time.Duration
		tick    bool   // the ticker runs (else a room checks)
		want    uint64 // Check's generation after the step
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"regular ticks are no stall", []step{
			{200 * time.Millisecond, true, 0}, {200 * time.Millisecond, true, 0}, {time.Second, true, 0}, {0, false, 0},
		}},
		{"checks between ticks are no stall", []step{
			{900 * time.Millisecond, false, 0}, {100 * time.Millisecond, false, 0}, {0, true, 0}, {999 * time.Millisecond, false, 0},
		}},
		{"a pause found by the ticker", []step{
			{200 * time.Millisecond, true, 0}, {5 * time.Second, true, 1}, {0, false, 1}, {200 * time.Millisecond, true, 1},
		}},
		{"a pause found by a room before the ticker runs, counted once", []step{
			{200 * time.Millisecond, true, 0}, {5 * time.Second, false, 1}, {0, false, 1}, {10 * time.Millisecond, true, 1}, {0, false, 1},
		}},
		{"each pause counts", []step{
			{2 * time.Second, false, 1}, {200 * time.Millisecond, true, 1}, {3 * time.Second, true, 2}, {1500 * time.Millisecond, false, 3},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &manualElapsed{}
			d := newStallDetector(threshold, clock.elapsed)
			for i, s := range tt.steps {
				clock.advance(s.advance)
				if s.tick {
					d.tick()
				}
				if got := d.Check(); got != s.want {
					t.Fatalf("step %d (%+v): generation %d, want %d", i, s, got, s.want)
				}
			}
		})
	}
}

// TestStallDetectorConcurrentChecks: rooms checking at once right after a pause all see it, and
// no room sees the tick moved past the pause without the new generation.
func TestStallDetectorConcurrentChecks(t *testing.T) {
	clock := &manualElapsed{}
	d := newStallDetector(time.Second, clock.elapsed)
	before := d.Check()
	clock.advance(5 * time.Second)
	var wg sync.WaitGroup
	var missed atomic.Int32
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d.Check() == before {
				missed.Add(1)
			}
		}()
	}
	d.tick()
	wg.Wait()
	if n := missed.Load(); n > 0 {
		t.Fatalf("%d checks after the pause saw no stall", n)
	}
}
