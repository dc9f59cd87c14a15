package cluster

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A request to a room grain waits for its reply in a replyInbox: a process registered once and
// reused, where protoactor's RequestFuture registers a new process for each request, with its
// own id string, condition variable and timer (a twentieth of what a lobby poll cost the node).
// The wait is a select on the inbox's channel, the caller's context, the member's loss and a
// timer, so a request to another member needs no goroutine of its own either.
//
// An inbox is reused only after it received its one reply: a grain answers a request once
// (ctx.Respond, or the DeadLetterResponse of a message that found no actor). An inbox whose
// request was given up (timeout, cancellation, member gone) may still get that reply later, so
// it is retired: taken out of the registry and never used again, and whatever reaches it is
// dropped.
type replyInbox struct {
	pid     *actor.PID
	reply   chan any    // capacity 1: the one reply, put without blocking the grain
	timer   *time.Timer // the request's timeout, stopped between requests (a timer each was three allocations)
	retired atomic.Bool
}

// SendUserMessage takes the reply (protoactor delivers it here, from the grain's goroutine or the
// remote endpoint reader).
func (i *replyInbox) SendUserMessage(_ *actor.PID, message any) {
	if i.retired.Load() {
		return
	}
	_, msg, _ := actor.UnwrapEnvelope(message)
	select {
	case i.reply <- msg:
	default: // a second message: none is expected, and the sender must not block
	}
}

// SendSystemMessage: an inbox watches nothing and is watched by nothing.
func (i *replyInbox) SendSystemMessage(*actor.PID, any) {}

// Stop is protoactor's request to stop the process (at shutdown).
func (i *replyInbox) Stop(*actor.PID) { i.retired.Store(true) }

// inboxes keeps the idle inboxes of a node.
type inboxes struct {
	system *actor.ActorSystem
	idle   chan *replyInbox
}

// idleInboxes bounds the inboxes kept between requests: about the requests a node has under way
// at once. Beyond it, an inbox is retired rather than kept.
const idleInboxes = 1024

func newInboxes(system *actor.ActorSystem) *inboxes {
	return &inboxes{system: system, idle: make(chan *replyInbox, idleInboxes)}
}

// take returns an idle inbox, or registers a new one.
func (b *inboxes) take() *replyInbox {
	select {
	case i := <-b.idle:
		return i
	default:
	}
	i := &replyInbox{reply: make(chan any, 1), timer: time.NewTimer(time.Hour)}
	i.timer.Stop()
	i.pid, _ = b.system.ProcessRegistry.Add(i, "inbox"+b.system.ProcessRegistry.NextId())
	return i
}

// done gives back an inbox that received its reply. Its timer is stopped first: once given
// back, the inbox is another request's (since Go 1.23, a stopped timer's channel holds no stale
// tick for that request to find).
func (b *inboxes) done(i *replyInbox) {
	i.timer.Stop()
	select {
	case b.idle <- i:
	default:
		b.retire(i)
	}
}

// retire takes an inbox out of use for good: its request was given up, and its reply may still
// come.
func (b *inboxes) retire(i *replyInbox) {
	i.timer.Stop()
	i.retired.Store(true)
	b.system.ProcessRegistry.Remove(i.pid)
}
