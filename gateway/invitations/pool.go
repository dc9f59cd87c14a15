package invitations

import (
	"errors"
	"sync"
)

// ErrQueueFull means the invitations of a request do not fit in the queue: none of them was
// accepted (the caller may retry later).
var ErrQueueFull = errors.New("invitations: send queue is full")

// ErrClosed means the service is shutting down and accepts no more invitations.
var ErrClosed = errors.New("invitations: service is closed")

// pool runs jobs on a fixed number of workers behind a bounded queue. A batch of jobs is
// accepted whole or not at all, so a request is never half sent because the queue filled up
// in the middle of it; a full queue is an immediate error, never a wait.
type pool struct {
	mu     sync.Mutex // serialises submitters, so that free room in the queue stays free while a batch is pushed
	jobs   chan func()
	closed bool
	wg     sync.WaitGroup
}

func newPool(workers, queueSize int) *pool {
	p := &pool{jobs: make(chan func(), queueSize)}
	p.wg.Add(workers)
	for range workers {
		go func() {
			defer p.wg.Done()
			for job := range p.jobs {
				job()
			}
		}()
	}
	return p
}

// submit queues every job of the batch, or none (ErrQueueFull, ErrClosed).
func (p *pool) submit(batch []func()) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	// Only submitters (holding mu) add to the queue and workers only take from it, so the
	// room measured here can only grow before the pushes below: they never block.
	if cap(p.jobs)-len(p.jobs) < len(batch) {
		return ErrQueueFull
	}
	for _, job := range batch {
		p.jobs <- job
	}
	return nil
}

// close stops accepting jobs and waits for the queued ones to run.
func (p *pool) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.jobs)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
