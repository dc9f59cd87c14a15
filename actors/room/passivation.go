package room

import (
	"sync"
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

// idleTimer is a room's idle time. Its checks come from the node's idleSweeper: one timer for
// every room of the node, instead of one each (a runtime timer and its callback cost each of
// 100,000 rooms some 250 bytes; an entry in the sweeper's map, about 50).
type idleTimer struct {
	sweeper      *idleSweeper
	lastActivity time.Time
	self         *actor.PID
}

// start registers the room for checks; each arrives as a message, handled in turn with the rest.
func (t *idleTimer) start(ctx actor.Context) {
	if t.sweeper.timeout <= 0 {
		return
	}
	t.self = ctx.Self()
	t.lastActivity = t.sweeper.clock.Now()
	t.sweeper.schedule(ctx.ActorSystem(), t.self, t.lastActivity.Add(t.sweeper.timeout))
}

// touch records activity.
func (t *idleTimer) touch() { t.lastActivity = t.sweeper.clock.Now() }

// expired reports whether the room has been idle long enough, asking for the next check
// otherwise. A room that may not passivate yet (expired, but holding a recording, say) is
// checked again a timeout later; a stopped room is forgotten (stop).
func (t *idleTimer) expired() bool {
	idle := t.sweeper.clock.Since(t.lastActivity)
	if idle >= t.sweeper.timeout {
		t.sweeper.schedule(nil, t.self, t.sweeper.clock.Now().Add(t.sweeper.timeout))
		return true
	}
	t.sweeper.schedule(nil, t.self, t.lastActivity.Add(t.sweeper.timeout))
	return false
}

func (t *idleTimer) stop() {
	if t.self != nil {
		t.sweeper.forget(t.self)
	}
}

// idleSweeper sends idleCheck to the rooms of a node whose idle deadline has passed, from one
// timer ticking every quarter of the idle timeout: a room passivates between one and one and a
// quarter timeouts after its last message.
type idleSweeper struct {
	clock   Clock
	timeout time.Duration

	mu     sync.Mutex
	system *actor.ActorSystem
	due    map[*actor.PID]time.Time // room -> when to check it
	timer  Timer                    // armed while rooms are registered
}

func newIdleSweeper(clock Clock, timeout time.Duration) *idleSweeper {
	return &idleSweeper{clock: clock, timeout: timeout, due: map[*actor.PID]time.Time{}}
}

// interval is how often the sweeper looks.
func (s *idleSweeper) interval() time.Duration { return max(s.timeout/4, time.Millisecond) }

// schedule asks for an idleCheck to room at (or soon after) at. system: the rooms' actor
// system, given with a room's first registration.
func (s *idleSweeper) schedule(system *actor.ActorSystem, room *actor.PID, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if system != nil {
		s.system = system
	}
	s.due[room] = at
	if s.timer == nil {
		s.timer = s.clock.AfterFunc(s.interval(), s.sweep)
	}
}

func (s *idleSweeper) forget(room *actor.PID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.due, room)
}

// sweep sends the rooms that are due their check (each asks again if it is not idle) and
// re-arms the timer while any room is registered.
func (s *idleSweeper) sweep() {
	now := s.clock.Now()
	var due []*actor.PID
	s.mu.Lock()
	for room, at := range s.due {
		if !now.Before(at) {
			due = append(due, room)
			delete(s.due, room)
		}
	}
	system := s.system
	if len(s.due) > 0 || len(due) > 0 {
		s.timer = s.clock.AfterFunc(s.interval(), s.sweep)
	} else {
		s.timer = nil
	}
	s.mu.Unlock()
	for _, room := range due {
		system.Root.Send(room, idleCheck{})
	}
}

// sendSelfAfter sends the actor msg once d has passed on the clock. The timer's goroutine only
// sends: the actor handles the message in turn, so its state is never touched off its goroutine.
func sendSelfAfter(ctx actor.Context, clock Clock, d time.Duration, msg any) Timer {
	system, self := ctx.ActorSystem(), ctx.Self()
	return clock.AfterFunc(d, func() { system.Root.Send(self, msg) })
}
