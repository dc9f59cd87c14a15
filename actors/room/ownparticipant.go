package room

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"meetcoord/messages"
)

// What a participant does to their own LiveKit participant, with the LiveKit token of this room
// (frontend.md "In-meeting actions"): raise or lower their hand, change their name. The caller's
// identity comes from the token; LiveKit says "not found" when they are not in the room.

// handRaisedAttribute is the participant attribute clients read the hand from: the time it was
// raised (their queue order), "" when it is down.
const handRaisedAttribute = "handRaisedAt"

// setHandRaised writes the caller's handRaisedAt attribute.
func (r *Room) setHandRaised(ctx actor.Context, msg *messages.SetHandRaised, ch *change) *messages.RoomReply {
	if !r.isParticipantOfThisRoom(msg.GetCaller()) {
		return wrongRoomToken()
	}
	raisedAt, done := "", "Hand lowered."
	if msg.GetRaised() {
		raisedAt, done = isoTimestamp(r.deps.Clock.Now()), "Hand raised."
	}
	identity := msg.GetCaller().GetLivekitParticipant().GetIdentity()
	update := ParticipantUpdate{Attributes: map[string]string{handRaisedAttribute: raisedAt}}
	// Off the actor's goroutine; a retried request joins the call in flight or gets the
	// remembered answer.
	r.liveKitCommand(ctx, msg.GetRequestId(), msg.GetRequestId(), func(c context.Context) error {
		return r.deps.LiveKit.UpdateParticipant(c, r.id, identity, update)
	}, r.onSuccess(func(*change) *messages.RoomReply { return ack(done) }))
	return nil
}

// renameParticipant changes the caller's LiveKit name, when they may choose it.
func (r *Room) renameParticipant(ctx actor.Context, msg *messages.RenameParticipant, ch *change) *messages.RoomReply {
	if !r.isParticipantOfThisRoom(msg.GetCaller()) {
		return wrongRoomToken()
	}
	if !mayChooseOwnName(msg.GetCallerAuthenticated(), r.deps.Config.CanEditDisplayName) {
		return failure(messages.ErrorCode_ERROR_CODE_FORBIDDEN, "Authenticated participants may not change their display name.")
	}
	name, identity := msg.GetName(), msg.GetCaller().GetLivekitParticipant().GetIdentity()
	r.liveKitCommand(ctx, msg.GetRequestId(), msg.GetRequestId(), func(c context.Context) error {
		return r.deps.LiveKit.UpdateParticipant(c, r.id, identity, ParticipantUpdate{Name: &name})
	}, func(ch *change, err error) *messages.RoomReply {
		if errors.Is(err, ErrLiveKitInvalid) {
			// LiveKit bounds names in bytes (configurable, 256 by default), not in characters.
			return invalid("name", "This name is too long for the meeting.")
		}
		return r.onSuccess(func(*change) *messages.RoomReply { return ack("Participant renamed.") })(ch, err)
	})
	return nil
}

func wrongRoomToken() *messages.RoomReply {
	return failure(messages.ErrorCode_ERROR_CODE_FORBIDDEN, "This token is not valid for this room.")
}

// isoTimestamp writes t in UTC as the reference product does (Python's isoformat of an aware
// datetime): microseconds, left out when zero, and a "+00:00" offset.
func isoTimestamp(t time.Time) string {
	t = t.UTC()
	if micros := t.Nanosecond() / 1000; micros != 0 {
		return t.Format("2006-01-02T15:04:05") + fmt.Sprintf(".%06d+00:00", micros)
	}
	return t.Format("2006-01-02T15:04:05") + "+00:00"
}
