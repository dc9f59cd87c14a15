package placement

import (
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"

	"meetcoord/messages"
)

// rebalance asks the placement actor to passivate grains this member no longer owns.
type rebalance struct{}

// tell is a message for a grain's local activation, dropped when there is none.
type tell struct {
	key grainKey
	msg any
}

// passivateAll asks the placement actor for every grain it hosts (it is draining).
type passivateAll struct{}

// grainKey names a grain: its identity and kind. The two strings, rather than the request's
// ClusterIdentity or its AsKey string, are what the placement keeps of each of a node's 100,000
// rooms: the identity is the room's own id string, shared with the room, and the kind a constant.
type grainKey struct {
	identity string
	kind     string
}

func keyOf(ci *protocluster.ClusterIdentity) grainKey {
	return grainKey{identity: ci.GetIdentity(), kind: ci.GetKind()}
}

// placementActor activates grains on this member and keeps track of them; being one actor, it
// activates a given room at most once here.
type placementActor struct {
	lookup *Lookup
	grains map[grainKey]*actor.PID
	byPID  map[string]grainKey // PID id -> key, so that a stop is forgotten in O(1)
}

func (p *placementActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *protocluster.ActivationRequest:
		p.activate(ctx, msg)
	case *actor.Terminated:
		p.forget(msg.Who)
	case tell:
		if pid, ok := p.grains[msg.key]; ok {
			ctx.Send(pid, msg.msg)
		}
	case *messages.ReleaseRoom:
		p.release(ctx, msg)
	case rebalance:
		p.passivateMoved(ctx)
	case passivateAll:
		pids := make([]*actor.PID, 0, len(p.grains))
		for _, pid := range p.grains {
			pids = append(pids, pid)
		}
		ctx.Respond(pids)
	}
}

func (p *placementActor) activate(ctx actor.Context, req *protocluster.ActivationRequest) {
	key := keyOf(req.ClusterIdentity)
	if pid, ok := p.grains[key]; ok {
		ctx.Respond(&protocluster.ActivationResponse{Pid: pid})
		return
	}
	if p.lookup.draining.Load() {
		// Leaving: the caller retries and reaches the new owner once its view drops this member.
		ctx.Respond(&protocluster.ActivationResponse{Failed: true})
		return
	}
	kind := p.lookup.cluster.GetClusterKind(req.ClusterIdentity.Kind)
	if kind == nil {
		ctx.Logger().Error("activation of an unknown kind", slog.String("kind", req.ClusterIdentity.Kind))
		ctx.Respond(&protocluster.ActivationResponse{Failed: true})
		return
	}
	var pid *actor.PID
	if props, ok := p.lookup.grainProps[req.ClusterIdentity.Kind]; ok {
		// The grain learns its identity from its first message, sent before anyone has its PID.
		pid = ctx.SpawnPrefix(props, req.ClusterIdentity.Identity)
		ctx.Send(pid, &protocluster.ClusterInit{Identity: req.ClusterIdentity, Cluster: p.lookup.cluster})
	} else {
		pid = ctx.SpawnPrefix(protocluster.WithClusterIdentity(kind.Props, req.ClusterIdentity), req.ClusterIdentity.Identity)
	}
	kind.Inc()
	p.grains[key] = pid
	p.byPID[pid.Id] = key
	ctx.Respond(&protocluster.ActivationResponse{Pid: pid})
}

// releaseTimeout bounds the wait for a grain to answer ReleaseRoom here; the member that asked
// stops waiting sooner (room.Config.HandoverTimeout).
const releaseTimeout = 30 * time.Second

// release hands a newer activation's ReleaseRoom (from another member) to the activation here,
// which answers it after the messages already in its mailbox, so that nothing it answers
// afterwards comes from its memory. No activation here, or one that stopped just before the
// question reached it (its mailbox bounces it), is an answer too: released. Only a member this
// one could not be reached from answers nothing, and the asker decides what that means.
func (p *placementActor) release(ctx actor.Context, msg *messages.ReleaseRoom) {
	pid, ok := p.grains[grainKey{identity: msg.GetIdentity(), kind: msg.GetKind()}]
	if !ok {
		ctx.Respond(&messages.RoomReleased{})
		return
	}
	ctx.ReenterAfter(ctx.RequestFuture(pid, msg, releaseTimeout), func(res any, err error) {
		switch {
		case errors.Is(err, actor.ErrDeadLetter):
			ctx.Respond(&messages.RoomReleased{})
		case err == nil:
			ctx.Respond(res)
		default:
			ctx.Logger().Warn("a room did not answer ReleaseRoom", slog.String("room", msg.GetIdentity()), slog.Any("error", err))
		}
	})
}

func (p *placementActor) forget(pid *actor.PID) {
	key, ok := p.byPID[pid.Id]
	if !ok {
		return
	}
	delete(p.byPID, pid.Id)
	delete(p.grains, key)
	if kind := p.lookup.cluster.GetClusterKind(key.kind); kind != nil {
		kind.Dec()
	}
	p.lookup.RemovePid(protocluster.NewClusterIdentity(key.identity, key.kind), pid)
}

// passivateMoved stops the grains whose owner is now another member: their state is stored, and
// their next message activates them on the new owner. A poisoned grain handles the messages
// already in its mailbox first.
func (p *placementActor) passivateMoved(ctx actor.Context) {
	for key, pid := range p.grains {
		if p.lookup.Owner(key.identity) != p.lookup.self {
			ctx.Poison(pid)
		}
	}
}
