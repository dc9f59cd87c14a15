package room

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Passivation: a room with no message for IdleTimeout stops; its state is already stored, and
// its next message re-activates it wherever the cluster places it.
//
// protoactor's own receive timeout is not used: its timer callback and the actor's goroutine
// touch the same fields without synchronisation (a data race the race detector reports), and it
// runs on real time. The room keeps its own idle time on its Clock and checks it on a message its
// timer sends it.

// idleCheck is the message the room's idle timer sends it. It is not activity.
type idleCheck struct{}

type idleTimer struct {
	clock        Clock
	timeout      time.Duration
	lastActivity time.Time
	timer        Timer
}

// start arms the timer; the check arrives as a message, so it is handled in turn with the rest.
func (t *idleTimer) start(ctx actor.Context) {
	if t.timeout <= 0 {
		return
	}
	t.lastActivity = t.clock.Now()
	t.timer = sendSelfAfter(ctx, t.clock, t.timeout, idleCheck{})
}

// touch records activity.
func (t *idleTimer) touch() { t.lastActivity = t.clock.Now() }

// expired reports whether the room has been idle long enough, re-arming the timer otherwise.
func (t *idleTimer) expired() bool {
	idle := t.clock.Since(t.lastActivity)
	if idle >= t.timeout {
		// Re-armed in case the room may not passivate yet; a stopped room stops the timer.
		t.timer.Reset(t.timeout)
		return true
	}
	t.timer.Reset(t.timeout - idle)
	return false
}

func (t *idleTimer) stop() {
	if t.timer != nil {
		t.timer.Stop()
	}
}

// sendSelfAfter sends the actor msg once d has passed on the clock. The timer's goroutine only
// sends: the actor handles the message in turn, so its state is never touched off its goroutine.
func sendSelfAfter(ctx actor.Context, clock Clock, d time.Duration, msg any) Timer {
	system, self := ctx.ActorSystem(), ctx.Self()
	return clock.AfterFunc(d, func() { system.Root.Send(self, msg) })
}
