// Package openapi holds the description of meetcoord's HTTP API (openapi.yaml, OpenAPI 3.1)
// and serves it as JSON. The test harness validates the real traffic of the test suite against
// it (package openapitest), so that the description and the handlers cannot drift apart.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"sigs.k8s.io/yaml"
)

// source is the description as written: YAML for its readers, with YAML merge keys sharing
// the error answers of the operations (x-response-sets).
//
//go:embed openapi.yaml
var source []byte

// sharedSets is the extension that only holds the YAML anchors; it says nothing once merged.
const sharedSets = "x-response-sets"

var spec = sync.OnceValues(func() ([]byte, error) {
	raw, err := yaml.YAMLToJSON(source)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml as JSON: %w", err)
	}
	delete(doc, sharedSets)
	return json.Marshal(doc)
})

// Spec is the description as JSON. The embedded YAML is checked by the tests, so a failure
// here is a build fault: it panics rather than serve a broken document.
func Spec() []byte {
	b, err := spec()
	if err != nil {
		panic(err)
	}
	return b
}

// Handler serves the description (GET /api/v1.0/openapi.json).
func Handler() http.Handler {
	body := Spec()
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}
