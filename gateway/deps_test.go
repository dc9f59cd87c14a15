package gateway_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// forbiddenDeps are what the gateway packages must not depend on, even indirectly: the gateway
// asks rooms through the Rooms port and reads indexes through Directory, so the actor system
// (protoactor) and the store that keeps room state are assembled beside it (cmd/meetcoord), never
// under it.
var forbiddenDeps = []string{"github.com/asynkron/protoactor-go", "meetcoord/actors/store"}

func TestGatewayDependsOnNoActorSystemOrStore(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goBin); err != nil {
		goBin = "go"
	}
	// Non-test dependencies only: the tests start whole nodes through the harness.
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", "meetcoord/gateway/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, forbidden := range forbiddenDeps {
			if dep == forbidden || strings.HasPrefix(dep, forbidden+"/") {
				t.Errorf("the gateway packages depend on %s", dep)
			}
		}
	}
}
