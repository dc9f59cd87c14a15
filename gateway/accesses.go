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
func (g *Gateway) listAccesses(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	roomIDs, err := g.accessListRooms(r, u)
	if err != nil {
		return err
	}
	indexed, err := g.cfg.Directory.AccessListsOfRooms(r.Context(), roomIDs)
	if err != nil {
		return storeFailure("read accesses of rooms", err)
	}
	results := []accessJSON{}
	for i, id := range roomIDs {
		// An unknown room shows nothing; any other failure of a room fails the listing.
		accesses, _, err := g.roomAccesses(r, u, id, indexed[i])
		if err != nil {
			return err
		}
		for _, a := range visibleAccesses(accesses, u.ID) {
			results = append(results, accessView(a, id))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(results), "next": nil, "previous": nil, "results": results})
	return nil
}

// accessListRooms are the rooms whose accesses a listing covers: the one of ?resource=, or
// every room where the caller holds a role (user-rooms index).
func (g *Gateway) accessListRooms(r *http.Request, u *userRecord) ([]string, error) {
	if resource := r.URL.Query().Get("resource"); resource != "" {
		id, err := uuid.Parse(resource)
		if err != nil {
			return nil, invalidField("resource", fieldNotUUID)
		}
		return []string{id.String()}, nil
	}
	raw, err := g.cfg.Directory.RoomsOfUser(r.Context(), u.ID)
	if err != nil {
		return nil, storeFailure("list rooms of user", err)
	}
	var roomIDs []string
	for _, b := range raw {
		if s, err := decodeSummary(b); err == nil {
			roomIDs = append(roomIDs, s.GetId())
		}
	}
	return roomIDs, nil
}

// roomAccesses are a room's accesses from its index entry (indexed, nil when the room has none).
// A room without one is unknown, deleted, or stored before the index existed: it is asked (and
// writes its entry), and answers with what the caller may see. found=false: no such room.
func (g *Gateway) roomAccesses(r *http.Request, u *userRecord, roomID string, indexed []byte) (accesses []*messages.Access, found bool, err error) {
	if indexed == nil {
		reply, err := g.ask(r, roomID, &messages.IndexAccesses{Caller: callerMessage(u)})
		switch {
		case err == nil:
			return reply.GetAccesses().GetAccesses(), true, nil
		case reply.GetFailure().GetCode() == messages.ErrorCode_ERROR_CODE_NOT_FOUND:
			return nil, false, nil
		}
		return nil, false, err
	}
	list := &messages.AccessList{}
	if err := proto.Unmarshal(indexed, list); err != nil {
		return nil, false, storeFailure("decode accesses of room", fmt.Errorf("room %s: %w", roomID, err))
	}
	return list.GetAccesses(), true, nil
}

// privilegedOn tells whether u is an owner or administrator of the room (404 for an unknown
// room).
func (g *Gateway) privilegedOn(r *http.Request, u *userRecord, roomID string) (bool, error) {
	lists, err := g.cfg.Directory.AccessListsOfRooms(r.Context(), []string{roomID})
	if err != nil {
		return false, storeFailure("read accesses of room", err)
	}
	accesses, found, err := g.roomAccesses(r, u, roomID, lists[0])
	switch {
	case err != nil:
		return false, err
	case !found:
		return false, errRoomNotFound
	}
	return holdsPrivilege(accesses, u.ID), nil
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
func (g *Gateway) createAccess(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	fields, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	userID := g.uuidField(fields, "user", errs)
	roomID := g.uuidField(fields, "resource", errs)
	role := g.roleField(fields, errs)
	if len(errs) > 0 {
		return errs.invalid()
	}
	// The room decides again when asked; checking here first keeps callers without a role from
	// learning whether a user id exists (a 400 "does not exist" would tell them).
	if privileged, err := g.privilegedOn(r, u, roomID); err != nil {
		return err
	} else if !privileged {
		return errForbidden
	}
	target, found, err := g.users.get(r.Context(), userID)
	if err != nil {
		return storeFailure("read user", err)
	}
	if !found {
		return invalidField("user", "Invalid pk \""+userID+"\" - object does not exist.")
	}
	reply, err := g.ask(r, roomID, &messages.CreateAccess{
		RequestId: requestID(r, u), Caller: callerMessage(u), User: target.message(), Role: role,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, accessView(reply.GetAccess(), roomID))
	return nil
}

// updateAccess changes the role of an access.
func (g *Gateway) updateAccess(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	accessID, roomID, err := g.accessRoom(r)
	if err != nil {
		return err
	}
	fields, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	role := g.roleField(fields, errs)
	if len(errs) > 0 {
		return errs.invalid()
	}
	reply, err := g.ask(r, roomID, &messages.UpdateAccess{
		RequestId: requestID(r, u), Caller: callerMessage(u), AccessId: accessID, Role: role,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, accessView(reply.GetAccess(), roomID))
	return nil
}

// deleteAccess takes a role away.
func (g *Gateway) deleteAccess(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	accessID, roomID, err := g.accessRoom(r)
	if err != nil {
		return err
	}
	if _, err := g.ask(r, roomID, &messages.DeleteAccess{
		RequestId: requestID(r, u), Caller: callerMessage(u), AccessId: accessID,
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// accessRoom resolves {access} to the room that holds it, from the access index.
func (g *Gateway) accessRoom(r *http.Request) (accessID, roomID string, err error) {
	parsed, err := uuid.Parse(mux.Vars(r)["access"])
	if err != nil {
		return "", "", errAccessNotFound
	}
	roomID, found, err := g.cfg.Directory.RoomIDByAccess(r.Context(), parsed.String())
	if err != nil {
		return "", "", storeFailure("resolve resource access", err)
	}
	if !found {
		return "", "", errAccessNotFound
	}
	return parsed.String(), roomID, nil
}

func (g *Gateway) uuidField(fields map[string]jsonRaw, name string, errs fieldErrors) string {
	s, present := stringField(fields, name, errs)
	if !present {
		if errs[name] == nil {
			errs.add(name, fieldRequired)
		}
		return ""
	}
	id, err := uuid.Parse(s)
	if err != nil {
		errs.add(name, fieldNotUUID)
		return ""
	}
	return id.String()
}

func (g *Gateway) roleField(fields map[string]jsonRaw, errs fieldErrors) messages.Role {
	s, present := stringField(fields, "role", errs)
	if !present {
		if errs["role"] == nil {
			errs.add("role", fieldRequired)
		}
		return messages.Role_ROLE_UNSPECIFIED
	}
	role, ok := messages.ParseRole(s)
	if !ok {
		errs.add("role", "\""+s+"\" is not a valid choice.")
	}
	return role
}
