package room

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/livekit/protocol/livekit"

	"meetcoord/messages"
)

// Room is the actor of one room. protoactor delivers its messages one at a time, so nothing in
// it is guarded: the actor is the only reader and writer of its room's state.
type Room struct {
	deps *Deps                       // shared by every room of the node
	log  atomic.Pointer[slog.Logger] // made on first use: see logger

	id    string
	epoch int64 // fencing epoch of this activation (0 until the room is first stored)
	// stallsSeen is the node's stall generation (Deps.Stalls) when this activation last knew it
	// was the room's newest: at activation, then after each check that a stall called for.
	stallsSeen uint64
	handover   *handover // while the room's earlier holders have not all released it
	holder     string    // this member's name in the room's holders (Members.Holder)

	// The room's state; see stateSharing() and load() for its persisted form.
	record        *messages.RoomRecord // nil: no such room
	lobby         *lobby
	liveUpdatedAt int64 // ms, LiveKit time of the event that last set live
	appliedEvents []string
	replies       []*messages.RememberedReply
	presence      presence
	sipRuleID     string
	recs          *recordingState // nil until the room's first recording

	outbox *outbox // made with the first LiveKit call: see liveKitOutbox
	idle   idleTimer
	// inFlight is nil until first written: most rooms never need it, and an empty map costs a
	// few hundred bytes in each of the 100,000 rooms a node may hold.
	inFlight  map[string][]*actor.PID // LiveKit calls under way, by flight key: who awaits them
	system    *actor.ActorSystem      // to send the room its own messages from the outbox
	self      *actor.PID
	reconcile Timer
	knocks    *knockNotices // nil until the first knock notice

	// The flags are kept together: Go lays a struct out in the order of its fields, and a bool
	// between wider fields takes eight bytes. A node holds 100,000 rooms.
	loaded              bool // state was read from the store
	deleted             bool
	live                bool
	subtitlesDispatched bool
	// presenceUnsaved: presence (or the liveness time) changed since the last write
	// (changingPresence); presenceUnchecked: this activation has not asked LiveKit who is in the
	// room yet, so presence may be behind (a crash or a move lost its unsaved part).
	presenceUnsaved   bool
	presenceUnchecked bool
	sipBusy           bool // a SIP dispatch rule is being created or deleted
	// metadataStale: a metadata push failed (LiveKit unreachable); reconciliation pushes again.
	metadataStale bool
	indexTaken    bool // the last save collided on an exclusive index
}

// recordingState is the room's recordings and the work around them: what the LiveKit metadata
// says of the recording, the saved notices under way and the egress webhooks waiting for a start
// call. Most rooms never record, so it is made on first use (Room.recordingWork): a node holds
// 100,000 rooms.
type recordingState struct {
	recordings []*messages.Recording // the room's last recordingsKept, oldest first
	metaStatus string                // recording_status in the LiveKit metadata, "" when none
	metaMode   string                // recording_mode in the LiveKit metadata
	// notifying: recordings whose saved notice is queued (false) or under way (true).
	notifying map[string]bool
	// pending: egress webhooks that arrived while a start call was in flight, applied when it
	// returns.
	pending []*livekit.WebhookEvent
}

// recordingWork is the room's recordingState, made when first needed.
func (r *Room) recordingWork() *recordingState {
	if r.recs == nil {
		r.recs = &recordingState{}
	}
	return r.recs
}

// recordingList is the room's recordings, oldest first.
func (r *Room) recordingList() []*messages.Recording {
	if r.recs == nil {
		return nil
	}
	return r.recs.recordings
}

// recordingMetadata is the recording's status and mode in the LiveKit metadata ("" when none).
func (r *Room) recordingMetadata() (status, mode string) {
	if r.recs == nil {
		return "", ""
	}
	return r.recs.metaStatus, r.recs.metaMode
}

// knockNotices paces the room's knock notices (announceKnock): when the last went out, and one
// waiting for its turn. Made with the first knock.
type knockNotices struct {
	last    time.Time
	pending bool
	timer   Timer
}

// NewProps returns the props of room grains.
func NewProps(deps Deps) *actor.Props {
	if deps.Stalls == nil {
		deps.Stalls = NoStalls{}
	}
	if deps.Config.HandoverTimeout <= 0 {
		deps.Config.HandoverTimeout = DefaultHandoverTimeout
	}
	deps.idle = newIdleSweeper(deps.Clock, deps.Config.IdleTimeout)
	shared := &deps
	timeouts := deps.lobbyTimeouts()
	return actor.PropsFromProducer(func() actor.Actor {
		return &Room{deps: shared, lobby: &lobby{timeouts: &timeouts}}
	})
}

func (d Deps) lobbyTimeouts() lobbyTimeouts {
	return lobbyTimeouts{waiting: d.Config.WaitingTimeout, denied: d.Config.DeniedTimeout, accepted: d.Config.AcceptedTimeout}
}

// Receive routes each message to the one handler of its concern.
func (r *Room) Receive(ctx actor.Context) {
	if r.waitsForHandover(ctx) {
		return
	}
	switch msg := ctx.Message().(type) {
	case *cluster.ClusterInit:
		r.activate(ctx, msg)
	case idleCheck:
		if r.idle.expired(r.deps.idle, r.self) && r.mayPassivate() {
			r.deps.Metrics.Passivations.Inc()
			ctx.Stop(ctx.Self())
		}
		return
	case *actor.Stopping:
		r.deactivate(ctx)

	case *messages.CreateRoom:
		r.commandShowing(ctx, msg.GetRequestId(), false, func() *messages.RoomReply { return r.roomReply(msg.GetCaller(), msg.GetUsername(), "") },
			func(ch *change) *messages.RoomReply { return r.createRoom(msg, ch) })
	case *messages.GetRoom:
		r.query(ctx, func(ch *change) *messages.RoomReply { return r.getRoom(msg) })
	case *messages.UpdateRoom:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.updateRoom(msg, ch) })
	case *messages.DeleteRoom:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.deleteRoom(msg, ch) })

	case *messages.ListAccesses:
		r.query(ctx, func(ch *change) *messages.RoomReply { return r.listAccesses(msg) })
	case *messages.IndexAccesses:
		// Writes the index only; idempotent by nature, so it carries no request id.
		r.command(ctx, "", true, func(ch *change) *messages.RoomReply { return r.indexAccesses(msg, ch) })
	case *messages.CreateAccess:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.createAccess(msg, ch) })
	case *messages.UpdateAccess:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.updateAccess(msg, ch) })
	case *messages.DeleteAccess:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.deleteAccess(msg, ch) })

	case *messages.RequestEntry:
		// A knock changes state only when it is new; a poll does not, so it carries no request id.
		r.command(ctx, "", true, func(ch *change) *messages.RoomReply { return r.requestEntry(msg, ch) })
		r.scheduleKnockNotice(ctx)
	case *messages.ListWaiting:
		r.query(ctx, func(ch *change) *messages.RoomReply { return r.listWaiting(msg, ch.now) })
	case *messages.DecideEntry:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.decideEntry(msg, ch) })

	case *messages.MuteParticipant:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.muteParticipant(ctx, msg, ch) })
	case *messages.UpdateParticipant:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.updateParticipant(ctx, msg, ch) })
	case *messages.RemoveParticipant:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.removeParticipant(ctx, msg, ch) })
	case *messages.StartSubtitle:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.startSubtitle(ctx, msg, ch) })
	case *messages.SetHandRaised:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.setHandRaised(ctx, msg, ch) })
	case *messages.RenameParticipant:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.renameParticipant(ctx, msg, ch) })
	case *messages.ChangeParticipantRole:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.changeParticipantRole(ctx, msg, ch) })
	case *messages.StartRecording:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.startRecording(ctx, msg, ch) })
	case *messages.StopRecording:
		r.command(ctx, msg.GetRequestId(), true, func(ch *change) *messages.RoomReply { return r.stopRecording(ctx, msg, ch) })

	case *messages.WebhookEvent:
		r.command(ctx, "", true, func(ch *change) *messages.RoomReply { return r.applyWebhook(msg, ch) })
		r.reconcileSIP(ctx)
		r.scheduleReconcile(ctx)
	case reconcileTick:
		r.reconcileWithLiveKit(ctx)
		return
	case metadataNotPushed:
		r.metadataStale = true
		r.scheduleReconcile(ctx)
		return
	case *messages.Superseded:
		r.supersede(ctx, msg)
		return
	case *messages.ReleaseRoom:
		r.release(ctx, msg)
		return
	case knockNoticeDue:
		r.sendDueKnockNotice(ctx)
		return
	case recordingSaved:
		r.notifyRecordingSaved(ctx, msg.recordingID)
		return
	}
	r.idle.touch(r.deps.idle)
}

// mayPassivate: a room stays active while a LiveKit call or a recording notification is in
// flight (its continuation must run here) and while it holds a recording or a SIP dispatch rule (it reconciles them with
// LiveKit on a timer).
func (r *Room) mayPassivate() bool {
	return len(r.inFlight) == 0 && (r.recs == nil || len(r.recs.notifying) == 0) && (r.knocks == nil || !r.knocks.pending) && !r.sipBusy && r.sipRuleID == "" && r.currentRecording() == nil && r.watchedRecording() == nil && !r.metadataStale
}

// activate loads the room's state when the grain starts on this node, and has the room's earlier
// holders release it (handover.go) before it serves.
func (r *Room) activate(ctx actor.Context, init *cluster.ClusterInit) {
	r.id = init.Identity.GetIdentity()
	r.system, r.self = ctx.ActorSystem(), ctx.Self()
	r.deps.Metrics.Activations.Inc()
	r.idle.start(ctx, r.deps.idle)
	members, clustered := clusterMembers(init)
	r.holder = r.system.Address() // a process alone (no cluster): nobody else holds its rooms
	if clustered {
		r.holder = members.Holder()
	}
	// Before the store is read: a stall from here on is one this activation has not seen past.
	r.stallsSeen = r.deps.Stalls.Check()
	holders, err := r.loadFromStore()
	if err != nil {
		// Leave loaded false: every request is answered "unavailable" and the grain stops, so
		// that the next request tries a fresh activation.
		r.deps.Metrics.StoreErrors.Inc()
		r.logger().Error("room state could not be loaded", slog.Any("error", err))
		return
	}
	if len(holders) > 0 && clustered {
		if r.beginHandover(ctx, members, holders) {
			return // serves once they answered
		}
		r.holdAlone() // every earlier holder is gone
	}
	r.afterActivation(ctx)
}

// clusterMembers is the cluster's view of the other members, from the grain's ClusterInit.
func clusterMembers(init *cluster.ClusterInit) (Members, bool) {
	if init.Cluster == nil || init.Cluster.Config == nil {
		return nil, false
	}
	members, ok := init.Cluster.Config.IdentityLookup.(Members)
	return members, ok
}

// afterActivation runs once the activation serves.
func (r *Room) afterActivation(ctx actor.Context) {
	// The stored presence may be behind: changes to it are written behind (changingPresence),
	// and an activation that stopped without its clean stop (a crash, a move) lost them. A room
	// created by this activation has had nobody in it yet.
	r.presenceUnchecked = r.record != nil
	if r.sipRuleID != "" || r.presence.occupied() || r.watchedRecording() != nil || r.presenceToCheck() {
		// Webhooks may have been missed while no activation held the room.
		ctx.Send(ctx.Self(), reconcileTick{})
	}
}

// deactivate runs when the grain stops (passivation, node shutdown, fencing).
func (r *Room) deactivate(ctx actor.Context) {
	serving := r.handover == nil
	r.abandonHandover(ctx)
	r.idle.stop(r.deps.idle, r.self)
	if r.reconcile != nil {
		r.reconcile.Stop()
	}
	if r.knocks != nil && r.knocks.timer != nil {
		r.knocks.timer.Stop()
	}
	if serving { // an activation that never served has nothing of its own to leave behind
		r.savePresence()
		r.saveExactDeadlines()
		r.letGo()
	}
	if r.outbox != nil {
		r.outbox.close()
	}
}

// query answers a read-only request. Its handler has the shape of every handler; its change is
// never committed: a query changes nothing.
func (r *Room) query(ctx actor.Context, handle handler) {
	if reply := r.verifyCurrent(ctx); reply != nil {
		ctx.Respond(reply)
		return
	}
	if reply := r.unavailableOrMissing(ctx); reply != nil {
		ctx.Respond(reply)
		return
	}
	ctx.Respond(handle(&change{now: r.deps.Clock.Now()}))
}

// unavailableOrMissing answers for a room that could not be loaded or does not exist, and stops
// the grain: there is nothing worth keeping in memory for it.
func (r *Room) unavailableOrMissing(ctx actor.Context) *messages.RoomReply {
	if !r.loaded {
		ctx.Stop(ctx.Self())
		return failure(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "Room state is unavailable, try again.")
	}
	if r.record == nil {
		ctx.Stop(ctx.Self())
		return notFound()
	}
	return nil
}

func failure(code messages.ErrorCode, detail string) *messages.RoomReply {
	return &messages.RoomReply{Failure: &messages.Failure{Code: code, Detail: detail}}
}

func notFound() *messages.RoomReply {
	return failure(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "No Room matches the given query.")
}

// invalid is a validation failure on one field.
func invalid(field, message string) *messages.RoomReply {
	return &messages.RoomReply{Failure: &messages.Failure{
		Code:   messages.ErrorCode_ERROR_CODE_INVALID,
		Detail: message,
		Fields: map[string]*messages.FieldErrors{field: {Messages: []string{message}}},
	}}
}

func ack(message string) *messages.RoomReply {
	return &messages.RoomReply{Body: &messages.RoomReply_Ack{Ack: &messages.Ack{Message: message}}}
}

// logger is the room's logger, made on first use: most rooms never log, and a logger carrying
// the room's id costs a hundred bytes or so in each of the 100,000 rooms a node may hold. The
// room's LiveKit calls log from the outbox's goroutine, so the logger is published atomically.
func (r *Room) logger() *slog.Logger {
	if l := r.log.Load(); l != nil {
		return l
	}
	r.log.CompareAndSwap(nil, r.deps.Logger.With(slog.String("room", r.id)))
	return r.log.Load()
}

// liveKitOutbox is the room's outbox, made with the room's first LiveKit call: most rooms never
// make one.
func (r *Room) liveKitOutbox() *outbox {
	if r.outbox == nil {
		r.outbox = newOutbox(r.deps.Logger, r.id, r.deps.Config.LiveKitTimeout)
	}
	return r.outbox
}
