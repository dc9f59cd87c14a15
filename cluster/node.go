package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"

	"meetcoord/actors/room"
	"meetcoord/cluster/placement"
	"meetcoord/messages"
)

// The placement tells a room's new activation who the room's earlier holders are and how to
// reach them (room.Members, found in each grain's ClusterInit).
var _ room.Members = (*placement.Lookup)(nil)

// ErrRoomUnreachable is returned when a room grain did not answer (not activated in time, node
// gone): the caller may retry.
var ErrRoomUnreachable = errors.New("room unreachable")

// Node is this process's member of the protoactor cluster.
type Node struct {
	system   *actor.ActorSystem
	cluster  *protocluster.Cluster
	provider protocluster.ClusterProvider
	lookup   *placement.Lookup
	cfg      Config
	log      *slog.Logger

	inboxes    *inboxes          // where requests to room grains wait for their replies
	dispatcher *workerDispatcher // runs the room grains' mailboxes

	stopOnce sync.Once
	stopped  chan struct{}
	lost     chan struct{} // closed when outside the membership longer than RejoinTimeout
}

// StartNode starts the actor system, remote and cluster membership with the room kind.
// Membership comes from cfg.Provider; "none" is a one-node cluster that goes through the
// same cluster API (in-memory provider, our placement lookup) as several nodes do.
func StartNode(cfg Config, roomProps *actor.Props, logger *slog.Logger) (*Node, error) {
	system := actor.NewActorSystemWithConfig(actor.Configure(
		// protoactor logs much at info level (and lifecycle events at error); only its warnings
		// and errors reach the service's log, minus the lifecycle noise (see quietProtoactor).
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(quietProtoactor{Handler: logger.Handler()}).With(slog.String("component", "protoactor"))
		}),
	))
	provider, err := newProvider(cfg, system, logger)
	if err != nil {
		return nil, err
	}
	dispatcher := newWorkerDispatcher(idleWorkers, actorThroughput)
	grainProps := roomProps.Clone(actor.WithMailbox(bounceAfterStop(system)), actor.WithDispatcher(dispatcher))
	lookup := placement.New(cfg.ActivationTimeout, logger, map[string]*actor.Props{room.Kind: grainProps})
	remoteConfig := remote.Configure(cfg.AdvertiseAddr, cfg.Port, remoteOptions()...)
	options := []protocluster.ConfigOption{
		protocluster.WithKinds(protocluster.NewKind(room.Kind, grainProps)),
		protocluster.WithRequestTimeout(cfg.RequestTimeout),
	}
	if cfg.HeartbeatExpiration > 0 { // else protoactor's default (20 s)
		options = append(options, protocluster.WithHeartbeatExpiration(cfg.HeartbeatExpiration))
	}
	clusterConfig := protocluster.Configure(cfg.Name, provider, lookup, remoteConfig, options...)
	c := protocluster.New(system, clusterConfig)
	c.StartMember()
	n := &Node{system: system, cluster: c, provider: provider, lookup: lookup, cfg: cfg, log: logger,
		inboxes: newInboxes(system), dispatcher: dispatcher, stopped: make(chan struct{}), lost: make(chan struct{})}
	if cfg.Provider != "none" {
		go n.watchMembership()
	}
	return n, nil
}

// Ask sends a message to a room grain and waits for its reply, within ctx's deadline and the
// node's request timeout. It retries, backing off up to 100 ms, when the room could not be
// activated yet, when its member is seen gone while the request waits (the room moves to a
// survivor), and when the activation that answered was fenced by a newer one (the room moved):
// room commands are idempotent, so a command that ran before the failure is not applied twice.
func (n *Node) Ask(ctx context.Context, roomID string, msg proto.Message) (*messages.RoomReply, error) {
	timeout := n.cfg.RequestTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline))
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("ask room %s: %w", roomID, context.DeadlineExceeded)
	}
	deadline := time.Now().Add(timeout)
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			pause := min(time.Duration(attempt)*10*time.Millisecond, 100*time.Millisecond)
			if time.Until(deadline) <= pause {
				break
			}
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return nil, fmt.Errorf("ask room %s: %w", roomID, ctx.Err())
			}
		}
		pid := n.pid(roomID)
		if pid == nil {
			lastErr = errors.New("no member could activate the room")
			continue
		}
		reply, err := n.request(ctx, roomID, pid, msg, time.Until(deadline))
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				return nil, fmt.Errorf("ask room %s: %w", roomID, ctx.Err())
			}
			continue
		}
		if reply.GetFailure().GetCode() == messages.ErrorCode_ERROR_CODE_MOVED {
			n.cluster.PidCache.RemoveByValue(roomID, room.Kind, pid)
			lastErr = errors.New(reply.GetFailure().GetDetail())
			if time.Until(deadline) > 0 {
				continue
			}
		}
		return reply, nil
	}
	if lastErr == nil {
		lastErr = context.DeadlineExceeded
	}
	return nil, fmt.Errorf("ask room %s: %w: %v", roomID, ErrRoomUnreachable, lastErr)
}

// pid is the room grain's PID: from the cache, or activated through the placement lookup.
func (n *Node) pid(roomID string) *actor.PID {
	if pid, ok := n.cluster.PidCache.Get(roomID, room.Kind); ok {
		return pid
	}
	pid := n.lookup.Get(protocluster.NewClusterIdentity(roomID, room.Kind))
	if pid != nil {
		n.cluster.PidCache.Set(roomID, room.Kind, pid)
	}
	return pid
}

// request sends one request to pid and waits for its reply, for timeout at most, or until pid's
// member is seen gone (then the request is abandoned: the caller retries elsewhere) or ctx ends.
func (n *Node) request(ctx context.Context, roomID string, pid *actor.PID, msg proto.Message, timeout time.Duration) (*messages.RoomReply, error) {
	inbox := n.inboxes.take()
	n.system.Root.RequestWithCustomSender(pid, msg, inbox.pid)
	inbox.timer.Reset(timeout)
	// A grain of this member answers within the timeout or not at all (its member cannot be gone
	// while this code runs, and the timeout is within the caller's deadline), so the wait need
	// not watch the caller either: most requests are local, and the context's channel is made
	// on first use (an allocation per request).
	var callerGone <-chan struct{}
	if pid.Address != n.system.Address() {
		callerGone = ctx.Done()
	}
	select {
	case res := <-inbox.reply:
		n.inboxes.done(inbox)
		if _, gone := res.(*actor.DeadLetterResponse); gone {
			return n.replyOf(roomID, pid, nil, actor.ErrDeadLetter)
		}
		return n.replyOf(roomID, pid, res, nil)
	case <-inbox.timer.C:
		n.inboxes.retire(inbox)
		return n.replyOf(roomID, pid, nil, actor.ErrTimeout)
	case <-n.lookup.Down(pid.Address): // nil, never ready, for this member's own grains
		n.inboxes.retire(inbox)
		n.cluster.PidCache.RemoveByValue(roomID, room.Kind, pid)
		return nil, fmt.Errorf("member %s is gone", pid.Address)
	case <-callerGone:
		n.inboxes.retire(inbox)
		return nil, ctx.Err()
	}
}

// replyOf is a grain's answer as a room reply.
func (n *Node) replyOf(roomID string, pid *actor.PID, res any, err error) (*messages.RoomReply, error) {
	if err != nil {
		// Timeout, or a dead letter (the grain stopped): ask the lookup again next time.
		n.cluster.PidCache.RemoveByValue(roomID, room.Kind, pid)
		return nil, err
	}
	reply, ok := res.(*messages.RoomReply)
	if !ok {
		return nil, fmt.Errorf("unexpected reply %T", res)
	}
	return reply, nil
}

// RoomActivated is told by the store whenever a room is activated somewhere in the cluster: an
// older activation of it on this node stops at once (see messages.Superseded).
func (n *Node) RoomActivated(roomID string, epoch int64) {
	n.lookup.Tell(protocluster.NewClusterIdentity(roomID, room.Kind), &messages.Superseded{Epoch: epoch})
}

// Ready reports whether this node is a member of the cluster, as its own view of the
// membership says (a node dropped by the provider, e.g. after an etcd outage, is not ready).
func (n *Node) Ready() error {
	if n.Members() == 0 || !n.lookup.IsMember() {
		return errors.New("not a cluster member")
	}
	return nil
}

// Members is the number of members this node sees in the cluster (itself included).
func (n *Node) Members() int {
	if n.cluster.MemberList == nil {
		return 0
	}
	return n.cluster.MemberList.Length()
}

// Lost is closed when this node has been outside the cluster's membership for longer than
// CLUSTER_REJOIN_TIMEOUT: the process should exit so that its supervisor restarts it (protoactor
// does not always rejoin by itself, upstream issue 1133).
func (n *Node) Lost() <-chan struct{} { return n.lost }

func (n *Node) watchMembership() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var outsideSince time.Time
	for {
		select {
		case <-n.stopped:
			return
		case <-tick.C:
		}
		if n.lookup.IsMember() {
			if !outsideSince.IsZero() {
				n.log.Info("back in the cluster membership", slog.Duration("after", time.Since(outsideSince).Round(time.Second)))
			}
			outsideSince = time.Time{}
			continue
		}
		if outsideSince.IsZero() {
			outsideSince = time.Now()
			n.log.Warn("this node is not in the cluster membership: not ready until it is back")
			continue
		}
		if time.Since(outsideSince) >= n.cfg.RejoinTimeout {
			n.log.Error("outside the cluster membership for too long: leaving so that the supervisor restarts this node",
				slog.Duration("outside", time.Since(outsideSince).Round(time.Second)))
			close(n.lost)
			return
		}
	}
}

// Stop leaves the cluster gracefully: the node refuses new room activations, leaves the
// membership, passivates its rooms (each handles the messages already queued; their state is
// stored), keeps answering for LeaveGrace so that other members' views drop it (late
// requests are answered "moved" and retried elsewhere by their sender), then shuts down.
// protoactor's own Shutdown sleeps 2 s unconditionally and stops the actor system first.
func (n *Node) Stop() {
	n.stopOnce.Do(func() {
		close(n.stopped)
		started := time.Now()
		alone := n.cfg.Provider == "none"
		if !alone {
			n.leaveMembership()
		}
		rooms := n.lookup.Drain(n.cfg.RequestTimeout)
		if !alone {
			time.Sleep(n.cfg.LeaveGrace)
		}
		n.lookup.Shutdown()
		n.cluster.Gossip.Shutdown()
		n.cluster.Remote.Shutdown(true)
		n.system.Shutdown()
		n.dispatcher.stop()
		n.log.Info("left the cluster", slog.Int("rooms_passivated", rooms), slog.Duration("took", time.Since(started).Round(time.Millisecond)))
	})
}

// providerLeaveTimeout bounds leaving the membership: protoactor's etcd provider deletes its key
// without a deadline and would hang forever with etcd unreachable. By then the others drop this
// member anyway (its lease expires, its health checks fail).
const providerLeaveTimeout = 3 * time.Second

func (n *Node) leaveMembership() {
	left := make(chan error, 1)
	go func() { left <- n.provider.Shutdown(true) }()
	select {
	case err := <-left:
		if err != nil {
			n.log.Warn("leaving the membership failed: the others will notice when its lease expires", slog.Any("error", err))
		}
	case <-time.After(providerLeaveTimeout):
		n.log.Warn("leaving the membership timed out: the others will notice when its lease expires", slog.Duration("after", providerLeaveTimeout))
	}
}
