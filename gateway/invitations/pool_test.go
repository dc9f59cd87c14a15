package invitations

import (
	"errors"
	"sync"
	"testing"
)

// The queue holds at most its size of waiting jobs, a batch is accepted whole or refused whole,
// and at most `workers` jobs run at once.
func TestPoolBound(t *testing.T) {
	const workers, queueSize = 2, 3
	p := newPool(workers, queueSize)
	release := make(chan struct{})
	started := make(chan int, workers+queueSize)
	var mu sync.Mutex
	ran := map[int]bool{}
	job := func(id int) func() {
		return func() {
			started <- id
			<-release
			mu.Lock()
			ran[id] = true
			mu.Unlock()
		}
	}

	// Occupy both workers, and wait until they hold their jobs: the queue is then empty.
	if err := p.submit([]func(){job(1), job(2)}); err != nil {
		t.Fatalf("first batch: %v", err)
	}
	<-started
	<-started

	if err := p.submit([]func(){job(3), job(4)}); err != nil {
		t.Fatalf("batch that fits the queue: %v", err)
	}
	// One free place left: a batch of two is refused whole, none of it queued.
	if err := p.submit([]func(){job(5), job(6)}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("batch larger than the free room: %v, want ErrQueueFull", err)
	}
	if err := p.submit([]func(){job(7)}); err != nil {
		t.Fatalf("batch that fills the queue: %v", err)
	}
	if err := p.submit([]func(){job(8)}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("full queue: %v, want ErrQueueFull", err)
	}
	// No more than `workers` jobs started while the first two are held.
	select {
	case id := <-started:
		t.Fatalf("job %d started while both workers were busy", id)
	default:
	}

	close(release)
	p.close()
	want := map[int]bool{1: true, 2: true, 3: true, 4: true, 7: true}
	mu.Lock()
	defer mu.Unlock()
	if len(ran) != len(want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
	for id := range want {
		if !ran[id] {
			t.Errorf("job %d did not run", id)
		}
	}
	if err := p.submit([]func(){job(9)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v, want ErrClosed", err)
	}
}
