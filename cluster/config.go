package cluster

import "time"

// Config is what a node needs to join the cluster's membership and reach room grains: the
// membership-only part of the node's configuration (the CLUSTER_* variables, ETCD_ENDPOINTS and
// ROOM_REQUEST_TIMEOUT).
type Config struct {
	// Provider is where membership comes from: none (one node), automanaged, etcd or k8s.
	Provider      string
	Name          string
	AdvertiseAddr string
	Port          int // 0: any free port
	EtcdEndpoints []string
	// Seeds: host:port of every member's automanaged health endpoint.
	Seeds []string
	// AutomanagedPort: where this member's automanaged health endpoint listens (on the
	// advertised address only).
	AutomanagedPort int
	// PodName, PodNamespace (k8s provider): the Pod this process runs in; Kubeconfig: where the
	// API server is when outside a cluster (empty: the Pod's service account).
	PodName      string
	PodNamespace string
	Kubeconfig   string
	// ActivationTimeout bounds one activation request to a room's owner; the request as a whole
	// retries until its deadline.
	ActivationTimeout time.Duration
	// LeaveGrace: how long, after leaving the membership, a member keeps answering (with
	// "moved") so that the others' views drop it before its address goes silent.
	LeaveGrace time.Duration
	// RejoinTimeout: how long a member may find itself outside the membership before it gives
	// up (Node.Lost) so that its supervisor restarts it.
	RejoinTimeout time.Duration
	// LeaseTTL (etcd provider): how long this member's registration outlives its last renewal
	// (renewed every third of it). A member starved of CPU for less stays a member; a member
	// that hangs without closing its connections is dropped after it. A crashed member is
	// dropped sooner: its peers see its connections break (cluster/placement).
	LeaseTTL time.Duration
	// HeartbeatExpiration: how long a member's gossip heartbeat may go unseen before the
	// others block it for good (every provider). Above LeaseTTL, so that the lease decides.
	HeartbeatExpiration time.Duration
	// RequestTimeout bounds one request to a room grain.
	RequestTimeout time.Duration
}
