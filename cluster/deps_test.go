package cluster_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// forbiddenDeps are what the cluster packages must not depend on, even indirectly: cluster holds
// membership, placement, routing and fencing; the store, the gateway and the node's assembly
// (cmd/meetcoord/...) are built on it, not under it.
var forbiddenDeps = []string{"meetcoord/gateway", "meetcoord/actors/store", "meetcoord/cmd"}

func TestClusterDependsOnNoStoreGatewayOrCommand(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goBin); err != nil {
		goBin = "go"
	}
	// Non-test dependencies only: the tests start whole nodes through the harness.
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", "meetcoord/cluster/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, forbidden := range forbiddenDeps {
			if dep == forbidden || strings.HasPrefix(dep, forbidden+"/") {
				t.Errorf("the cluster packages depend on %s", dep)
			}
		}
	}
}
