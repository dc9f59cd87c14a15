package auth

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

const (
	// defaultHTTPTimeout bounds discovery and JWKS requests when the caller
	// does not supply its own client; http.DefaultClient has no timeout and
	// a hung provider would otherwise pin request goroutines forever.
	defaultHTTPTimeout = 10 * time.Second

	// discoveryRetryInterval is how long a failed discovery is remembered.
	// Without it every request during a provider outage would trigger its
	// own discovery round trip, queueing behind each other.
	discoveryRetryInterval = 2 * time.Second
)

// OIDCVerifier verifies bearer tokens against an OpenID Connect issuer's
// discovery document and JWKS. It is safe for concurrent use.
type OIDCVerifier struct {
	issuer   string
	audience string
	client   *http.Client

	// now and retryInterval throttle discovery retries; tests replace now.
	now           func() time.Time
	retryInterval time.Duration

	// verifier is set once discovery has succeeded and never changes after
	// that, so the steady-state path is a single atomic load.
	verifier atomic.Pointer[oidc.IDTokenVerifier]

	// sem (capacity 1) serialises discovery attempts. A channel rather than
	// a sync.Mutex so that a caller whose context ends stops waiting.
	sem chan struct{}
	// lastErr and lastAttempt are guarded by sem.
	lastErr     error
	lastAttempt time.Time
}

var _ Verifier = (*OIDCVerifier)(nil)

// NewOIDCVerifier returns a verifier for tokens issued by issuer. When
// audience is empty the audience (client id) check is skipped. A nil client
// means a plain client with a 10 s timeout.
//
// No network access happens here: discovery runs on the first Verify and is
// retried on later calls while it fails, so a provider that is briefly down
// at start-up (or is this very process, as with the dev issuer) does not
// prevent the service from starting.
func NewOIDCVerifier(issuer, audience string, client *http.Client) *OIDCVerifier {
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	return &OIDCVerifier{
		issuer:        issuer,
		audience:      audience,
		client:        client,
		now:           time.Now,
		retryInterval: discoveryRetryInterval,
		sem:           make(chan struct{}, 1),
	}
}

// Verify checks rawToken's signature, issuer, expiry and (if configured)
// audience, and returns its claims. Token problems wrap ErrInvalidToken;
// an unreachable provider wraps ErrProviderUnavailable.
func (v *OIDCVerifier) Verify(ctx context.Context, rawToken string) (Claims, error) {
	if rawToken == "" {
		return Claims{}, fmt.Errorf("%w: empty token", ErrInvalidToken)
	}
	idv, err := v.idTokenVerifier(ctx)
	if err != nil {
		return Claims{}, err
	}
	tok, err := idv.Verify(ctx, rawToken)
	if err != nil {
		// A cancelled request (e.g. during a JWKS refresh) says nothing
		// about the token, so do not report it as invalid.
		if ctxErr := ctx.Err(); ctxErr != nil {
			return Claims{}, fmt.Errorf("auth: verify token: %w", ctxErr)
		}
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if tok.Subject == "" {
		return Claims{}, fmt.Errorf("%w: missing sub claim", ErrInvalidToken)
	}
	var profile Profile
	if err := tok.Claims(&profile); err != nil {
		return Claims{}, fmt.Errorf("%w: decode claims: %w", ErrInvalidToken, err)
	}
	return profile.Claims(tok.Subject), nil
}

// idTokenVerifier returns the cached verifier, running discovery first if
// no attempt has succeeded yet.
func (v *OIDCVerifier) idTokenVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	if idv := v.verifier.Load(); idv != nil {
		return idv, nil
	}
	select {
	case v.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("auth: wait for OIDC discovery: %w", ctx.Err())
	}
	defer func() { <-v.sem }()

	// Another caller may have completed discovery while we waited.
	if idv := v.verifier.Load(); idv != nil {
		return idv, nil
	}
	now := v.now()
	if v.lastErr != nil && now.Sub(v.lastAttempt) < v.retryInterval {
		return nil, v.lastErr
	}
	v.lastAttempt = now

	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, v.client), v.issuer)
	if err != nil {
		err = fmt.Errorf("%w: discovery for %q: %w", ErrProviderUnavailable, v.issuer, err)
		// Only remember failures that were the provider's fault; if this
		// caller gave up, the next one should try again straight away.
		if ctx.Err() == nil {
			v.lastErr = err
		}
		return nil, err
	}
	v.lastErr = nil

	// The provider keeps its own key set, fetched with v.client and
	// refreshed when a token carries an unknown kid (key rotation).
	idv := provider.Verifier(&oidc.Config{
		ClientID:          v.audience,
		SkipClientIDCheck: v.audience == "",
	})
	v.verifier.Store(idv)
	return idv, nil
}
