package room

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/livekit/protocol/auth"

	"meetcoord/messages"
)

// joinRequest is who a LiveKit token is minted for.
type joinRequest struct {
	identity      string // user sub, or lobby participant id for anonymous users
	name          string
	color         string
	role          messages.Role
	authenticated bool
}

// sourcesFor is what a participant may publish: the room's configured sources, except that
// owners and administrators always get the defaults (a restrictive room must not lock out the
// people who run it).
func (r *Room) sourcesFor(role messages.Role) []string {
	if isPrivileged(role) {
		return r.deps.Config.DefaultSources
	}
	if cfg := r.record.GetConfiguration(); cfg.GetCanPublishSources() != nil {
		return cfg.GetCanPublishSources().GetSources()
	}
	return r.deps.Config.DefaultSources
}

// liveKitAccess mints a LiveKit token for this room (rooms.md "LiveKit tokens").
func (r *Room) liveKitAccess(j joinRequest) (*messages.LiveKitAccess, error) {
	sources := r.sourcesFor(j.role)
	grant := &auth.VideoGrant{
		RoomJoin:          true,
		Room:              r.id,
		RoomAdmin:         isPrivileged(j.role),
		CanPublishSources: slices.Clone(sources),
	}
	grant.SetCanSubscribe(true)
	grant.SetCanPublish(len(sources) > 0)
	grant.SetCanUpdateOwnMetadata(false)
	token, err := auth.NewAccessToken(r.deps.Config.LiveKitAPIKey, r.deps.Config.LiveKitAPISecret).
		SetVideoGrant(grant).
		SetIdentity(j.identity).
		SetName(j.name).
		SetValidFor(r.deps.Config.AcceptedTimeout).
		SetAttributes(map[string]string{
			"color":            j.color,
			"room_role":        roleName(j.role),
			"is_authenticated": strconv.FormatBool(j.authenticated),
		}).
		ToJWT()
	if err != nil {
		return nil, fmt.Errorf("sign livekit token: %w", err)
	}
	return &messages.LiveKitAccess{Url: r.deps.Config.LiveKitPublicURL, Room: r.id, Token: token}, nil
}

// displayName is the LiveKit name of a caller: anonymous callers choose theirs; authenticated
// users are shown by their full name unless the service lets them choose.
func (r *Room) displayName(caller *messages.Caller, requested string) string {
	user := caller.GetUser()
	switch {
	case requested != "" && mayChooseOwnName(user != nil, r.deps.Config.CanEditDisplayName):
		return requested
	case user.GetFullName() != "":
		return user.GetFullName()
	default:
		return "Anonymous"
	}
}

// roleName is the `room_role` attribute: the role's API name, or "none".
func roleName(role messages.Role) string {
	if name := messages.RoleName(role); name != "" {
		return name
	}
	return "none"
}
