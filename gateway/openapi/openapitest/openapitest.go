// Package openapitest checks real HTTP traffic against the API description (gateway/openapi):
// the test harness wraps each test node's handler with Validate, so that every request of the
// test suite and its response are validated, and a handler that answers a field, a status or
// a route the description lacks fails the test that made the request.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"meetcoord/gateway/openapi"
)

// Description is the loaded API description and its router.
type Description struct {
	Doc    *openapi3.T
	router routers.Router
	// errorSchema is the body of every error, also of the 404s and 405s of paths and methods
	// that the description (rightly) does not have.
	errorSchema *openapi3.Schema
}

var load = sync.OnceValues(func() (*Description, error) { return Load(openapi.Spec()) })

// Load parses and validates a description (OpenAPI 3.1, JSON or YAML).
func Load(spec []byte) (*Description, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load the API description: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the API description is not valid OpenAPI: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("the API description is OpenAPI %s, not 3.1", doc.OpenAPI)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the API description: %w", err)
	}
	errRef := doc.Components.Schemas["Error"]
	if errRef == nil || errRef.Value == nil {
		return nil, fmt.Errorf("the API description has no Error schema")
	}
	return &Description{Doc: doc, router: router, errorSchema: errRef.Value}, nil
}

// maxBuffered bounds the request bodies kept for validation: the API refuses bodies over 1 MiB
// (413), and a test that sends more is testing that refusal.
const maxBuffered = 1<<20 + 1

// Validate wraps a node's handler: each request and its response are checked against the API
// description once answered, and every mismatch is reported with t.Errorf.
//
// Benchmarks are not checked: they measure the node, and their requests are those of tests.
func Validate(t testing.TB, h http.Handler) http.Handler {
	if _, benchmark := t.(*testing.B); benchmark {
		return h
	}
	d, err := load()
	if err != nil {
		t.Fatalf("openapitest: %v", err)
	}
	return d.Middleware(t, h)
}

// Middleware is Validate for a given description.
func (d *Description) Middleware(t testing.TB, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Exempt(r.URL.Path) || corsPreflight(r) {
			h.ServeHTTP(w, r)
			return
		}
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(r.Body, maxBuffered))
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		}
		// The request as it arrived: the handler may change r (the gateway appends a slash).
		seen := r.Clone(r.Context())
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		whole := len(body) < maxBuffered // else the request is not checked, its answer is
		for _, problem := range d.check(seen, body, whole, rec.status, rec.Header(), rec.body.Bytes()) {
			t.Errorf("openapi: %s %s -> %d: %s", seen.Method, seen.URL.RequestURI(), rec.status, problem)
		}
	})
}

// corsPreflight tells a browser's CORS preflight, which the CORS layer answers in front of the
// API (CORS_ALLOWED_ORIGINS): it is no operation of the API, and OpenAPI does not describe it.
func corsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// Exempt tells the paths that are not the API: the front end's files served from FRONTEND_DIR
// and the routes mounted beside the API (the development OIDC issuer) answer every other path.
func Exempt(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return false
	}
	return !strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/external-api/")
}

// Check validates one exchange and returns its mismatches with the description (none: nil).
//
// The response is always checked: its status must be one the operation lists, and its body and
// headers must match. The request is checked when it was accepted (2xx): a refused request is
// often a test of bad input, and its refusal is what is checked. A request to a path or method
// that the description does not have must be refused as such (a JSON 404 or 405).
func (d *Description) Check(r *http.Request, body []byte, status int, header http.Header, respBody []byte) []string {
	return d.check(r, body, true, status, header, respBody)
}

// check is Check; checkRequest=false checks the answer only (the request body is not whole).
func (d *Description) check(r *http.Request, body []byte, checkRequest bool, status int, header http.Header, respBody []byte) []string {
	route, params, err := d.route(r)
	if err != nil {
		if (status == http.StatusNotFound && err == routers.ErrPathNotFound) ||
			(status == http.StatusMethodNotAllowed && err == routers.ErrMethodNotAllowed) ||
			(status == http.StatusNotFound && err == routers.ErrMethodNotAllowed) {
			return d.checkError(header, respBody)
		}
		return []string{fmt.Sprintf("not in the API description (%v)", err)}
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	}
	// Where and why, without the schema and value (the body is reported beside).
	opts.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		return "/" + strings.Join(err.JSONPointer(), "/") + ": " + err.Reason
	})
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	reqInput := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	var problems []string
	if checkRequest && status >= 200 && status < 300 {
		if err := openapi3filter.ValidateRequest(r.Context(), reqInput); err != nil {
			problems = append(problems, "request: "+oneLine(err))
		}
	}
	respInput := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput, Status: status, Header: header, Options: opts,
	}
	respInput.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(r.Context(), respInput); err != nil {
		problems = append(problems, "response: "+oneLine(err)+"; body: "+clip(respBody))
	}
	return problems
}

// route finds the operation of a request. An API path is served with or without its final
// slash (the gateway adds it), so the other spelling is tried too.
func (d *Description) route(r *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := d.router.FindRoute(r)
	api := strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/external-api/")
	if err != routers.ErrPathNotFound || !api {
		return route, params, err
	}
	other := r.Clone(r.Context())
	if p, found := strings.CutSuffix(r.URL.Path, "/"); found {
		other.URL.Path = p
	} else {
		other.URL.Path += "/"
	}
	other.URL.RawPath = ""
	return d.router.FindRoute(other)
}

// checkError checks the body of a 404 or 405 answered for a path or method the description
// does not have: still the API's error shape.
func (d *Description) checkError(header http.Header, body []byte) []string {
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return []string{fmt.Sprintf("error answered as %q, not JSON: %s", ct, clip(body))}
	}
	value, err := decodeJSON(body)
	if err != nil {
		return []string{"error body is not JSON: " + clip(body)}
	}
	if err := d.errorSchema.VisitJSON(value, openapi3.EnableJSONSchema2020()); err != nil {
		return []string{"error body does not match the Error schema: " + oneLine(err) + "; body: " + clip(body)}
	}
	return nil
}

func decodeJSON(b []byte) (any, error) {
	var v any
	err := json.Unmarshal(b, &v)
	return v, err
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func clip(b []byte) string {
	const max = 400
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// recorder passes a response through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (rec *recorder) WriteHeader(code int) {
	if !rec.wroteHeader {
		rec.status, rec.wroteHeader = code, true
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	rec.wroteHeader = true
	rec.body.Write(b)
	return rec.ResponseWriter.Write(b)
}

func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }
