package room

import "meetcoord/messages"

// This file is the one place that decides who may do what in a room. Every rule is a function
// of the caller's role and the room's access level, tested as a table.

// roleOf is the caller's role on the room, ROLE_UNSPECIFIED for anonymous callers and users
// without an access.
func roleOf(record *messages.RoomRecord, caller *messages.Caller) messages.Role {
	user := caller.GetUser()
	if user == nil {
		return messages.Role_ROLE_UNSPECIFIED
	}
	for _, a := range record.GetAccesses() {
		if a.GetUser().GetId() == user.GetId() {
			return a.GetRole()
		}
	}
	return messages.Role_ROLE_UNSPECIFIED
}

func isPrivileged(role messages.Role) bool {
	return role == messages.Role_ROLE_OWNER || role == messages.Role_ROLE_ADMINISTRATOR
}

// canJoinDirectly is the lobby bypass (rooms.md): public room; trusted room and an
// authenticated user; any room and a user holding a role on it.
func canJoinDirectly(level messages.AccessLevel, authenticated bool, role messages.Role) bool {
	switch {
	case role != messages.Role_ROLE_UNSPECIFIED:
		return true
	case level == messages.AccessLevel_ACCESS_LEVEL_PUBLIC:
		return true
	case level == messages.AccessLevel_ACCESS_LEVEL_TRUSTED:
		return authenticated
	default:
		return false
	}
}

// canMute says whether a caller may mute another participant (frontend.md "Rooms"): privileged
// users always; LiveKit participants of this room unless the room's everyone_can_mute is false
// (absent means true, as in the reference product).
func canMute(role messages.Role, participantOfThisRoom bool, cfg *messages.RoomConfiguration) bool {
	if isPrivileged(role) {
		return true
	}
	everyoneCanMute := cfg == nil || cfg.EveryoneCanMute == nil || cfg.GetEveryoneCanMute()
	return participantOfThisRoom && everyoneCanMute
}

// canGrantRole says whether a caller with role `actor` may give, change or take away an access
// whose role is `target` (before or after the change): privileged callers manage accesses, and
// only owners touch owner accesses.
func canGrantRole(actor, target messages.Role) bool {
	if !isPrivileged(actor) {
		return false
	}
	return target != messages.Role_ROLE_OWNER || actor == messages.Role_ROLE_OWNER
}

// denied is the reply to a caller who lacks the right: 401 for anonymous callers (they may have
// the right once authenticated), 403 for known ones.
func denied(caller *messages.Caller) *messages.RoomReply {
	if caller.GetUser() == nil {
		return failure(messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED, "Authentication credentials were not provided.")
	}
	return failure(messages.ErrorCode_ERROR_CODE_FORBIDDEN, "You do not have permission to perform this action.")
}

// participantRoleRefusal decides an in-meeting role change (frontend.md): privileged callers make
// another participant a member or an administrator. Nobody changes their own role, owners are
// never demoted and ownership is never given this way. It returns why the change is refused, ""
// when it is allowed; current is the participant's role now (ROLE_UNSPECIFIED for none).
func participantRoleRefusal(caller, current, requested messages.Role, self bool) string {
	switch {
	case !isPrivileged(caller):
		return "You do not have permission to perform this action."
	case self:
		return "You cannot change your own role."
	case requested != messages.Role_ROLE_MEMBER && requested != messages.Role_ROLE_ADMINISTRATOR:
		return "Ownership cannot be granted through this action."
	case current == messages.Role_ROLE_OWNER:
		return "Room owners cannot be demoted."
	}
	return ""
}

// mayChooseOwnName: anonymous participants choose their name; authenticated users are shown by
// their full name unless the service lets them choose (AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME).
func mayChooseOwnName(authenticated, authenticatedMayChoose bool) bool {
	return !authenticated || authenticatedMayChoose
}
