package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/uuid"

	gwauth "meetcoord/gateway/auth"
	"meetcoord/gateway/marketing"
	"meetcoord/messages"
)

// userNamespace derives stable user ids from OIDC subjects, so that every node computes the
// same id for a token without a lookup (and without a race on first sight).
var userNamespace = uuid.MustParse("6f6b9a52-5a3e-4d1e-9a0c-1e0d2f3c4b5a")

// userID is the user id of an OIDC subject.
func userID(sub string) string {
	return uuid.NewSHA1(userNamespace, []byte(sub)).String()
}

// userRecord is a stored user (api.md users/me).
type userRecord struct {
	ID        string `json:"id"`
	Sub       string `json:"sub"`
	Email     string `json:"email"`
	FullName  string `json:"full_name"`
	ShortName string `json:"short_name"`
	Language  string `json:"language"`
}

func (u userRecord) message() *messages.User {
	return &messages.User{Id: u.ID, Sub: u.Sub, Email: u.Email, FullName: u.FullName, ShortName: u.ShortName, Language: u.Language}
}

// authenticate returns the caller: a user for a valid bearer token or browser session, nil for
// neither. An invalid token is an error (401), never silently anonymous; a session that ended is
// anonymous, as the reference product treats it.
func (g *Gateway) authenticate(r *http.Request) (*userRecord, error) {
	token, ok := gwauth.BearerToken(r)
	if !ok {
		return g.sessionUser(r)
	}
	if g.cfg.Verifier == nil {
		return nil, fmt.Errorf("%w: user authentication is not configured", gwauth.ErrInvalidToken)
	}
	claims, err := g.cfg.Verifier.Verify(r.Context(), token)
	if err != nil {
		return nil, err
	}
	u := userFromClaims(claims)
	if err := g.users.seen(r.Context(), u); err != nil {
		return nil, err
	}
	return &u, nil
}

// caller authenticates the request and writes the error reply when it fails. ok=false means the
// response is written.
func (g *Gateway) caller(w http.ResponseWriter, r *http.Request) (*userRecord, bool) {
	u, err := g.authenticate(r)
	switch {
	case err == nil:
		return u, true
	case errors.Is(err, gwauth.ErrInvalidToken):
		writeError(w, http.StatusUnauthorized, "Invalid or expired token.")
	case errors.Is(err, errCSRF):
		writeError(w, http.StatusForbidden, errCSRF.Error())
	case errors.Is(err, gwauth.ErrProviderUnavailable):
		g.log.Warn("identity provider unavailable", "error", err)
		writeError(w, http.StatusServiceUnavailable, "The identity provider is unavailable, try again.")
	default:
		g.log.Error("authentication failed", "error", err)
		writeError(w, http.StatusServiceUnavailable, "Authentication is unavailable, try again.")
	}
	return nil, false
}

// user is caller for endpoints that need a user: no credentials is a 401.
func (g *Gateway) user(w http.ResponseWriter, r *http.Request) (*userRecord, bool) {
	u, ok := g.caller(w, r)
	if ok && u == nil {
		writeError(w, http.StatusUnauthorized, errNotAuthenticated)
		return nil, false
	}
	return u, ok
}

func callerMessage(u *userRecord) *messages.Caller {
	if u == nil {
		return &messages.Caller{}
	}
	return &messages.Caller{User: u.message()}
}

// userCache creates or updates user records on first sight of their token, and afterwards only
// when the claims change: a request must not cost a store write. A user's first record (on any
// node) is a sign-up, told to signups.
type userCache struct {
	store   Users
	signups Signups
	mu      sync.Mutex
	known   map[string]userRecord
}

// userCacheLimit bounds the cache; when full it is simply reset (records are cheap to re-check).
const userCacheLimit = 100_000

func newUserCache(store Users, signups Signups) *userCache {
	return &userCache{store: store, signups: signups, known: map[string]userRecord{}}
}

func (c *userCache) seen(ctx context.Context, u userRecord) error {
	c.mu.Lock()
	prev, ok := c.known[u.ID]
	c.mu.Unlock()
	if ok && prev == u {
		return nil
	}
	b, _ := json.Marshal(u)
	created, err := c.store.SaveUser(ctx, u.ID, u.Email, b)
	if err != nil {
		return fmt.Errorf("%w: save user: %v", errStore, err)
	}
	if created && c.signups != nil {
		c.signups.SignedUp(marketing.Contact{Email: u.Email, FullName: u.FullName, ShortName: u.ShortName, Language: u.Language})
	}
	c.mu.Lock()
	if len(c.known) >= userCacheLimit {
		c.known = map[string]userRecord{}
	}
	c.known[u.ID] = u
	c.mu.Unlock()
	return nil
}

// get loads a user record by id.
func (c *userCache) get(ctx context.Context, id string) (userRecord, bool, error) {
	b, ok, err := c.store.GetUser(ctx, id)
	if err != nil || !ok {
		return userRecord{}, false, err
	}
	var u userRecord
	if err := json.Unmarshal(b, &u); err != nil {
		return userRecord{}, false, fmt.Errorf("decode user %s: %w", id, err)
	}
	return u, true, nil
}
