package servicetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeAPIServerEnv names the variable through which `make test` gives tests the kube-apiserver
// binary (scripts/kube-apiserver.sh builds it once into .cache).
const KubeAPIServerEnv = "MEETCOORD_TEST_KUBE_APISERVER"

// KubeAPIServer is a real Kubernetes API server (kube-apiserver v1.34.0) for one test, on its
// own etcd, on a free loopback port, with static tokens: an administrator's (group
// system:masters) and one per service account the test named. There is no kubelet, scheduler or
// controller: Pods are API objects whose status the test sets (KubePods).
type KubeAPIServer struct {
	URL  string // https://127.0.0.1:<port>
	args []string
	dir  string
	ca   []byte
	// tokens: identity ("admin" or "namespace/name" of a service account) -> bearer token.
	tokens map[string]string
	cmd    *exec.Cmd
	done   chan struct{}
	log    *os.File
}

// StartKubeAPIServer starts kube-apiserver with its own etcd and waits until it is ready.
// serviceAccounts ("namespace/name") are the service accounts whose tokens ServiceAccountKubeconfig
// hands out (RBAC applies to them; the service account objects themselves need not exist). A
// missing binary fails the test, saying how to get it.
func StartKubeAPIServer(t testing.TB, serviceAccounts ...string) *KubeAPIServer {
	t.Helper()
	bin := os.Getenv(KubeAPIServerEnv)
	if bin == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which builds kube-apiserver once into .cache "+
			"(or run scripts/kube-apiserver.sh and export %s=<the path it prints>)", KubeAPIServerEnv, KubeAPIServerEnv)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s=%s: %v (scripts/kube-apiserver.sh builds it)", KubeAPIServerEnv, bin, err)
	}
	etcd := StartEtcd(t)
	k := &KubeAPIServer{dir: t.TempDir(), tokens: map[string]string{}}
	port := ReservePort(t)
	k.URL = fmt.Sprintf("https://127.0.0.1:%d", port)
	var tokenLines []string
	k.tokens["admin"] = randomToken(t)
	tokenLines = append(tokenLines, fmt.Sprintf(`%s,admin,admin,"system:masters"`, k.tokens["admin"]))
	for _, sa := range serviceAccounts {
		namespace, name, ok := strings.Cut(sa, "/")
		if !ok {
			t.Fatalf("service account %q: want namespace/name", sa)
		}
		k.tokens[sa] = randomToken(t)
		tokenLines = append(tokenLines, fmt.Sprintf(`%s,system:serviceaccount:%s:%s,sa-%s-%s,"system:serviceaccounts,system:serviceaccounts:%s"`,
			k.tokens[sa], namespace, name, namespace, name, namespace))
	}
	tokenFile := filepath.Join(k.dir, "tokens.csv")
	writeFile(t, tokenFile, []byte(strings.Join(tokenLines, "\n")+"\n"))
	certFile, keyFile := k.servingCert(t)
	saKey, saPub := serviceAccountKeys(t, k.dir)
	k.args = []string{
		"--etcd-servers=http://" + etcd.Endpoint,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", port),
		"--tls-cert-file=" + certFile, "--tls-private-key-file=" + keyFile,
		"--token-auth-file=" + tokenFile, "--anonymous-auth=false",
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saPub, "--service-account-signing-key-file=" + saKey,
		"--service-cluster-ip-range=10.96.0.0/24",
		// No controller manager creates the default service accounts that this admission plugin
		// wants every Pod to have.
		"--disable-admission-plugins=ServiceAccount",
		"--enable-priority-and-fairness=false", "--profiling=false", "--v=0",
	}
	k.start(t)
	t.Cleanup(k.Stop)
	return k
}

func (k *KubeAPIServer) start(t testing.TB) {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(k.dir, "kube-apiserver.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	k.log = log
	k.cmd = exec.Command(os.Getenv(KubeAPIServerEnv), k.args...)
	k.cmd.Stdout, k.cmd.Stderr = log, log
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("start kube-apiserver: %v", err)
	}
	k.done = make(chan struct{})
	done := k.done
	go func() { _ = k.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("end of kube-apiserver's log:\n%s", k.logTail())
		}
	})
	client := k.httpClient(t)
	Eventually(t, 2*time.Minute, "kube-apiserver to be ready", func() bool {
		select {
		case <-done:
			t.Fatalf("kube-apiserver exited:\n%s", k.logTail())
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, k.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+k.tokens["admin"])
		res, err := client.Do(req)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// Stop kills the API server (etcd stays until the test ends).
func (k *KubeAPIServer) Stop() {
	select {
	case <-k.done:
	default:
		_ = k.cmd.Process.Signal(syscall.SIGKILL)
		<-k.done
	}
	_ = k.log.Close()
}

// Restart stops the API server at once and starts it again on the same port, etcd and keys,
// waiting until it is ready: its clients' watches break and must be re-established.
func (k *KubeAPIServer) Restart(t testing.TB) {
	t.Helper()
	k.Stop()
	k.start(t)
}

// Kubeconfig writes a kubeconfig for the administrator and returns its path.
func (k *KubeAPIServer) Kubeconfig(t testing.TB) string {
	t.Helper()
	return k.kubeconfig(t, "admin")
}

// ServiceAccountKubeconfig writes a kubeconfig that authenticates as the service account
// ("namespace/name", named when the server started) and returns its path.
func (k *KubeAPIServer) ServiceAccountKubeconfig(t testing.TB, serviceAccount string) string {
	t.Helper()
	if _, ok := k.tokens[serviceAccount]; !ok {
		t.Fatalf("service account %s was not named when the API server started", serviceAccount)
	}
	return k.kubeconfig(t, serviceAccount)
}

func (k *KubeAPIServer) kubeconfig(t testing.TB, identity string) string {
	t.Helper()
	config := clientcmdapi.NewConfig()
	config.Clusters["test"] = &clientcmdapi.Cluster{Server: k.URL, CertificateAuthorityData: k.ca}
	config.AuthInfos[identity] = &clientcmdapi.AuthInfo{Token: k.tokens[identity]}
	config.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: identity}
	config.CurrentContext = "test"
	path := filepath.Join(k.dir, "kubeconfig-"+strings.ReplaceAll(identity, "/", "-"))
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// Client is an administrator's client of the API server.
func (k *KubeAPIServer) Client(t testing.TB) kubernetes.Interface {
	t.Helper()
	config, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func (k *KubeAPIServer) httpClient(t testing.TB) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(k.ca)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig.RootCAs = pool
	return &http.Client{Transport: transport, Timeout: 5 * time.Second}
}

func (k *KubeAPIServer) logTail() string {
	b, _ := os.ReadFile(filepath.Join(k.dir, "kube-apiserver.log"))
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// servingCert writes a self-signed serving certificate for 127.0.0.1 (its own CA: the
// kubeconfigs trust exactly it).
func (k *KubeAPIServer) servingCert(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	k.ca = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certFile, keyFile = filepath.Join(k.dir, "serving.crt"), filepath.Join(k.dir, "serving.key")
	writeFile(t, certFile, k.ca)
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	return certFile, keyFile
}

// serviceAccountKeys writes the key pair the API server signs and checks service account
// tokens with (required flags, even though the tests authenticate with static tokens).
func serviceAccountKeys(t testing.TB, dir string) (keyFile, pubFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, pubFile = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	writeFile(t, pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	return keyFile, pubFile
}

func randomToken(t testing.TB) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// ctx10s is a context for one API call of a test.
func ctx10s() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
