package k8sprovider

import (
	"reflect"
	"testing"
	"time"

	protocluster "github.com/asynkron/protoactor-go/cluster"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMemberOfPod(t *testing.T) {
	marked := func(change func(*corev1.Pod)) *corev1.Pod {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "meetcoord-0",
				Labels:      map[string]string{LabelCluster: "meet", "app": "meetcoord"},
				Annotations: map[string]string{AnnotationMemberID: "m1", AnnotationAddress: "10.0.0.7:6000", AnnotationKinds: "room"}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.7", ContainerStatuses: []corev1.ContainerStatus{
				{Name: "meetcoord", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
		}
		if change != nil {
			change(pod)
		}
		return pod
	}
	member := &protocluster.Member{Id: "m1", Host: "10.0.0.7", Port: 6000, Kinds: []string{"room"}}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want *protocluster.Member
	}{
		{"marked and running", marked(nil), member},
		// Readiness is not looked at: the readiness probe passes only once the member is in.
		{"running, not ready", marked(func(p *corev1.Pod) { p.Status.ContainerStatuses[0].Ready = false }), member},
		{"IPv6 address", marked(func(p *corev1.Pod) { p.Annotations[AnnotationAddress] = "[fd00::7]:6000" }),
			&protocluster.Member{Id: "m1", Host: "fd00::7", Port: 6000, Kinds: []string{"room"}}},
		{"other cluster", marked(func(p *corev1.Pod) { p.Labels[LabelCluster] = "other" }), nil},
		{"pending", marked(func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }), nil},
		{"failed", marked(func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }), nil},
		{"being deleted", marked(func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: time.Now()} }), nil},
		{"container crashed, restarting", marked(func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
		}), nil},
		{"no member id", marked(func(p *corev1.Pod) { delete(p.Annotations, AnnotationMemberID) }), nil},
		{"no address", marked(func(p *corev1.Pod) { delete(p.Annotations, AnnotationAddress) }), nil},
		{"port out of range", marked(func(p *corev1.Pod) { p.Annotations[AnnotationAddress] = "10.0.0.7:70000" }), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := memberOf(tc.pod, "meet"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("memberOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}
