package room

import (
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// DefaultHandoverTimeout bounds the wait for an earlier holder of a room to release it: a member
// answers in milliseconds, after the messages already in its activation's mailbox (each bounded
// by the store's timeout).
const DefaultHandoverTimeout = 2 * time.Second

// Members is what a room asks the cluster's placement about the other members, to reach the
// earlier holders of the room (placement.Lookup implements it; the room finds it in its
// ClusterInit).
type Members interface {
	// Holder is this member's name in the rooms' holders (Activation.Holders): it tells a
	// process restarted on the same address from the one before.
	Holder() string
	// Gone reports whether the holder is known to be gone (its process left the membership or
	// its connection broke): its activations are dead, or stood still and check the store when
	// they resume (Stalls).
	Gone(holder string) bool
	// Member reports whether the holder's process is in this member's view of the membership.
	Member(holder string) bool
	// PlacementOf is the actor on the holder's member that delivers a ReleaseRoom to the
	// room's activation there.
	PlacementOf(holder string) *actor.PID
}

// handover is a new activation's wait for the room's earlier holders to let it go. Members'
// views of the membership disagree for a while after a change (a member joins, one is seen
// gone), so two members may each activate the room, each believing it owns it. Writes are fenced
// by the epoch, but an older activation answers reads from memory: once the newer one has
// acknowledged a write, such a read is stale. So the newer activation answers nothing until
// every earlier holder that may still be alive has stopped its activation; meanwhile its
// requests wait (stashed), and it answers ReleaseRoom from others itself (a newer one wins), so
// that two activations waiting for each other do not wait for ever.
type handover struct {
	members Members
	waiting int  // ReleaseRoom requests not answered yet
	failed  bool // an earlier holder kept the room: this activation must not serve
	stashed []stashedRequest
}

type stashedRequest struct {
	msg    any
	sender *actor.PID
}

// beginHandover asks each earlier holder not known to be gone to release the room; the room
// serves once all did (finishHandover). It returns false when there is nobody to ask.
func (r *Room) beginHandover(ctx actor.Context, members Members, holders []string) bool {
	h := &handover{members: members}
	for _, holder := range holders {
		if members.Gone(holder) {
			continue
		}
		h.waiting++
		future := ctx.RequestFuture(members.PlacementOf(holder),
			&messages.ReleaseRoom{Identity: r.id, Kind: Kind, Epoch: r.epoch}, r.deps.Config.HandoverTimeout)
		ctx.ReenterAfter(future, func(res any, err error) { r.holderAnswered(ctx, holder, res, err) })
	}
	if h.waiting == 0 {
		return false
	}
	r.handover = h
	return true
}

// holderAnswered counts one earlier holder's answer to ReleaseRoom.
func (r *Room) holderAnswered(ctx actor.Context, holder string, res any, err error) {
	h := r.handover
	if h == nil {
		return // this activation stopped meanwhile
	}
	h.waiting--
	released, _ := res.(*messages.RoomReleased)
	switch {
	case err == nil && released != nil && released.GetNewerEpoch() > r.epoch:
		// The holder's activation is newer than this one: this one is fenced already.
		h.failed = true
	case err == nil && released != nil:
	case h.members.Gone(holder) || !h.members.Member(holder):
		// No answer (a timeout, or a dead letter: its member could not be reached) from a
		// holder now known to be gone, or never in this view (dead before this member joined;
		// or a member this view has not seen join yet, the one case given up on: see
		// docs/decisions.md). A dead letter from a member that is reached means its activation
		// stopped: its placement actor answers that itself.
	default:
		r.logger().Warn("an earlier holder of the room did not release it: this activation stops, the request is retried",
			slog.String("holder", holder), slog.Any("error", err))
		h.failed = true
	}
	if h.waiting == 0 {
		r.finishHandover(ctx)
	}
}

// finishHandover serves the requests that waited, or answers them "moved" when an earlier
// holder kept the room (the caller retries on a fresh activation).
func (r *Room) finishHandover(ctx actor.Context) {
	h := r.handover
	if h.failed {
		r.deps.Metrics.HandoversFailed.Inc()
		r.stopAsStale(ctx)
		return
	}
	r.handover = nil
	r.holdAlone()
	// The requests that waited go to the back of the mailbox: behind some that came later, but
	// every one of them was sent before any was answered, so their order is free (each caller
	// waits for its answer before it sends the next).
	for _, s := range h.stashed {
		if s.sender != nil {
			ctx.RequestWithCustomSender(ctx.Self(), s.msg, s.sender)
		} else {
			ctx.Send(ctx.Self(), s.msg)
		}
	}
	r.afterActivation(ctx)
}

// holdAlone records that the earlier holders let the room go, so that the next activation does
// not ask them again. A failure costs that activation a question answered at once, no more.
func (r *Room) holdAlone() {
	storeCtx, cancel := context.WithTimeout(context.Background(), r.deps.Config.StoreTimeout)
	defer cancel()
	if err := r.deps.Store.SoleHolder(storeCtx, r.id, r.epoch, r.holder); err != nil {
		r.logger().Warn("the room's earlier holders could not be forgotten", slog.Any("error", err))
	}
}

// letGo removes this member from the room's holders when its activation stops while serving
// (passivation, a graceful leave, a move to a new owner): a member that starts later, and never
// saw this one leave, would otherwise ask it to release the room and wait for an answer from an
// address that is gone.
func (r *Room) letGo() {
	if !r.loaded || r.epoch == 0 || r.record == nil {
		return
	}
	storeCtx, cancel := context.WithTimeout(context.Background(), r.deps.Config.StoreTimeout)
	defer cancel()
	if err := r.deps.Store.DropHolder(storeCtx, r.id, r.epoch, r.holder); err != nil {
		r.logger().Warn("this member could not be removed from the room's holders", slog.Any("error", err))
	}
}

// waitsForHandover stashes a request that arrived before the earlier holders released the room.
// Messages about the activation itself go through.
func (r *Room) waitsForHandover(ctx actor.Context) bool {
	if r.handover == nil {
		return false
	}
	switch msg := ctx.Message().(type) {
	case *messages.ReleaseRoom, *messages.Superseded:
		return false
	case proto.Message:
		r.handover.stashed = append(r.handover.stashed, stashedRequest{msg: msg, sender: ctx.Sender()})
		return true
	case idleCheck:
		return true // not idle: waiting
	}
	return false // the actor's lifecycle
}

// release answers a newer activation's ReleaseRoom: this one stops, unless it is the newer.
func (r *Room) release(ctx actor.Context, msg *messages.ReleaseRoom) {
	if r.loaded && msg.GetEpoch() <= r.epoch {
		ctx.Respond(&messages.RoomReleased{NewerEpoch: r.epoch})
		return
	}
	if r.loaded {
		r.deps.Metrics.Released.Inc()
		r.logger().Info("room activated on another member at a newer epoch, released",
			slog.Int64("epoch", r.epoch), slog.Int64("newer", msg.GetEpoch()))
		r.stopAsStale(ctx)
	}
	ctx.Respond(&messages.RoomReleased{})
}

// stopAsStale stops an activation that a newer one replaced: it never writes again, and the
// requests that waited for its handover are answered "moved" (their callers retry).
func (r *Room) stopAsStale(ctx actor.Context) {
	r.loaded = false
	r.abandonHandover(ctx)
	ctx.Stop(ctx.Self())
}

// abandonHandover answers "moved" to the requests waiting for a handover that will not complete
// (the activation stops): their callers retry on a fresh activation.
func (r *Room) abandonHandover(ctx actor.Context) {
	h := r.handover
	if h == nil {
		return
	}
	r.handover = nil
	for _, s := range h.stashed {
		if s.sender != nil { // a message without a sender expects no answer: nobody waits for it
			ctx.Send(s.sender, moved())
		}
	}
}

// moved is the answer of an activation that a newer one replaced: Node.Ask retries it on the
// room's current owner.
func moved() *messages.RoomReply {
	return failure(messages.ErrorCode_ERROR_CODE_MOVED, "The room moved to another node, try again.")
}
