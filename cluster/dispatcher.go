package cluster

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// workerDispatcher runs room grains' mailboxes on goroutines that are kept between runs.
//
// protoactor's default dispatcher starts a goroutine for each run of a mailbox: a room's every
// message, since a room rarely has two waiting. A new goroutine starts on a small stack, and a
// room's handling of a message needs more, so nearly every run also grew its stack by copying
// it (runtime.newstack was a fortieth of the node's CPU under lobby polls and webhooks, make
// bench's profiles). A worker kept idle has its grown stack already.
//
// Schedule never waits: a run goes to an idle worker if one is waiting, else to a new
// goroutine, which then stays as a worker. At most maxIdle workers wait at once, so a burst
// leaves no more than that behind; a worker beyond it ends, as protoactor's goroutine would.
type workerDispatcher struct {
	runs       chan func()  // unbuffered: a send succeeds only when a worker is waiting
	idle       atomic.Int32 // workers waiting on runs, or about to
	workers    atomic.Int32 // worker goroutines, busy or idle
	maxIdle    int32
	throughput int
	stopped    chan struct{} // closed when the node stops: the idle workers end
}

var _ actor.Dispatcher = (*workerDispatcher)(nil)

const (
	// idleWorkers is about the room runs a node has under way at once under load (a run per
	// request being answered), with room to spare.
	idleWorkers = 256
	// actorThroughput is protoactor's default: the messages a mailbox processes per run.
	actorThroughput = 300
)

// newWorkerDispatcher keeps up to maxIdle idle workers; throughput is the messages a mailbox
// processes in one run before it yields (protoactor's default is 300).
func newWorkerDispatcher(maxIdle, throughput int) *workerDispatcher {
	return &workerDispatcher{runs: make(chan func()), maxIdle: int32(maxIdle), throughput: throughput,
		stopped: make(chan struct{})}
}

// stop ends the idle workers; a run scheduled after it still runs, on a goroutine of its own.
func (d *workerDispatcher) stop() { close(d.stopped) }

func (d *workerDispatcher) Schedule(run func()) {
	select {
	case d.runs <- run:
	default:
		go d.work(run)
	}
}

func (d *workerDispatcher) Throughput() int { return d.throughput }

func (d *workerDispatcher) work(run func()) {
	d.workers.Add(1)
	defer d.workers.Add(-1)
	for {
		run()
		if d.idle.Add(1) > d.maxIdle {
			d.idle.Add(-1)
			return
		}
		select {
		case run = <-d.runs:
			d.idle.Add(-1)
		case <-d.stopped:
			d.idle.Add(-1)
			return
		}
	}
}
