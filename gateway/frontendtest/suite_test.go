package frontendtest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"meetcoord/cmd/meetcoord/service/servicetest"
	gwauth "meetcoord/gateway/auth"
	"meetcoord/gateway/auth/oidctest"
)

// ChromiumEnv names the Chromium binary (`make test` installs it: scripts/chromium.sh);
// FrontendDirEnv the built front end (default: ../shared/meet-frontend/dist from the repository).
const (
	ChromiumEnv    = "MEETCOORD_TEST_CHROMIUM"
	FrontendDirEnv = "MEETCOORD_TEST_FRONTEND_DIR"
)

// suite is one node serving the front end, with browser login against a test identity provider,
// a real livekit-server and the egress stand-in; scenarios run one after the other on it, each
// with its own browsers, users and rooms.
type suite struct {
	chromium string
	node     *servicetest.Node
	lk       *servicetest.LiveKitServer
	egress   *servicetest.EgressStandIn
	provider *oidctest.Provider
	rooms    *lksdk.RoomServiceClient
}

var (
	ada   = gwauth.Claims{Subject: "ada-sub", Email: "ada@example.org", FullName: "Ada Lovelace", ShortName: "Ada", Language: "en-us"}
	bob   = gwauth.Claims{Subject: "bob-sub", Email: "bob@example.org", FullName: "Bob Babbage", ShortName: "Bob", Language: "en-us"}
	carol = gwauth.Claims{Subject: "carol-sub", Email: "carol@example.org", FullName: "Carol Clerk", ShortName: "Carol", Language: "en-us"}
)

func startSuite(t *testing.T) *suite {
	t.Helper()
	s := &suite{chromium: chromiumPath(t)}
	dist := frontendDir(t)
	lksdk.SetLogger(protologger.GetDiscardLogger())
	s.provider = oidctest.Start(t, "meet-client", "client-secret")
	addr := servicetest.FreeAddr(t)
	s.node, s.lk, s.egress = servicetest.StartNodeWithEgress(t, map[string]string{
		"LISTEN_ADDR":           addr,
		"FRONTEND_DIR":          dist,
		"APP_BASE_URL":          "http://" + addr,
		"OIDC_ISSUER":           s.provider.URL,
		"OIDC_RP_CLIENT_ID":     s.provider.ClientID,
		"OIDC_RP_CLIENT_SECRET": s.provider.ClientSecret,
		"OIDC_RP_SCOPES":        "openid email profile",
		"SESSION_COOKIE_SECURE": "false",
		"RECORDING_ENABLE":      "true",
		"LOG_LEVEL":             "warn",
	})
	s.rooms = lksdk.NewRoomServiceClient(s.lk.URL, s.lk.Key, s.lk.Secret)
	return s
}

// chromiumPath is MEETCOORD_TEST_CHROMIUM, else chromium on the PATH; missing is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v (scripts/chromium.sh installs Chromium)", ChromiumEnv, p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("Chromium not found: run the tests with `make test` (scripts/chromium.sh installs it) or set %s", ChromiumEnv)
	return ""
}

// frontendDir is MEETCOORD_TEST_FRONTEND_DIR, else ../shared/meet-frontend/dist next to the
// repository; a missing build is a failure.
func frontendDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(FrontendDirEnv)
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "..", "shared", "meet-frontend", "dist")
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		t.Fatalf("the reference front end's build is missing (%v): set %s to its dist folder", err, FrontendDirEnv)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// repoRoot is the folder of go.mod above the test's working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// logIn logs b in as who through the front end's Login button: the provider approves who at
// once, and nobody afterwards (other browsers' silent logins are declined).
func (s *suite) logIn(b *browser, who gwauth.Claims) {
	b.t.Helper()
	s.openLoggedOut(b)
	s.provider.LogIn(who)
	defer s.provider.LogOut()
	b.click("Login")
	b.waitText(who.FullName)
}

// openLoggedOut opens the home page and waits until the front end has settled as logged out:
// its silent login attempt (config is_silent_login_enabled) came back declined.
func (s *suite) openLoggedOut(b *browser) {
	b.t.Helper()
	b.open("/")
	if s.silentLogin(b.t) {
		b.waitUntil("the silent login to be declined", `localStorage.getItem('silent-login-retry') !== null &&
  location.origin === `+jsString(b.base)+` && location.pathname === '/' && document.readyState === 'complete'`)
	}
	b.waitText("Login")
}

// silentLogin tells whether the front end tries a silent login (GET config/).
func (s *suite) silentLogin(t *testing.T) bool {
	t.Helper()
	return s.node.Client("").Do(http.MethodGet, servicetest.Path("config"), nil).JSON()["is_silent_login_enabled"] == true
}

// roomID is the id of the room at slug, as the API gives it.
func (s *suite) roomID(t *testing.T, slug string) string {
	t.Helper()
	res, err := http.Get(s.node.URL + "/api/v1.0/rooms/" + slug + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var room struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&room); err != nil || room.ID == "" {
		t.Fatalf("room %s: %d, no id (%v)", slug, res.StatusCode, err)
	}
	return room.ID
}

// participants lists who LiveKit has in the room.
func (s *suite) participants(t *testing.T, roomID string) []*livekit.ParticipantInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: roomID})
	if err != nil {
		return nil // the room does not exist yet
	}
	return res.GetParticipants()
}

// waitInRoom waits until LiveKit has every one of names (participant names) in the room.
func (s *suite) waitInRoom(t *testing.T, roomID string, names ...string) {
	t.Helper()
	servicetest.Eventually(t, waitFor, "LiveKit room "+roomID+" to hold "+joinNames(names), func() bool {
		in := map[string]bool{}
		for _, p := range s.participants(t, roomID) {
			in[p.GetName()] = true
		}
		for _, n := range names {
			if !in[n] {
				return false
			}
		}
		return true
	})
}

// participant is the LiveKit participant named name in the room, nil when absent.
func (s *suite) participant(t *testing.T, roomID, name string) *livekit.ParticipantInfo {
	t.Helper()
	for _, p := range s.participants(t, roomID) {
		if p.GetName() == name {
			return p
		}
	}
	return nil
}

func joinNames(names []string) string {
	b, _ := json.Marshal(names)
	return string(b)
}

// api reads the API as a user, with a bearer token from the same identity provider.
func (s *suite) api(t *testing.T, who gwauth.Claims, path string) servicetest.Response {
	t.Helper()
	return s.node.Client(s.provider.AccessToken(who)).Do(http.MethodGet, path, nil)
}

// me is GET users/me/ for who.
func (s *suite) me(t *testing.T, who gwauth.Claims) map[string]any {
	t.Helper()
	return s.api(t, who, servicetest.Path("users", "me")).JSON()
}

// roomField is one field of the room at slug, as its owner Ada reads it.
func (s *suite) roomField(t *testing.T, slug, field string) any {
	t.Helper()
	return s.api(t, ada, servicetest.Path("rooms", slug)).JSON()[field]
}

// onlyRecording waits for the room's one recording (as Ada sees them) and gives its id.
func (s *suite) onlyRecording(t *testing.T, slug string) string {
	t.Helper()
	roomID := s.roomID(t, slug)
	var id string
	servicetest.Eventually(t, waitFor, "a recording of room "+slug, func() bool {
		var list struct {
			Results []struct {
				ID   string `json:"id"`
				Room struct {
					ID string `json:"id"`
				} `json:"room"`
			} `json:"results"`
		}
		res := s.api(t, ada, servicetest.Path("recordings"))
		if json.Unmarshal(res.Body, &list) != nil {
			return false
		}
		for _, r := range list.Results {
			if r.Room.ID == roomID {
				id = r.ID
				return true
			}
		}
		return false
	})
	return id
}

// recordingStatus is a recording's status as Ada reads it.
func (s *suite) recordingStatus(t *testing.T, id string) any {
	t.Helper()
	return s.api(t, ada, servicetest.Path("recordings", id)).JSON()["status"]
}
