// Package k8sprovider is meetcoord's Kubernetes membership provider for protoactor: each member
// marks its own Pod (a label naming the cluster, annotations with its member id, remote address
// and kinds) and follows the Pods of its namespace that carry the label through a client-go
// informer; the members are the marked Pods that are Running, not being deleted, and whose
// containers all run. It replaces protoactor's own k8s provider (docs/decisions.md says why).
//
// The API server comes from KUBECONFIG when it is set, else from the Pod's service account
// (in-cluster). The Role it needs, in the Pod's namespace: pods, verbs list, watch and patch
// (RBAC below; the chart's Role is exactly that).
package k8sprovider
