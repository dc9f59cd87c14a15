package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/webhook"

	"meetcoord/actors/room/webhookevents"
	"meetcoord/messages"
)

// knownEvents are the LiveKit webhook event types (webhooks.md); any other is a 422.
var knownEvents = map[string]bool{
	webhook.EventRoomStarted: true, webhook.EventRoomFinished: true,
	webhook.EventParticipantJoined: true, webhook.EventParticipantLeft: true,
	webhook.EventParticipantConnectionAborted: true,
	webhook.EventTrackPublished:               true, webhook.EventTrackUnpublished: true,
	webhook.EventEgressStarted: true, webhook.EventEgressUpdated: true, webhook.EventEgressEnded: true,
	webhook.EventIngressStarted: true, webhook.EventIngressEnded: true,
}

// livekitWebhook verifies a LiveKit webhook and routes it to its room (webhooks.md). It answers
// 5xx only when the event was not applied and a retry can help, so that LiveKit retries it.
func (g *Gateway) livekitWebhook(w http.ResponseWriter, r *http.Request) error {
	if r.Header.Get("Authorization") == "" {
		g.metrics.webhooks.WithLabelValues("", "unauthenticated").Inc()
		return errNotAuthenticated
	}
	event, err := receiveWebhook(w, r, g.cfg.WebhookKeys)
	if err != nil {
		g.metrics.webhooks.WithLabelValues("", "invalid").Inc()
		g.log.Warn("webhook rejected", slog.Any("error", err))
		return invalidWebhook(err)
	}
	if !knownEvents[event.GetEvent()] {
		g.metrics.webhooks.WithLabelValues("unknown", "unknown_event").Inc()
		return unknownWebhookEvent(event.GetEvent())
	}
	if !webhookevents.Handled(event.GetEvent()) {
		// A known event no room acts on (track_*, ingress_*): acknowledged here, so that it never
		// wakes a passivated room only to be ignored there.
		g.metrics.webhooks.WithLabelValues(event.GetEvent(), "ignored").Inc()
		writeWebhookSuccess(w)
		return nil
	}
	roomName := event.GetRoom().GetName()
	if egress := event.GetEgressInfo(); egress != nil {
		roomName = egress.GetRoomName()
	}
	if g.cfg.WebhookRoomFilter != nil && !g.cfg.WebhookRoomFilter.MatchString(roomName) {
		g.metrics.webhooks.WithLabelValues(event.GetEvent(), "filtered").Inc()
		writeWebhookSuccess(w)
		return nil
	}
	roomID, err := uuid.Parse(roomName)
	if err != nil {
		// Not one of ours (a connection test, another application's room): nothing to do.
		g.metrics.webhooks.WithLabelValues(event.GetEvent(), "not_a_room").Inc()
		g.log.Info("webhook for a room name that is not a room id", slog.String("room", roomName), slog.String("event", event.GetEvent()))
		writeWebhookSuccess(w)
		return nil
	}
	reply, err := g.askRoom(r, roomID.String(), webhookMessage(event))
	outcome := "applied"
	switch {
	case err != nil:
		outcome = "unavailable"
	case reply.GetFailure().GetCode() == messages.ErrorCode_ERROR_CODE_UNAVAILABLE,
		reply.GetFailure().GetCode() == messages.ErrorCode_ERROR_CODE_MOVED:
		outcome = "unavailable"
	case reply.GetFailure().GetCode() == messages.ErrorCode_ERROR_CODE_NOT_FOUND:
		outcome = "unknown_room"
	case reply.GetFailure() != nil:
		outcome = "rejected"
	}
	g.metrics.webhooks.WithLabelValues(event.GetEvent(), outcome).Inc()
	switch outcome {
	case "unavailable":
		g.log.Warn("webhook not applied, asking LiveKit to retry", slog.String("room", roomName),
			slog.String("event", event.GetEvent()), slog.Any("error", errors.Join(err, failureError(reply))))
		return errRoomUnavailable
	case "unknown_room":
		g.log.Info("webhook for an unknown room", slog.String("room", roomName), slog.String("event", event.GetEvent()))
		writeWebhookSuccess(w)
	case "rejected":
		g.log.Warn("webhook rejected by its room", slog.String("room", roomName), slog.String("event", event.GetEvent()),
			slog.String("detail", reply.GetFailure().GetDetail()))
		writeWebhookSuccess(w)
	default:
		writeWebhookSuccess(w)
	}
	return nil
}

// webhookSuccess is the body of every acknowledged webhook, encoded once (as writeJSON would).
var webhookSuccess = []byte(`{"status":"success"}` + "\n")

func writeWebhookSuccess(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(webhookSuccess)
}

// webhookMessage wraps a verified event for its room.
func webhookMessage(event *livekit.WebhookEvent) *messages.WebhookEvent {
	createdAt := event.GetCreatedAt()
	if createdAt == 0 {
		createdAt = time.Now().Unix()
	}
	return &messages.WebhookEvent{
		CreatedAt: createdAt, LivekitEvent: event,
		// For a room on a node of the previous version (rolling upgrade): its only way to know
		// the event's name and id.
		EventId: event.GetId(), Event: event.GetEvent(),
	}
}

func failureError(reply *messages.RoomReply) error {
	if f := reply.GetFailure(); f != nil {
		return errors.New(f.GetDetail())
	}
	return nil
}
