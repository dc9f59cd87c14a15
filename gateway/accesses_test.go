package gateway_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// rtAccesses is GET resource-accesses/ (with an optional query) decoded to its results.
func rtAccesses(t *testing.T, c *servicetest.Client, query string) []map[string]any {
	t.Helper()
	res := c.Do(http.MethodGet, servicetest.Path("resource-accesses")+query, nil)
	rtStatus(t, res, http.StatusOK, "list accesses "+query)
	body := res.JSON()
	results := rtList(body, "results")
	if body["count"] != float64(len(results)) {
		t.Errorf("count %v but %d results: %s", body["count"], len(results), res.Body)
	}
	return results
}

// rtAccessUsers is the user ids of a list of accesses, sorted.
func rtAccessUsers(accesses []map[string]any) []string {
	var ids []string
	for _, a := range accesses {
		ids = append(ids, rtString(rtObject(a, "user"), "id"))
	}
	slices.Sort(ids)
	return ids
}

func rtSorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// rtOwnerAccessID is the access id of a user on a room, read by a privileged caller.
func rtAccessOf(t *testing.T, c *servicetest.Client, roomID, userID string) string {
	t.Helper()
	for _, a := range rtAccesses(t, c, "?resource="+roomID) {
		if rtString(rtObject(a, "user"), "id") == userID {
			return rtString(a, "id")
		}
	}
	t.Fatalf("no access of user %s on room %s", userID, roomID)
	return ""
}

// 12. POST resource-accesses/
func TestAccessCreate(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := rtRegister(t, n, "alice") // owner
	carol := rtRegister(t, n, "carol") // administrator
	dave := rtRegister(t, n, "dave")   // member
	bob := rtRegister(t, n, "bob")     // no role
	target := rtRegister(t, n, "target")
	anon := n.Client("")

	newRoom := func(t *testing.T) string {
		t.Helper()
		id := alice.CreateRoom(map[string]any{"name": servicetest.UniqueRoomName("Grants"), "access_level": "restricted"}).ID
		alice.Grant(id, carol.ID, "administrator")
		alice.Grant(id, dave.ID, "member")
		return id
	}

	cases := []struct {
		name   string
		caller *servicetest.Client
		role   string
		status int
	}{
		{"owner grants member", alice.Client, "member", 201},
		{"owner grants administrator", alice.Client, "administrator", 201},
		{"owner grants owner", alice.Client, "owner", 201},
		{"administrator grants member", carol.Client, "member", 201},
		{"administrator grants administrator", carol.Client, "administrator", 201},
		{"administrator grants owner", carol.Client, "owner", 403},
		{"member grants member", dave.Client, "member", 403},
		{"user without role grants member", bob.Client, "member", 403},
		{"anonymous grants member", anon, "member", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			room := newRoom(t)
			res := tc.caller.Do(http.MethodPost, servicetest.Path("resource-accesses"),
				map[string]any{"user": target.ID, "resource": room, "role": tc.role})
			rtStatus(t, res, tc.status, tc.name)
			if tc.status != http.StatusCreated {
				rtErrorBody(t, res, tc.name)
				if got := rtAccessUsers(rtAccesses(t, alice.Client, "?resource="+room)); slices.Contains(got, target.ID) {
					t.Errorf("refused grant left an access: %v", got)
				}
				if slices.Contains(rtListedIDs(rtRoomList(t, target.Client, "")), room) {
					t.Errorf("refused grant put the room in the target's list")
				}
				return
			}
			a := res.JSON()
			if _, err := uuid.Parse(rtString(a, "id")); err != nil {
				t.Errorf("access id not a UUID: %s", res.Body)
			}
			u := rtObject(a, "user")
			if u["id"] != target.ID || u["email"] != target.Email || u["full_name"] != "Target Tester" || a["role"] != tc.role || a["resource"] != room {
				t.Errorf("access = %s", res.Body)
			}
			// The target now holds the role.
			got := target.Do(http.MethodGet, servicetest.Path("rooms", room), nil).JSON()
			if privileged := tc.role != "member"; got["is_administrable"] != privileged {
				t.Errorf("target with role %s: is_administrable = %v", tc.role, got["is_administrable"])
			}
			if rtObject(got, "livekit") == nil {
				t.Errorf("target with a role should join the restricted room directly")
			}
			if !slices.Contains(rtListedIDs(rtRoomList(t, target.Client, "")), room) {
				t.Errorf("room not in the target's list")
			}
		})
	}

	t.Run("invalid requests", func(t *testing.T) {
		room := newRoom(t)
		alice.Grant(room, target.ID, "member")
		unregistered := uuid.NewString()
		post := func(body map[string]any) servicetest.Response {
			return alice.Do(http.MethodPost, servicetest.Path("resource-accesses"), body)
		}
		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string // "" for a 400 without a particular field
		}{
			{"duplicate user", map[string]any{"user": target.ID, "resource": room, "role": "administrator"}, ""},
			{"duplicate of the owner", map[string]any{"user": alice.ID, "resource": room, "role": "member"}, ""},
			{"unknown user id", map[string]any{"user": unregistered, "resource": room, "role": "member"}, "user"},
			{"user not a UUID", map[string]any{"user": "target", "resource": room, "role": "member"}, "user"},
			{"missing user", map[string]any{"resource": room, "role": "member"}, "user"},
			{"invalid role", map[string]any{"user": bob.ID, "resource": room, "role": "superuser"}, "role"},
			{"missing role", map[string]any{"user": bob.ID, "resource": room}, "role"},
			{"missing resource", map[string]any{"user": bob.ID, "role": "member"}, "resource"},
			{"resource not a UUID", map[string]any{"user": bob.ID, "resource": "abc-defg-hij", "role": "member"}, "resource"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := post(tc.body)
				if tc.field != "" {
					rtFieldError(t, res, tc.field, tc.name)
					return
				}
				rtStatus(t, res, http.StatusBadRequest, tc.name)
				rtErrorBody(t, res, tc.name)
			})
		}
		if got, want := rtAccessUsers(rtAccesses(t, alice.Client, "?resource="+room)), rtSorted(alice.ID, carol.ID, dave.ID, target.ID); !slices.Equal(got, want) {
			t.Errorf("accesses after invalid requests = %v, want %v", got, want)
		}
		for _, r := range rtAccesses(t, alice.Client, "?resource="+room) {
			if rtString(rtObject(r, "user"), "id") == target.ID && r["role"] != "member" {
				t.Errorf("duplicate changed the target's role: %v", r)
			}
		}
	})

	t.Run("unknown room", func(t *testing.T) {
		res := alice.Do(http.MethodPost, servicetest.Path("resource-accesses"),
			map[string]any{"user": target.ID, "resource": uuid.NewString(), "role": "member"})
		rtStatus(t, res, http.StatusNotFound, "unknown room")
		rtErrorBody(t, res, "unknown room")
	})
}

// 13. GET resource-accesses/
func TestAccessList(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := rtRegister(t, n, "alice")
	carol := rtRegister(t, n, "carol")
	dave := rtRegister(t, n, "dave")
	bob := rtRegister(t, n, "bob")
	r1 := alice.CreateRoom(map[string]any{"name": "R1"}).ID
	alice.Grant(r1, carol.ID, "administrator")
	alice.Grant(r1, dave.ID, "member")
	r2 := bob.CreateRoom(map[string]any{"name": "R2"}).ID
	bob.Grant(r2, alice.ID, "member")
	bob.Grant(r2, dave.ID, "administrator")

	all1 := rtSorted(alice.ID, carol.ID, dave.ID)
	all2 := rtSorted(bob.ID, alice.ID, dave.ID)
	cases := []struct {
		name   string
		caller *servicetest.Client
		query  string
		want   []string
	}{
		{"owner of the room", alice.Client, "?resource=" + r1, all1},
		{"administrator of the room", carol.Client, "?resource=" + r1, all1},
		{"member sees own access only", dave.Client, "?resource=" + r1, []string{dave.ID}},
		{"no role sees nothing", bob.Client, "?resource=" + r1, nil},
		{"member of the other room", alice.Client, "?resource=" + r2, []string{alice.ID}},
		{"administrator of the other room", dave.Client, "?resource=" + r2, all2},
		{"all rooms of the owner", alice.Client, "", rtSorted(append(slices.Clone(all1), alice.ID)...)},
		{"all rooms of a member and administrator", dave.Client, "", rtSorted(append(slices.Clone(all2), dave.ID)...)},
		{"all rooms of an administrator", carol.Client, "", all1},
		{"unknown room", alice.Client, "?resource=" + uuid.NewString(), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			list := rtAccesses(t, tc.caller, tc.query)
			if got := rtAccessUsers(list); !slices.Equal(got, tc.want) {
				t.Errorf("users = %v, want %v", got, tc.want)
			}
			for _, a := range list {
				if res := rtString(a, "resource"); res != r1 && res != r2 {
					t.Errorf("access %v: resource %q", a, res)
				}
				if _, err := uuid.Parse(rtString(a, "id")); err != nil || a["role"] == "" {
					t.Errorf("access %v: bad id or role", a)
				}
			}
		})
	}

	t.Run("roles and resources are reported", func(t *testing.T) {
		roles := map[string]string{}
		for _, a := range rtAccesses(t, dave.Client, "") {
			roles[rtString(a, "resource")+"/"+rtString(rtObject(a, "user"), "id")] = rtString(a, "role")
		}
		want := map[string]string{
			r1 + "/" + dave.ID:  "member",
			r2 + "/" + bob.ID:   "owner",
			r2 + "/" + alice.ID: "member",
			r2 + "/" + dave.ID:  "administrator",
		}
		if len(roles) != len(want) {
			t.Errorf("roles = %v, want %v", roles, want)
		}
		for k, v := range want {
			if roles[k] != v {
				t.Errorf("role of %s = %q, want %q", k, roles[k], v)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		res := n.Client("").Do(http.MethodGet, servicetest.Path("resource-accesses"), nil)
		rtStatus(t, res, http.StatusUnauthorized, "anonymous")
		if rtErrorBody(t, res, "anonymous")["detail"] != rtNotAuthenticated {
			t.Errorf("anonymous detail: %s", res.Body)
		}
		rtFieldError(t, alice.Do(http.MethodGet, servicetest.Path("resource-accesses")+"?resource=not-a-uuid", nil), "resource", "bad resource")
	})
}

// 14. PATCH/DELETE resource-accesses/{id}/
func TestAccessUpdateDelete(t *testing.T) {
	n := servicetest.StartNode(t, rtShortRequests())
	alice := rtRegister(t, n, "alice") // owner
	carol := rtRegister(t, n, "carol") // administrator
	dave := rtRegister(t, n, "dave")   // member
	erin := rtRegister(t, n, "erin")
	bob := rtRegister(t, n, "bob") // no role
	anon := n.Client("")

	type fixture struct{ room, owner, admin, member string }
	newRoom := func(t *testing.T) fixture {
		t.Helper()
		id := alice.CreateRoom(map[string]any{"name": servicetest.UniqueRoomName("Accesses"), "access_level": "restricted"}).ID
		return fixture{
			room:   id,
			owner:  rtAccessOf(t, alice.Client, id, alice.ID),
			admin:  alice.Grant(id, carol.ID, "administrator"),
			member: alice.Grant(id, dave.ID, "member"),
		}
	}
	roleOf := func(t *testing.T, room, userID string) string {
		t.Helper()
		for _, a := range rtAccesses(t, alice.Client, "?resource="+room) {
			if rtString(rtObject(a, "user"), "id") == userID {
				return rtString(a, "role")
			}
		}
		return ""
	}
	path := func(accessID string) string { return servicetest.Path("resource-accesses", accessID) }

	t.Run("update permissions", func(t *testing.T) {
		cases := []struct {
			name    string
			caller  *servicetest.Client
			access  func(f fixture) string
			user    string
			role    string
			status  int
			wantNow string // role of the access afterwards
		}{
			{"administrator demotes the owner", carol.Client, func(f fixture) string { return f.owner }, alice.ID, "member", 403, "owner"},
			{"administrator promotes a member to owner", carol.Client, func(f fixture) string { return f.member }, dave.ID, "owner", 403, "member"},
			{"administrator promotes a member", carol.Client, func(f fixture) string { return f.member }, dave.ID, "administrator", 200, "administrator"},
			{"member promotes self", dave.Client, func(f fixture) string { return f.member }, dave.ID, "administrator", 403, "member"},
			{"user without role", bob.Client, func(f fixture) string { return f.member }, dave.ID, "administrator", 403, "member"},
			{"anonymous", anon, func(f fixture) string { return f.member }, dave.ID, "administrator", 401, "member"},
			{"owner promotes the administrator to owner", alice.Client, func(f fixture) string { return f.admin }, carol.ID, "owner", 200, "owner"},
			{"the last owner cannot be demoted", alice.Client, func(f fixture) string { return f.owner }, alice.ID, "administrator", 400, "owner"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := newRoom(t)
				res := tc.caller.Do(http.MethodPatch, path(tc.access(f)), map[string]any{"role": tc.role})
				rtStatus(t, res, tc.status, tc.name)
				if tc.status == http.StatusOK {
					if got := res.JSON(); got["role"] != tc.role || got["id"] != tc.access(f) || rtString(rtObject(got, "user"), "id") != tc.user {
						t.Errorf("reply %s", res.Body)
					}
				} else {
					rtErrorBody(t, res, tc.name)
				}
				if got := roleOf(t, f.room, tc.user); got != tc.wantNow {
					t.Errorf("role afterwards = %q, want %q", got, tc.wantNow)
				}
			})
		}
	})

	t.Run("delete permissions", func(t *testing.T) {
		cases := []struct {
			name   string
			caller *servicetest.Client
			access func(f fixture) string
			user   string
			status int
		}{
			{"administrator removes the owner", carol.Client, func(f fixture) string { return f.owner }, alice.ID, 403},
			{"member removes the administrator", dave.Client, func(f fixture) string { return f.admin }, carol.ID, 403},
			{"user without role", bob.Client, func(f fixture) string { return f.member }, dave.ID, 403},
			{"anonymous", anon, func(f fixture) string { return f.member }, dave.ID, 401},
			{"the last owner cannot be removed", alice.Client, func(f fixture) string { return f.owner }, alice.ID, 400},
			{"administrator removes a member", carol.Client, func(f fixture) string { return f.member }, dave.ID, 204},
			{"owner removes the administrator", alice.Client, func(f fixture) string { return f.admin }, carol.ID, 204},
			{"owner removes a member", alice.Client, func(f fixture) string { return f.member }, dave.ID, 204},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := newRoom(t)
				res := tc.caller.Do(http.MethodDelete, path(tc.access(f)), nil)
				rtStatus(t, res, tc.status, tc.name)
				stillThere := roleOf(t, f.room, tc.user) != ""
				if tc.status != http.StatusNoContent {
					rtErrorBody(t, res, tc.name)
					if !stillThere {
						t.Errorf("refused removal removed the access")
					}
					return
				}
				if stillThere {
					t.Errorf("access still listed after removal")
				}
			})
		}
	})

	t.Run("removed member loses the room", func(t *testing.T) {
		f := newRoom(t)
		if !slices.Contains(rtListedIDs(rtRoomList(t, dave.Client, "")), f.room) {
			t.Fatalf("member does not list the room before removal")
		}
		rtStatus(t, alice.Do(http.MethodDelete, path(f.member), nil), http.StatusNoContent, "remove member")
		if slices.Contains(rtListedIDs(rtRoomList(t, dave.Client, "")), f.room) {
			t.Errorf("removed member still lists the room")
		}
		if got := rtAccesses(t, dave.Client, "?resource="+f.room); len(got) != 0 {
			t.Errorf("removed member still sees accesses %v", got)
		}
		for _, a := range rtAccesses(t, dave.Client, "") {
			if a["resource"] == f.room {
				t.Errorf("removed member still sees an access of the room across rooms: %v", a)
			}
		}
		got := dave.Do(http.MethodGet, servicetest.Path("rooms", f.room), nil).JSON()
		if _, ok := got["livekit"]; ok {
			t.Errorf("removed member still joins the restricted room directly: %v", got)
		}
		// The access is gone: a second removal or an update is a 404.
		rtStatus(t, alice.Do(http.MethodDelete, path(f.member), nil), http.StatusNotFound, "remove again")
		rtStatus(t, alice.Do(http.MethodPatch, path(f.member), map[string]any{"role": "administrator"}), http.StatusNotFound, "update removed")
		// And the user can be given a role again.
		alice.Grant(f.room, dave.ID, "member")
	})

	t.Run("two owners", func(t *testing.T) {
		f := newRoom(t)
		erinAccess := alice.Grant(f.room, erin.ID, "owner")
		// With a second owner, an owner may step down; then the other one is the last.
		res := alice.Do(http.MethodPatch, path(f.owner), map[string]any{"role": "administrator"})
		rtStatus(t, res, http.StatusOK, "first owner steps down")
		rtStatus(t, erin.Do(http.MethodPatch, path(erinAccess), map[string]any{"role": "member"}), http.StatusBadRequest, "last owner demotes self")
		rtStatus(t, erin.Do(http.MethodDelete, path(erinAccess), nil), http.StatusBadRequest, "last owner removes self")
		// The former owner, now administrator, cannot touch the owner.
		rtStatus(t, alice.Do(http.MethodDelete, path(erinAccess), nil), http.StatusForbidden, "administrator removes owner")
		// Erin makes alice owner again and removes her own access.
		rtStatus(t, erin.Do(http.MethodPatch, path(f.owner), map[string]any{"role": "owner"}), http.StatusOK, "re-promote")
		rtStatus(t, erin.Do(http.MethodDelete, path(erinAccess), nil), http.StatusNoContent, "owner leaves while another remains")
		if got := roleOf(t, f.room, erin.ID); got != "" {
			t.Errorf("erin still has role %q", got)
		}
	})

	t.Run("unknown or invalid", func(t *testing.T) {
		f := newRoom(t)
		for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
			res := alice.Do(http.MethodPatch, path(id), map[string]any{"role": "member"})
			rtStatus(t, res, http.StatusNotFound, "PATCH unknown "+id)
			rtErrorBody(t, res, "PATCH unknown")
			res = alice.Do(http.MethodDelete, path(id), nil)
			rtStatus(t, res, http.StatusNotFound, "DELETE unknown "+id)
			rtErrorBody(t, res, "DELETE unknown")
		}
		rtFieldError(t, alice.Do(http.MethodPatch, path(f.member), map[string]any{"role": "superuser"}), "role", "invalid role")
		rtFieldError(t, alice.Do(http.MethodPatch, path(f.member), map[string]any{}), "role", "missing role")
		// PUT works like PATCH.
		res := alice.Do(http.MethodPut, path(f.member), map[string]any{"role": "administrator"})
		rtStatus(t, res, http.StatusOK, "PUT role")
		if res.JSON()["role"] != "administrator" {
			t.Errorf("PUT reply %s", res.Body)
		}
		// Accesses of a deleted room are gone with it.
		rtStatus(t, alice.Do(http.MethodDelete, servicetest.Path("rooms", f.room), nil), http.StatusNoContent, "delete room")
		rtStatus(t, alice.Do(http.MethodDelete, path(f.admin), nil), http.StatusNotFound, "access of a deleted room")
	})
}
