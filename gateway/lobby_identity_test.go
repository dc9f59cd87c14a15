package gateway_test

import (
	"net/http"
	"testing"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// Issue 10, attacks 1 and 2, as a caller from outside: a participant id seen anywhere (an admin's
// waiting list, a LiveKit identity in a meeting) is useless as a lobby cookie, and no cookie
// value yields a LiveKit identity of the caller's choosing.
func TestLobbyIdsCannotBeReusedOrChosen(t *testing.T) {
	// Waiting entries outlive a slow step on a loaded machine.
	n := servicetest.StartNode(t, map[string]string{"LOBBY_WAITING_TIMEOUT": "60"})
	ownerA := n.NewUserNamed("owner-a", "Owner A")
	ownerB := n.NewUserNamed("owner-b", "Owner B") // also the attacker: admin of room B only
	roomA := ownerA.CreateRoom(map[string]any{"access_level": "restricted"}).ID
	roomB := ownerB.CreateRoom(map[string]any{"access_level": "restricted"}).ID

	// A guest knocks at both rooms with one browser (one cookie) and is admitted into A.
	guest := n.Client("")
	inA := lobbyKnock(t, guest, roomA, "Guest")
	inB := lobbyKnock(t, guest, roomB, "Guest")
	if inA.ID == inB.ID {
		t.Fatalf("one guest has the same participant id %s in two rooms", inA.ID)
	}
	lobbyMustDecide(t, ownerA.Client, roomA, inA.ID, true)
	admitted := lobbyKnock(t, guest, roomA, "Guest")
	lobbyExpectStatus(t, admitted, "accepted")
	guestIdentity := lobbyClaims(t, n, admitted.LiveKit.Token).Identity

	// What the attacker can see of the guest: the id in B's waiting list and the guest's LiveKit
	// identity in A's meeting. Neither, sent as a cookie, gets into room A or takes the identity.
	seen := map[string]string{"the id in room B's waiting list": lobbyWaitingIDs(t, ownerB.Client, roomB)[0], "the LiveKit identity in room A": guestIdentity}
	for what, id := range seen {
		for _, attacker := range []*servicetest.Client{ownerB.Client, n.Client("")} {
			res := lobbyRequestEntry(attacker, roomA, "Mallory", "Cookie", lobbyCookieName+"="+id)
			e := lobbyDecodeEntry(t, res)
			if e.Status != "waiting" || e.LiveKit != nil {
				t.Fatalf("%s sent as a cookie at room A: status %q, LiveKit %v; want a new waiting entry", what, e.Status, e.LiveKit)
			}
			if e.ID == admitted.ID || e.ID == guestIdentity {
				t.Fatalf("%s sent as a cookie gave the guest's participant id %s", what, e.ID)
			}
		}
	}

	// A logged-in user's sub (a UUID at Keycloak) sent as a cookie at a public room does not make
	// the anonymous caller's LiveKit identity that sub.
	public := ownerA.CreateRoom(map[string]any{"access_level": "public"}).ID
	victimSub := "6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60"
	res := n.Client("").Do(http.MethodGet, servicetest.Path("rooms", public), nil, "Cookie", lobbyCookieName+"="+victimSub)
	if res.Status != http.StatusOK {
		t.Fatalf("public room: %d %s", res.Status, res.Body)
	}
	lk, _ := res.JSON()["livekit"].(map[string]any)
	token, _ := lk["token"].(string)
	if token == "" {
		t.Fatalf("public room gave no token: %s", res.Body)
	}
	if id := lobbyClaims(t, n, token).Identity; id == victimSub {
		t.Fatalf("a cookie chose the LiveKit identity %s", id)
	}
}
