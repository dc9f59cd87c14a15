package cluster

import (
	"sync"
	"testing"
	"time"
)

// TestWorkerDispatcherNeverWaits: a run that waits for a run scheduled after it is not stuck
// behind it (Schedule starts a goroutine when no worker is idle), and every run runs.
func TestWorkerDispatcherNeverWaits(t *testing.T) {
	d := newWorkerDispatcher(2, actorThroughput)
	defer d.stop()
	const runs = 50
	var done sync.WaitGroup
	done.Add(runs)
	gates := make([]chan struct{}, runs)
	for i := range gates {
		gates[i] = make(chan struct{})
	}
	// Run i waits for run i+1 to start: all fifty are under way at once, with two idle workers
	// at most to take them.
	for i := range runs {
		d.Schedule(func() {
			defer done.Done()
			close(gates[i])
			if i+1 < runs {
				<-gates[i+1]
			}
		})
	}
	finished := make(chan struct{})
	go func() { done.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("the runs did not all end: one waits behind another")
	}
}

// TestWorkerDispatcherKeepsFewIdle: after a burst, at most maxIdle workers stay, they take the
// next runs, and stop ends them.
func TestWorkerDispatcherKeepsFewIdle(t *testing.T) {
	d := newWorkerDispatcher(4, actorThroughput)
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(20)
	for range 20 {
		d.Schedule(func() { started.Done(); <-release })
	}
	started.Wait()
	close(release)
	waitFor(t, "four idle workers, the rest ended", func() bool {
		return d.idle.Load() == 4 && d.workers.Load() == 4
	})
	ran := make(chan struct{})
	d.Schedule(func() { close(ran) })
	<-ran
	if w := d.workers.Load(); w != 4 {
		t.Errorf("%d workers after a run with four idle, want 4: the run started one of its own", w)
	}
	d.stop()
	waitFor(t, "the idle workers to end", func() bool { return d.workers.Load() == 0 })
}

// waitFor waits for cond, generously: the machine may be busy.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
