package gateway_test

import (
	"net/http"
	"testing"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

func TestSmoke(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := n.Client(n.Token("alice", "alice@example.org", "Alice Martin"))
	res := alice.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "Standup", "access_level": "restricted"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	id := res.JSON()["id"].(string)
	n.Restart()
	res = alice.Do(http.MethodGet, servicetest.Path("rooms", id), nil)
	if res.Status != http.StatusOK || res.JSON()["name"] != "Standup" {
		t.Fatalf("after restart: %d %s", res.Status, res.Body)
	}
}
