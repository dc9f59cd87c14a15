// Package auth authenticates API callers by OpenID Connect bearer tokens.
//
// Production deployments point an [OIDCVerifier] at a real identity
// provider. For local development, [DevIssuer] is a tiny embedded issuer
// whose signing key lives in a file, so that one process (meetcoord serve
// --dev) can serve its discovery document and JWKS while another process
// (meetcoord dev-token) mints tokens the first one accepts. Both paths go
// through the same OIDC discovery and JWKS verification code, so development
// exercises what production runs.
package auth
