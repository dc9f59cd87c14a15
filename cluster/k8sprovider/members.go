package k8sprovider

import (
	"net"
	"sort"
	"strconv"
	"strings"

	protocluster "github.com/asynkron/protoactor-go/cluster"
	corev1 "k8s.io/api/core/v1"
)

// What a member writes on its own Pod. The label is what the others select on; the rest are
// annotations, whose values are free-form (an IPv6 address is no valid label value).
const (
	LabelCluster       = "meetcoord.io/cluster"
	AnnotationMemberID = "meetcoord.io/member-id"
	AnnotationAddress  = "meetcoord.io/address" // host:port of the member's remote (CLUSTER_ADVERTISE_ADDR:CLUSTER_PORT)
	AnnotationKinds    = "meetcoord.io/kinds"   // comma-separated grain kinds it hosts
)

// memberOf is the cluster member a Pod stands for, or nil when it stands for none now: not
// marked for this cluster, not Running (Pending, or Succeeded/Failed with the marks of a process
// that is gone), being deleted (its process is about to receive SIGTERM and leaves by itself), or
// with a container that does not run (crashed, restarting: its marks are those of the previous
// process until the new one writes its own). Readiness is deliberately not looked at: a member's
// readiness probe passes only once it is in the membership, so waiting for it would never end.
func memberOf(pod *corev1.Pod, clusterName string) *protocluster.Member {
	if pod.Labels[LabelCluster] != clusterName || pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
		return nil
	}
	for _, status := range pod.Status.ContainerStatuses {
		if status.State.Running == nil {
			return nil
		}
	}
	id := pod.Annotations[AnnotationMemberID]
	host, portText, err := net.SplitHostPort(pod.Annotations[AnnotationAddress])
	if id == "" || err != nil {
		return nil
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return nil
	}
	var kinds []string
	if k := pod.Annotations[AnnotationKinds]; k != "" {
		kinds = strings.Split(k, ",")
	}
	return &protocluster.Member{Id: id, Host: host, Port: int32(port), Kinds: kinds}
}

// membersOf is the members the Pods stand for, in a stable order (by id).
func membersOf(pods []*corev1.Pod, clusterName string) []*protocluster.Member {
	members := make([]*protocluster.Member, 0, len(pods))
	for _, pod := range pods {
		if m := memberOf(pod, clusterName); m != nil {
			members = append(members, m)
		}
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Id < members[j].Id })
	return members
}
