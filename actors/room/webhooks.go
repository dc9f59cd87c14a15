package room

import (
	"context"
	"log/slog"
	"slices"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/webhook"

	"meetcoord/messages"
)

// webhookHandlers are how a room acts on each LiveKit event it handles: exactly the events of
// webhookevents, which the gateway forwards (a test holds the two together). at is the event's
// time in unix milliseconds.
var webhookHandlers = map[string]func(r *Room, event *livekit.WebhookEvent, at int64, ch *change){
	webhook.EventRoomStarted: func(r *Room, _ *livekit.WebhookEvent, at int64, ch *change) {
		// A session's start is stored before the reply, unlike a join's time: a room_finished of
		// the session before, retried after a crash, must find it and not end this one.
		r.setLive(true, at, ch, true)
		// Every start of the LiveKit room gets the metadata, whatever the order of its events:
		// LiveKit delivers them concurrently, and a participant_joined of the same second that
		// came first found the room live already (LiveKit restarted, say) and pushed nothing.
		// A repeated room_started is not applied twice (its id), a late one pushes the current
		// metadata again, which changes nothing.
		r.pushMetadataOnStart(ch)
	},
	webhook.EventParticipantJoined: func(r *Room, event *livekit.WebhookEvent, at int64, ch *change) {
		if wasLive := r.live; r.setLive(true, at, ch, false) && !wasLive {
			r.pushMetadataOnStart(ch) // room_started may be lost, or come later
		}
		r.participantEvent(event, true, at, ch)
	},
	webhook.EventEgressStarted: egressWebhook,
	webhook.EventEgressUpdated: egressWebhook,
	webhook.EventEgressEnded:   egressWebhook,
	webhook.EventParticipantLeft: func(r *Room, event *livekit.WebhookEvent, at int64, ch *change) {
		r.participantEvent(event, false, at, ch)
	},
	webhook.EventParticipantConnectionAborted: func(r *Room, event *livekit.WebhookEvent, at int64, ch *change) {
		r.participantEvent(event, false, at, ch)
	},
	webhook.EventRoomFinished: func(r *Room, _ *livekit.WebhookEvent, at int64, ch *change) {
		if r.setLive(false, at, ch, true) {
			// A finished LiveKit room takes its lobby with it: admitted participants must knock
			// again for the next session, and subtitles start afresh.
			r.lobby.clear()
			r.subtitlesDispatched = false
			r.presence = nil
		}
	},
}

func egressWebhook(r *Room, event *livekit.WebhookEvent, _ int64, ch *change) {
	r.egressEvent(event, ch)
}

// applyWebhook applies a verified LiveKit event (webhooks.md). LiveKit may repeat, drop and
// reorder deliveries: an event id already applied is acknowledged without effect, and an event
// older than the one that last set the room's liveness does not change it.
func (r *Room) applyWebhook(msg *messages.WebhookEvent, ch *change) *messages.RoomReply {
	event := msg.GetLivekitEvent()
	if event == nil {
		return failure(messages.ErrorCode_ERROR_CODE_INVALID, "Malformed LiveKit event.")
	}
	if slices.Contains(r.appliedEvents, event.GetId()) {
		r.deps.Metrics.DuplicateEvents.Inc()
		return eventAlreadyApplied
	}
	handle, handled := webhookHandlers[event.GetEvent()]
	if !handled {
		// Only a gateway of the previous version forwards other events (rolling upgrade).
		return ack("Event applied.")
	}
	handle(r, event, msg.GetCreatedAt()*1000, ch)
	if ch.before != nil || ch.presence {
		r.rememberEvent(event.GetId())
	}
	if r.deps.Logger.Enabled(context.Background(), slog.LevelDebug) {
		// Checked first: the room's logger is made on first use, and most rooms never log.
		r.logger().Debug("webhook applied", slog.String("event", event.GetEvent()), slog.String("event_id", event.GetId()))
	}
	return eventApplied
}

// The replies to a webhook: made once, they are never modified (a reply is only read, encoded
// for a remote caller or remembered).
var (
	eventApplied        = ack("Event applied.")
	eventAlreadyApplied = ack("Event already applied.")
)

// setLive records the room's liveness as of an event time; reports whether it applied. A later
// time of a room still live is written behind with presence (changingPresence), unless stored.
func (r *Room) setLive(live bool, at int64, ch *change, stored bool) bool {
	if at < r.liveUpdatedAt {
		return false
	}
	if r.live == live && r.liveUpdatedAt == at {
		return false
	}
	if live && r.live && !stored {
		// Still live, at a later time: what LiveKit is the record of, written behind.
		r.changingPresence(ch)
	} else {
		r.changing(ch)
	}
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
