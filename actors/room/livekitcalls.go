package room

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"meetcoord/messages"
)

// Commands whose answer depends on LiveKit (moderation, subtitles) make the call off the actor's
// goroutine and continue in the actor when it returns (protoactor's ReenterAfter): the room's
// other messages, the lobby's polls first of all, go on meanwhile, and a LiveKit outage costs
// the waiting caller one call timeout, nobody else anything.

// callResult carries an off-actor call's outcome back to the actor.
type callResult struct{ err error }

// liveKitCommand runs call once per flight key (a request arriving while one with the same key
// is in flight waits for the same outcome: a retried request, or a second subtitle start), then
// finish in the actor with the call's outcome (onSuccess wraps the common case); its state
// changes are stored like any command's, and the reply is remembered under requestID. Every
// caller waiting on the flight gets the same reply.
func (r *Room) liveKitCommand(ctx actor.Context, flightKey, requestID string, call func(context.Context) error,
	finish func(ch *change, err error) *messages.RoomReply) {
	if flightKey != "" {
		if waiting, ok := r.inFlight[flightKey]; ok {
			r.inFlight[flightKey] = append(waiting, ctx.Sender())
			return
		}
		r.awaitFlight(flightKey, ctx.Sender())
	}
	sender := ctx.Sender()
	r.runLiveKit(ctx, call, func(err error) {
		reply := r.apply(ctx, requestID, func(ch *change) *messages.RoomReply {
			reply := finish(ch, err)
			if requestID != "" && reply.GetFailure() == nil {
				// The LiveKit action happened: a retry of this request must get this answer, not
				// act again (or answer 404 for a participant already removed), so remember it.
				r.changing(ch)
			}
			return reply
		})
		receivers := []*actor.PID{sender}
		if flightKey != "" {
			receivers = r.inFlight[flightKey]
			delete(r.inFlight, flightKey)
		}
		for _, pid := range receivers {
			if pid != nil {
				ctx.Send(pid, reply)
			}
		}
	})
}

// runLiveKit makes a LiveKit call off the actor's goroutine, bounded by the call timeout, and
// runs then in the actor with its outcome.
func (r *Room) runLiveKit(ctx actor.Context, call func(context.Context) error, then func(err error)) {
	runOffActor(ctx, r.deps.Config.LiveKitTimeout, call, then)
}

// runOffActor runs call on a goroutine of its own, bounded by timeout, and then in the actor
// (protoactor's ReenterAfter) with its outcome: the actor handles other messages meanwhile.
func runOffActor(ctx actor.Context, timeout time.Duration, call func(context.Context) error, then func(err error)) {
	future := actor.NewFuture(ctx.ActorSystem(), timeout+time.Second)
	system, resultPID := ctx.ActorSystem(), future.PID()
	go func() {
		callCtx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		system.Root.Send(resultPID, &callResult{err: call(callCtx)})
	}()
	ctx.ReenterAfter(future, func(res interface{}, err error) {
		if result, ok := res.(*callResult); ok {
			err = result.err
		} else if err == nil {
			err = errors.New("call gave no result")
		}
		then(err)
	})
}

// onSuccess is a finish that answers LiveKit's failure as such and otherwise runs done.
func (r *Room) onSuccess(done func(ch *change) *messages.RoomReply) func(*change, error) *messages.RoomReply {
	return func(ch *change, err error) *messages.RoomReply {
		if err != nil {
			return r.liveKitFailure(err)
		}
		return done(ch)
	}
}

// liveKitFailure maps a failed LiveKit call to the caller's answer.
func (r *Room) liveKitFailure(err error) *messages.RoomReply {
	if errors.Is(err, ErrLiveKitNotFound) {
		return failure(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "Participant not found.")
	}
	r.logger().Warn("livekit call failed", slog.Any("error", err))
	return failure(messages.ErrorCode_ERROR_CODE_UPSTREAM, "LiveKit did not carry out the request.")
}

// awaitFlight records the first caller awaiting a LiveKit call under flightKey.
func (r *Room) awaitFlight(flightKey string, caller *actor.PID) {
	if r.inFlight == nil {
		r.inFlight = map[string][]*actor.PID{}
	}
	r.inFlight[flightKey] = []*actor.PID{caller}
}
