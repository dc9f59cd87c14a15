package gateway_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// testUser is a registered user (users/me called once) with a client of their own.
type testUser struct {
	c   *servicetest.Client
	id  string
	sub string
}

// registerUser makes a user with a unique subject and registers them by calling users/me.
func registerUser(t *testing.T, n *servicetest.Node, name string) testUser {
	t.Helper()
	sub := name + "-" + uuid.NewString()[:8]
	c := n.Client(n.Token(sub, sub+"@example.org", "User "+name))
	res := c.Do(http.MethodGet, servicetest.Path("users", "me"), nil)
	if res.Status != http.StatusOK {
		t.Fatalf("users/me of %s: %d %s", sub, res.Status, res.Body)
	}
	id, _ := res.JSON()["id"].(string)
	if id == "" {
		t.Fatalf("users/me of %s: no id in %s", sub, res.Body)
	}
	return testUser{c: c, id: id, sub: sub}
}

// createRoomAs creates a room owned by owner and returns its id.
func createRoomAs(t *testing.T, owner testUser, name, level string) string {
	t.Helper()
	res := owner.c.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": name, "access_level": level})
	if res.Status != http.StatusCreated {
		t.Fatalf("create %s room: %d %s", level, res.Status, res.Body)
	}
	id, _ := res.JSON()["id"].(string)
	if id == "" {
		t.Fatalf("create room: no id in %s", res.Body)
	}
	return id
}

// uniqueRoomName is prefix and a random suffix: a room's slug is its name slugified and a taken
// slug is refused, so tests that make many rooms with incidental names give each its own.
func uniqueRoomName(prefix string) string { return prefix + " " + uuid.NewString()[:8] }

// grantRole gives u a role on a room, as owner.
func grantRole(t *testing.T, owner testUser, roomID string, u testUser, role string) {
	t.Helper()
	res := owner.c.Do(http.MethodPost, servicetest.Path("resource-accesses"),
		map[string]any{"user": u.id, "resource": roomID, "role": role})
	if res.Status != http.StatusCreated {
		t.Fatalf("grant %s to %s: %d %s", role, u.sub, res.Status, res.Body)
	}
}
