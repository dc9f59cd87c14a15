package gateway

import (
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// listAccesses: of one room (?resource=) or of every room of the caller. Privileged callers see
// all accesses of a room, others their own. The accesses are read from the index the rooms
// maintain (two store reads for any number of rooms, no room activated); only a room stored
// before that index existed is asked, once (it then writes its entry).
func (g *Gateway) listAccesses(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	roomIDs, ok := g.accessListRooms(w, r, u)
	if !ok {
		return
	}
	indexed, err := g.cfg.Directory.AccessListsOfRooms(r.Context(), roomIDs)
	if err != nil {
		g.storeFailed(w, "read accesses of rooms", err)
		return
	}
	results := []accessJSON{}
	for i, id := range roomIDs {
		accesses, ok := g.visibleAccessesOf(w, r, u, id, indexed[i])
		if !ok {
			return
		}
		for _, a := range accesses {
			results = append(results, accessView(a, id))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(results), "next": nil, "previous": nil, "results": results})
}

// accessListRooms are the rooms whose accesses a listing covers: the one of ?resource=, or
// every room where the caller holds a role (user-rooms index). ok=false means the reply is
// written.
func (g *Gateway) accessListRooms(w http.ResponseWriter, r *http.Request, u *userRecord) ([]string, bool) {
	if resource := r.URL.Query().Get("resource"); resource != "" {
		id, err := uuid.Parse(resource)
		if err != nil {
			fieldErrors{"resource": {"Must be a valid UUID."}}.write(w)
			return nil, false
		}
		return []string{id.String()}, true
	}
	raw, err := g.cfg.Directory.RoomsOfUser(r.Context(), u.ID)
	if err != nil {
		g.storeFailed(w, "list rooms of user", err)
		return nil, false
	}
	var roomIDs []string
	for _, b := range raw {
		if s, err := decodeSummary(b); err == nil {
			roomIDs = append(roomIDs, s.GetId())
		}
	}
	return roomIDs, true
}

// roomAccesses are a room's accesses from its index entry (indexed, nil when the room has none).
// A room without one is unknown, deleted, or stored before the index existed: it is asked (and
// writes its entry), and answers with what the caller may see. found=false: no such room.
// ok=false means the reply is written.
func (g *Gateway) roomAccesses(w http.ResponseWriter, r *http.Request, u *userRecord, roomID string, indexed []byte) (accesses []*messages.Access, found, ok bool) {
	if indexed == nil {
		reply, err := g.askRoom(r, roomID, &messages.IndexAccesses{Caller: callerMessage(u)})
		if err == nil && reply.GetFailure().GetCode() == messages.ErrorCode_ERROR_CODE_NOT_FOUND {
			return nil, false, true
		}
		if !g.answered(w, roomID, reply, err) {
			return nil, false, false
		}
		return reply.GetAccesses().GetAccesses(), true, true
	}
	list := &messages.AccessList{}
	if err := proto.Unmarshal(indexed, list); err != nil {
		g.storeFailed(w, "decode accesses of room", fmt.Errorf("room %s: %w", roomID, err))
		return nil, false, false
	}
	return list.GetAccesses(), true, true
}

// visibleAccessesOf is what the caller may see of a room's accesses (nothing of an unknown room).
func (g *Gateway) visibleAccessesOf(w http.ResponseWriter, r *http.Request, u *userRecord, roomID string, indexed []byte) ([]*messages.Access, bool) {
	accesses, _, ok := g.roomAccesses(w, r, u, roomID, indexed)
	return visibleAccesses(accesses, u.ID), ok
}

// privilegedOn tells whether u is an owner or administrator of the room. ok=false means the
// reply is written (404 for an unknown room, 503).
func (g *Gateway) privilegedOn(w http.ResponseWriter, r *http.Request, u *userRecord, roomID string) (privileged, ok bool) {
	lists, err := g.cfg.Directory.AccessListsOfRooms(r.Context(), []string{roomID})
	if err != nil {
		g.storeFailed(w, "read accesses of room", err)
		return false, false
	}
	accesses, found, ok := g.roomAccesses(w, r, u, roomID, lists[0])
	if ok && !found {
		writeError(w, http.StatusNotFound, "No Room matches the given query.")
	}
	return holdsPrivilege(accesses, u.ID), ok && found
}

// holdsPrivilege: userID is an owner or administrator among accesses.
func holdsPrivilege(accesses []*messages.Access, userID string) bool {
	for _, a := range accesses {
		if a.GetUser().GetId() == userID && (a.GetRole() == messages.Role_ROLE_OWNER || a.GetRole() == messages.Role_ROLE_ADMINISTRATOR) {
			return true
		}
	}
	return false
}

// visibleAccesses applies the rule the room applies to ListAccesses (actors/room/accesses.go):
// its owners and administrators see every access, anyone else their own only.
func visibleAccesses(accesses []*messages.Access, userID string) []*messages.Access {
	if holdsPrivilege(accesses, userID) {
		return accesses
	}
	var own []*messages.Access
	for _, a := range accesses {
		if a.GetUser().GetId() == userID {
			own = append(own, a)
		}
	}
	return own
}

// createAccess gives a user a role on a room.
func (g *Gateway) createAccess(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	fields, ok := decodeObject(w, r)
	if !ok {
		return
	}
	errs := fieldErrors{}
	userID := g.uuidField(fields, "user", errs)
	roomID := g.uuidField(fields, "resource", errs)
	role := g.roleField(fields, errs)
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	// The room decides again when asked; checking here first keeps callers without a role from
	// learning whether a user id exists (a 400 "does not exist" would tell them).
	if privileged, ok := g.privilegedOn(w, r, u, roomID); !ok {
		return
	} else if !privileged {
		writeError(w, http.StatusForbidden, "You do not have permission to perform this action.")
		return
	}
	target, found, err := g.users.get(r.Context(), userID)
	if err != nil {
		g.storeFailed(w, "read user", err)
		return
	}
	if !found {
		fieldErrors{"user": {"Invalid pk \"" + userID + "\" - object does not exist."}}.write(w)
		return
	}
	reply, ok := g.ask(w, r, roomID, &messages.CreateAccess{
		RequestId: requestID(r, u), Caller: callerMessage(u), User: target.message(), Role: role,
	})
	if !ok {
		return
	}
	writeJSON(w, http.StatusCreated, accessView(reply.GetAccess(), roomID))
}

// updateAccess changes the role of an access.
func (g *Gateway) updateAccess(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	accessID, roomID, ok := g.accessRoom(w, r)
	if !ok {
		return
	}
	fields, ok := decodeObject(w, r)
	if !ok {
		return
	}
	errs := fieldErrors{}
	role := g.roleField(fields, errs)
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	reply, ok := g.ask(w, r, roomID, &messages.UpdateAccess{
		RequestId: requestID(r, u), Caller: callerMessage(u), AccessId: accessID, Role: role,
	})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, accessView(reply.GetAccess(), roomID))
}

// deleteAccess takes a role away.
func (g *Gateway) deleteAccess(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	accessID, roomID, ok := g.accessRoom(w, r)
	if !ok {
		return
	}
	if _, ok := g.ask(w, r, roomID, &messages.DeleteAccess{
		RequestId: requestID(r, u), Caller: callerMessage(u), AccessId: accessID,
	}); !ok {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// accessRoom resolves {access} to the room that holds it, from the access index.
func (g *Gateway) accessRoom(w http.ResponseWriter, r *http.Request) (accessID, roomID string, ok bool) {
	parsed, err := uuid.Parse(mux.Vars(r)["access"])
	if err != nil {
		writeError(w, http.StatusNotFound, "No ResourceAccess matches the given query.")
		return "", "", false
	}
	roomID, found, err := g.cfg.Directory.RoomIDByAccess(r.Context(), parsed.String())
	if err != nil {
		g.storeFailed(w, "resolve resource access", err)
		return "", "", false
	}
	if !found {
		writeError(w, http.StatusNotFound, "No ResourceAccess matches the given query.")
		return "", "", false
	}
	return parsed.String(), roomID, true
}

func (g *Gateway) uuidField(fields map[string]jsonRaw, name string, errs fieldErrors) string {
	s, present := stringField(fields, name, errs)
	if !present {
		if errs[name] == nil {
			errs.add(name, "This field is required.")
		}
		return ""
	}
	id, err := uuid.Parse(s)
	if err != nil {
		errs.add(name, "Must be a valid UUID.")
		return ""
	}
	return id.String()
}

func (g *Gateway) roleField(fields map[string]jsonRaw, errs fieldErrors) messages.Role {
	s, present := stringField(fields, "role", errs)
	if !present {
		if errs["role"] == nil {
			errs.add("role", "This field is required.")
		}
		return messages.Role_ROLE_UNSPECIFIED
	}
	role, ok := messages.ParseRole(s)
	if !ok {
		errs.add("role", "\""+s+"\" is not a valid choice.")
	}
	return role
}
