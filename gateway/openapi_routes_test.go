package gateway

import (
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"meetcoord/gateway/oidclogin"
	"meetcoord/gateway/openapi"
	"meetcoord/gateway/openapi/openapitest"
)

// TestOpenAPIDescribesEveryRoute: the route table and the API description list the same
// operations, with every optional part of the API on (browser login, external API, /metrics),
// whether or not a test calls them.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	d, err := openapitest.Load(openapi.Spec())
	if err != nil {
		t.Fatal(err)
	}
	g := New(Config{
		Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(),
		Login: oidclogin.New(oidclogin.Config{}), Sessions: noSessions{},
		ExternalAPI: &ExternalAPI{},
	})
	routed := map[string]bool{} // "METHOD path", paths without their final slash
	err = g.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := route.GetMethods()
		if err != nil {
			t.Errorf("route %s has no methods", path)
			return nil
		}
		for _, m := range methods {
			routed[m+" "+strings.TrimSuffix(path, "/")] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	described := map[string]bool{}
	for path, item := range d.Doc.Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+strings.TrimSuffix(path, "/")] = true
		}
	}
	for _, op := range slices.Sorted(maps.Keys(routed)) {
		if !described[op] {
			t.Errorf("route %s is not in the API description", op)
		}
	}
	for _, op := range slices.Sorted(maps.Keys(described)) {
		if !routed[op] {
			t.Errorf("the API description has %s, which is no route", op)
		}
	}
}

// noSessions is a Sessions that is never called: the routes are only listed.
type noSessions struct{ Sessions }
