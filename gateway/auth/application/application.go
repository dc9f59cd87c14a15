// Package application manages the external API's applications (calendar integrations): their
// records, their client secrets, and which scopes and email domains they are allowed. The
// gateway authenticates applications with it; `meetcoord app` administers them.
package application

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Scopes an application may be granted.
const (
	ScopeRoomsList     = "rooms:list"
	ScopeRoomsCreate   = "rooms:create"
	ScopeRoomsRetrieve = "rooms:retrieve"
)

// AllScopes are the scopes that exist, in the order they are shown.
var AllScopes = []string{ScopeRoomsList, ScopeRoomsCreate, ScopeRoomsRetrieve}

// AnyDomain as an allowed domain lets the application act for users of every domain.
const AnyDomain = "*"

// ErrUnknown is returned for a client id that names no application.
var ErrUnknown = errors.New("unknown application")

// Application is a stored application. The secret itself is never stored, only its hash.
type Application struct {
	ID             string    `json:"id"`
	ClientID       string    `json:"client_id"`
	Name           string    `json:"name"`
	SecretHash     string    `json:"secret_hash"` // hex SHA-256 of the secret
	Scopes         []string  `json:"scopes"`
	AllowedDomains []string  `json:"allowed_domains"` // lower case; AnyDomain for all
	Active         bool      `json:"active"`
	CreatedAt      time.Time `json:"created_at"`
	// SecretVersion counts rotations. Tokens carry the version they were issued under, so that
	// a rotation (after a leak) cuts off the tokens obtained with the old secret as well.
	SecretVersion int `json:"secret_version"`
}

// AllowsEmail reports whether the application may act for the owner of an email address.
func (a Application) AllowsEmail(email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := strings.ToLower(email[at+1:])
	return slices.Contains(a.AllowedDomains, AnyDomain) || slices.Contains(a.AllowedDomains, domain)
}

// Store keeps application records (encoded by this package) by client id.
type Store interface {
	CreateApplication(ctx context.Context, clientID string, record []byte) error
	GetApplication(ctx context.Context, clientID string) ([]byte, bool, error)
	ListApplications(ctx context.Context) ([][]byte, error)
	UpdateApplication(ctx context.Context, clientID string, update func([]byte) ([]byte, error)) error
}

// Registry is the applications of a store.
type Registry struct {
	store Store
	now   func() time.Time
}

// NewRegistry returns the registry of a store.
func NewRegistry(s Store) *Registry { return &Registry{store: s, now: time.Now} }

// Create registers an active application and returns it with its secret, which is shown this
// once and never stored.
func (r *Registry) Create(ctx context.Context, name string, scopes, domains []string) (Application, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Application{}, "", errors.New("the name is required")
	}
	scopes, err := validScopes(scopes)
	if err != nil {
		return Application{}, "", err
	}
	domains, err = validDomains(domains)
	if err != nil {
		return Application{}, "", err
	}
	secret, hash, err := newSecret()
	if err != nil {
		return Application{}, "", err
	}
	a := Application{
		ID: uuid.NewString(), ClientID: uuid.NewString(), Name: name, SecretHash: hash,
		Scopes: scopes, AllowedDomains: domains, Active: true, CreatedAt: r.now().UTC(),
	}
	b, _ := json.Marshal(a)
	if err := r.store.CreateApplication(ctx, a.ClientID, b); err != nil {
		return Application{}, "", err
	}
	return a, secret, nil
}

// Get loads an application; ok=false when the client id is unknown.
func (r *Registry) Get(ctx context.Context, clientID string) (Application, bool, error) {
	b, ok, err := r.store.GetApplication(ctx, clientID)
	if err != nil || !ok {
		return Application{}, false, err
	}
	a, err := decode(b)
	return a, err == nil, err
}

// List returns every application, oldest first.
func (r *Registry) List(ctx context.Context) ([]Application, error) {
	raw, err := r.store.ListApplications(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Application, 0, len(raw))
	for _, b := range raw {
		a, err := decode(b)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Application) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ClientID, b.ClientID)
	})
	return out, nil
}

// SetActive enables or disables an application. A disabled application gets no new token and
// its tokens already issued stop working (the gateway checks the application on each request).
func (r *Registry) SetActive(ctx context.Context, clientID string, active bool) error {
	return r.update(ctx, clientID, func(a *Application) { a.Active = active })
}

// RotateSecret gives the application a new secret, returned this once; the old one stops
// working at once, and so do the tokens issued before (their secret version is older).
func (r *Registry) RotateSecret(ctx context.Context, clientID string) (string, error) {
	secret, hash, err := newSecret()
	if err != nil {
		return "", err
	}
	return secret, r.update(ctx, clientID, func(a *Application) { a.SecretHash, a.SecretVersion = hash, a.SecretVersion+1 })
}

func (r *Registry) update(ctx context.Context, clientID string, change func(*Application)) error {
	// Applications are never deleted, so one that exists now still exists for the update.
	if _, found, err := r.Get(ctx, clientID); err != nil || !found {
		return cmp.Or(err, fmt.Errorf("%w %q", ErrUnknown, clientID))
	}
	return r.store.UpdateApplication(ctx, clientID, func(b []byte) ([]byte, error) {
		a, err := decode(b)
		if err != nil {
			return nil, err
		}
		change(&a)
		return json.Marshal(a)
	})
}

func decode(b []byte) (Application, error) {
	var a Application
	if err := json.Unmarshal(b, &a); err != nil {
		return Application{}, fmt.Errorf("decode application: %w", err)
	}
	return a, nil
}

// Secrets are 256 random bits. They are stored as a plain SHA-256, not bcrypt or argon2: a slow
// hash protects low-entropy passwords against guessing, but nobody can enumerate 2^256 secrets
// however fast the hash, while a deliberately slow hash on every token request would hand anyone
// who can reach the endpoint a cheap way to burn the node's CPU.
const secretBytes = 32

func newSecret() (secret, hash string, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("generate secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret), nil
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// unknownClientHash stands in for the hash of an unknown client id, so that a wrong client id
// costs the same work as a wrong secret (no timing hint of which client ids exist).
var unknownClientHash = hashSecret("no application has this secret")

// SecretMatches compares a presented secret with the stored hash in constant time. found=false
// (the client id is unknown) still does the same work and returns false.
func SecretMatches(a Application, found bool, secret string) bool {
	stored := unknownClientHash
	if found {
		stored = a.SecretHash
	}
	presented := hashSecret(secret)
	match := subtle.ConstantTimeCompare([]byte(presented), []byte(stored)) == 1
	return match && found
}

func validScopes(scopes []string) ([]string, error) {
	var out []string
	for _, s := range scopes {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(AllScopes, s) {
			return nil, fmt.Errorf("unknown scope %q (scopes: %s)", s, strings.Join(AllScopes, ", "))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("at least one scope is required (scopes: %s)", strings.Join(AllScopes, ", "))
	}
	return out, nil
}

func validDomains(domains []string) ([]string, error) {
	var out []string
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" {
			continue
		}
		if d != AnyDomain && (strings.ContainsAny(d, "@/ ") || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".")) {
			return nil, fmt.Errorf("%q is not a domain name", d)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("at least one allowed email domain is required (%q allows every domain)", AnyDomain)
	}
	return out, nil
}
