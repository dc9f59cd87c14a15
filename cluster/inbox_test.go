package cluster_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"meetcoord/cluster"
	"meetcoord/messages"
)

// holdingGrain keeps the sender of a "hold" request without answering it; a "release" request
// answers the held one ("late"), then its own ("now").
type holdingGrain struct{ held *actor.PID }

func (g *holdingGrain) Receive(ctx actor.Context) {
	msg, ok := ctx.Message().(*messages.GetRoom)
	if !ok {
		return
	}
	switch msg.GetParticipantId() {
	case "hold":
		g.held = ctx.Sender()
	case "release":
		if g.held != nil {
			ctx.Send(g.held, &messages.RoomReply{Body: &messages.RoomReply_Ack{Ack: &messages.Ack{Message: "late"}}})
			g.held = nil
		}
		ctx.Respond(&messages.RoomReply{Body: &messages.RoomReply_Ack{Ack: &messages.Ack{Message: "now"}}})
	}
}

// TestLateReplyReachesNoLaterRequest: requests wait for their replies in inboxes that are reused;
// one whose request was given up must not be, or the late reply to that request would be taken
// for the reply to a later one.
func TestLateReplyReachesNoLaterRequest(t *testing.T) {
	node, err := cluster.StartNode(cluster.Config{Provider: "none", Name: fmt.Sprintf("inbox-%d", time.Now().UnixNano()),
		AdvertiseAddr: "127.0.0.1", ActivationTimeout: 30 * time.Second, RequestTimeout: 30 * time.Second},
		actor.PropsFromProducer(func() actor.Actor { return &holdingGrain{} }), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop()
	ask := func(ctx context.Context, what string) (string, error) {
		reply, err := node.Ask(ctx, "room-1", &messages.GetRoom{ParticipantId: what})
		return reply.GetAck().GetMessage(), err
	}
	for round := range 20 {
		// A request answered at once: its inbox is kept for the next request.
		if got, err := ask(t.Context(), "release"); err != nil || got != "now" {
			t.Fatalf("round %d: release = %q, %v; want now", round, got, err)
		}
		held, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		_, err := ask(held, "hold")
		cancel()
		if err == nil {
			t.Fatalf("round %d: a request the grain does not answer succeeded", round)
		}
		// The grain now answers the given-up request, then this one.
		if got, err := ask(t.Context(), "release"); err != nil || got != "now" {
			t.Fatalf("round %d: the request after a given-up one got %q (%v), want now", round, got, err)
		}
	}
}
