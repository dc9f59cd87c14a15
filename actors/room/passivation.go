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
// 100,000 rooms some 250 bytes; an entry in the sweeper's map, about 50). The sweeper and the
// room's PID are passed in rather than kept here: every room of a node holds the same sweeper,
// and the room keeps its PID already (8 bytes each, in each of those rooms).
type idleTimer struct {
	// lastActivity is when the room last had a message, as time since the sweeper was made: a
	// duration is a third of a time.Time, and keeps its monotonic reading.
	lastActivity time.Duration
}

// start registers the room for checks; each arrives as a message, handled in turn with the rest.
func (t *idleTimer) start(ctx actor.Context, s *idleSweeper) {
	if !s.enabled() {
		return
	}
	t.lastActivity = s.sinceStart()
	s.schedule(ctx.ActorSystem(), ctx.Self(), t.lastActivity+s.timeout)
}

// touch records activity.
func (t *idleTimer) touch(s *idleSweeper) {
	if s.enabled() {
		t.lastActivity = s.sinceStart()
	}
}

// expired reports whether the room has been idle long enough, asking for the next check
// otherwise. A room that may not passivate yet (expired, but holding a recording, say) is
// checked again a timeout later; a stopped room is forgotten (stop).
func (t *idleTimer) expired(s *idleSweeper, self *actor.PID) bool {
	if !s.enabled() {
		return false
	}
	now := s.sinceStart()
	if now-t.lastActivity >= s.timeout {
		s.schedule(nil, self, now+s.timeout)
		return true
	}
	s.schedule(nil, self, t.lastActivity+s.timeout)
	return false
}

// stop forgets the room (a room that never started is not in the sweeper: nothing to forget).
func (t *idleTimer) stop(s *idleSweeper, self *actor.PID) {
	if s.enabled() {
		s.forget(self)
	}
}

// idleSweeper sends idleCheck to the rooms of a node whose idle deadline has passed, from one
// timer ticking every quarter of the idle timeout: a room passivates between one and one and a
// quarter timeouts after its last message.
type idleSweeper struct {
	clock   Clock
	timeout time.Duration
	start   time.Time // rooms keep their idle time relative to it (idleTimer)

	mu     sync.Mutex
	system *actor.ActorSystem
	due    map[*actor.PID]time.Duration // room -> when to check it (sinceStart)
	timer  Timer                        // armed while rooms are registered
}

func newIdleSweeper(clock Clock, timeout time.Duration) *idleSweeper {
	return &idleSweeper{clock: clock, timeout: timeout, start: clock.Now(), due: map[*actor.PID]time.Duration{}}
}

// enabled: rooms passivate (a room made without NewProps, in a test, has no sweeper).
func (s *idleSweeper) enabled() bool { return s != nil && s.timeout > 0 }

// sinceStart is the clock's time now, as the rooms keep it.
func (s *idleSweeper) sinceStart() time.Duration { return s.clock.Since(s.start) }

// interval is how often the sweeper looks.
func (s *idleSweeper) interval() time.Duration { return max(s.timeout/4, time.Millisecond) }

// schedule asks for an idleCheck to room at (or soon after) at, a sinceStart reading. system:
// the rooms' actor system, given with a room's first registration.
func (s *idleSweeper) schedule(system *actor.ActorSystem, room *actor.PID, at time.Duration) {
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
	now := s.sinceStart()
	var due []*actor.PID
	s.mu.Lock()
	for room, at := range s.due {
		if now >= at {
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
