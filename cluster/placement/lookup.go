// Package placement decides which cluster member hosts each room grain, activates it there, and
// tells callers as soon as the member hosting a grain is gone. It is meetcoord's own protoactor
// IdentityLookup, replacing disthash (docs/decisions.md says why):
//
//   - the owner of a room is chosen by rendezvous hashing over the members, leaving out members
//     whose remote connection just broke (a kill -9 is seen in milliseconds that way, long before
//     the membership provider's lease or health check notices);
//   - an activation request waits ActivationTimeout (disthash waits a hard-coded 5 s, the
//     whole failover budget, when it asks a member that just died);
//   - callers can wait on Down(address) to abandon a request sent to a member that is gone;
//   - a member that is leaving refuses new activations and passivates its rooms on demand.
//
// Two activations of a room may still overlap for a moment (members do not see a change at the
// same instant): the room store's epoch fencing is what keeps that safe.
package placement

import (
	"hash/fnv"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"
)

// ActorName is the name of the placement actor every member runs.
const ActorName = "meetcoord-placement"

// DefaultActivationTimeout bounds one activation request. Activating is a spawn on the owner: a
// healthy member answers in milliseconds, so a long wait only ever means the member is gone.
const DefaultActivationTimeout = time.Second

// Lookup is the identity lookup. Create it with New, hand it to protoactor's cluster config.
type Lookup struct {
	activationTimeout time.Duration
	log               *slog.Logger
	// grainProps are the props of each kind's grains as spawned here: protoactor's kind props
	// carry a middleware that stores each grain's identity in a context extension (a props clone
	// and an extension map per grain, half a kilobyte each of 100,000 rooms); the grains get
	// their identity in the ClusterInit the placement actor sends them instead.
	grainProps map[string]*actor.Props

	cluster *protocluster.Cluster
	self    string
	actor   *actor.PID
	subs    []*eventstream.Subscription

	draining atomic.Bool

	mu       sync.Mutex
	members  map[string]bool      // addresses of the current members
	suspects map[string]time.Time // members whose connection broke, since when
	// incarnations are the member ids of the processes at the members' addresses (a process
	// restarted on the same address is a new member id); suspectOf and departed say which
	// process was seen gone, so that a new one on the same address is not taken for it (Gone).
	incarnations map[string]string
	suspectOf    map[string]string
	departed     map[string]departure
	selfID       string   // this process's member id, once the membership lists it
	holder       string   // selfID@self, once selfID is known (Holder)
	owners       []string // members minus suspects: who may host rooms
	down         map[string]chan struct{}
}

var _ protocluster.IdentityLookup = (*Lookup)(nil)

// New returns a lookup whose activation requests wait at most activationTimeout. grainProps: the
// props of each kind's grains, without protoactor's cluster middleware (a kind absent from it is
// spawned with the cluster's kind props).
func New(activationTimeout time.Duration, logger *slog.Logger, grainProps map[string]*actor.Props) *Lookup {
	if activationTimeout <= 0 {
		activationTimeout = DefaultActivationTimeout
	}
	return &Lookup{
		activationTimeout: activationTimeout,
		grainProps:        grainProps,
		log:               logger.With(slog.String("component", "placement")),
		members:           map[string]bool{},
		suspects:          map[string]time.Time{},
		incarnations:      map[string]string{},
		suspectOf:         map[string]string{},
		departed:          map[string]departure{},
		down:              map[string]chan struct{}{},
	}
}

// Setup starts the placement actor and follows membership and connection events.
func (l *Lookup) Setup(c *protocluster.Cluster, _ []string, _ bool) {
	l.cluster = c
	l.self = c.ActorSystem.Address()
	l.mu.Lock()
	l.members[l.self] = true
	l.recomputeLocked()
	l.mu.Unlock()
	l.actor, _ = c.ActorSystem.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return &placementActor{lookup: l, grains: map[grainKey]*actor.PID{}, byPID: map[string]grainKey{}}
	}), ActorName)
	events := c.ActorSystem.EventStream
	l.subs = append(l.subs,
		events.Subscribe(func(ev any) {
			switch ev := ev.(type) {
			case *protocluster.ClusterTopology:
				l.onTopology(ev)
			case *remote.EndpointTerminatedEvent:
				l.onConnectionLost(ev.Address)
			case *remote.EndpointConnectedEvent:
				l.onConnected(ev.Address)
			}
		}))
}

// Shutdown stops following events and stops the placement actor (and with it every room grain
// still active here).
func (l *Lookup) Shutdown() {
	for _, s := range l.subs {
		l.cluster.ActorSystem.EventStream.Unsubscribe(s)
	}
	l.subs = nil
	if l.actor != nil {
		_ = l.cluster.ActorSystem.Root.PoisonFuture(l.actor).Wait()
		l.actor = nil
	}
}

// Get returns the PID of the grain, activating it on its owner when needed, or nil when no
// member could activate it now (the caller retries).
func (l *Lookup) Get(ci *protocluster.ClusterIdentity) *actor.PID {
	owner := l.Owner(ci.Identity)
	if owner == "" {
		return nil
	}
	res, err := l.cluster.ActorSystem.Root.RequestFuture(actor.NewPID(owner, ActorName),
		&protocluster.ActivationRequest{ClusterIdentity: ci}, l.activationTimeout).Result()
	if err != nil {
		l.log.Debug("activation request failed", slog.String("identity", ci.Identity), slog.String("owner", owner), slog.Any("error", err))
		return nil
	}
	if r, ok := res.(*protocluster.ActivationResponse); ok && !r.Failed {
		return r.Pid
	}
	return nil
}

// RemovePid forgets a cached PID of a grain that stopped.
func (l *Lookup) RemovePid(ci *protocluster.ClusterIdentity, pid *actor.PID) {
	l.cluster.PidCache.RemoveByValue(ci.Identity, ci.Kind, pid)
}

// Owner is the member that should host the grain with this identity: the highest rendezvous
// score among the members that are not suspected to be gone. Every member computes the same
// owner from the same view, so no coordination is needed.
func (l *Lookup) Owner(identity string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return rendezvous(l.owners, identity)
}

// Down returns a channel that is closed when the member at address is seen gone: its
// connection broke or it left the membership. This member itself is never down.
func (l *Lookup) Down(address string) <-chan struct{} {
	if address == l.self {
		return nil // never closes; and requests to local rooms, the common case, take no lock
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch, ok := l.down[address]; ok {
		return ch
	}
	ch := make(chan struct{})
	if !l.members[address] || !l.suspects[address].IsZero() {
		close(ch) // already gone: do not wait for it
		return ch
	}
	l.down[address] = ch
	return ch
}

// departedMemory is how long a member that left is remembered as gone (Gone): long enough for
// the rooms it held to move, short enough that the map stays small however many members came
// and went.
const departedMemory = 10 * time.Minute

// departure is a member seen leaving the membership: when, and which process it was.
type departure struct {
	at time.Time
	id string // member id, "" when unknown
}

// Holder is this process's name in the rooms' holders (room.Activation.Holders): its member id
// and address, so that a process restarted on the same address is told from the one before. The
// id is known once the membership lists this member; before that the address stands alone.
//
// Every room keeps it: the one string made when the id became known is shared by all of them.
func (l *Lookup) Holder() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == "" {
		return l.self
	}
	return l.holder
}

// splitHolder is Holder's inverse: the member id ("" when not recorded) and the address. Member
// ids may hold "@" themselves; addresses do not.
func splitHolder(holder string) (id, address string) {
	i := strings.LastIndexByte(holder, '@')
	if i < 0 {
		return "", holder
	}
	return holder[:i], holder[i+1:]
}

// sameProcess reports whether a member id seen here and a holder's are the same process, or
// either is unknown (then the address decides alone).
func sameProcess(seen, holder string) bool { return seen == "" || holder == "" || seen == holder }

// Gone reports whether the holder (see Holder) is known to be gone: its process left the
// membership or its connection broke, or it ran on this member's address before this process. A
// room activated here does not wait for such a holder to release the room (messages.ReleaseRoom):
// it is dead, or it stood still and its rooms check the store when it resumes (room.Stalls). A
// member this view never had is not known to be gone: it may have joined in another member's
// view first; nor is a new process on the address of one seen gone.
func (l *Lookup) Gone(holder string) bool {
	id, address := splitHolder(holder)
	if address == l.self {
		// This process's own earlier activations stopped before a new one could start (one
		// activation per room here); anything older on this address is a process that exited.
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.suspects[address].IsZero() && sameProcess(l.suspectOf[address], id) {
		return true
	}
	d, left := l.departed[address]
	return left && sameProcess(d.id, id)
}

// Member reports whether the holder's process is in this member's view of the membership.
func (l *Lookup) Member(holder string) bool {
	id, address := splitHolder(holder)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.members[address] && sameProcess(l.incarnations[address], id)
}

// PlacementOf is the PID of the placement actor of the holder's member: where a room's
// messages.ReleaseRoom goes.
func (l *Lookup) PlacementOf(holder string) *actor.PID {
	_, address := splitHolder(holder)
	return actor.NewPID(address, ActorName)
}

// Tell delivers msg to the grain's activation on this member, if there is one (nothing is
// activated for it).
func (l *Lookup) Tell(ci *protocluster.ClusterIdentity, msg any) {
	if l.actor != nil {
		l.cluster.ActorSystem.Root.Send(l.actor, tell{key: keyOf(ci), msg: msg})
	}
}

// IsMember reports whether this member is in its own view of the membership (by address:
// providers choose member ids differently).
func (l *Lookup) IsMember() bool {
	for _, m := range l.cluster.MemberList.Members().Members() {
		if m.Address() == l.self {
			return true
		}
	}
	return false
}

// Drain makes this member refuse new activations (it is leaving: callers retry elsewhere once
// their view drops it) and passivates every room grain it hosts, waiting until they stopped
// (each stop is bounded by protoactor's future timeout; timeout bounds asking for the list).
// Messages already in a grain's mailbox are handled first.
func (l *Lookup) Drain(timeout time.Duration) int {
	l.draining.Store(true)
	res, err := l.cluster.ActorSystem.Root.RequestFuture(l.actor, passivateAll{}, timeout).Result()
	if err != nil {
		return 0
	}
	pids := res.([]*actor.PID)
	futures := make([]*actor.Future, 0, len(pids))
	for _, pid := range pids {
		futures = append(futures, l.cluster.ActorSystem.Root.PoisonFuture(pid))
	}
	for _, f := range futures {
		_ = f.Wait() // a future times out on its own (protoactor's default, 10 s)
	}
	return len(pids)
}

func (l *Lookup) onTopology(t *protocluster.ClusterTopology) {
	l.mu.Lock()
	members := make(map[string]bool, len(t.Members))
	incarnations := make(map[string]string, len(t.Members))
	for _, m := range t.Members {
		members[m.Address()] = true
		incarnations[m.Address()] = m.Id
	}
	now := time.Now()
	for addr := range l.members {
		if addr == l.self {
			continue
		}
		if !members[addr] {
			l.signalDownLocked(addr)
		}
		if old := l.incarnations[addr]; !members[addr] || (old != "" && incarnations[addr] != old) {
			l.departed[addr] = departure{at: now, id: old} // gone, or replaced by a new process
		}
	}
	for addr, d := range l.departed {
		// Forgotten after a while, and at once when it is back and cannot be told from the
		// process that left.
		if now.Sub(d.at) > departedMemory || (members[addr] && (d.id == "" || incarnations[addr] == d.id)) {
			delete(l.departed, addr)
		}
	}
	if id := incarnations[l.self]; id != "" && id != l.selfID {
		l.selfID, l.holder = id, id+"@"+l.self
	}
	// A view without this member (dropped by the provider, or leaving) still routes to it, so
	// that requests in flight on this node find their rooms; readiness reports the drop.
	members[l.self] = true
	l.members = members
	l.incarnations = incarnations
	for addr := range l.suspects {
		// Gone from the membership, or a new process on its address: not the one whose
		// connection broke.
		if suspected := l.suspectOf[addr]; !members[addr] || (suspected != "" && incarnations[addr] != suspected) {
			delete(l.suspects, addr)
			delete(l.suspectOf, addr)
		}
	}
	l.recomputeLocked()
	l.mu.Unlock()
	l.rebalance()
}

func (l *Lookup) onConnectionLost(address string) {
	l.mu.Lock()
	if address == l.self || !l.members[address] || !l.suspects[address].IsZero() {
		l.mu.Unlock()
		return
	}
	l.suspects[address] = time.Now()
	l.suspectOf[address] = l.incarnations[address]
	l.signalDownLocked(address)
	l.recomputeLocked()
	l.mu.Unlock()
	l.log.Info("member connection lost: its rooms move until it reconnects or leaves", slog.String("member", address))
	if host, portText, err := net.SplitHostPort(address); err == nil && l.cluster != nil {
		if port, err := strconv.Atoi(portText); err == nil {
			l.cluster.PidCache.RemoveByMember(&protocluster.Member{Host: host, Port: int32(port)})
		}
	}
	l.rebalance()
}

func (l *Lookup) onConnected(address string) {
	l.mu.Lock()
	if l.suspects[address].IsZero() {
		l.mu.Unlock()
		return
	}
	delete(l.suspects, address)
	delete(l.suspectOf, address)
	l.recomputeLocked()
	l.mu.Unlock()
	l.log.Info("member reconnected", slog.String("member", address))
	l.rebalance()
}

// rebalance asks the placement actor to passivate the grains this member no longer owns.
func (l *Lookup) rebalance() {
	if l.actor != nil {
		l.cluster.ActorSystem.Root.Send(l.actor, rebalance{})
	}
}

func (l *Lookup) signalDownLocked(address string) {
	if ch, ok := l.down[address]; ok {
		close(ch)
		delete(l.down, address)
	}
}

func (l *Lookup) recomputeLocked() {
	owners := make([]string, 0, len(l.members))
	for addr := range l.members {
		if l.suspects[addr].IsZero() {
			owners = append(owners, addr)
		}
	}
	l.owners = owners
}

// OwnerAmong is the member, among the addresses given, that hosts the grain with this identity
// when they are all up: what Owner computes from a member's view (tools and benchmarks use it to
// know where a room lives).
func OwnerAmong(members []string, identity string) string { return rendezvous(members, identity) }

// rendezvous returns the candidate with the highest score for key (highest random weight
// hashing): when a candidate goes, only its keys move, and every member agrees without talking.
func rendezvous(candidates []string, key string) string {
	var best string
	var bestScore uint64
	for _, c := range candidates {
		h := fnv.New64a()
		_, _ = h.Write([]byte(c))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(key))
		score := mix(h.Sum64())
		if best == "" || score > bestScore || (score == bestScore && c < best) {
			best, bestScore = c, score
		}
	}
	return best
}

// mix is a 64-bit finaliser (from SplitMix64): FNV alone spreads keys that differ only in their
// last bytes poorly across members.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
