package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

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

// lobbyParticipant is the participant id of the holder of secret in a room. Its error is a 500
// (no key: a configuration fault, never expected once the node started).
func (g *Gateway) lobbyParticipant(roomID, secret string) (string, error) {
	id, err := g.cfg.LobbyKey.ParticipantID(roomID, secret)
	if err != nil {
		return "", errInternal.because(fmt.Errorf("derive lobby participant id: %w", err))
	}
	return id, nil
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

// requestEntry is a knock or a poll at the room's lobby (its route's handler; polls reach
// requestEntryAt through the fast path of hotroutes.go instead).
func (g *Gateway) requestEntry(w http.ResponseWriter, r *http.Request) error {
	return g.requestEntryAt(w, r, mux.Vars(r)["room"])
}

// requestEntryAt is requestEntry for the room of the path segment roomSegment.
func (g *Gateway) requestEntryAt(w http.ResponseWriter, r *http.Request, roomSegment string) error {
	u, err := g.caller(r)
	if err != nil {
		return err
	}
	secret, fresh := g.lobbySecret(r)
	if err := g.allow(r, g.entryLimit, g.clientKey(r, u, secret)); err != nil {
		return err
	}
	if fresh && u == nil {
		// A fresh secret is a fresh per-cookie allowance: a caller who never returns the cookie
		// is charged to their address instead (this request would create an entry anyway, or
		// cost a token in a room that needs no lobby).
		if err := g.allow(r, g.knockLimit, "addr:"+g.clientAddress(r)); err != nil {
			return err
		}
	}
	roomID, err := g.roomIDOf(r, roomSegment)
	if err != nil {
		return err
	}
	participant, err := g.lobbyParticipant(roomID, secret)
	if err != nil {
		return err
	}
	fields, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	username, present := stringField(fields, "username", errs)
	if !present && errs["username"] == nil {
		errs.add("username", fieldRequired)
	} else if present {
		username = validUsername(username, "username", errs)
	}
	if len(errs) > 0 {
		return errs.invalid()
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
		if err := g.allow(r, g.knockLimit, "addr:"+g.clientAddress(r)); err != nil {
			return err
		}
		msg.MayCreate, msg.Client = true, g.cfg.LobbyKey.Client(g.clientAddress(r))
		reply, err = g.askRoom(r, roomID, msg)
	}
	if err := replyError(roomID, reply, err); err != nil {
		return err
	}
	if fresh {
		g.setLobbyCookie(w, secret)
	}
	writeJSON(w, http.StatusOK, entryView(reply.GetEntry()))
	return nil
}

// validUsername trims a display name and checks it is 1 to maxUsernameLength characters.
func validUsername(name, field string, errs fieldErrors) string {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		errs.add(field, fieldBlank)
	case utf8.RuneCountInString(name) > maxUsernameLength:
		errs.add(field, fieldOver255)
	}
	return name
}

// waitingParticipants is the admins' view of the lobby.
func (g *Gateway) waitingParticipants(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	roomID, err := g.roomID(r)
	if err != nil {
		return err
	}
	reply, err := g.ask(r, roomID, &messages.ListWaiting{Caller: callerMessage(u)})
	if err != nil {
		return err
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
	return nil
}

// enter admits or denies a waiting participant.
func (g *Gateway) enter(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	roomID, fields, err := g.roomBody(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	participant, present := stringField(fields, "participant_id", errs)
	if !present && errs["participant_id"] == nil {
		errs.add("participant_id", fieldRequired)
	} else if present {
		if parsed, err := uuid.Parse(participant); err != nil {
			errs.add("participant_id", fieldNotUUID)
		} else {
			participant = parsed.String()
		}
	}
	allow, present := boolField(fields, "allow_entry", errs)
	if !present && errs["allow_entry"] == nil {
		errs.add("allow_entry", fieldRequired)
	}
	if len(errs) > 0 {
		return errs.invalid()
	}
	reply, err := g.ask(r, roomID, &messages.DecideEntry{
		RequestId: requestID(r, u), Caller: callerMessage(u), ParticipantId: participant, AllowEntry: allow,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": reply.GetAck().GetMessage()})
	return nil
}
