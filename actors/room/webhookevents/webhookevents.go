// Package webhookevents names the LiveKit webhook events a room acts on. The list is the room's
// (actors/room dispatches on exactly these, and its tests hold the two together); it lives apart
// from the actor so that the gateway can forward only these events without depending on the
// actor system. Any other event would wake a passivated room only to be ignored.
package webhookevents

import (
	"slices"

	"github.com/livekit/protocol/webhook"
)

// handled are the events a room acts on.
var handled = []string{
	webhook.EventRoomStarted,
	webhook.EventRoomFinished,
	webhook.EventParticipantJoined,
	webhook.EventParticipantLeft,
	webhook.EventParticipantConnectionAborted,
	webhook.EventEgressStarted,
	webhook.EventEgressUpdated,
	webhook.EventEgressEnded,
}

// Handled reports whether a room acts on the LiveKit event named event.
func Handled(event string) bool { return slices.Contains(handled, event) }

// All are the events a room acts on, in a new slice.
func All() []string { return slices.Clone(handled) }
