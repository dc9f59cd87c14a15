package gateway_test

import (
	"fmt"
	"net/http"
	"testing"

	"meetcoord/cluster/clustertest"
)

// TestLobbyDecisionStoreDown: a decision writes its lobby entry before it is answered; when the
// store cannot take it, the answer is 503 and the lobby is as it was (nothing half-applied).
func TestLobbyDecisionStoreDown(t *testing.T) {
	redisServer := clustertest.StartRedis(t)
	n := clustertest.StartNode(t, map[string]string{"REDIS_URL": redisServer.URL, "REDIS_TIMEOUT": "0.5"})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID, admitted := restrictedRoomWithAdmitted(t, n, owner)
	waiting := n.Client("")
	waitingID := lobbyKnock(t, waiting, roomID, "Wanda").ID
	admittedID := lobbyKnock(t, admitted, roomID, "Guest").ID

	redisServer.Stop()
	decisions := []struct {
		id    string
		allow bool
	}{{waitingID, true}, {waitingID, false}, {admittedID, false}}
	for _, d := range decisions {
		if res := lobbyDecide(owner, roomID, d.id, d.allow); res.Status != http.StatusServiceUnavailable {
			t.Fatalf("decision (allow=%v) with Redis down: %d %s, want 503", d.allow, res.Status, res.Body)
		}
	}
	for _, c := range []struct {
		who    *clustertest.Client
		status string
	}{{waiting, "waiting"}, {admitted, "accepted"}} {
		if got := entryStatus(t, c.who, roomID); got != c.status {
			t.Errorf("after failed decisions: %s, want %s", got, c.status)
		}
	}
	if got := fmt.Sprint(lobbyWaitingIDs(t, owner, roomID)); got != fmt.Sprint([]string{waitingID}) {
		t.Errorf("waiting list after failed decisions %s, want [%s]", got, waitingID)
	}
}
