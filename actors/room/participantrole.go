package room

import (
	"context"
	"errors"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// An in-meeting role change (frontend.md "In-meeting actions"), as the reference product makes
// it: the caller and the participant must both be in the LiveKit room, the role is stored on the
// room first (an access, the source of truth that every later token carries), then mirrored to
// the participant's room_role attribute, best effort. Both LiveKit calls run off the actor's
// goroutine; the room's other messages go on meanwhile, so the rules are checked again on the
// state the access is written to.

// roomRoleAttribute is the participant attribute clients read the participant's role from.
const roomRoleAttribute = "room_role"

// changeParticipantRole checks what it can without LiveKit, then asks LiveKit who is in the room.
func (r *Room) changeParticipantRole(ctx actor.Context, msg *messages.ChangeParticipantRole, ch *change) *messages.RoomReply {
	if reply := r.participantRoleRefused(msg, messages.Role_ROLE_UNSPECIFIED); reply != nil {
		return reply
	}
	// A retry of a request still in flight waits for the same outcome.
	flight := "participant-role:" + msg.GetRequestId()
	if waiting, ok := r.inFlight[flight]; ok {
		r.inFlight[flight] = append(waiting, ctx.Sender())
		return nil
	}
	r.awaitFlight(flight, ctx.Sender())

	var present map[string]bool
	r.runLiveKit(ctx, func(c context.Context) error {
		participants, err := r.deps.LiveKit.ListParticipants(c, r.id)
		if errors.Is(err, ErrLiveKitNotFound) {
			err = nil // the room is not running: nobody is in it
		}
		present = map[string]bool{}
		for _, p := range participants {
			present[p.Identity] = true
		}
		return err
	}, func(err error) {
		if err != nil {
			r.answerFlight(ctx, flight, r.liveKitFailure(err))
			return
		}
		r.storeParticipantRole(ctx, flight, msg, present)
	})
	return nil
}

// storeParticipantRole runs in the actor once LiveKit said who is in the room: it stores the
// role, then has LiveKit mirror it.
func (r *Room) storeParticipantRole(ctx actor.Context, flight string, msg *messages.ChangeParticipantRole, present map[string]bool) {
	if !r.loaded || r.record == nil {
		// Fenced or deleted while LiveKit answered.
		r.answerFlight(ctx, flight, r.unavailableOrMissing(ctx))
		return
	}
	caller, target := msg.GetCaller().GetUser(), msg.GetParticipantUser()
	switch {
	case !present[caller.GetSub()]:
		r.answerFlight(ctx, flight, failure(messages.ErrorCode_ERROR_CODE_FORBIDDEN, "You must be connected to the meeting to perform this action."))
		return
	case !present[msg.GetParticipantIdentity()]:
		r.answerFlight(ctx, flight, failure(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "Participant is not connected to this meeting."))
		return
	case target == nil:
		r.answerFlight(ctx, flight, failure(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "This participant has no user account and cannot be assigned a role."))
		return
	}
	current := messages.Role_ROLE_UNSPECIFIED
	i := r.accessIndexOfUser(target.GetId())
	if i >= 0 {
		current = r.record.GetAccesses()[i].GetRole()
	}
	if reply := r.participantRoleRefused(msg, current); reply != nil {
		r.answerFlight(ctx, flight, reply)
		return
	}
	// Stored before LiveKit hears of it: if the mirror fails, the role is still real.
	stored := r.apply(ctx, "", func(ch *change) *messages.RoomReply {
		if current != msg.GetRole() {
			r.setRoleOf(ch, target, msg.GetRole())
		}
		return participantRoleChanged(msg.GetRole(), false)
	})
	if reply := stored; reply.GetFailure() != nil {
		r.answerFlight(ctx, flight, reply)
		return
	}
	role := roleName(msg.GetRole())
	r.runLiveKit(ctx, func(c context.Context) error {
		return r.deps.LiveKit.UpdateParticipant(c, r.id, msg.GetParticipantIdentity(),
			ParticipantUpdate{Attributes: map[string]string{roomRoleAttribute: role}})
	}, func(err error) {
		if err != nil {
			r.logger().Warn("participant role stored but not mirrored to livekit", slog.String("identity", msg.GetParticipantIdentity()), slog.Any("error", err))
		}
		r.answerFlight(ctx, flight, r.apply(ctx, msg.GetRequestId(), func(ch *change) *messages.RoomReply {
			r.changing(ch) // only to remember the answer: a retry must get it, not act again
			return participantRoleChanged(msg.GetRole(), err == nil)
		}))
	})
}

// setRoleOf gives user role in the room's accesses: their access changed, or a new one.
func (r *Room) setRoleOf(ch *change, user *messages.User, role messages.Role) {
	r.changingRecord(ch)
	if i := r.accessIndexOfUser(user.GetId()); i >= 0 {
		updated := proto.CloneOf(r.record.GetAccesses()[i])
		updated.Role = role
		r.record.Accesses[i] = updated
		return
	}
	r.record.Accesses = append(r.record.Accesses, &messages.Access{Id: uuid.NewString(), User: proto.CloneOf(user), Role: role})
}

// participantRoleRefused is the failure reply when the rules refuse the change, nil otherwise.
func (r *Room) participantRoleRefused(msg *messages.ChangeParticipantRole, current messages.Role) *messages.RoomReply {
	caller := msg.GetCaller()
	callerRole := roleOf(r.record, caller)
	if !isPrivileged(callerRole) {
		return denied(caller)
	}
	self := msg.GetParticipantIdentity() == caller.GetUser().GetSub() ||
		(msg.GetParticipantUser() != nil && msg.GetParticipantUser().GetId() == caller.GetUser().GetId())
	if why := participantRoleRefusal(callerRole, current, msg.GetRole(), self); why != "" {
		return failure(messages.ErrorCode_ERROR_CODE_FORBIDDEN, why)
	}
	return nil
}

// answerFlight sends the reply to everyone waiting on the flight and ends it.
func (r *Room) answerFlight(ctx actor.Context, flight string, reply *messages.RoomReply) {
	for _, pid := range r.inFlight[flight] {
		if pid != nil {
			ctx.Send(pid, reply)
		}
	}
	delete(r.inFlight, flight)
}

// accessIndexOfUser is the index of the user's access to the room, -1 for none.
func (r *Room) accessIndexOfUser(userID string) int {
	for i, a := range r.record.GetAccesses() {
		if a.GetUser().GetId() == userID {
			return i
		}
	}
	return -1
}

func participantRoleChanged(role messages.Role, synced bool) *messages.RoomReply {
	return &messages.RoomReply{Body: &messages.RoomReply_ParticipantRole{
		ParticipantRole: &messages.ParticipantRoleChanged{Role: role, LivekitSynced: synced},
	}}
}
