package room_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// forbiddenDeps are what the room actor must not depend on, even indirectly: it declares its
// ports and the adapters implement them (the store, the LiveKit client, the recording webhook),
// the gateway talks to it only through messages, and the node's assembly (cmd/meetcoord/...) is
// built on it, not under it.
var forbiddenDeps = []string{
	"meetcoord/gateway", "meetcoord/cmd",
	"meetcoord/actors/store", "meetcoord/actors/livekit", "meetcoord/actors/recordingwebhook",
}

func TestRoomDependsOnNoAdapterGatewayOrCommand(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goBin); err != nil {
		goBin = "go"
	}
	// Non-test dependencies only.
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", "meetcoord/actors/room").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, forbidden := range forbiddenDeps {
			if dep == forbidden || strings.HasPrefix(dep, forbidden+"/") {
				t.Errorf("the room actor depends on %s", dep)
			}
		}
	}
}
