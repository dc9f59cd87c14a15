package gateway

import (
	"context"
	"net/http"

	"meetcoord/messages"
)

// The in-meeting actions of the reference front end (frontend.md "In-meeting actions"): a
// participant raises their hand or renames themselves with the LiveKit token of the meeting; a
// privileged user changes another participant's role.

// meetingParticipant authenticates the caller by a LiveKit token, the only credentials these
// participant actions take (as in the reference product). authenticated is the token's
// is_authenticated attribute: we signed it.
func (g *Gateway) meetingParticipant(r *http.Request) (caller *messages.Caller, authenticated bool, err error) {
	grants, err := g.liveKitGrants(r)
	if err != nil {
		return nil, false, err
	}
	return liveKitCaller(grants), grants.Attributes["is_authenticated"] == "true", nil
}

// toggleHand raises or lowers the caller's hand.
func (g *Gateway) toggleHand(w http.ResponseWriter, r *http.Request) error {
	caller, _, err := g.meetingParticipant(r)
	if err != nil {
		return err
	}
	roomID, fields, err := g.roomBody(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	raised, present := boolField(fields, "raised", errs)
	if !present && errs["raised"] == nil {
		errs.add("raised", fieldRequired)
	}
	if len(errs) > 0 {
		return errs.invalid()
	}
	msg := &messages.SetHandRaised{RequestId: idempotentActionID(r, caller), Caller: caller, Raised: raised}
	if _, err := g.ask(r, roomID, msg); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
	return nil
}

// renameParticipant changes the caller's name in the meeting.
func (g *Gateway) renameParticipant(w http.ResponseWriter, r *http.Request) error {
	caller, authenticated, err := g.meetingParticipant(r)
	if err != nil {
		return err
	}
	roomID, fields, err := g.roomBody(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	name, present := stringField(fields, "name", errs)
	if !present && errs["name"] == nil {
		errs.add("name", fieldRequired)
	} else if present {
		name = validUsername(name, "name", errs) // trimmed, then 1 to 255 characters, as the reference
	}
	if len(errs) > 0 {
		return errs.invalid()
	}
	msg := &messages.RenameParticipant{RequestId: idempotentActionID(r, caller), Caller: caller, Name: name, CallerAuthenticated: authenticated}
	if _, err := g.ask(r, roomID, msg); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
	return nil
}

// updateParticipantRole makes a participant of the meeting a member or an administrator of the
// room. The caller is a user (session or bearer), as in the reference product.
func (g *Gateway) updateParticipantRole(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	roomID, fields, err := g.roomBody(w, r)
	if err != nil {
		return err
	}
	f := identityFields{fields: fields, errs: fieldErrors{}}
	identity := f.required("participant_identity")
	role := g.roleField(fields, f.errs)
	if role == messages.Role_ROLE_OWNER {
		f.errs.add("role", "\"owner\" is not a valid choice.")
	}
	if len(f.errs) > 0 {
		return f.errs.invalid()
	}
	target, err := g.users.ofSubject(r.Context(), identity)
	if err != nil {
		return storeFailure("find the user of a participant", err)
	}
	msg := &messages.ChangeParticipantRole{
		RequestId: requestID(r, u), Caller: callerMessage(u), ParticipantIdentity: identity, Role: role,
	}
	if target != nil {
		msg.ParticipantUser = target.message()
	}
	reply, err := g.ask(r, roomID, msg)
	if err != nil {
		return err
	}
	changed := reply.GetParticipantRole()
	writeJSON(w, http.StatusOK, map[string]any{"role": messages.RoleName(changed.GetRole()), "livekit_synced": changed.GetLivekitSynced()})
	return nil
}

// ofSubject is the user who logged in with an OIDC subject, nil when nobody did: users join
// meetings under their subject, anonymous participants under a lobby id that is none.
func (c *userCache) ofSubject(ctx context.Context, subject string) (*userRecord, error) {
	id, found, err := c.store.LinkedUserOfSubject(ctx, subject)
	if err != nil || !found {
		return nil, err
	}
	u, found, err := c.get(ctx, id)
	if err != nil || !found {
		return nil, err
	}
	return &u, nil
}
