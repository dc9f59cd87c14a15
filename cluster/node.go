package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	"meetcoord/actors/room"
	"meetcoord/messages"
)

// ErrRoomUnreachable is returned when a room grain did not answer (not activated in time, node
// gone): the caller may retry.
var ErrRoomUnreachable = errors.New("room unreachable")

// Node is this process's member of the protoactor cluster.
type Node struct {
	system   *actor.ActorSystem
	cluster  *protocluster.Cluster
	timeout  time.Duration
	graceful bool // leave the cluster gracefully on Stop (pointless, and 2 s slower, alone)
}

// StartNode starts the actor system, remote and cluster membership with the room kind.
// Membership comes from cfg.ClusterProvider; "none" is a one-node cluster that goes through the
// same cluster API (in-memory provider, disthash identity lookup) as several nodes do.
func StartNode(cfg Config, roomProps *actor.Props, logger *slog.Logger) (*Node, error) {
	system := actor.NewActorSystemWithConfig(actor.Configure(
		// protoactor logs much at info level (and lifecycle events at error); only its warnings
		// and errors reach the service's log.
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelWarn}).With(slog.String("component", "protoactor"))
		}),
	))
	var provider protocluster.ClusterProvider
	switch cfg.ClusterProvider {
	case "none":
		provider = test.NewTestProvider(test.NewInMemAgent())
	case "etcd":
		p, err := etcd.NewWithConfig("/meetcoord", clientv3.Config{Endpoints: cfg.EtcdEndpoints, DialTimeout: 5 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("etcd cluster provider (ETCD_ENDPOINTS %v): %w", cfg.EtcdEndpoints, err)
		}
		provider = p
	default:
		return nil, fmt.Errorf("CLUSTER_PROVIDER %q is not supported", cfg.ClusterProvider)
	}
	remoteConfig := remote.Configure(cfg.ClusterAdvertiseAddr, cfg.ClusterPort)
	clusterConfig := protocluster.Configure(cfg.ClusterName, provider, disthash.New(), remoteConfig,
		protocluster.WithKinds(protocluster.NewKind(room.Kind, roomProps.Clone(actor.WithMailbox(bounceAfterStop(system))))),
		protocluster.WithRequestTimeout(cfg.RequestTimeout),
	)
	c := protocluster.New(system, clusterConfig)
	c.StartMember()
	return &Node{system: system, cluster: c, timeout: cfg.RequestTimeout, graceful: cfg.ClusterProvider != "none"}, nil
}

// Ask sends a message to a room grain and waits for its reply, within ctx's deadline and the
// node's request timeout.
func (n *Node) Ask(ctx context.Context, roomID string, msg proto.Message) (*messages.RoomReply, error) {
	timeout := n.timeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline))
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("ask room %s: %w", roomID, context.DeadlineExceeded)
	}
	res, err := n.cluster.Request(roomID, room.Kind, msg,
		protocluster.WithTimeout(timeout),
		// protoactor retries 3 times with a back-off of nanoseconds (grain.go), too soon for a
		// stopped activation to be forgotten by the identity lookup: retry until the deadline,
		// backing off up to 100 ms.
		protocluster.WithRetryCount(1000),
		protocluster.WithRetryAction(func(i int) int {
			time.Sleep(min(time.Duration(i+1)*10*time.Millisecond, 100*time.Millisecond))
			return i + 1
		}))
	if err != nil {
		return nil, fmt.Errorf("ask room %s: %w: %v", roomID, ErrRoomUnreachable, err)
	}
	reply, ok := res.(*messages.RoomReply)
	if !ok {
		return nil, fmt.Errorf("ask room %s: unexpected reply %T", roomID, res)
	}
	return reply, nil
}

// Ready reports whether this node is a member of the cluster.
func (n *Node) Ready() error {
	if n.Members() == 0 {
		return errors.New("not a cluster member yet")
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

// Stop leaves the cluster: room grains stop (their state is already stored).
func (n *Node) Stop() {
	n.cluster.Shutdown(n.graceful)
}

// minLevel drops records below a level, whatever the wrapped handler would accept.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
