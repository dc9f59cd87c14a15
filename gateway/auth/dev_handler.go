package auth

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/go-jose/go-jose/v4"
)

// discoveryDocument is the subset of OpenID Provider Metadata that clients
// (including go-oidc) require.
type discoveryDocument struct {
	Issuer                           string   `json:"issuer"`
	AuthorizationEndpoint            string   `json:"authorization_endpoint"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	JWKSURI                          string   `json:"jwks_uri"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
	CodeChallengeMethodsSupported    []string `json:"code_challenge_methods_supported,omitempty"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported,omitempty"`
}

// Handler serves the issuer's discovery document and JWKS. Paths are
// relative to the issuer URL: mount it with
// http.StripPrefix(issuerPath, d.Handler()).
//
// The authorization and token endpoints are advertised because the
// discovery spec requires them. With EnableLogin they run the development
// login (dev_login.go); without it they answer 501: dev tokens are then
// minted out of band with Mint.
func (d *DevIssuer) Handler() http.Handler {
	discovery := discoveryDocument{
		Issuer:                           d.issuerURL,
		AuthorizationEndpoint:            d.issuerURL + "/authorize",
		TokenEndpoint:                    d.issuerURL + "/token",
		JWKSURI:                          d.issuerURL + "/jwks",
		ResponseTypesSupported:           []string{"id_token"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{string(jose.RS256)},
		ClaimsSupported:                  []string{"iss", "sub", "aud", "iat", "exp", "email", "name", "given_name", "locale"},
	}
	if d.login != nil {
		discovery.ResponseTypesSupported = []string{"code"}
		discovery.CodeChallengeMethodsSupported = []string{"S256"}
		discovery.TokenEndpointAuthMethods = []string{"client_secret_basic", "client_secret_post"}
		discovery.ClaimsSupported = append(discovery.ClaimsSupported, "nonce")
	}
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{d.publicJWK()}}
	notImplemented := map[string]string{
		"error":             "not_implemented",
		"error_description": "the development issuer does not implement this endpoint; mint tokens with `meetcoord dev-token`",
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, discovery)
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, jwks)
	})
	if d.login != nil {
		mux.HandleFunc("GET /authorize", d.login.authorize)
		mux.HandleFunc("POST /authorize", d.login.authorize)
		mux.HandleFunc("POST /token", d.login.token)
		return mux
	}
	for _, path := range []string{"/authorize", "/token"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusNotImplemented, notImplemented)
		})
	}
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only reachable through a programming error in the types above.
		slog.Error("auth: encode dev issuer response", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// The key file can be replaced between runs; never let a client or
	// proxy keep a stale JWKS or discovery document.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
