package gateway

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"meetcoord/gateway/lobbyid"
	"meetcoord/messages"
)

// lobbySecret is the caller's lobby secret from the cookie (lobbyid: never shown to anyone, the
// participant id is derived from it per room). A value that is not a UUID is replaced by a fresh
// secret, and fresh=true says the cookie must be set.
func (g *Gateway) lobbySecret(r *http.Request) (secret string, fresh bool) {
	if c, err := r.Cookie(g.cfg.LobbyCookieName); err == nil {
		if secret, ok := lobbyid.ParseSecret(c.Value); ok {
			return secret, false
		}
	}
	return lobbyid.NewSecret(), true
}

// lobbyParticipant is the participant id of the holder of secret in a room. ok=false means a 500
// is written (no key: a configuration fault, never expected once the node started).
func (g *Gateway) lobbyParticipant(w http.ResponseWriter, roomID, secret string) (string, bool) {
	id, err := g.cfg.LobbyKey.ParticipantID(roomID, secret)
	if err != nil {
		g.log.Error("lobby participant id not derived", "error", err)
		writeError(w, http.StatusInternalServerError, "Internal server error.")
		return "", false
	}
	return id, true
}

func (g *Gateway) setLobbyCookie(w http.ResponseWriter, secret string) {
	http.SetCookie(w, &http.Cookie{
		Name:     g.cfg.LobbyCookieName,
		Value:    secret,
		Path:     "/",
		HttpOnly: true,
		Secure:   g.cfg.LobbyCookieSecure,
		SameSite: http.SameSiteLaxMode,
	})
}

// maxUsernameLength bounds a lobby display name: it is stored with the entry and shown to
// every admin on every poll.
const maxUsernameLength = 255

// requestEntry is a knock or a poll at the room's lobby.
func (g *Gateway) requestEntry(w http.ResponseWriter, r *http.Request) {
	u, ok := g.caller(w, r)
	if !ok {
		return
	}
	secret, fresh := g.lobbySecret(r)
	if !g.allow(w, r, g.entryLimit, g.clientKey(r, u, secret)) {
		return
	}
	if fresh && u == nil {
		// A fresh secret is a fresh per-cookie allowance: a caller who never returns the cookie
		// is charged to their address instead (this request would create an entry anyway, or
		// cost a token in a room that needs no lobby).
		if !g.allow(w, r, g.knockLimit, "addr:"+g.clientAddress(r)) {
			return
		}
	}
	roomID, ok := g.roomID(w, r)
	if !ok {
		return
	}
	participant, ok := g.lobbyParticipant(w, roomID, secret)
	if !ok {
		return
	}
	fields, ok := decodeObject(w, r)
	if !ok {
		return
	}
	errs := fieldErrors{}
	username, present := stringField(fields, "username", errs)
	if !present && errs["username"] == nil {
		errs.add("username", "This field is required.")
	} else if present {
		username = validUsername(username, "username", errs)
	}
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	// A fresh secret has no entry yet, and its address was charged above. The address (as a
	// keyed hash) goes with a new entry only, so that the room can bound one address's
	// entries; a poll pays for neither.
	msg := &messages.RequestEntry{Caller: callerMessage(u), ParticipantId: participant, Username: username}
	if fresh && u == nil {
		msg.MayCreate, msg.Client = true, g.cfg.LobbyKey.Client(g.clientAddress(r))
	}
	reply, err := g.askRoom(r, roomID, msg)
	if err == nil && reply.GetFailure().GetCode() == messages.ErrorCode_ERROR_CODE_ADMISSION_REQUIRED {
		// The knock would create an entry: it is paid for by the caller's address as well as
		// their cookie, so that rotating cookies buys no flood. Polls never get here.
		if !g.allow(w, r, g.knockLimit, "addr:"+g.clientAddress(r)) {
			return
		}
		msg.MayCreate, msg.Client = true, g.cfg.LobbyKey.Client(g.clientAddress(r))
		reply, err = g.askRoom(r, roomID, msg)
	}
	if !g.answered(w, roomID, reply, err) {
		return
	}
	if fresh {
		g.setLobbyCookie(w, secret)
	}
	writeJSON(w, http.StatusOK, entryView(reply.GetEntry()))
}

// validUsername trims a display name and checks it is 1 to maxUsernameLength characters.
func validUsername(name, field string, errs fieldErrors) string {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		errs.add(field, "This field may not be blank.")
	case utf8.RuneCountInString(name) > maxUsernameLength:
		errs.add(field, "Ensure this field has no more than 255 characters.")
	}
	return name
}

// waitingParticipants is the admins' view of the lobby.
func (g *Gateway) waitingParticipants(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	roomID, ok := g.roomID(w, r)
	if !ok {
		return
	}
	reply, ok := g.ask(w, r, roomID, &messages.ListWaiting{Caller: callerMessage(u)})
	if !ok {
		return
	}
	type waitingJSON struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Username string `json:"username"`
		Color    string `json:"color"`
	}
	participants := []waitingJSON{}
	for _, e := range reply.GetWaiting().GetParticipants() {
		v := entryView(e)
		participants = append(participants, waitingJSON{ID: v.ID, Status: v.Status, Username: v.Username, Color: v.Color})
	}
	writeJSON(w, http.StatusOK, map[string]any{"participants": participants})
}

// enter admits or denies a waiting participant.
func (g *Gateway) enter(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	roomID, fields, ok := g.roomBody(w, r)
	if !ok {
		return
	}
	errs := fieldErrors{}
	participant, present := stringField(fields, "participant_id", errs)
	if !present && errs["participant_id"] == nil {
		errs.add("participant_id", "This field is required.")
	} else if present {
		if parsed, err := uuid.Parse(participant); err != nil {
			errs.add("participant_id", "Must be a valid UUID.")
		} else {
			participant = parsed.String()
		}
	}
	allow, present := boolField(fields, "allow_entry", errs)
	if !present && errs["allow_entry"] == nil {
		errs.add("allow_entry", "This field is required.")
	}
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	reply, ok := g.ask(w, r, roomID, &messages.DecideEntry{
		RequestId: requestID(r, u), Caller: callerMessage(u), ParticipantId: participant, AllowEntry: allow,
	})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": reply.GetAck().GetMessage()})
}
