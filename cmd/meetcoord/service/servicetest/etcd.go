package servicetest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// EtcdEndpointsEnv names the variable through which `make test` gives tests its throwaway etcd.
const EtcdEndpointsEnv = "MEETCOORD_TEST_ETCD_ENDPOINTS"

// EtcdEndpoints returns the test etcd's client endpoints, failing the test with what to do when
// none was started or it does not answer: nodes started against a dead etcd never form a cluster,
// and each test would only find out at its own deadline.
func EtcdEndpoints(t testing.TB) []string {
	t.Helper()
	v := os.Getenv(EtcdEndpointsEnv)
	if v == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which installs etcd-server "+
			"(apt-get install etcd-server) and starts a throwaway etcd for them", EtcdEndpointsEnv)
	}
	endpoints := strings.Split(v, ",")
	for _, e := range endpoints {
		if err := etcdHealthy(e, 30*time.Second); err != nil {
			t.Fatalf("the test etcd at %s (%s) does not answer: %v; `make test` starts one", e, EtcdEndpointsEnv, err)
		}
	}
	return endpoints
}

// etcdHealthy asks the etcd member's /health until it says so or patience runs out (a loaded
// machine may be slow to answer; a dead etcd refuses at once, again and again).
func etcdHealthy(endpoint string, patience time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(patience)
	for {
		err := etcdHealthOnce(client, endpoint)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func etcdHealthOnce(client *http.Client, endpoint string) error {
	url := endpoint
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	res, err := client.Get(url + "/health")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("/health answered %d %s", res.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
