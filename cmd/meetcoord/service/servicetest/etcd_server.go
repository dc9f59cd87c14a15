package servicetest

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// EtcdServer is a private etcd for one test (for tests that stop it; others share the test
// etcd of `make test`, EtcdEndpoints).
type EtcdServer struct {
	Endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
}

// StartEtcd starts etcd on free loopback ports with its data in the test's temporary directory.
// It fails, saying what to install, when the etcd binary is missing.
func StartEtcd(t testing.TB) *EtcdServer {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatal("etcd is not installed: run the tests with `make test`, which installs etcd-server (apt-get install etcd-server)")
	}
	client, peer := ReservePort(t), ReservePort(t)
	s := &EtcdServer{Endpoint: fmt.Sprintf("127.0.0.1:%d", client), done: make(chan struct{})}
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	s.cmd = exec.Command(bin, "--name", "test", "--data-dir", filepath.Join(t.TempDir(), "etcd"),
		"--listen-client-urls", "http://"+s.Endpoint, "--advertise-client-urls", "http://"+s.Endpoint,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL, "--initial-cluster", "test="+peerURL)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	Eventually(t, 10*time.Second, "etcd to answer", func() bool {
		res, err := http.Get("http://" + s.Endpoint + "/health")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return s
}

// Stop kills etcd (at once: as an outage looks to its clients).
func (s *EtcdServer) Stop() {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
