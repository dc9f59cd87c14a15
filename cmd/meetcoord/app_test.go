package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// runApp runs `meetcoord app args...` as the command line does and returns its output.
func runApp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	err := run(append([]string{"app"}, args...), &stdout, io.Discard)
	return stdout.String(), err
}

// field reads "name: value" from the command's output.
func field(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s in output:\n%s", name, out)
	}
	return m[1]
}

// requestToken asks the node's token endpoint for a delegated token.
func requestToken(t *testing.T, base, clientID, secret, email string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"client_id": clientID, "client_secret": secret,
		"grant_type": "client_credentials", "scope": email})
	res, err := http.Post(base+"/external-api/v1.0/application/token/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// TestAppCommands: applications created, rotated and disabled with the command line take effect
// at a running node sharing its Redis.
func TestAppCommands(t *testing.T) {
	redisURL := servicetest.RedisURL(t)
	t.Setenv("REDIS_URL", redisURL)
	t.Setenv("MEETCOORD_CONFIG_FILE", "")
	n := servicetest.StartNode(t, map[string]string{
		"REDIS_URL": redisURL, "EXTERNAL_API_ENABLED": "true",
		"APPLICATION_JWT_SECRET_KEY": "cli-test-secret-of-at-least-32-bytes!!", "APP_BASE_URL": "https://meet.example.org",
		"APPLICATION_TOKEN_THROTTLE_RATES": "100000/second",
	})
	email := n.NewUserNamed("alice", "Alice Martin").Email

	out, err := runApp(t, "create", "--name", "Calendar", "--domains", "example.org", "--scopes", "rooms:list,rooms:create")
	if err != nil {
		t.Fatal(err)
	}
	clientID, secret := field(t, out, "client_id"), field(t, out, "client_secret")
	status, body := requestToken(t, n.URL, clientID, secret, email)
	if status != http.StatusOK || body["scope"] != "rooms:list rooms:create" {
		t.Fatalf("token with the printed secret: %d %v", status, body)
	}

	list, err := runApp(t, "list")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(clientID + `\s+Calendar\s+true\s+rooms:list,rooms:create\s+example.org`).MatchString(list) {
		t.Fatalf("list:\n%s", list)
	}
	if strings.Contains(list, secret) {
		t.Fatal("list shows the secret")
	}

	out, err = runApp(t, "rotate-secret", clientID)
	if err != nil {
		t.Fatal(err)
	}
	newSecret := field(t, out, "client_secret")
	if status, _ := requestToken(t, n.URL, clientID, secret, email); status != http.StatusUnauthorized {
		t.Fatalf("old secret after rotation: %d, want 401", status)
	}
	if status, _ := requestToken(t, n.URL, clientID, newSecret, email); status != http.StatusOK {
		t.Fatalf("new secret: %d", status)
	}

	if _, err := runApp(t, "disable", clientID); err != nil {
		t.Fatal(err)
	}
	if status, body := requestToken(t, n.URL, clientID, newSecret, email); status != http.StatusUnauthorized || body["detail"] != "Application is inactive." {
		t.Fatalf("disabled application: %d %v", status, body)
	}
	if list, _ := runApp(t, "list"); !regexp.MustCompile(clientID + `\s+Calendar\s+false`).MatchString(list) {
		t.Fatalf("list after disable:\n%s", list)
	}
	if _, err := runApp(t, "enable", clientID); err != nil {
		t.Fatal(err)
	}
	if status, _ := requestToken(t, n.URL, clientID, newSecret, email); status != http.StatusOK {
		t.Fatalf("enabled again: %d", status)
	}
}

func TestAppUsageErrors(t *testing.T) {
	t.Setenv("REDIS_URL", servicetest.RedisURL(t))
	t.Setenv("MEETCOORD_CONFIG_FILE", "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage: meetcoord app"},
		{"unknown command", []string{"delete"}, `unknown command "delete"`},
		{"create without domains", []string{"create", "--name", "Calendar"}, "--name and --domains are required"},
		{"create without name", []string{"create", "--domains", "example.org"}, "--name and --domains are required"},
		{"create with an unknown flag", []string{"create", "--colour", "red"}, "flag provided but not defined: -colour"},
		{"create with an unknown scope", []string{"create", "--name", "C", "--domains", "example.org", "--scopes", "rooms:delete"}, `unknown scope "rooms:delete"`},
		{"disable without id", []string{"disable"}, "usage: meetcoord app disable CLIENT_ID"},
		{"disable unknown", []string{"disable", uuid.NewString()}, "unknown application"},
		{"rotate unknown", []string{"rotate-secret", uuid.NewString()}, "unknown application"},
		{"list with arguments", []string{"list", "extra"}, "usage: meetcoord app list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runApp(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if out != "" {
				t.Fatalf("printed %q on error", out)
			}
		})
	}
	t.Run("no REDIS_URL", func(t *testing.T) {
		t.Setenv("REDIS_URL", "")
		if _, err := runApp(t, "list"); err == nil || !strings.Contains(err.Error(), "REDIS_URL is required") {
			t.Fatalf("error %v", err)
		}
	})
}
