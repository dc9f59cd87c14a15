package servicetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
)

// Client is one HTTP caller of a node: a browser with its own cookie jar and, optionally, a user
// token.
type Client struct {
	t     testing.TB
	node  *Node
	http  *http.Client
	Token string // bearer token; empty for an anonymous caller
}

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as an object.
func (r Response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Client returns a new caller (own cookies) with the given bearer token ("" for anonymous).
func (n *Node) Client(token string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: n.t, node: n, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}, Token: token}
}

// Do sends a request with a JSON body (nil for none) to a path below the node's URL.
func (c *Client) Do(method, path string, body any, headers ...string) Response {
	c.t.Helper()
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.node.URL+path, reader)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// Cookie returns the value of a cookie the node set for this client.
func (c *Client) Cookie(name string) string {
	req, _ := http.NewRequest(http.MethodGet, c.node.URL+"/", nil)
	for _, ck := range c.http.Jar.Cookies(req.URL) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// WebhookBody encodes an event as LiveKit does (protojson).
func WebhookBody(t testing.TB, event *livekit.WebhookEvent) []byte {
	t.Helper()
	b, err := protojson.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SignWebhook makes LiveKit's Authorization value for a body: a JWT signed with the API secret
// whose sha256 claim is the body's base64 SHA-256, valid from now for validFor. A negative
// validFor makes a token that expired that long ago (the protocol library cannot mint those, so
// the claims are written here as LiveKit writes them).
func SignWebhook(t testing.TB, body []byte, key, secret string, validFor time.Duration) string {
	t.Helper()
	sum := sha256.Sum256(body)
	now := time.Now()
	issued := now
	if validFor < 0 {
		issued = now.Add(2 * validFor)
	}
	claims := jwt.MapClaims{
		"iss":    key,
		"nbf":    issued.Unix(),
		"iat":    issued.Unix(),
		"exp":    now.Add(validFor).Unix(),
		"sha256": base64.StdEncoding.EncodeToString(sum[:]),
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// PostWebhook delivers a signed webhook to the node, signed with the node's LiveKit key.
func (n *Node) PostWebhook(event *livekit.WebhookEvent) Response {
	n.t.Helper()
	body := WebhookBody(n.t, event)
	return n.PostRawWebhook(body, SignWebhook(n.t, body, n.Env["LIVEKIT_API_KEY"], n.Env["LIVEKIT_API_SECRET"], 5*time.Minute))
}

// PostRawWebhook delivers a body with the given Authorization value ("" for none).
func (n *Node) PostRawWebhook(body []byte, authorization string) Response {
	n.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, n.URL+"/api/v1.0/rooms/webhooks-livekit/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/webhook+json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("post webhook: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// Eventually retries cond until it holds or the deadline passes (for effects that happen after
// the reply, such as notifications sent by a room's outbox).
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Path joins API path segments: Path("rooms", id, "enter") = /api/v1.0/rooms/<id>/enter/.
func Path(segments ...string) string {
	return "/api/v1.0/" + strings.Join(segments, "/") + "/"
}
