package cluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"meetcoord/cluster/k8sprovider"
	"meetcoord/cmd/meetcoord/service/servicetest"
	gwauth "meetcoord/gateway/auth"
)

// The Kubernetes tests run node processes on CLUSTER_PROVIDER=k8s against a real kube-apiserver
// (servicetest.StartKubeAPIServer). With no kubelet, each node's Pod is an API object the test
// creates and sets Running with pod IP 127.0.0.1; the node process runs here, told its Pod by
// POD_NAME/POD_NAMESPACE and the API server by KUBECONFIG.

const k8sNamespace = "video"

// k8sEnv is the environment of nodes on the k8s provider: kubeconfig is how they reach the API
// server (the administrator's, or a service account's).
func k8sEnv(kubeconfig string, extra map[string]string) map[string]string {
	env := map[string]string{"CLUSTER_PROVIDER": "k8s", "KUBECONFIG": kubeconfig, "POD_NAMESPACE": k8sNamespace,
		"CLUSTER_ADVERTISE_ADDR": "127.0.0.1"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func podName(i int) string { return fmt.Sprintf("meetcoord-%d", i) }

// startK8sCluster starts an API server, creates three running Pods and a node process for each
// on the k8s provider, and waits until each node sees the three members.
func startK8sCluster(t *testing.T, extra map[string]string) (*servicetest.KubeAPIServer, []*servicetest.Process, *gwauth.DevIssuer) {
	t.Helper()
	kube := servicetest.StartKubeAPIServer(t)
	kube.CreateNamespace(t, k8sNamespace)
	for i := range 3 {
		kube.CreateRunningPod(t, k8sNamespace, podName(i))
	}
	nodes, issuer := startCluster(t, k8sEnv(kube.Kubeconfig(t), extra), func(i int) map[string]string {
		return map[string]string{"POD_NAME": podName(i)}
	})
	return kube, nodes, issuer
}

// members is what each node's /readyz says: its status code and member count.
func members(t testing.TB, nodes []*servicetest.Process) []string {
	t.Helper()
	out := make([]string, len(nodes))
	for i, n := range nodes {
		res, err := http.Get(n.URL + "/readyz")
		if err != nil {
			out[i] = err.Error()
			continue
		}
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		out[i] = fmt.Sprintf("%d members=%v", res.StatusCode, body["members"])
	}
	return out
}

// TestK8sClusterSurvivesAPIServerRestart: three nodes on the k8s provider form one cluster, each
// Pod marked with its member's address, and a room is served identically through each. The API
// server then restarts (its watches break): no node's membership changes meanwhile or after, no
// room moves (no node activates a room again) and none loses its lobby. The watches are
// re-established: a node that then leaves gracefully unmarks its Pod and is dropped by the
// others, which serve its rooms with their lobby.
func TestK8sClusterSurvivesAPIServerRestart(t *testing.T) {
	kube, nodes, issuer := startK8sCluster(t, failoverEnv)
	for i, n := range nodes {
		pod := kube.Pod(t, k8sNamespace, podName(i))
		if got := pod.Annotations[k8sprovider.AnnotationAddress]; got != clusterAddress(n) {
			t.Fatalf("pod %s marked with address %q, want the node's CLUSTER_ADVERTISE_ADDR:CLUSTER_PORT %s", pod.Name, got, clusterAddress(n))
		}
	}
	owner := mintOwner(t, issuer)
	rooms := createRooms(t, owner, nodes, 30)
	waiting := map[string]string{} // room -> the participant waiting in its lobby
	for _, room := range rooms {
		res := servicetest.NewClient(t, nodes[0].URL, "").Do(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"})
		body := res.JSON()
		if res.Status != http.StatusOK || body["status"] != "waiting" {
			t.Fatalf("knock in %s: %d %v", room, res.Status, body)
		}
		waiting[room] = body["id"].(string)
	}
	checkRooms := func(when string, via []*servicetest.Process) {
		t.Helper()
		for _, room := range rooms {
			var views []map[string]any
			for _, n := range via {
				res := owner.Via(n.URL).Do(http.MethodGet, "/api/v1.0/rooms/"+room+"/waiting-participants/", nil)
				body := res.JSON()
				if res.Status != http.StatusOK {
					t.Fatalf("%s: waiting list of %s through %s: %d %v", when, room, n.URL, res.Status, body)
				}
				list, _ := body["participants"].([]any)
				if len(list) != 1 || list[0].(map[string]any)["id"] != waiting[room] {
					t.Fatalf("%s: waiting list of %s through %s is %v, want only %s", when, room, n.URL, list, waiting[room])
				}
				views = append(views, body)
			}
			for i := 1; i < len(views); i++ {
				if !reflect.DeepEqual(views[0], views[i]) {
					t.Fatalf("%s: room %s served as %v through %s and %v through %s", when, room, views[i], via[i].URL, views[0], via[0].URL)
				}
			}
		}
	}
	checkRooms("before the restart", nodes)
	activations := make([]float64, len(nodes))
	for i, n := range nodes {
		activations[i] = n.Client(t, "").Metric("meetcoord_room_activations_total")
	}

	// Every node's membership is watched all along: it must stay three ready members.
	var watching sync.WaitGroup
	var changed atomic.Value
	stop := make(chan struct{})
	watching.Add(1)
	go func() {
		defer watching.Done()
		want := []string{"200 members=3", "200 members=3", "200 members=3"}
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if got := members(t, nodes); !reflect.DeepEqual(got, want) && changed.Load() == nil {
				changed.Store(fmt.Sprint(got))
			}
		}
	}()
	restarted := time.Now()
	kube.Restart(t)
	t.Logf("API server restarted in %v", time.Since(restarted).Round(time.Millisecond))
	checkRooms("after the restart", nodes)
	close(stop)
	watching.Wait()
	if c := changed.Load(); c != nil {
		t.Fatalf("the membership changed while the API server restarted: %v", c)
	}
	for i, n := range nodes {
		if got := n.Client(t, "").Metric("meetcoord_room_activations_total"); got != activations[i] {
			t.Fatalf("node %d activated %v rooms across the restart (%v before, %v after): rooms moved", i+1, got-activations[i], activations[i], got)
		}
	}

	// Graceful leave after the restart: the survivors only see it through re-established watches.
	leaving := nodes[2]
	leaving.Signal(syscall.SIGTERM)
	leaving.Wait()
	if _, code := leaving.Exited(); code != 0 {
		t.Fatalf("the leaving node exited with %d:\n%s", code, leaving.Log())
	}
	if pod := kube.Pod(t, k8sNamespace, podName(2)); pod.Labels[k8sprovider.LabelCluster] != "" || pod.Annotations[k8sprovider.AnnotationMemberID] != "" {
		t.Fatalf("the node that left left its marks on its pod: labels %v, annotations %v", pod.Labels, pod.Annotations)
	}
	waitForMembers(t, nodes[:2], 2)
	checkRooms("after a node left", nodes[:2])
}

// TestK8sNodeCrashLosesNothing: kill -9 of a node, and the deletion of its Pod (as its
// Deployment replaces it), moves its rooms to the survivors with their lobby as acknowledged:
// waiting and admitted participants alike.
func TestK8sNodeCrashLosesNothing(t *testing.T) {
	kube, nodes, issuer := startK8sCluster(t, failoverEnv)
	owner := mintOwner(t, issuer)
	victim, survivors := nodes[0], nodes[1:]
	rooms := createRooms(t, owner, nodes, 30)
	hosted := ownedBy(nodes, rooms)[victim]
	if len(hosted) == 0 {
		t.Fatal("the victim hosts none of 30 rooms")
	}
	type lobby struct {
		waiting, admitted *servicetest.Client
		waitingID         string // participant id of the waiting one (what admins see)
	}
	lobbies := map[string]lobby{}
	for _, room := range hosted {
		l := lobby{waiting: servicetest.NewClient(t, nodes[1].URL, ""), admitted: servicetest.NewClient(t, nodes[1].URL, "")}
		ids := map[*servicetest.Client]string{}
		for _, g := range []*servicetest.Client{l.waiting, l.admitted} {
			e := g.Do(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"}).JSON()
			if e["status"] != "waiting" {
				t.Fatalf("knock: %v", e)
			}
			ids[g] = e["id"].(string)
		}
		l.waitingID = ids[l.waiting]
		if res := owner.Via(nodes[2].URL).Do(http.MethodPost, "/api/v1.0/rooms/"+room+"/enter/", map[string]any{"participant_id": ids[l.admitted], "allow_entry": true}); res.Status != http.StatusOK {
			t.Fatalf("admit: %d", res.Status)
		}
		lobbies[room] = l
	}

	victim.Kill()
	kube.DeletePod(t, k8sNamespace, podName(0))
	killed := time.Now()
	waitForMembers(t, survivors, 2)
	for i, room := range hosted {
		via := survivors[i%2].URL
		l := lobbies[room]
		var e map[string]any
		servicetest.Eventually(t, 30*time.Second, "room "+room+" served by a survivor", func() bool {
			res := l.admitted.Via(via).Do(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"})
			e = res.JSON()
			return res.Status == http.StatusOK
		})
		if e["status"] != "accepted" {
			t.Fatalf("admitted participant of %s after the crash: %v, want accepted", room, e)
		}
		if w := l.waiting.Via(via).Do(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"}).JSON(); w["status"] != "waiting" {
			t.Fatalf("waiting participant of %s after the crash: %v", room, w)
		}
		list := owner.Via(via).Do(http.MethodGet, "/api/v1.0/rooms/"+room+"/waiting-participants/", nil).JSON()
		if p, _ := list["participants"].([]any); len(p) != 1 || p[0].(map[string]any)["id"] != l.waitingID {
			t.Fatalf("waiting list of %s after the crash: %v", room, list)
		}
	}
	t.Logf("the %d rooms of the killed node served with their lobby %v after kill -9 and pod deletion", len(hosted), time.Since(killed).Round(time.Millisecond))
}

// TestK8sDeletedPodMakesNodeUnready: a node whose Pod is deleted while it runs is no member any
// more: it reports not ready at once, and exits after CLUSTER_REJOIN_TIMEOUT so that it is
// restarted; the others drop it and carry on.
func TestK8sDeletedPodMakesNodeUnready(t *testing.T) {
	kube, nodes, issuer := startK8sCluster(t, map[string]string{"CLUSTER_REJOIN_TIMEOUT": "3"})
	dropped := nodes[2]
	kube.DeletePod(t, k8sNamespace, podName(2))
	expectExitOutsideMembership(t, dropped, nodes[:2], issuer, 20*time.Second, 30*time.Second)
}
