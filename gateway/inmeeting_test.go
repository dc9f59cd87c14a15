package gateway_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// Black-box tests of the reference front end's in-meeting actions (frontend.md "In-meeting
// actions") against a real livekit-server: a participant raises their hand and renames
// themselves with their LiveKit token; a privileged user changes a participant's role. Effects
// are read on LiveKit's RoomService and, for the hand, on another participant's own view.

// isoUTC is Python's isoformat of an aware UTC time, the reference's handRaisedAt.
var isoUTC = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$`)

// remoteAttribute is what observer sees of identity's attribute ("" when unset or not seen).
func remoteAttribute(observer *modPeer, identity, key string) string {
	for _, p := range observer.room.GetRemoteParticipants() {
		if p.Identity() == identity {
			return p.Attributes()[key]
		}
	}
	return ""
}

// joinWithToken connects a participant with a token it already holds.
func (e *modEnv) joinWithToken(t *testing.T, token string) *modPeer {
	t.Helper()
	p, err := e.join(token, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.room.Disconnect)
	return p
}

// TestToggleHandAndRename: a participant raises and lowers their hand and renames themselves with
// their LiveKit token; refused and invalid calls change nothing.
func TestToggleHandAndRename(t *testing.T) {
	e := modStart(t)
	owner := e.n.NewUser("owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	otherRoom := owner.CreateRoom(map[string]any{"access_level": "public"}).ID

	aliceToken := e.liveKitToken(t, e.n.Client(""), roomID, "Alice")
	alice := e.joinWithToken(t, aliceToken)
	bob := e.joinWithToken(t, e.liveKitToken(t, e.n.Client(""), roomID, "Bob"))
	aliceClient := e.n.Client(aliceToken)

	t.Run("raise hand", func(t *testing.T) {
		// The time comes from the node's clock: moved to a time with microseconds, it is exact.
		e.n.Clock.Advance(1234567 * time.Microsecond)
		now := e.n.Clock.Now()
		res := modPost(aliceClient, roomID, "toggle-hand", map[string]any{"raised": true})
		modSuccess(t, res, "raise hand")
		if len(res.JSON()) != 1 {
			t.Fatalf("raise hand body %s, want {\"status\":\"success\"}", res.Body)
		}
		p, ok := e.participant(t, roomID, alice.identity)
		if !ok {
			t.Fatal("Alice is not in the room")
		}
		raisedAt := p.GetAttributes()["handRaisedAt"]
		at, err := time.Parse("2006-01-02T15:04:05.999999-07:00", raisedAt)
		if err != nil || !isoUTC.MatchString(raisedAt) {
			t.Fatalf("handRaisedAt %q: want an ISO 8601 UTC time as the reference writes it (%v)", raisedAt, err)
		}
		if !at.Equal(now.Truncate(time.Microsecond)) {
			t.Fatalf("handRaisedAt %s, want the node's time %s", at, now)
		}
		servicetest.Eventually(t, modWithin, "Bob to see Alice's hand raised", func() bool {
			return remoteAttribute(bob, alice.identity, "handRaisedAt") == raisedAt
		})
	})

	t.Run("lower hand", func(t *testing.T) {
		modSuccess(t, modPost(aliceClient, roomID, "toggle-hand", map[string]any{"raised": false}), "lower hand")
		if p, _ := e.participant(t, roomID, alice.identity); p.GetAttributes()["handRaisedAt"] != "" {
			t.Fatalf("handRaisedAt %q after lowering, want empty", p.GetAttributes()["handRaisedAt"])
		}
		servicetest.Eventually(t, modWithin, "Bob to see Alice's hand lowered", func() bool {
			return remoteAttribute(bob, alice.identity, "handRaisedAt") == ""
		})
	})

	t.Run("rename", func(t *testing.T) {
		modSuccess(t, modPost(aliceClient, roomID, "rename", map[string]any{"name": "  Alice Liddell  "}), "rename")
		if p, _ := e.participant(t, roomID, alice.identity); p.GetName() != "Alice Liddell" {
			t.Fatalf("LiveKit name %q, want the trimmed new name", p.GetName())
		}
		long := strings.Repeat("a", 255)
		modSuccess(t, modPost(aliceClient, roomID, "rename", map[string]any{"name": long}), "rename to 255 characters")
		if p, _ := e.participant(t, roomID, alice.identity); p.GetName() != long {
			t.Fatalf("LiveKit name %q, want 255 characters", p.GetName())
		}
	})

	t.Run("invalid bodies", func(t *testing.T) {
		for _, tc := range []struct {
			name, action string
			body         any
			field        string
		}{
			{"raised missing", "toggle-hand", map[string]any{}, "raised"},
			{"raised null", "toggle-hand", map[string]any{"raised": nil}, "raised"},
			{"raised not a boolean", "toggle-hand", map[string]any{"raised": "up"}, "raised"},
			{"name missing", "rename", map[string]any{}, "name"},
			{"name blank", "rename", map[string]any{"name": "   "}, "name"},
			{"name not a string", "rename", map[string]any{"name": 12}, "name"},
			{"name too long", "rename", map[string]any{"name": strings.Repeat("a", 256)}, "name"},
			// 255 characters but 510 bytes: beyond LiveKit's own limit (256 bytes).
			{"name too long for LiveKit", "rename", map[string]any{"name": strings.Repeat("é", 255)}, "name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				modFieldError(t, modPost(aliceClient, roomID, tc.action, tc.body), tc.field, tc.name)
			})
		}
		if p, _ := e.participant(t, roomID, alice.identity); p.GetName() != strings.Repeat("a", 255) || p.GetAttributes()["handRaisedAt"] != "" {
			t.Fatalf("invalid calls changed Alice: name %q, attributes %v", p.GetName(), p.GetAttributes())
		}
	})

	notJoined := e.n.Client(e.liveKitToken(t, e.n.Client(""), roomID, "NeverJoined"))
	elsewhere := e.n.Client(e.liveKitToken(t, e.n.Client(""), otherRoom, "Elsewhere"))
	expired := e.n.Client(modLiveKitJWT(t, e.lk.Key, e.lk.Secret, roomID, alice.identity, time.Now().Add(-3*time.Hour), time.Now().Add(-2*time.Hour)))
	refused := []struct {
		name   string
		caller *servicetest.Client
		want   int
	}{
		{"token of a participant not in the room", notJoined, http.StatusNotFound},
		{"token for another room", elsewhere, http.StatusForbidden},
		{"expired token", expired, http.StatusUnauthorized},
		{"no credentials", e.n.Client(""), http.StatusUnauthorized},
		{"user credentials instead of a LiveKit token", owner.Client, http.StatusUnauthorized},
	}
	for _, action := range []struct {
		name string
		body map[string]any
	}{{"toggle-hand", map[string]any{"raised": true}}, {"rename", map[string]any{"name": "Mallory"}}} {
		for _, tc := range refused {
			t.Run(action.name+"/"+tc.name, func(t *testing.T) {
				modStatus(t, modPost(tc.caller, roomID, action.name, action.body), tc.want, action.name)
			})
		}
	}

	t.Run("authenticated participants keep their name unless the service lets them choose", func(t *testing.T) {
		// AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME is off by default.
		userToken := e.liveKitToken(t, owner.Client, roomID, "Owner")
		ownerPeer := e.joinWithToken(t, userToken)
		res := modPost(e.n.Client(userToken), roomID, "rename", map[string]any{"name": "Somebody Else"})
		modStatus(t, res, http.StatusForbidden, "rename by an authenticated participant")
		if p, _ := e.participant(t, roomID, ownerPeer.identity); p.GetName() == "Somebody Else" {
			t.Fatal("the refused rename happened")
		}
		modSuccess(t, modPost(e.n.Client(userToken), roomID, "toggle-hand", map[string]any{"raised": true}), "authenticated participant raises their hand")
	})
}

// TestUpdateParticipantRole: a privileged user present in the meeting makes another logged-in
// participant an administrator or a member; the role is stored on the room (an access) and
// mirrored to the participant's room_role attribute.
func TestUpdateParticipantRole(t *testing.T) {
	e := modStart(t)
	owner, admin, member, guest, absent, lurker := e.n.NewUser("owner"), e.n.NewUser("admin"), e.n.NewUser("member"),
		e.n.NewUser("guest"), e.n.NewUser("absent"), e.n.NewUser("lurker")
	roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	owner.Grant(roomID, admin.ID, "administrator")
	owner.Grant(roomID, member.ID, "member")
	lurkerAdmin := e.n.NewUser("lurking-admin") // privileged but not in the meeting
	owner.Grant(roomID, lurkerAdmin.ID, "administrator")

	// Everybody but absent and lurkerAdmin is in the meeting.
	joinAs := func(u servicetest.User, name string) *modPeer {
		p := e.joinWithToken(t, e.liveKitToken(t, u.Client, roomID, name))
		if p.identity != u.Subject {
			t.Fatalf("%s joined as %q, want their subject %s", name, p.identity, u.Subject)
		}
		return p
	}
	joinAs(owner, "Owner")
	joinAs(admin, "Admin")
	joinAs(member, "Member")
	guestPeer := joinAs(guest, "Guest")
	joinAs(lurker, "Lurker")
	anonymous := e.joinAnonymous(t, roomID, false, "Anonymous")[0]

	roleBody := func(identity, role string) map[string]any {
		return map[string]any{"participant_identity": identity, "role": role}
	}
	// accessRole is guest's role among the room's accesses, as its owner sees them.
	accessRole := func(t *testing.T, u servicetest.User) string {
		t.Helper()
		res := owner.Do(http.MethodGet, servicetest.Path("rooms", roomID), nil)
		modStatus(t, res, http.StatusOK, "retrieve room")
		accesses, _ := res.JSON()["accesses"].([]any)
		for _, a := range accesses {
			access, _ := a.(map[string]any)
			if user, _ := access["user"].(map[string]any); user["id"] == u.ID {
				role, _ := access["role"].(string)
				return role
			}
		}
		return ""
	}
	expectChanged := func(t *testing.T, res servicetest.Response, role string) {
		t.Helper()
		modStatus(t, res, http.StatusOK, "update-participant-role")
		body := res.JSON()
		if body["role"] != role || body["livekit_synced"] != true || len(body) != 2 {
			t.Fatalf("update-participant-role body %s, want {role: %s, livekit_synced: true}", res.Body, role)
		}
	}
	roomRole := func(t *testing.T, identity string) string {
		t.Helper()
		p, ok := e.participant(t, roomID, identity)
		if !ok {
			t.Fatalf("%s is not in the room", identity)
		}
		return p.GetAttributes()["room_role"]
	}

	t.Run("owner promotes a logged-in participant to administrator", func(t *testing.T) {
		if got := roomRole(t, guest.Subject); got != "none" {
			t.Fatalf("guest's room_role %q before, want none", got)
		}
		expectChanged(t, modPost(owner.Client, roomID, "update-participant-role", roleBody(guest.Subject, "administrator")), "administrator")
		if got := accessRole(t, guest); got != "administrator" {
			t.Fatalf("guest's access role %q, want administrator", got)
		}
		if got := roomRole(t, guest.Subject); got != "administrator" {
			t.Fatalf("guest's room_role %q, want administrator", got)
		}
		servicetest.Eventually(t, modWithin, "the guest to see their own role", func() bool {
			return guestPeer.room.LocalParticipant.Attributes()["room_role"] == "administrator"
		})
		// The stored role is theirs: their rooms list it.
		res := guest.Do(http.MethodGet, servicetest.Path("rooms"), nil)
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), roomID) {
			t.Fatalf("guest's rooms: %d %s, want %s among them", res.Status, res.Body, roomID)
		}
	})

	t.Run("administrator demotes them to member", func(t *testing.T) {
		expectChanged(t, modPost(admin.Client, roomID, "update-participant-role", roleBody(guest.Subject, "member")), "member")
		if got := accessRole(t, guest); got != "member" {
			t.Fatalf("guest's access role %q, want member", got)
		}
		if got := roomRole(t, guest.Subject); got != "member" {
			t.Fatalf("guest's room_role %q, want member", got)
		}
	})

	t.Run("the same key repeats the first answer", func(t *testing.T) {
		key := "role-" + uuid.NewString()
		first := modPost(owner.Client, roomID, "update-participant-role", roleBody(guest.Subject, "administrator"), "Idempotency-Key", key)
		expectChanged(t, first, "administrator")
		second := modPost(owner.Client, roomID, "update-participant-role", roleBody(guest.Subject, "administrator"), "Idempotency-Key", key)
		if second.Status != first.Status || string(second.Body) != string(first.Body) {
			t.Fatalf("retry: %d %s, want the first answer %d %s", second.Status, second.Body, first.Status, first.Body)
		}
	})

	refused := []struct {
		name   string
		caller *servicetest.Client
		body   map[string]any
		want   int
		detail string // "" where the status says enough
	}{
		{"anonymous participant", owner.Client, roleBody(anonymous.identity, "administrator"), http.StatusNotFound, "This participant has no user account and cannot be assigned a role."},
		{"user not in the meeting", owner.Client, roleBody(absent.Subject, "administrator"), http.StatusNotFound, "Participant is not connected to this meeting."},
		{"unknown identity", owner.Client, roleBody("nobody-"+uuid.NewString(), "member"), http.StatusNotFound, ""},
		{"own role", owner.Client, roleBody(owner.Subject, "member"), http.StatusForbidden, "You cannot change your own role."},
		{"administrator's own role", admin.Client, roleBody(admin.Subject, "member"), http.StatusForbidden, "You cannot change your own role."},
		{"owner demoted", admin.Client, roleBody(owner.Subject, "member"), http.StatusForbidden, "Room owners cannot be demoted."},
		{"owner made administrator", admin.Client, roleBody(owner.Subject, "administrator"), http.StatusForbidden, "Room owners cannot be demoted."},
		{"ownership granted", owner.Client, roleBody(member.Subject, "owner"), http.StatusBadRequest, ""},
		{"unknown role", owner.Client, roleBody(member.Subject, "boss"), http.StatusBadRequest, ""},
		{"identity missing", owner.Client, map[string]any{"role": "member"}, http.StatusBadRequest, ""},
		{"role missing", owner.Client, map[string]any{"participant_identity": member.Subject}, http.StatusBadRequest, ""},
		{"member caller", member.Client, roleBody(admin.Subject, "member"), http.StatusForbidden, ""},
		{"caller without role", lurker.Client, roleBody(member.Subject, "administrator"), http.StatusForbidden, ""},
		{"privileged caller not in the meeting", lurkerAdmin.Client, roleBody(member.Subject, "administrator"), http.StatusForbidden, "You must be connected to the meeting to perform this action."},
		{"no credentials", e.n.Client(""), roleBody(member.Subject, "administrator"), http.StatusUnauthorized, ""},
		{"LiveKit token instead of user credentials", e.n.Client(e.liveKitToken(t, owner.Client, roomID, "Owner")), roleBody(member.Subject, "administrator"), http.StatusUnauthorized, ""},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			res := modPost(tc.caller, roomID, "update-participant-role", tc.body)
			modStatus(t, res, tc.want, tc.name)
			if tc.detail != "" && res.JSON()["detail"] != tc.detail {
				t.Fatalf("detail %q, want %q", res.JSON()["detail"], tc.detail)
			}
		})
	}
	t.Run("refused calls changed nothing", func(t *testing.T) {
		for u, want := range map[*servicetest.User]string{&owner: "owner", &admin: "administrator", &member: "member", &absent: ""} {
			if got := accessRole(t, *u); got != want {
				t.Errorf("%s's access role %q, want %q", u.Subject, got, want)
			}
		}
		if got := roomRole(t, member.Subject); got != "member" {
			t.Errorf("member's room_role %q, want member", got)
		}
		if got := roomRole(t, anonymous.identity); got != "none" {
			t.Errorf("anonymous participant's room_role %q, want none", got)
		}
	})
}
