package gateway

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"google.golang.org/protobuf/proto"

	"meetcoord/gateway/slug"
	"meetcoord/messages"
)

// ask sends msg to a room grain. ok=false means the failure reply has been written: the grain's
// own failure (403, 404, ...) or an unreachable grain (503, so that clients and LiveKit retry).
func (g *Gateway) ask(w http.ResponseWriter, r *http.Request, roomID string, msg proto.Message) (*messages.RoomReply, bool) {
	reply, err := g.askRoom(r, roomID, msg)
	return reply, g.answered(w, roomID, reply, err)
}

// askRoom sends msg to a room grain within the request timeout.
func (g *Gateway) askRoom(r *http.Request, roomID string, msg proto.Message) (*messages.RoomReply, error) {
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RequestTimeout)
	defer cancel()
	return g.cfg.Rooms.Ask(ctx, roomID, msg)
}

// answered writes the failure of a room's answer (or of asking it); true means the reply is a
// success for the caller to write.
func (g *Gateway) answered(w http.ResponseWriter, roomID string, reply *messages.RoomReply, err error) bool {
	if err != nil {
		g.log.Warn("room did not answer", "room", roomID, "error", err)
		writeError(w, http.StatusServiceUnavailable, "The room is unavailable, try again.")
		return false
	}
	if f := reply.GetFailure(); f != nil {
		writeFailure(w, f)
		return false
	}
	return true
}

// roomBody resolves the {room} segment and decodes the JSON object body: the common start of
// a room command, after its caller is known. ok=false means the error reply is written.
func (g *Gateway) roomBody(w http.ResponseWriter, r *http.Request) (string, map[string]jsonRaw, bool) {
	roomID, ok := g.roomID(w, r)
	if !ok {
		return "", nil, false
	}
	fields, ok := decodeObject(w, r)
	return roomID, fields, ok
}

// roomID resolves the {room} segment, an id or a slug. A segment that is not an id is slugified
// first, as the reference product does: /rooms/ABC-Défg-hij/ is the room abc-defg-hij.
// ok=false means a 404 or 503 is written.
func (g *Gateway) roomID(w http.ResponseWriter, r *http.Request) (string, bool) {
	segment := mux.Vars(r)["room"]
	if id, ok := slug.ParseUUID(segment); ok {
		return id, true
	}
	id, found, err := g.cfg.Directory.RoomIDBySlug(r.Context(), slug.Make(segment))
	if err != nil {
		g.storeFailed(w, "resolve room slug", err)
		return "", false
	}
	if !found {
		writeError(w, http.StatusNotFound, "No Room matches the given query.")
		return "", false
	}
	return id, true
}

// requestID identifies a state-changing request for the room's idempotency memory: the client's
// Idempotency-Key (scoped to the caller, so that two clients cannot collide) or a fresh id. The
// same id goes with every retry the cluster makes of this request.
func requestID(r *http.Request, u *userRecord) string {
	return scopedRequestID(r, callerMessage(u))
}

// scopedRequestID scopes the Idempotency-Key to the caller: a user, a LiveKit participant (by
// room and identity), or anonymous.
func scopedRequestID(r *http.Request, caller *messages.Caller) string {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return uuid.NewString()
	}
	owner := "anonymous"
	switch p := caller.GetLivekitParticipant(); {
	case caller.GetUser() != nil:
		owner = caller.GetUser().GetId()
	case p != nil:
		owner = "livekit:" + p.GetRoom() + ":" + p.GetIdentity()
	}
	return owner + ":" + key
}

// idempotentActionID is the request id of an action that is idempotent by nature (raising a
// hand, renaming oneself): the client's scoped Idempotency-Key when it sent one, else none, so
// that the room remembers no reply for it and writes nothing (a participant may do these often).
func idempotentActionID(r *http.Request, caller *messages.Caller) string {
	if r.Header.Get("Idempotency-Key") == "" {
		return ""
	}
	return scopedRequestID(r, caller)
}

func (g *Gateway) storeFailed(w http.ResponseWriter, what string, err error) {
	g.log.Error("store unavailable", "operation", what, "error", err)
	writeError(w, http.StatusServiceUnavailable, "Storage is unavailable, try again.")
}

// administeredRoom is the room as u sees it, when u may administer it (owner, administrator):
// the room decides, as for every permission. ok=false means the reply (403 or the ask's failure)
// is written.
func (g *Gateway) administeredRoom(w http.ResponseWriter, r *http.Request, u *userRecord, roomID string) (*messages.RoomView, bool) {
	reply, ok := g.ask(w, r, roomID, &messages.GetRoom{Caller: callerMessage(u)})
	if !ok {
		return nil, false
	}
	if !reply.GetRoom().GetIsAdministrable() {
		writeError(w, http.StatusForbidden, "You do not have permission to perform this action.")
		return nil, false
	}
	return reply.GetRoom(), true
}
