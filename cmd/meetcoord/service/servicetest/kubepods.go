package servicetest

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CreateNamespace creates a namespace on the API server.
func (k *KubeAPIServer) CreateNamespace(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	_, err := k.Client(t).CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// CreateRunningPod creates a Pod and sets its status as a kubelet would once its container
// runs: phase Running, pod IP 127.0.0.1 (the node processes are local), its container running.
// The node process that stands for it is started by the test (POD_NAME, POD_NAMESPACE).
func (k *KubeAPIServer) CreateRunningPod(t testing.TB, namespace, name string) {
	t.Helper()
	client := k.Client(t)
	ctx, cancel := ctx10s()
	defer cancel()
	pod, err := client.CoreV1().Pods(namespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/name": "meetcoord"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "meetcoord", Image: "meetcoord:test"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s/%s: %v", namespace, name, err)
	}
	now := metav1.NewTime(time.Now())
	pod.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: "127.0.0.1", PodIPs: []corev1.PodIP{{IP: "127.0.0.1"}}, StartTime: &now,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "meetcoord", Image: "meetcoord:test", Started: new(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}},
	}
	if _, err := client.CoreV1().Pods(namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set pod %s/%s running: %v", namespace, name, err)
	}
}

// DeletePod deletes a Pod at once (no kubelet: nothing waits for its containers).
func (k *KubeAPIServer) DeletePod(t testing.TB, namespace, name string) {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	if err := k.Client(t).CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatalf("delete pod %s/%s: %v", namespace, name, err)
	}
}

// Pod reads a Pod.
func (k *KubeAPIServer) Pod(t testing.TB, namespace, name string) *corev1.Pod {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	pod, err := k.Client(t).CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod %s/%s: %v", namespace, name, err)
	}
	return pod
}
