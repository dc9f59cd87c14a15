package room

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// indexOpView is an IndexOp in comparable form: the summary decoded and printed.
type indexOpView struct {
	index     Index
	key       string
	remove    bool
	exclusive bool
	ttl       time.Duration
	summary   string // "name|slug|level|created" of the decoded summary, "" when none
	// (IndexRoomAccesses: "access id:role" of each access, in order)
}

func viewOps(t *testing.T, roomID string, ops []IndexOp) []indexOpView {
	t.Helper()
	out := make([]indexOpView, 0, len(ops))
	for _, op := range ops {
		v := indexOpView{index: op.Index, key: op.Key, remove: op.Remove, exclusive: op.Exclusive, ttl: op.TTL}
		if op.Index == IndexRoomAccesses && op.Summary != nil {
			list := &messages.AccessList{}
			if err := proto.Unmarshal(op.Summary, list); err != nil {
				t.Fatalf("op %+v: access list does not decode: %v", op, err)
			}
			v.summary = accessesString(list.GetAccesses())
		} else if op.Summary != nil {
			s := &messages.RoomSummary{}
			if err := proto.Unmarshal(op.Summary, s); err != nil {
				t.Fatalf("op %+v: summary does not decode: %v", op, err)
			}
			if s.GetId() != roomID {
				t.Errorf("op %+v: summary of room %q, want %q", op, s.GetId(), roomID)
			}
			v.summary = summaryString(s.GetName(), s.GetSlug(), s.GetAccessLevel(), s.GetCreatedUnixMs())
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b indexOpView) int {
		return cmp.Or(cmp.Compare(a.index, b.index), strings.Compare(a.key, b.key))
	})
	return out
}

func accessesString(accesses []*messages.Access) string {
	var parts []string
	for _, a := range accesses {
		parts = append(parts, a.GetId()+":"+a.GetRole().String())
	}
	return strings.Join(parts, ",")
}

func summaryString(name, slug string, level messages.AccessLevel, created int64) string {
	return fmt.Sprintf("%s|%s|%v|%d", name, slug, level, created)
}

func TestIndexChanges(t *testing.T) {
	const roomID = "room-1"
	const created = int64(1_760_000_000_000)
	access := func(id, user string, role messages.Role) *messages.Access {
		return &messages.Access{Id: id, User: &messages.User{Id: user, Sub: "sub-" + user}, Role: role}
	}
	ownerAcc := access("acc-owner", "u-owner", messages.Role_ROLE_OWNER)
	adminAcc := access("acc-admin", "u-admin", messages.Role_ROLE_ADMINISTRATOR)
	memberAcc := access("acc-member", "u-member", messages.Role_ROLE_MEMBER)
	newAcc := access("acc-new", "u-new", messages.Role_ROLE_MEMBER)

	base := &messages.RoomRecord{
		Id: roomID, Name: "Standup", Slug: "abc-defg-hij",
		AccessLevel:   messages.AccessLevel_ACCESS_LEVEL_RESTRICTED,
		Configuration: &messages.RoomConfiguration{},
		Accesses:      []*messages.Access{ownerAcc, adminAcc, memberAcc},
		CreatedUnixMs: created,
		PinCode:       "0123456789",
	}
	with := func(change func(r *messages.RoomRecord)) *messages.RoomRecord {
		r := proto.CloneOf(base)
		change(r)
		return r
	}
	sum := func(r *messages.RoomRecord) string {
		return summaryString(r.GetName(), r.GetSlug(), r.GetAccessLevel(), r.GetCreatedUnixMs())
	}
	put := func(user string, r *messages.RoomRecord) indexOpView {
		return indexOpView{index: IndexUserRooms, key: user, summary: sum(r)}
	}
	drop := func(user string) indexOpView {
		return indexOpView{index: IndexUserRooms, key: user, remove: true}
	}
	accessPut := func(id string) indexOpView { return indexOpView{index: IndexAccess, key: id} }
	accessDrop := func(id string) indexOpView { return indexOpView{index: IndexAccess, key: id, remove: true} }
	roomAccesses := func(r *messages.RoomRecord) indexOpView {
		return indexOpView{index: IndexRoomAccesses, key: roomID, summary: accessesString(r.GetAccesses())}
	}

	created1 := with(func(r *messages.RoomRecord) { r.Accesses = []*messages.Access{ownerAcc}; r.PinCode = "" })
	renamed := with(func(r *messages.RoomRecord) { r.Name = "Daily standup" })
	reLeveled := with(func(r *messages.RoomRecord) { r.AccessLevel = messages.AccessLevel_ACCESS_LEVEL_PUBLIC })
	added := with(func(r *messages.RoomRecord) { r.Accesses = append(r.Accesses, newAcc) })
	removed := with(func(r *messages.RoomRecord) { r.Accesses = []*messages.Access{ownerAcc, adminAcc} })
	roleChanged := with(func(r *messages.RoomRecord) {
		r.Accesses[2] = access("acc-member", "u-member", messages.Role_ROLE_ADMINISTRATOR)
	})
	reconfigured := with(func(r *messages.RoomRecord) {
		r.Configuration = &messages.RoomConfiguration{EveryoneCanMute: proto.Bool(true)}
		r.PinCode = "9876543210"
	})

	tests := []struct {
		name          string
		before, after *messages.RoomRecord
		want          []indexOpView
	}{
		{
			name: "creation: owner's rooms, access pointer, exclusive slug, the room's accesses", before: nil, after: created1,
			want: []indexOpView{
				put("u-owner", created1),
				{index: IndexSlug, key: "abc-defg-hij", exclusive: true},
				accessPut("acc-owner"),
				roomAccesses(created1),
			},
		},
		{
			name: "rename: summary put for every member", before: base, after: renamed,
			want: []indexOpView{put("u-owner", renamed), put("u-admin", renamed), put("u-member", renamed)},
		},
		{
			name: "access level change: summary put for every member", before: base, after: reLeveled,
			want: []indexOpView{put("u-owner", reLeveled), put("u-admin", reLeveled), put("u-member", reLeveled)},
		},
		{
			name: "adding a member: put for that member only, and its access pointer", before: base, after: added,
			want: []indexOpView{put("u-new", added), accessPut("acc-new"), roomAccesses(added)},
		},
		{
			name: "removing a member: user rooms and access pointer removed", before: base, after: removed,
			want: []indexOpView{drop("u-member"), accessDrop("acc-member"), roomAccesses(removed)},
		},
		{
			name: "deletion: everything removed, slug and PIN included", before: base, after: nil,
			want: []indexOpView{
				drop("u-owner"), drop("u-admin"), drop("u-member"),
				{index: IndexSlug, key: "abc-defg-hij", remove: true},
				{index: IndexPin, key: "0123456789", remove: true},
				accessDrop("acc-owner"), accessDrop("acc-admin"), accessDrop("acc-member"),
				{index: IndexRoomAccesses, key: roomID, remove: true},
			},
		},
		{name: "no change", before: base, after: proto.CloneOf(base), want: []indexOpView{}},
		{name: "role change: summaries carry no role, the room's accesses do", before: base, after: roleChanged, want: []indexOpView{roomAccesses(roleChanged)}},
		{
			name: "configuration and PIN change: old PIN released, new one reserved exclusively", before: base, after: reconfigured,
			want: []indexOpView{
				{index: IndexPin, key: "0123456789", remove: true},
				{index: IndexPin, key: "9876543210", exclusive: true},
			},
		},
		{name: "no room before or after", before: nil, after: nil, want: []indexOpView{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := viewOps(t, roomID, indexChanges(roomID, tt.before, tt.after))
			want := slices.Clone(tt.want)
			slices.SortFunc(want, func(a, b indexOpView) int {
				return cmp.Or(cmp.Compare(a.index, b.index), strings.Compare(a.key, b.key))
			})
			if !slices.Equal(got, want) {
				t.Errorf("indexChanges:\n got  %+v\n want %+v", got, want)
			}
		})
	}
}

// The ops are built from maps in part; whatever the order, one op per key and index.
func TestIndexChangesNoDuplicates(t *testing.T) {
	before := &messages.RoomRecord{Id: "r", Name: "a", Slug: "s-1"}
	after := &messages.RoomRecord{Id: "r", Name: "b", Slug: "s-1"}
	for i := range 50 {
		id := fmt.Sprintf("u%02d", i)
		a := &messages.Access{Id: "acc-" + id, User: &messages.User{Id: id}, Role: messages.Role_ROLE_MEMBER}
		before.Accesses = append(before.Accesses, a)
		if i%2 == 0 {
			after.Accesses = append(after.Accesses, a)
		}
	}
	seen := map[string]bool{}
	puts, drops := 0, 0
	for _, op := range indexChanges("r", before, after) {
		k := fmt.Sprintf("%d/%s", op.Index, op.Key)
		if seen[k] {
			t.Errorf("two ops for %s", k)
		}
		seen[k] = true
		switch {
		case op.Index == IndexUserRooms && op.Remove:
			drops++
		case op.Index == IndexUserRooms:
			puts++
		}
	}
	if puts != 25 || drops != 25 {
		t.Errorf("renaming while removing half the members: %d puts, %d removals, want 25 and 25", puts, drops)
	}
}
