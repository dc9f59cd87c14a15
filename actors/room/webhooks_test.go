package room

import (
	"slices"
	"testing"

	"github.com/livekit/protocol/webhook"

	"meetcoord/actors/room/webhookevents"
)

// TestWebhookHandlersAreTheForwardedEvents: the room handles exactly the events the gateway
// forwards to it (webhookevents), so that none is forwarded only to be ignored and none the room
// handles is answered by the gateway without reaching it.
func TestWebhookHandlersAreTheForwardedEvents(t *testing.T) {
	var handlers []string
	for event := range webhookHandlers {
		handlers = append(handlers, event)
	}
	slices.Sort(handlers)
	forwarded := webhookevents.All()
	slices.Sort(forwarded)
	if !slices.Equal(handlers, forwarded) {
		t.Fatalf("room handles %v, gateway forwards %v", handlers, forwarded)
	}
	for _, ignored := range []string{webhook.EventTrackPublished, webhook.EventTrackUnpublished,
		webhook.EventIngressStarted, webhook.EventIngressEnded} {
		if webhookevents.Handled(ignored) {
			t.Errorf("%s is forwarded to rooms, which ignore it", ignored)
		}
	}
}
