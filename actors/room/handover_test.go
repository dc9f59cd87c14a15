package room_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"

	"meetcoord/actors/room"
	"meetcoord/actors/store"
	"meetcoord/cmd/meetcoord/service/servicetest"
	"meetcoord/messages"
)

// earlierHolder stands for the member that held the room before: its placement actor answers
// ReleaseRoom as the case says, once the test lets it (release).
type earlierHolder struct {
	answer  func() *messages.RoomReleased // nil: never answers
	release chan struct{}
	mu      sync.Mutex
	asked   []int64 // the epochs it was asked to release
}

func (h *earlierHolder) Receive(ctx actor.Context) {
	msg, ok := ctx.Message().(*messages.ReleaseRoom)
	if !ok {
		return
	}
	h.mu.Lock()
	h.asked = append(h.asked, msg.GetEpoch())
	h.mu.Unlock()
	if h.answer == nil {
		return
	}
	sender, answer := ctx.Sender(), h.answer()
	go func() {
		<-h.release
		ctx.ActorSystem().Root.Send(sender, answer)
	}()
}

func (h *earlierHolder) askedEpochs() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.asked)
}

// members is the cluster's view as the case says; it is also the cluster's identity lookup,
// where the room finds it.
type members struct {
	protocluster.IdentityLookup
	gone, member bool
	holder       *actor.PID
}

func (m *members) Holder() string                               { return "this-process@10.0.0.1:4000" }
func (m *members) Gone(string) bool                             { return m.gone }
func (m *members) Member(string) bool                           { return m.member }
func (m *members) PlacementOf(string) *actor.PID                { return m.holder }
func (m *members) Get(*protocluster.ClusterIdentity) *actor.PID { return nil }

const (
	otherMember     = "other-process@10.0.0.2:4000"
	handoverTimeout = 300 * time.Millisecond
)

// TestNewActivationWaitsForTheEarlierHolder: a room activated on this member while another
// member held it (their views of the membership disagreed) answers nothing until that member
// released the room; it gives up ("moved", the caller retries) when the holder is newer or a
// member that does not answer, and does not wait for a member known to be gone or never seen.
func TestNewActivationWaitsForTheEarlierHolder(t *testing.T) {
	newer := func() *messages.RoomReleased { return &messages.RoomReleased{NewerEpoch: 1 << 40} }
	released := func() *messages.RoomReleased { return &messages.RoomReleased{} }
	cases := []struct {
		name          string
		answer        func() *messages.RoomReleased
		gone, member  bool
		newerAsks     bool // a newer activation elsewhere asks this one to release the room meanwhile
		wantAsked     bool
		wantServed    bool
		wantSoleOwner bool // the store records this member as the room's only holder
	}{
		{name: "holder releases", answer: released, member: true, wantAsked: true, wantServed: true, wantSoleOwner: true},
		{name: "holder is newer", answer: newer, member: true, wantAsked: true},
		{name: "member does not answer", member: true, wantAsked: true},
		{name: "never-seen address does not answer", wantAsked: true, wantServed: true, wantSoleOwner: true},
		{name: "gone holder is not asked", gone: true, member: true, wantServed: true, wantSoleOwner: true},
		{name: "newer activation asks first", member: true, newerAsks: true, wantAsked: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			system := actor.NewActorSystemWithConfig(actor.Configure(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet })))
			t.Cleanup(system.Shutdown)
			memory := store.NewMemory()
			const roomID = "r1"
			state, err := proto.Marshal(&messages.RoomState{Record: &messages.RoomRecord{Id: roomID, Name: "Handover"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := memory.Save(context.Background(), room.Snapshot{RoomID: roomID, State: state, Holder: otherMember}); err != nil {
				t.Fatal(err)
			}
			holder := &earlierHolder{answer: tc.answer, release: make(chan struct{})}
			holderPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return holder }))
			metrics := room.NewMetrics(prometheus.NewRegistry())
			props := room.NewProps(room.Deps{
				Config: room.Config{StoreTimeout: 5 * time.Second, HandoverTimeout: handoverTimeout,
					WaitingTimeout: time.Minute, DeniedTimeout: time.Minute, AcceptedTimeout: time.Minute, IdleTimeout: time.Hour},
				Store: memory, Clock: room.SystemClock{}, Metrics: metrics,
				Logger: quiet,
			})
			view := &members{gone: tc.gone, member: tc.member, holder: holderPID}
			grain := system.Root.Spawn(props)
			identity := protocluster.NewClusterIdentity(roomID, room.Kind)
			system.Root.Send(grain, &protocluster.ClusterInit{Identity: identity,
				Cluster: &protocluster.Cluster{Config: &protocluster.Config{IdentityLookup: view}}})
			asked := time.Now()
			get := answerOf(system.Root.RequestFuture(grain, &messages.GetRoom{}, 30*time.Second))

			if tc.wantAsked {
				servicetest.Eventually(t, 30*time.Second, "the earlier holder to be asked", func() bool { return len(holder.askedEpochs()) == 1 })
			}
			if tc.answer != nil {
				// The room must not answer while the holder has not: give it time to (wrongly) do so.
				select {
				case a := <-get:
					t.Fatalf("the room answered %v before the earlier holder released it", a.res)
				case <-time.After(200 * time.Millisecond):
				}
			}
			var newerAsked *actor.Future
			if tc.newerAsks {
				newerAsked = system.Root.RequestFuture(grain, &messages.ReleaseRoom{Identity: roomID, Kind: room.Kind, Epoch: 1 << 40}, 30*time.Second)
			}
			close(holder.release)

			answer := <-get
			if tc.answer == nil && tc.wantAsked && !tc.newerAsks && time.Since(asked) < handoverTimeout {
				t.Fatalf("answered %v after %v, before the holder's time to answer (%v) was up", answer.res, time.Since(asked), handoverTimeout)
			}
			if answer.err != nil {
				t.Fatalf("GetRoom: %v", answer.err)
			}
			reply := answer.res.(*messages.RoomReply)
			served := reply.GetFailure() == nil
			if served != tc.wantServed {
				t.Fatalf("served = %v (reply %v), want %v", served, reply, tc.wantServed)
			}
			if !served && reply.GetFailure().GetCode() != messages.ErrorCode_ERROR_CODE_MOVED {
				t.Fatalf("a room that gave up answered %v, want MOVED", reply.GetFailure())
			}
			if newerAsked != nil {
				res, err := newerAsked.Result()
				if err != nil || res.(*messages.RoomReleased).GetNewerEpoch() != 0 {
					t.Fatalf("ReleaseRoom from a newer activation = %v, %v; want released", res, err)
				}
			}
			if !tc.wantAsked && len(holder.askedEpochs()) != 0 {
				t.Fatalf("a holder known to be gone was asked: %v", holder.askedEpochs())
			}
			// Giving up is counted; being released by a newer activation is not a failure.
			if failed, want := testutil.ToFloat64(metrics.HandoversFailed), !tc.wantServed && !tc.newerAsks; (failed == 1) != want {
				t.Errorf("handovers failed = %v, want 1: %v", failed, want)
			}
			// What the next activation, on a third member, is told to ask.
			next, err := memory.Activate(context.Background(), roomID, "third-process@10.0.0.3:4000")
			if err != nil {
				t.Fatal(err)
			}
			wantHolders := []string{view.Holder()}
			if !tc.wantSoleOwner {
				wantHolders = append(wantHolders, otherMember) // this activation did not take it over
			}
			if !slices.Equal(next.Holders, wantHolders) {
				t.Fatalf("holders after the handover: %q, want %q", next.Holders, wantHolders)
			}
		})
	}
}

type result struct {
	res any
	err error
}

// answerOf delivers the future's result on a channel: protoactor's future wakes one waiter only,
// so it must have no more than one.
func answerOf(f *actor.Future) <-chan result {
	ch := make(chan result, 1)
	go func() {
		res, err := f.Result()
		ch <- result{res, err}
	}()
	return ch
}
