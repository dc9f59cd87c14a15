package room

import (
	"context"
	"sync/atomic"
	"time"
)

// Stalls tells the rooms whether the whole process stood still (SIGSTOP, a frozen VM or
// container, a host that starved it): long enough for its membership lease to lapse, so that its
// rooms may have moved to other nodes and taken writes there while its activations slept. Writes
// are fenced by the epoch in the store, but reads and commands that write nothing are answered
// from memory; after a stall a room first checks that it is still the newest activation
// (verifyCurrent).
type Stalls interface {
	// Check returns the stall generation: it grows each time a stall is found, and is the same
	// between two calls only if no stall was found in between (a stall still under way when
	// Check runs counts: the caller is the first to see it).
	Check() uint64
}

// StallDetector is the production Stalls: a goroutine (Run) ticks every interval and records
// the monotonic time of its tick; a gap beyond the threshold since the last tick is a stall,
// found by whoever sees it first, the ticker or a caller of Check (after SIGCONT, a request may
// reach a room before the ticker goroutine runs again). A check costs a clock reading and two
// atomic loads: no store call unless a stall happened.
type StallDetector struct {
	threshold  time.Duration
	elapsed    func() time.Duration // monotonic time since an origin
	lastTick   atomic.Int64         // elapsed at the last tick, in ns
	generation atomic.Uint64
}

// NewStallDetector returns a detector that calls a gap of more than threshold between ticks a
// stall. Run must be running for a pause of the whole process to be told from a quiet one.
func NewStallDetector(threshold time.Duration) *StallDetector {
	origin := time.Now()
	return newStallDetector(threshold, func() time.Duration { return time.Since(origin) })
}

// newStallDetector takes the monotonic clock, so that tests move it by hand.
func newStallDetector(threshold time.Duration, elapsed func() time.Duration) *StallDetector {
	d := &StallDetector{threshold: threshold, elapsed: elapsed}
	d.lastTick.Store(int64(elapsed()))
	return d
}

// Run ticks every interval (well under the threshold) until ctx ends.
func (d *StallDetector) Run(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			d.tick()
		}
	}
}

// tick records that the process is running now, counting a stall first if the last tick is too
// old.
func (d *StallDetector) tick() {
	now := int64(d.elapsed())
	if now-d.lastTick.Load() > int64(d.threshold) {
		d.generation.Add(1)
	}
	// After the increment: whoever sees this tick's time sees the new generation too.
	d.lastTick.Store(now)
}

// Check implements Stalls. It writes nothing shared unless it finds a stall, so that the rooms'
// requests do not contend on it.
func (d *StallDetector) Check() uint64 {
	now := int64(d.elapsed())
	last := d.lastTick.Load()
	if now-last > int64(d.threshold) {
		// Increment before moving the tick: a concurrent Check that sees the moved tick (and
		// so no gap) must see the new generation. Two that both see the gap count it twice,
		// which only costs a second verification.
		d.generation.Add(1)
		d.lastTick.CompareAndSwap(last, now)
	}
	return d.generation.Load()
}

// NoStalls is a Stalls that never finds one: for a single process that cannot lose its rooms
// (the in-process store) and for tests that do not pause.
type NoStalls struct{}

// Check implements Stalls.
func (NoStalls) Check() uint64 { return 0 }
