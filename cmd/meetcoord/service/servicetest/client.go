package servicetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
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
	base  string // URL of the node it talks to
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
	return NewClient(n.t, n.URL, token)
}

// NewClient returns a caller of the node at baseURL (a node started as a process, see
// StartProcess) with a cookie jar of its own and the given bearer token ("" for anonymous).
func NewClient(t testing.TB, baseURL, token string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, base: baseURL, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}, Token: token}
}

// Via is the same caller (token, cookies, connections) talking to the node at baseURL: another
// node of the same cluster. Cookies do not depend on the port, so the nodes of a test cluster
// (all on 127.0.0.1) see the same cookies.
func (c *Client) Via(baseURL string) *Client {
	via := *c
	via.base = baseURL
	return &via
}

// Fresh is a new browser of the same user: same node, token and connections, an empty cookie jar.
func (c *Client) Fresh() *Client {
	jar, _ := cookiejar.New(nil)
	fresh := *c
	fresh.http = &http.Client{Jar: jar, Timeout: c.http.Timeout, Transport: c.http.Transport}
	return &fresh
}

// WithTransport is the same caller sending through transport, with requests that time out after
// timeout: the callers of a load generator share one pool of connections.
func (c *Client) WithTransport(transport http.RoundTripper, timeout time.Duration) *Client {
	pooled := *c
	pooled.http = &http.Client{Jar: c.http.Jar, Timeout: timeout, Transport: transport}
	return &pooled
}

// Do sends a request with a JSON body (nil for none) to a path below the node's URL; a request
// that gets no answer fails the test.
func (c *Client) Do(method, path string, body any, headers ...string) Response {
	c.t.Helper()
	res, err := c.Request(method, path, body, headers...)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

// Request is Do reporting a request that gets no answer instead of failing the test, for load
// generators (they run off the test goroutine, and some of their requests may be refused).
// headers are name/value pairs.
func (c *Client) Request(method, path string, body any, headers ...string) (Response, error) {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Response{}, fmt.Errorf("encode the body of %s %s: %w", method, path, err)
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, reader)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
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
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// Cookie returns the value of a cookie the node set for this client.
func (c *Client) Cookie(name string) string {
	req, _ := http.NewRequest(http.MethodGet, c.base+"/", nil)
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
