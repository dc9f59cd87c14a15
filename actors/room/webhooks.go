package room

import (
	"log/slog"
	"slices"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// applyWebhook applies a verified LiveKit event (webhooks.md). LiveKit may repeat, drop and
// reorder deliveries: an event id already applied is acknowledged without effect, and an event
// older than the one that last set the room's liveness does not change it.
func (r *Room) applyWebhook(msg *messages.WebhookEvent, ch *change) *messages.RoomReply {
	if slices.Contains(r.appliedEvents, msg.GetEventId()) {
		r.deps.Metrics.DuplicateEvents.Inc()
		return ack("Event already applied.")
	}
	event := &livekit.WebhookEvent{}
	if err := proto.Unmarshal(msg.GetLivekitEvent(), event); err != nil {
		return failure(messages.ErrorCode_ERROR_CODE_INVALID, "Malformed LiveKit event.")
	}
	at := msg.GetCreatedAt() * 1000
	switch msg.GetEvent() {
	case "room_started":
		r.setLive(true, at, ch)
	case "participant_joined":
		r.setLive(true, at, ch)
		r.participantEvent(event, true, at, ch)
	case "egress_started", "egress_updated", "egress_ended":
		r.egressEvent(event, ch)
	case "participant_left", "participant_connection_aborted":
		r.participantEvent(event, false, at, ch)
	case "room_finished":
		if r.setLive(false, at, ch) {
			// A finished LiveKit room takes its lobby with it: admitted participants must knock
			// again for the next session, and subtitles start afresh.
			r.lobby.clear()
			r.subtitlesDispatched = false
			r.presence = presence{}
		}
	}
	if ch.before != nil {
		r.rememberEvent(msg.GetEventId())
	}
	r.log.Debug("webhook applied", slog.String("event", msg.GetEvent()), slog.String("event_id", msg.GetEventId()))
	return ack("Event applied.")
}

// setLive records the room's liveness as of an event time; reports whether it applied.
func (r *Room) setLive(live bool, at int64, ch *change) bool {
	if at < r.liveUpdatedAt {
		return false
	}
	if r.live == live && r.liveUpdatedAt == at {
		return false
	}
	r.changing(ch)
	r.live = live
	r.liveUpdatedAt = at
	return true
}

func (r *Room) rememberEvent(id string) {
	if id == "" {
		return
	}
	r.appliedEvents = append(r.appliedEvents, id)
	if over := len(r.appliedEvents) - rememberedEvents; over > 0 {
		r.appliedEvents = r.appliedEvents[over:]
	}
}
