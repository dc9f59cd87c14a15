package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"meetcoord/cluster/k8sprovider"
	"meetcoord/cmd/meetcoord/service/servicetest"
)

// helmBinEnv names the helm binary (scripts/helm.sh builds it once; `make test` and `make
// chart-check` set it).
const helmBinEnv = "MEETCOORD_HELM_BIN"

// chartRBAC renders the Helm chart's Role and RoleBinding for the k8s provider, as release
// "meet" in k8sNamespace.
func chartRBAC(t *testing.T) (*rbacv1.Role, *rbacv1.RoleBinding) {
	t.Helper()
	helm := os.Getenv(helmBinEnv)
	if helm == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which builds helm once into .cache (scripts/helm.sh)", helmBinEnv)
	}
	_, file, _, _ := runtime.Caller(0)
	chart := filepath.Join(filepath.Dir(file), "..", "deploy", "helm", "meetcoord")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helm, "template", "meet", chart, "--namespace", k8sNamespace, "--kube-version", "1.34.0", "--set", "cluster.provider=k8s",
		"--show-only", "templates/rbac.yaml")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	var role *rbacv1.Role
	var binding *rbacv1.RoleBinding
	decoder := utilyaml.NewYAMLOrJSONDecoder(&stdout, 4096)
	for {
		var doc map[string]any
		if err := decoder.Decode(&doc); err != nil {
			break
		}
		switch doc["kind"] {
		case "Role":
			role = &rbacv1.Role{}
			decodeInto(t, doc, role)
		case "RoleBinding":
			binding = &rbacv1.RoleBinding{}
			decodeInto(t, doc, binding)
		}
	}
	if role == nil || binding == nil || len(binding.Subjects) != 1 {
		t.Fatalf("the chart's rbac.yaml renders no Role and RoleBinding with one subject:\n%s", stdout.String())
	}
	return role, binding
}

func decodeInto(t *testing.T, doc map[string]any, into any) {
	t.Helper()
	b, _ := json.Marshal(doc)
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("decode %v: %v", doc["kind"], err)
	}
}

// TestK8sChartRoleIsExactlyEnough: nodes run as the chart's service account, under the chart's
// rendered Role and RoleBinding applied to the API server, form the cluster, and one leaves
// gracefully (its Pod unmarked, the others drop it). Under the same Role without one of its
// verbs, a node says which verb it lacks and never joins: no verb in the Role is superfluous.
func TestK8sChartRoleIsExactlyEnough(t *testing.T) {
	role, binding := chartRBAC(t)
	subject := binding.Subjects[0]
	serviceAccount := subject.Namespace + "/" + subject.Name
	kube := servicetest.StartKubeAPIServer(t, serviceAccount)
	kube.CreateNamespace(t, k8sNamespace)
	admin := kube.Client(t)
	ctx := t.Context() // each API call below is quick; the test's deadline bounds them
	if _, err := admin.RbacV1().Roles(k8sNamespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("apply the chart's Role: %v", err)
	}
	if _, err := admin.RbacV1().RoleBindings(k8sNamespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("apply the chart's RoleBinding: %v", err)
	}
	for i := range 3 {
		kube.CreateRunningPod(t, k8sNamespace, podName(i))
	}
	kubeconfig := kube.ServiceAccountKubeconfig(t, serviceAccount)
	nodes, _ := startCluster(t, k8sEnv(kubeconfig, nil), func(i int) map[string]string {
		return map[string]string{"POD_NAME": podName(i)}
	})
	leaving := nodes[2]
	leaving.Signal(syscall.SIGTERM)
	leaving.Wait()
	if pod := kube.Pod(t, k8sNamespace, podName(2)); pod.Labels[k8sprovider.LabelCluster] != "" {
		t.Fatalf("the node that left could not unmark its pod under the chart's Role: labels %v\n%s", pod.Labels, leaving.Log())
	}
	waitForMembers(t, nodes[:2], 2)

	for _, verb := range k8sprovider.Verbs {
		t.Run("without "+verb, func(t *testing.T) {
			reduced := role.DeepCopy()
			for i, rule := range reduced.Rules {
				reduced.Rules[i].Verbs = slices.DeleteFunc(slices.Clone(rule.Verbs), func(v string) bool { return v == verb })
			}
			current, err := admin.RbacV1().Roles(k8sNamespace).Get(ctx, role.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			current.Rules = reduced.Rules
			if _, err := admin.RbacV1().Roles(k8sNamespace).Update(ctx, current, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("update the Role: %v", err)
			}
			t.Cleanup(func() {
				current, err := admin.RbacV1().Roles(k8sNamespace).Get(context.Background(), role.Name, metav1.GetOptions{})
				if err == nil {
					current.Rules = role.Rules
					_, err = admin.RbacV1().Roles(k8sNamespace).Update(context.Background(), current, metav1.UpdateOptions{})
				}
				if err != nil {
					t.Errorf("restore the Role: %v", err)
				}
			})
			pod := "meetcoord-without-" + verb
			kube.CreateRunningPod(t, k8sNamespace, pod)
			env := map[string]string{}
			for _, kv := range nodes[0].Env {
				if k, v, ok := strings.Cut(kv, "="); ok {
					env[k] = v
				}
			}
			env["POD_NAME"] = pod
			env["LISTEN_ADDR"] = servicetest.FreeAddr(t)
			env["CLUSTER_PORT"] = strconv.Itoa(servicetest.ReservePort(t))
			node := servicetest.LaunchProcess(t, env)
			want := fmt.Sprintf("may not %s pods", verb)
			servicetest.Eventually(t, 60*time.Second, "the node to say it "+want, func() bool {
				if exited, _ := node.Exited(); exited {
					t.Fatalf("the node exited:\n%s", node.Log())
				}
				return strings.Contains(node.Log(), want)
			})
			if res, err := http.Get(node.URL + "/readyz"); err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					t.Fatalf("the node without %s is ready", verb)
				}
			}
			if p := kube.Pod(t, k8sNamespace, pod); p.Labels[k8sprovider.LabelCluster] != "" {
				t.Fatalf("the node without %s marked its pod: %v", verb, p.Labels)
			}
			waitForMembers(t, nodes[:2], 2) // the others never see it
		})
	}
}
