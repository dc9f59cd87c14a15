package servicetest

import (
	"os"
	"strings"
	"testing"
)

// EtcdEndpointsEnv names the variable through which `make test` gives tests its throwaway etcd.
const EtcdEndpointsEnv = "MEETCOORD_TEST_ETCD_ENDPOINTS"

// EtcdEndpoints returns the test etcd's client endpoints, failing the test with what to do when
// none was started.
func EtcdEndpoints(t testing.TB) []string {
	t.Helper()
	v := os.Getenv(EtcdEndpointsEnv)
	if v == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which installs etcd-server "+
			"(apt-get install etcd-server) and starts a throwaway etcd for them", EtcdEndpointsEnv)
	}
	return strings.Split(v, ",")
}
