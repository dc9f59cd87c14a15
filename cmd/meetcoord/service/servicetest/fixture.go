package servicetest

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	gwauth "meetcoord/gateway/auth"
)

// The set-up every API test needs: registered users, their rooms and their roles. Each helper
// fails the test when the node refuses, so a test's own checks start from a known state.

// User is a registered user (users/me called once) with a client of their own.
type User struct {
	*Client
	ID       string // user id, as users/me gives it
	Subject  string // subject of the user's token
	Email    string
	FullName string
}

// Unique is name, a dash and a random suffix: a subject of its own for each use, where tests
// share a node.
func Unique(name string) string { return name + "-" + uuid.NewString()[:8] }

// UniqueRoomName is prefix, a space and a random suffix: a room's slug is its name slugified and
// a taken slug is refused, so tests that make many rooms with incidental names give each its own.
func UniqueRoomName(prefix string) string { return prefix + " " + uuid.NewString()[:8] }

// NewUser registers a user with a subject unique to the test (name and a random suffix), email
// <subject>@example.org and full name "User <name>".
func (n *Node) NewUser(name string) User {
	n.t.Helper()
	return n.NewUserNamed(name, "User "+name)
}

// NewUserNamed is NewUser with a chosen full name.
func (n *Node) NewUserNamed(name, fullName string) User {
	n.t.Helper()
	sub := Unique(name)
	return n.RegisterUser(UserClaims(sub, sub+"@example.org", fullName))
}

// RegisterUser registers the user with exactly these claims (a chosen subject, email, language,
// no full name...): their first users/me, which must answer 200 with their id.
func (n *Node) RegisterUser(claims gwauth.Claims) User {
	n.t.Helper()
	token, err := n.Issuer.Mint(claims, "", time.Hour)
	if err != nil {
		n.t.Fatal(err)
	}
	c := n.Client(token)
	res := c.Do(http.MethodGet, Path("users", "me"), nil)
	if res.Status != http.StatusOK {
		n.t.Fatalf("users/me of %s: %d %s", claims.Subject, res.Status, res.Body)
	}
	id, _ := res.JSON()["id"].(string)
	if _, err := uuid.Parse(id); err != nil {
		n.t.Fatalf("users/me of %s: id %q is not a UUID: %s", claims.Subject, id, res.Body)
	}
	return User{Client: c, ID: id, Subject: claims.Subject, Email: claims.Email, FullName: claims.FullName}
}

// UserClaims are the claims of a user's token as the test issuer mints them (Token): the short
// name is the first word of the full name.
func UserClaims(sub, email, fullName string) gwauth.Claims {
	return gwauth.Claims{Subject: sub, Email: email, FullName: fullName, ShortName: strings.Fields(fullName + " x")[0]}
}

// Room is a room as its creation answered.
type Room struct {
	ID   string
	Slug string
	JSON map[string]any // the whole answer
}

// CreateRoom creates a room with these fields as c. Without a "name" the room gets a unique one
// ("Room <random>"). The node must answer 201 with a room whose id is a UUID.
func (c *Client) CreateRoom(fields map[string]any) Room {
	c.t.Helper()
	if _, named := fields["name"]; !named {
		withName := map[string]any{"name": UniqueRoomName("Room")}
		for k, v := range fields {
			withName[k] = v
		}
		fields = withName
	}
	res := c.Do(http.MethodPost, Path("rooms"), fields)
	if res.Status != http.StatusCreated {
		c.t.Fatalf("create room %v: status %d, want 201; body %s", fields, res.Status, res.Body)
	}
	room := res.JSON()
	id, _ := room["id"].(string)
	if _, err := uuid.Parse(id); err != nil {
		c.t.Fatalf("create room: id %q is not a UUID: %s", id, res.Body)
	}
	slug, _ := room["slug"].(string)
	return Room{ID: id, Slug: slug, JSON: room}
}

// Grant gives the user userID a role on a room, as c, and returns the access id. The node must
// answer 201.
func (c *Client) Grant(roomID, userID, role string) string {
	c.t.Helper()
	res := c.Do(http.MethodPost, Path("resource-accesses"), map[string]any{"user": userID, "resource": roomID, "role": role})
	if res.Status != http.StatusCreated {
		c.t.Fatalf("grant %s to %s: status %d, want 201; body %s", role, userID, res.Status, res.Body)
	}
	id, _ := res.JSON()["id"].(string)
	return id
}
