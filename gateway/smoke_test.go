package gateway_test

import (
	"net/http"
	"testing"

	"meetcoord/cluster/clustertest"
)

func TestSmoke(t *testing.T) {
	n := clustertest.StartNode(t, nil)
	alice := n.Client(n.Token("alice", "alice@example.org", "Alice Martin"))
	res := alice.Do(http.MethodPost, clustertest.Path("rooms"), map[string]any{"name": "Standup", "access_level": "restricted"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	id := res.JSON()["id"].(string)
	n.Restart()
	res = alice.Do(http.MethodGet, clustertest.Path("rooms", id), nil)
	if res.Status != http.StatusOK || res.JSON()["name"] != "Standup" {
		t.Fatalf("after restart: %d %s", res.Status, res.Body)
	}
}
