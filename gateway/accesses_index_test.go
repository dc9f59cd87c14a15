package gateway_test

import (
	"context"
	"maps"
	"net/http"
	"testing"
	"time"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

const (
	activationsMetric  = "meetcoord_room_activations_total"
	passivationsMetric = "meetcoord_room_passivations_total"
	// roomAccessesHash is where the Redis store indexes the accesses of every room (field: room
	// id); a test removes fields to stand for rooms stored before the index existed.
	roomAccessesHash = "meetcoord:room-accesses"
)

// accessRoles is a listing of accesses as "resource/user id" -> role.
func accessRoles(t *testing.T, accesses []map[string]any) map[string]string {
	t.Helper()
	roles := map[string]string{}
	for _, a := range accesses {
		key := rtString(a, "resource") + "/" + rtString(rtObject(a, "user"), "id")
		if _, twice := roles[key]; twice {
			t.Errorf("access %s listed twice", key)
		}
		roles[key] = rtString(a, "role")
	}
	return roles
}

// waitAllPassivated waits until every room activated on the node has stopped for being idle.
func waitAllPassivated(t *testing.T, n *servicetest.Node) {
	t.Helper()
	servicetest.Eventually(t, 60*time.Second, "every room passivated", func() bool {
		n.Clock.Advance(time.Second) // past ROOM_IDLE_TIMEOUT: the idle rooms' timers fire
		return n.Metric(passivationsMetric) == n.Metric(activationsMetric)
	})
}

// Issue 10, attack 5 (second half), as a caller from outside: a user holding many rooms lists
// their accesses. The listing is answered from the index the rooms maintain: all accesses,
// correctly filtered, no room activated, and a number of Redis commands that does not grow with
// the number of rooms (it was 4 per room, and one activation per room).
func TestAccessListOfManyRoomsActivatesNoRoom(t *testing.T) {
	const rooms = 150
	redisServer := servicetest.StartRedis(t)
	for _, store := range []struct {
		name     string
		redisURL string
	}{
		{"redis", redisServer.URL},
		{"in-process store", ""},
	} {
		t.Run(store.name, func(t *testing.T) {
			n := servicetest.StartNode(t, map[string]string{
				"REDIS_URL":                    store.redisURL,
				"ROOM_IDLE_TIMEOUT":            "0.05",
				"ROOM_CREATION_THROTTLE_RATES": "100000/second",
			})
			alice := rtRegister(t, n, "alice")
			bob := rtRegister(t, n, "bob")
			aliceSees, bobSees := map[string]string{}, map[string]string{}
			for i := range rooms {
				id := alice.CreateRoom(map[string]any{"name": servicetest.UniqueRoomName("Flood")}).ID
				aliceSees[id+"/"+alice.ID] = "owner"
				if i%10 == 0 {
					alice.Grant(id, bob.ID, "member")
					aliceSees[id+"/"+bob.ID] = "member"
					bobSees[id+"/"+bob.ID] = "member"
				}
			}
			waitAllPassivated(t, n)
			activations := n.Metric(activationsMetric)

			var before int64
			if store.redisURL != "" {
				before = redisServer.CommandsProcessed(t)
			}
			got := accessRoles(t, rtAccesses(t, alice.Client, ""))
			if store.redisURL != "" {
				// The second INFO counts the first; the rest is authentication and the listing.
				commands := redisServer.CommandsProcessed(t) - before - 1
				t.Logf("GET resource-accesses/ over %d rooms: %d Redis commands", rooms, commands)
				if commands > 5 {
					t.Errorf("GET resource-accesses/ over %d rooms cost %d Redis commands, want at most 5", rooms, commands)
				}
			}
			if !maps.Equal(got, aliceSees) {
				t.Errorf("owner of %d rooms sees %d accesses, want %d: %v", rooms, len(got), len(aliceSees), got)
			}
			// A member sees their own accesses only.
			if got := accessRoles(t, rtAccesses(t, bob.Client, "")); !maps.Equal(got, bobSees) {
				t.Errorf("member sees %v, want %v", got, bobSees)
			}
			if now := n.Metric(activationsMetric); now != activations {
				t.Errorf("listing accesses activated %v rooms, want none", now-activations)
			}
		})
	}
}

// Accesses seen through the index follow a grant, a role change and a removal at once: the
// index is written in the save that makes the change.
func TestAccessListFollowsChangesAtOnce(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := rtRegister(t, n, "alice")
	bob := rtRegister(t, n, "bob")
	room := alice.CreateRoom(map[string]any{"name": servicetest.UniqueRoomName("Changes")}).ID
	owner := room + "/" + alice.ID
	member := room + "/" + bob.ID
	check := func(step string, c *servicetest.Client, want map[string]string) {
		t.Helper()
		for _, query := range []string{"", "?resource=" + room} {
			if got := accessRoles(t, rtAccesses(t, c, query)); !maps.Equal(got, want) {
				t.Errorf("%s, listing %q: %v, want %v", step, query, got, want)
			}
		}
	}
	check("created", alice.Client, map[string]string{owner: "owner"})
	check("created, no role", bob.Client, map[string]string{})

	access := alice.Grant(room, bob.ID, "member")
	check("granted", alice.Client, map[string]string{owner: "owner", member: "member"})
	check("granted, the member", bob.Client, map[string]string{member: "member"})

	res := alice.Do(http.MethodPatch, servicetest.Path("resource-accesses", access), map[string]any{"role": "administrator"})
	rtStatus(t, res, http.StatusOK, "promote")
	check("promoted", alice.Client, map[string]string{owner: "owner", member: "administrator"})
	check("promoted, the administrator", bob.Client, map[string]string{owner: "owner", member: "administrator"})

	rtStatus(t, alice.Do(http.MethodDelete, servicetest.Path("resource-accesses", access), nil), http.StatusNoContent, "remove")
	check("removed", alice.Client, map[string]string{owner: "owner"})
	check("removed, the former administrator", bob.Client, map[string]string{})

	rtStatus(t, alice.Do(http.MethodDelete, servicetest.Path("rooms", room), nil), http.StatusNoContent, "delete room")
	check("room deleted", alice.Client, map[string]string{})
}

// A room stored before the index existed has no entry in it: the listing asks that room once,
// the room writes its entry, and later listings activate nothing.
func TestAccessListAsksRoomsStoredBeforeTheIndexOnce(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{"ROOM_IDLE_TIMEOUT": "0.05"})
	alice := rtRegister(t, n, "alice")
	bob := rtRegister(t, n, "bob")
	want := map[string]string{}
	var rooms []string
	for range 3 {
		id := alice.CreateRoom(map[string]any{"name": servicetest.UniqueRoomName("Old")}).ID
		alice.Grant(id, bob.ID, "administrator")
		want[id+"/"+alice.ID], want[id+"/"+bob.ID] = "owner", "administrator"
		rooms = append(rooms, id)
	}
	// Two rooms as a version without the index left them.
	if err := n.Redis.Client().HDel(context.Background(), roomAccessesHash, rooms[0], rooms[1]).Err(); err != nil {
		t.Fatal(err)
	}
	waitAllPassivated(t, n)
	activations := n.Metric(activationsMetric)
	if got := accessRoles(t, rtAccesses(t, bob.Client, "")); !maps.Equal(got, want) {
		t.Errorf("first listing: %v, want %v", got, want)
	}
	if now := n.Metric(activationsMetric); now != activations+2 {
		t.Errorf("first listing activated %v rooms, want the 2 without an index entry", now-activations)
	}
	waitAllPassivated(t, n)
	activations = n.Metric(activationsMetric)
	if got := accessRoles(t, rtAccesses(t, alice.Client, "")); !maps.Equal(got, want) {
		t.Errorf("second listing: %v, want %v", got, want)
	}
	if got := accessRoles(t, rtAccesses(t, alice.Client, "?resource="+rooms[0])); len(got) != 2 {
		t.Errorf("listing of a formerly unindexed room: %v", got)
	}
	if now := n.Metric(activationsMetric); now != activations {
		t.Errorf("listings after the rooms wrote their entries activated %v rooms, want none", now-activations)
	}
}
