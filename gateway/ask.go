package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"
	"google.golang.org/protobuf/proto"

	"meetcoord/gateway/slug"
	"meetcoord/messages"
)

// ask sends msg to a room grain; the error is the grain's own failure (403, 404, ...) or an
// unreachable grain (503, so that clients and LiveKit retry).
func (g *Gateway) ask(r *http.Request, roomID string, msg proto.Message) (*messages.RoomReply, error) {
	reply, err := g.askRoom(r, roomID, msg)
	return reply, replyError(roomID, reply, err)
}

// askRoom sends msg to a room grain within the request timeout.
func (g *Gateway) askRoom(r *http.Request, roomID string, msg proto.Message) (*messages.RoomReply, error) {
	// Rooms.Ask bounds the request by the room request timeout itself; the request's context
	// only ends it early (the client went away).
	return g.cfg.Rooms.Ask(r.Context(), roomID, msg)
}

// replyError is the failure of a room's answer (or of asking it); nil means the reply is a
// success.
func replyError(roomID string, reply *messages.RoomReply, err error) error {
	if err != nil {
		return errRoomUnavailable.because(fmt.Errorf("ask room %s: %w", roomID, err))
	}
	if f := reply.GetFailure(); f != nil {
		return roomFailure(f)
	}
	return nil
}

// roomBody resolves the {room} segment and decodes the JSON object body: the common start of
// a room command, after its caller is known.
func (g *Gateway) roomBody(w http.ResponseWriter, r *http.Request) (string, map[string]jsonRaw, error) {
	roomID, err := g.roomID(r)
	if err != nil {
		return "", nil, err
	}
	fields, err := decodeObject(w, r)
	return roomID, fields, err
}

// roomID resolves the {room} segment, an id or a slug. A segment that is not an id is slugified
// first, as the reference product does: /rooms/ABC-Défg-hij/ is the room abc-defg-hij.
func (g *Gateway) roomID(r *http.Request) (string, error) {
	return g.roomIDOf(r, mux.Vars(r)["room"])
}

// roomIDOf is roomID for a path segment found by other means than the router (hotroutes.go).
func (g *Gateway) roomIDOf(r *http.Request, segment string) (string, error) {
	if id, ok := slug.ParseUUID(segment); ok {
		return id, nil
	}
	id, found, err := g.cfg.Directory.RoomIDBySlug(r.Context(), slug.Make(segment))
	if err != nil {
		return "", storeFailure("resolve room slug", err)
	}
	if !found {
		return "", errRoomNotFound
	}
	return id, nil
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
		return newRequestID()
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

// newRequestID is a fresh request id: 96 random bits, which no two requests to one room share,
// in 16 characters. A room keeps the ids of its last commands with their replies (and stores
// them); a UUID's 36 characters took a 48-byte allocation in each of a node's 100,000 rooms.
func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand's Read never fails (it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b[:])
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

// administeredRoom is the room as u sees it, when u may administer it (owner, administrator):
// the room decides, as for every permission.
func (g *Gateway) administeredRoom(r *http.Request, u *userRecord, roomID string) (*messages.RoomView, error) {
	reply, err := g.ask(r, roomID, &messages.GetRoom{Caller: callerMessage(u)})
	if err != nil {
		return nil, err
	}
	if !reply.GetRoom().GetIsAdministrable() {
		return nil, errForbidden
	}
	return reply.GetRoom(), nil
}
