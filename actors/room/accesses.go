package room

import (
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// listAccesses: privileged callers see every access of the room; others see their own only.
func (r *Room) listAccesses(msg *messages.ListAccesses) *messages.RoomReply {
	caller := msg.GetCaller()
	privileged := isPrivileged(roleOf(r.record, caller))
	var out []*messages.Access
	for _, a := range r.record.GetAccesses() {
		if privileged || a.GetUser().GetId() == caller.GetUser().GetId() {
			out = append(out, a)
		}
	}
	return &messages.RoomReply{Body: &messages.RoomReply_Accesses{Accesses: &messages.AccessList{Accesses: out}}}
}

// createAccess gives a user a role on the room.
func (r *Room) createAccess(msg *messages.CreateAccess, ch *change) *messages.RoomReply {
	callerRole := roleOf(r.record, msg.GetCaller())
	if !canGrantRole(callerRole, msg.GetRole()) {
		return denied(msg.GetCaller())
	}
	for _, a := range r.record.GetAccesses() {
		if a.GetUser().GetId() == msg.GetUser().GetId() {
			return invalid("non_field_errors", "This user already has an access to this room.")
		}
	}
	r.changingRecord(ch)
	access := &messages.Access{Id: uuid.NewString(), User: proto.CloneOf(msg.GetUser()), Role: msg.GetRole()}
	r.record.Accesses = append(r.record.Accesses, access)
	return accessReply(access)
}

// updateAccess changes the role of an access.
func (r *Room) updateAccess(msg *messages.UpdateAccess, ch *change) *messages.RoomReply {
	i := r.accessIndex(msg.GetAccessId())
	if i < 0 {
		return failure(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "No ResourceAccess matches the given query.")
	}
	current := r.record.GetAccesses()[i]
	callerRole := roleOf(r.record, msg.GetCaller())
	if !canGrantRole(callerRole, current.GetRole()) || !canGrantRole(callerRole, msg.GetRole()) {
		return denied(msg.GetCaller())
	}
	if current.GetRole() == messages.Role_ROLE_OWNER && msg.GetRole() != messages.Role_ROLE_OWNER && r.owners() == 1 {
		return invalid("role", "The last owner of a room cannot be demoted.")
	}
	r.changingRecord(ch)
	updated := proto.CloneOf(current)
	updated.Role = msg.GetRole()
	r.record.Accesses[i] = updated
	return accessReply(updated)
}

// deleteAccess takes a role away.
func (r *Room) deleteAccess(msg *messages.DeleteAccess, ch *change) *messages.RoomReply {
	i := r.accessIndex(msg.GetAccessId())
	if i < 0 {
		return failure(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "No ResourceAccess matches the given query.")
	}
	current := r.record.GetAccesses()[i]
	if !canGrantRole(roleOf(r.record, msg.GetCaller()), current.GetRole()) {
		return denied(msg.GetCaller())
	}
	if current.GetRole() == messages.Role_ROLE_OWNER && r.owners() == 1 {
		return invalid("non_field_errors", "The last owner of a room cannot be removed.")
	}
	r.changingRecord(ch)
	accesses := append([]*messages.Access(nil), r.record.GetAccesses()[:i]...)
	r.record.Accesses = append(accesses, r.record.GetAccesses()[i+1:]...)
	return ack("Access removed.")
}

func (r *Room) accessIndex(id string) int {
	for i, a := range r.record.GetAccesses() {
		if a.GetId() == id {
			return i
		}
	}
	return -1
}

// owners counts the room's owners.
func (r *Room) owners() int { return len(r.ownerUsers()) }

// ownerUsers are the users holding the owner role of the room.
func (r *Room) ownerUsers() []*messages.User {
	var out []*messages.User
	for _, a := range r.record.GetAccesses() {
		if a.GetRole() == messages.Role_ROLE_OWNER {
			out = append(out, a.GetUser())
		}
	}
	return out
}

func accessReply(a *messages.Access) *messages.RoomReply {
	return &messages.RoomReply{Body: &messages.RoomReply_Access{Access: a}}
}
