package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// withEmail registers a user with a chosen email (users/me once).
func withEmail(t *testing.T, n *servicetest.Node, sub, email string) servicetest.User {
	t.Helper()
	return n.RegisterUser(servicetest.UserClaims(sub, email, "User "+sub))
}

func searchUsers(c *servicetest.Client, q, room string) servicetest.Response {
	return c.Do(http.MethodGet, "/api/v1.0/users/?q="+url.QueryEscape(q)+"&room="+url.QueryEscape(room), nil)
}

func emailsOf(t *testing.T, res servicetest.Response) []string {
	t.Helper()
	var list []map[string]any
	if err := jsonUnmarshal(res.Body, &list); err != nil {
		t.Fatalf("search answer is not a list: %s", res.Body)
	}
	var out []string
	for _, u := range list {
		if u["id"] == "" || u["full_name"] == nil {
			t.Errorf("search result without id or name: %v", u)
		}
		out = append(out, u["email"].(string))
	}
	return out
}

func TestUserSearch(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	owner := withEmail(t, n, "owner", "owner@example.org")
	admin := withEmail(t, n, "admin", "admin@example.org")
	member := withEmail(t, n, "member", "member@example.org")
	stranger := withEmail(t, n, "stranger", "stranger@example.org")
	withEmail(t, n, "carol", "Carol@Example.org")
	withEmail(t, n, "carla", "carla@example.net")
	for i := range 12 {
		withEmail(t, n, fmt.Sprintf("team%02d", i), fmt.Sprintf("team%02d@example.org", i))
	}
	room := owner.CreateRoom(map[string]any{"name": "Planning", "access_level": "restricted"}).ID
	owner.Grant(room, admin.ID, "administrator")
	owner.Grant(room, member.ID, "member")

	t.Run("owner and administrator search", func(t *testing.T) {
		tests := []struct {
			q    string
			want []string
		}{
			{"carol@example.org", []string{"Carol@Example.org"}}, // exact, case-insensitive
			{"CAR", []string{"carla@example.net", "Carol@Example.org"}},
			{"carl", []string{"carla@example.net"}},
			{"nobody@example.org", nil},
		}
		for _, who := range []servicetest.User{owner, admin} {
			for _, tt := range tests {
				res := searchUsers(who.Client, tt.q, room)
				if res.Status != http.StatusOK {
					t.Fatalf("%s searches %q: %d %s", who.Subject, tt.q, res.Status, res.Body)
				}
				if got := emailsOf(t, res); fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("%s searches %q: %v, want %v", who.Subject, tt.q, got, tt.want)
				}
			}
		}
	})

	t.Run("results are capped", func(t *testing.T) {
		res := searchUsers(owner.Client, "team", room)
		if got := emailsOf(t, res); len(got) != 10 || got[0] != "team00@example.org" {
			t.Errorf("search team: %d results %v, want the first 10", len(got), got)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		anonymous := n.Client("")
		tests := []struct {
			name  string
			c     *servicetest.Client
			q     string
			room  string
			want  int
			field string
		}{
			{"short query", owner.Client, "ca", room, http.StatusBadRequest, "q"},
			{"empty query", owner.Client, "", room, http.StatusBadRequest, "q"},
			{"blank query", owner.Client, "   ", room, http.StatusBadRequest, "q"},
			{"no room", owner.Client, "carol", "", http.StatusBadRequest, "room"},
			{"unknown room", owner.Client, "carol", "no-such-room", http.StatusNotFound, ""},
			{"member", member.Client, "carol", room, http.StatusForbidden, ""},
			{"no role", stranger.Client, "carol", room, http.StatusForbidden, ""},
			{"anonymous", anonymous, "carol", room, http.StatusUnauthorized, ""},
		}
		for _, tt := range tests {
			res := searchUsers(tt.c, tt.q, tt.room)
			if res.Status != tt.want {
				t.Errorf("%s: %d %s, want %d", tt.name, res.Status, res.Body, tt.want)
				continue
			}
			if tt.field != "" && res.JSON()[tt.field] == nil {
				t.Errorf("%s: %s does not name %s", tt.name, res.Body, tt.field)
			}
		}
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
