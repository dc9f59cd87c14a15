package room

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// caller kinds of the permission tables.
type permCaller int

const (
	permAnonymous permCaller = iota
	permNoRole               // authenticated, no access on the room
	permMember
	permAdministrator
	permOwner
)

func (k permCaller) String() string {
	return [...]string{"anonymous", "authenticated without role", "member", "administrator", "owner"}[k]
}

func (k permCaller) authenticated() bool { return k != permAnonymous }

func (k permCaller) role() messages.Role {
	switch k {
	case permMember:
		return messages.Role_ROLE_MEMBER
	case permAdministrator:
		return messages.Role_ROLE_ADMINISTRATOR
	case permOwner:
		return messages.Role_ROLE_OWNER
	}
	return messages.Role_ROLE_UNSPECIFIED
}

func TestCanJoinDirectly(t *testing.T) {
	const (
		public     = messages.AccessLevel_ACCESS_LEVEL_PUBLIC
		trusted    = messages.AccessLevel_ACCESS_LEVEL_TRUSTED
		restricted = messages.AccessLevel_ACCESS_LEVEL_RESTRICTED
	)
	tests := []struct {
		level  messages.AccessLevel
		caller permCaller
		want   bool
	}{
		{public, permAnonymous, true},
		{public, permNoRole, true},
		{public, permMember, true},
		{public, permAdministrator, true},
		{public, permOwner, true},

		{trusted, permAnonymous, false},
		{trusted, permNoRole, true},
		{trusted, permMember, true},
		{trusted, permAdministrator, true},
		{trusted, permOwner, true},

		{restricted, permAnonymous, false},
		{restricted, permNoRole, false},
		{restricted, permMember, true},
		{restricted, permAdministrator, true},
		{restricted, permOwner, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%v", tt.level, tt.caller), func(t *testing.T) {
			if got := canJoinDirectly(tt.level, tt.caller.authenticated(), tt.caller.role()); got != tt.want {
				t.Errorf("canJoinDirectly(%v, authenticated=%v, %v) = %v, want %v",
					tt.level, tt.caller.authenticated(), tt.caller.role(), got, tt.want)
			}
		})
	}
}

func TestCanGrantRole(t *testing.T) {
	const (
		none  = messages.Role_ROLE_UNSPECIFIED
		mem   = messages.Role_ROLE_MEMBER
		admin = messages.Role_ROLE_ADMINISTRATOR
		own   = messages.Role_ROLE_OWNER
	)
	tests := []struct {
		actor, target messages.Role
		want          bool
	}{
		{none, mem, false},
		{none, admin, false},
		{none, own, false},
		{mem, mem, false},
		{mem, admin, false},
		{mem, own, false},
		{admin, mem, true},
		{admin, admin, true},
		{admin, own, false},
		{own, mem, true},
		{own, admin, true},
		{own, own, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v grants %v", tt.actor, tt.target), func(t *testing.T) {
			if got := canGrantRole(tt.actor, tt.target); got != tt.want {
				t.Errorf("canGrantRole(%v, %v) = %v, want %v", tt.actor, tt.target, got, tt.want)
			}
		})
	}
}

// TestCanMute: everyone_can_mute absent means true (frontend.md "Rooms"); only an explicit false
// keeps muting to privileged users.
func TestCanMute(t *testing.T) {
	unset := &messages.RoomConfiguration{}
	allow := &messages.RoomConfiguration{EveryoneCanMute: proto.Bool(true)}
	deny := &messages.RoomConfiguration{EveryoneCanMute: proto.Bool(false)}
	configurations := []struct {
		name string
		cfg  *messages.RoomConfiguration
	}{{"no configuration", nil}, {"everyone_can_mute absent", unset}, {"everyone_can_mute true", allow}, {"everyone_can_mute false", deny}}
	for _, c := range configurations {
		restricted := c.cfg == deny
		tests := []struct {
			caller      permCaller
			participant bool // holds a LiveKit token of this room
			want        bool
		}{
			{permOwner, false, true},
			{permAdministrator, false, true},
			{permMember, false, false},
			{permNoRole, false, false},
			{permAnonymous, false, false},
			{permAnonymous, true, !restricted},
			{permMember, true, !restricted},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%v/participant=%v", c.name, tt.caller, tt.participant), func(t *testing.T) {
				if got := canMute(tt.caller.role(), tt.participant, c.cfg); got != tt.want {
					t.Errorf("canMute(%v, %v, %v) = %v, want %v", tt.caller.role(), tt.participant, c.cfg, got, tt.want)
				}
			})
		}
	}
}

func TestRoleOf(t *testing.T) {
	user := func(id string) *messages.User { return &messages.User{Id: id, Sub: "sub-" + id} }
	record := &messages.RoomRecord{
		Id: "room",
		Accesses: []*messages.Access{
			{Id: "acc-o", User: user("u-owner"), Role: messages.Role_ROLE_OWNER},
			{Id: "acc-a", User: user("u-admin"), Role: messages.Role_ROLE_ADMINISTRATOR},
			{Id: "acc-m", User: user("u-member"), Role: messages.Role_ROLE_MEMBER},
		},
	}
	tests := []struct {
		name   string
		record *messages.RoomRecord
		caller *messages.Caller
		want   messages.Role
	}{
		{"owner", record, &messages.Caller{User: user("u-owner")}, messages.Role_ROLE_OWNER},
		{"administrator", record, &messages.Caller{User: user("u-admin")}, messages.Role_ROLE_ADMINISTRATOR},
		{"member", record, &messages.Caller{User: user("u-member")}, messages.Role_ROLE_MEMBER},
		{"user without access", record, &messages.Caller{User: user("u-other")}, messages.Role_ROLE_UNSPECIFIED},
		{"matched by id, not by sub", record, &messages.Caller{User: &messages.User{Id: "u-other", Sub: "sub-u-owner"}}, messages.Role_ROLE_UNSPECIFIED},
		{"anonymous caller", record, &messages.Caller{}, messages.Role_ROLE_UNSPECIFIED},
		{"nil caller", record, nil, messages.Role_ROLE_UNSPECIFIED},
		{"no room", nil, &messages.Caller{User: user("u-owner")}, messages.Role_ROLE_UNSPECIFIED},
		{"room without accesses", &messages.RoomRecord{Id: "room"}, &messages.Caller{User: user("u-owner")}, messages.Role_ROLE_UNSPECIFIED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roleOf(tt.record, tt.caller); got != tt.want {
				t.Errorf("roleOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDenied(t *testing.T) {
	tests := []struct {
		name   string
		caller *messages.Caller
		want   messages.ErrorCode
	}{
		{"anonymous", &messages.Caller{}, messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED},
		{"nil caller", nil, messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED},
		{"user", &messages.Caller{User: &messages.User{Id: "u1", Sub: "s1"}}, messages.ErrorCode_ERROR_CODE_FORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := denied(tt.caller)
			if got := reply.GetFailure().GetCode(); got != tt.want {
				t.Errorf("denied().Failure.Code = %v, want %v", got, tt.want)
			}
			if reply.GetFailure().GetDetail() == "" {
				t.Error("denied() has no detail")
			}
		})
	}
}

func TestParticipantRoleRefusal(t *testing.T) {
	const (
		none  = messages.Role_ROLE_UNSPECIFIED
		mem   = messages.Role_ROLE_MEMBER
		admin = messages.Role_ROLE_ADMINISTRATOR
		own   = messages.Role_ROLE_OWNER
	)
	const (
		allowed       = ""
		notPrivileged = "You do not have permission to perform this action."
		selfChange    = "You cannot change your own role."
		ownership     = "Ownership cannot be granted through this action."
		ownerStays    = "Room owners cannot be demoted."
	)
	tests := []struct {
		caller, current, requested messages.Role
		self                       bool
		want                       string
	}{
		{none, none, mem, false, notPrivileged},
		{mem, none, mem, false, notPrivileged},
		{mem, mem, admin, false, notPrivileged},
		{admin, none, mem, false, allowed},
		{admin, none, admin, false, allowed},
		{admin, mem, admin, false, allowed},
		{admin, admin, mem, false, allowed}, // administrators manage administrators, as with accesses
		{admin, admin, admin, false, allowed},
		{own, none, admin, false, allowed},
		{own, admin, mem, false, allowed},
		{own, mem, mem, false, allowed},
		{admin, admin, mem, true, selfChange},
		{own, own, admin, true, selfChange},
		{own, none, own, false, ownership},
		{admin, mem, own, false, ownership},
		{own, own, mem, false, ownerStays},
		{own, own, admin, false, ownerStays},
		{admin, own, mem, false, ownerStays},
		{mem, own, mem, false, notPrivileged},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v makes %v %v (self=%v)", tt.caller, tt.current, tt.requested, tt.self), func(t *testing.T) {
			if got := participantRoleRefusal(tt.caller, tt.current, tt.requested, tt.self); got != tt.want {
				t.Errorf("participantRoleRefusal(%v, %v, %v, %v) = %q, want %q", tt.caller, tt.current, tt.requested, tt.self, got, tt.want)
			}
		})
	}
}

func TestMayChooseOwnName(t *testing.T) {
	tests := []struct {
		authenticated, authenticatedMayChoose, want bool
	}{
		{false, false, true},
		{false, true, true},
		{true, false, false},
		{true, true, true},
	}
	for _, tt := range tests {
		if got := mayChooseOwnName(tt.authenticated, tt.authenticatedMayChoose); got != tt.want {
			t.Errorf("mayChooseOwnName(authenticated=%v, allowed=%v) = %v, want %v", tt.authenticated, tt.authenticatedMayChoose, got, tt.want)
		}
	}
}
