package room

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"meetcoord/messages"
)

// effect is a LiveKit call a command makes once its state change is stored.
type effect func(ctx context.Context)

// outbox runs a room's LiveKit calls in order, off the actor, so that a slow or unreachable
// LiveKit never blocks the actor (and with it the room's lobby). A call's failure is logged and
// counted by the effect itself; it never fails the request that caused it.
//
// It holds no goroutine and no buffer while it is empty, which is most of a room's life: a
// drainer starts with the first call queued and ends when the queue is empty. A goroutine and a
// buffered channel per room cost several kilobytes each of the 100,000 rooms a node may hold.
type outbox struct {
	log     *slog.Logger
	roomID  string
	timeout time.Duration

	mu       sync.Mutex
	queue    []effect
	draining bool // a goroutine runs the queue
	closed   bool
}

// outboxCapacity bounds what a room may queue while LiveKit is slow; beyond it calls are dropped
// (and logged) rather than blocking the actor or growing without bound.
const outboxCapacity = 256

func newOutbox(log *slog.Logger, roomID string, timeout time.Duration) *outbox {
	return &outbox{log: log, roomID: roomID, timeout: timeout}
}

func (o *outbox) push(e effect) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		o.log.Warn("livekit call dropped: the room has stopped", slog.String("room", o.roomID))
		return
	case len(o.queue) >= outboxCapacity:
		o.log.Warn("livekit call dropped: outbox full", slog.String("room", o.roomID))
		return
	}
	o.queue = append(o.queue, e)
	if !o.draining {
		o.draining = true
		go o.drain()
	}
}

// drain runs the queued calls one at a time, in order, until none is left.
func (o *outbox) drain() {
	for {
		o.mu.Lock()
		if len(o.queue) == 0 {
			o.draining = false
			o.queue = nil // an idle room keeps no buffer
			o.mu.Unlock()
			return
		}
		job := o.queue[0]
		o.queue[0] = nil
		o.queue = o.queue[1:]
		o.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
		job(ctx)
		cancel()
	}
}

// close refuses new calls; those queued still run, in the background.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

// notifyIfLive queues a notification to everyone in the LiveKit room, when the room is live
// (there is nobody to notify otherwise, and LiveKit would create the room on our behalf).
func (r *Room) notifyIfLive(ch *change, notificationType string) {
	if !r.live {
		return
	}
	payload, _ := json.Marshal(map[string]string{"type": notificationType})
	ch.effects = append(ch.effects, func(ctx context.Context) {
		outcome := "sent"
		if err := r.deps.LiveKit.SendData(ctx, r.id, payload); err != nil {
			outcome = "failed"
			r.logger().Warn("notification not sent", slog.String("type", notificationType), slog.Any("error", err))
		}
		r.deps.Metrics.Notifications.WithLabelValues(notificationType, outcome).Inc()
	})
}

// metadata is the LiveKit room metadata the actor owns whole (rooms.md: one writer, no
// read-modify-write): what clients need to know of the room's settings.
func (r *Room) metadata() string {
	meta := map[string]any{
		"access_level":  messages.AccessLevelName(r.record.GetAccessLevel()),
		"configuration": messages.ConfigurationView(r.record.GetConfiguration()),
	}
	if status, mode := r.recordingMetadata(); status != "" {
		meta["recording_mode"] = mode
		meta["recording_status"] = status
	}
	b, _ := json.Marshal(meta)
	return string(b)
}

// metadataNotPushed is the room's own message: a metadata push failed, LiveKit may hold
// older metadata than the room's.
type metadataNotPushed struct{}

// updateMetadataEffect pushes the metadata; a LiveKit room that is not running has none to
// update, which is not an error (it gets the metadata when it starts, pushMetadataOnStart). A
// push that failed otherwise (LiveKit down) is made again by reconciliation, with the room's
// metadata of then.
func (r *Room) updateMetadataEffect(metadata string) effect {
	system, self := r.system, r.self
	return func(ctx context.Context) {
		err := r.deps.LiveKit.UpdateRoomMetadata(ctx, r.id, metadata)
		if err != nil && !errors.Is(err, ErrLiveKitNotFound) {
			r.logger().Warn("room metadata not updated; retrying at the next reconciliation", slog.Any("error", err))
			system.Root.Send(self, metadataNotPushed{})
		}
	}
}

// pushMetadataOnStart gives a LiveKit room that starts (again: LiveKit may have restarted) the
// room's metadata, which a push made while it was not running could not set.
func (r *Room) pushMetadataOnStart(ch *change) {
	ch.effects = append(ch.effects, r.updateMetadataEffect(r.metadata()))
}

// knockNoticeDue is the room's own message: a knock arrived within KnockNoticeInterval of the
// last notice, and its notice is due now.
type knockNoticeDue struct{}

// announceKnock tells the meeting that someone waits, at most once per KnockNoticeInterval: a
// knock inside the interval is announced once the interval has passed (one notice for all of
// them), so a flood of knocks is not a flood of LiveKit messages.
func (r *Room) announceKnock(ch *change) {
	now := ch.now
	if r.knocks == nil {
		r.knocks = &knockNotices{}
	}
	if now.Sub(r.knocks.last) >= r.deps.Config.KnockNoticeInterval {
		r.knocks.last = now
		r.notifyIfLive(ch, r.deps.Config.WaitingNotificationType)
		return
	}
	r.knocks.pending = true
}

// scheduleKnockNotice arms the timer of a pending knock notice (once).
func (r *Room) scheduleKnockNotice(ctx actor.Context) {
	k := r.knocks
	if k == nil || !k.pending || k.timer != nil {
		return
	}
	wait := k.last.Add(r.deps.Config.KnockNoticeInterval).Sub(r.deps.Clock.Now())
	k.timer = sendSelfAfter(ctx, r.deps.Clock, max(wait, 0), knockNoticeDue{})
}

// sendDueKnockNotice sends the pending knock notice: a change of no state whose one LiveKit
// call commit lets out at once.
func (r *Room) sendDueKnockNotice(ctx actor.Context) {
	k := r.knocks
	if k == nil {
		return
	}
	k.timer = nil
	if !k.pending || r.record == nil {
		return
	}
	k.pending = false
	r.apply(ctx, "", func(ch *change) *messages.RoomReply {
		k.last = ch.now
		r.notifyIfLive(ch, r.deps.Config.WaitingNotificationType)
		return nil
	})
}
