package gateway_test

import (
	"net/http"
	"testing"

	"meetcoord/cmd/meetcoord/service/servicetest"
	"meetcoord/gateway/openapi/openapitest"
)

// TestOpenAPIDescriptionServed: GET /api/v1.0/openapi.json answers the API description, a
// valid OpenAPI 3.1 document (with and without the trailing slash of API paths).
func TestOpenAPIDescriptionServed(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	c := n.Client("")
	for _, path := range []string{"/api/v1.0/openapi.json", "/api/v1.0/openapi.json/"} {
		res := c.Do(http.MethodGet, path, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.Status, res.Body)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		d, err := openapitest.Load(res.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if d.Doc.OpenAPI != "3.1.0" || d.Doc.Paths.Find("/api/v1.0/rooms/{room}/") == nil {
			t.Errorf("GET %s: openapi %q, rooms/{room}/ described: %v", path, d.Doc.OpenAPI, d.Doc.Paths.Find("/api/v1.0/rooms/{room}/") != nil)
		}
	}
}
