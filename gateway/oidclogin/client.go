// Package oidclogin is the relying-party side of the OpenID Connect authorization-code flow that
// browser login uses: the redirect to the identity provider (with state, nonce and a PKCE
// challenge), the exchange of the code for tokens, the check of the ID token, and the provider's
// logout URL. Where the flow's state is kept between the two halves is the caller's business.
package oidclogin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"meetcoord/gateway/auth"
)

// ErrRefused is wrapped when the provider refused the login (bad code, PKCE verifier or client
// credentials) or sent an ID token that does not check out: the user must start again.
var ErrRefused = errors.New("oidclogin: login refused")

// Config is how the service is registered with the identity provider.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string   // the callback endpoint's absolute URL, as registered
	Scopes       []string // "openid" is required
	// HTTPClient is used for discovery, the token endpoint and JWKS; nil: a client with a 10 s
	// timeout.
	HTTPClient *http.Client
}

// Client runs the flow against one provider. Discovery happens on first use and is retried on
// later calls while it fails, so that a provider down at start-up does not stop the service.
type Client struct {
	cfg Config

	mu       sync.Mutex
	provider *discovered
}

type discovered struct {
	oauth2     oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string // end_session_endpoint, empty when the provider has none
}

// New returns a client; no network access happens here.
func New(cfg Config) *Client {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{cfg: cfg}
}

// Flow is what must be remembered between the redirect and the callback, and only there: the
// state (also sent to the provider), the PKCE verifier and the nonce (sent hashed or inside the
// ID token, never in clear to anyone but the provider's token endpoint).
type Flow struct {
	State    string `json:"state"`
	Verifier string `json:"verifier"`
	Nonce    string `json:"nonce"`
}

// NewFlow draws a fresh state, PKCE verifier and nonce.
func NewFlow() Flow {
	return Flow{State: randomToken(), Verifier: oauth2.GenerateVerifier(), Nonce: randomToken()}
}

// Identity is the outcome of a successful login.
type Identity struct {
	Claims  auth.Claims
	IDToken string // raw, kept as the id_token_hint of a later logout
}

// AuthCodeURL is where the browser goes to log in. silent asks the provider not to show any
// page (prompt=none): it answers at once, with a code or with login_required.
func (c *Client) AuthCodeURL(ctx context.Context, f Flow, silent bool) (string, error) {
	d, err := c.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce)}
	if silent {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "none"))
	}
	return d.oauth2.AuthCodeURL(f.State, opts...), nil
}

// Exchange trades the callback's code for tokens (proving possession of the PKCE verifier) and
// checks the ID token: signature, issuer, audience (our client id), expiry and nonce.
func (c *Client) Exchange(ctx context.Context, code string, f Flow) (Identity, error) {
	d, err := c.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = oidc.ClientContext(ctx, c.cfg.HTTPClient)
	tok, err := d.oauth2.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var refused *oauth2.RetrieveError
		if errors.As(err, &refused) && refused.Response != nil && refused.Response.StatusCode < 500 {
			return Identity{}, fmt.Errorf("%w: token endpoint: %w", ErrRefused, err)
		}
		return Identity{}, fmt.Errorf("%w: token endpoint: %w", auth.ErrProviderUnavailable, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, fmt.Errorf("%w: no id_token in the token response", ErrRefused)
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		if ctx.Err() != nil {
			return Identity{}, fmt.Errorf("oidclogin: verify ID token: %w", ctx.Err())
		}
		return Identity{}, fmt.Errorf("%w: ID token: %w", ErrRefused, err)
	}
	if idt.Nonce != f.Nonce {
		return Identity{}, fmt.Errorf("%w: ID token nonce does not match the login", ErrRefused)
	}
	if idt.Subject == "" {
		return Identity{}, fmt.Errorf("%w: ID token without sub", ErrRefused)
	}
	var profile auth.Profile
	if err := idt.Claims(&profile); err != nil {
		return Identity{}, fmt.Errorf("%w: ID token claims: %w", ErrRefused, err)
	}
	return Identity{Claims: profile.Claims(idt.Subject), IDToken: raw}, nil
}

// EndSessionURL is the provider's RP-initiated logout URL (OpenID Connect RP-Initiated Logout
// 1.0) that sends the browser back to postLogoutRedirect; ok=false when the provider publishes
// no end_session_endpoint (or cannot be reached: logging out locally must still work).
func (c *Client) EndSessionURL(ctx context.Context, idTokenHint, postLogoutRedirect string) (string, bool) {
	d, err := c.discover(ctx)
	if err != nil || d.endSession == "" {
		return "", false
	}
	u, err := url.Parse(d.endSession)
	if err != nil {
		return "", false
	}
	q := u.Query()
	q.Set("client_id", c.cfg.ClientID)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if postLogoutRedirect != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirect)
	}
	u.RawQuery = q.Encode()
	return u.String(), true
}

// discover fetches the provider's metadata once it succeeds; failures are retried on the next
// call (logins are rare enough that no throttle is needed).
func (c *Client) discover(ctx context.Context) (*discovered, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, c.cfg.HTTPClient), c.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery for %q: %w", auth.ErrProviderUnavailable, c.cfg.Issuer, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&extra); err != nil {
		return nil, fmt.Errorf("%w: discovery for %q: %w", auth.ErrProviderUnavailable, c.cfg.Issuer, err)
	}
	endpoint := p.Endpoint()
	// client_secret_basic, OpenID Connect's default client authentication. x/oauth2's
	// auto-detection would retry a refused exchange with the secret in the body, spending the
	// one-time code twice and hiding the first refusal.
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	c.provider = &discovered{
		oauth2: oauth2.Config{
			ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, RedirectURL: c.cfg.RedirectURL,
			Endpoint: endpoint, Scopes: c.cfg.Scopes,
		},
		verifier:   p.Verifier(&oidc.Config{ClientID: c.cfg.ClientID}),
		endSession: extra.EndSession,
	}
	return c.provider, nil
}

// randomToken is 128 random bits, URL-safe (base32).
func randomToken() string { return rand.Text() }
