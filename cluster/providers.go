package cluster

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/labstack/echo"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"k8s.io/klog/v2"

	"meetcoord/actors/room"
	"meetcoord/cluster/k8sprovider"
)

// newProvider is the membership provider CLUSTER_PROVIDER names.
func newProvider(cfg Config, system *actor.ActorSystem, logger *slog.Logger) (protocluster.ClusterProvider, error) {
	switch cfg.Provider {
	case "none":
		return test.NewTestProvider(test.NewInMemAgent()), nil
	case "etcd":
		// The etcd client logs through zap straight to stderr, in its own format: silenced. What
		// matters reaches the service's log through protoactor (warnings) and the node
		// (membership lost, not ready).
		// The lease that holds this member's registration lasts CLUSTER_LEASE_TTL rather than the
		// provider's own 3 s (withLeaseTTL says why).
		p, err := etcd.NewWithConfig("/meetcoord", clientv3.Config{Endpoints: cfg.EtcdEndpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
			DialOptions: []grpc.DialOption{withLeaseTTL(cfg.LeaseTTL)}})
		if err != nil {
			return nil, fmt.Errorf("etcd cluster provider (ETCD_ENDPOINTS %v): %w", cfg.EtcdEndpoints, err)
		}
		return p, nil
	case "automanaged":
		return newAutomanaged(cfg, system)
	case "k8s":
		// client-go logs through klog, in its own format, straight to stderr: into the service's
		// log instead (klog's logger is the process's; this process has one API client).
		klog.SetSlogLogger(logger.With(slog.String("component", "client-go")))
		// Our own provider on a client-go informer rather than protoactor's (docs/decisions.md);
		// its Role: list, watch and patch on pods (README, the chart's Role).
		p, err := k8sprovider.New(k8sprovider.Settings{ClusterName: cfg.Name, PodName: cfg.PodName,
			PodNamespace: cfg.PodNamespace, Kubeconfig: cfg.Kubeconfig}, logger)
		if err != nil {
			return nil, fmt.Errorf("kubernetes cluster provider: %w", err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("CLUSTER_PROVIDER %q is not supported", cfg.Provider)
}

// newAutomanaged is protoactor's automanaged provider (members poll each other's health endpoint
// at CLUSTER_SEEDS), with the health endpoint bound to the advertised address instead of every
// interface as protoactor does: it tells anyone who asks what this member is.
func newAutomanaged(cfg Config, system *actor.ActorSystem) (protocluster.ClusterProvider, error) {
	addr := net.JoinHostPort(cfg.AdvertiseAddr, strconv.Itoa(cfg.AutomanagedPort))
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("automanaged health endpoint on %s (CLUSTER_ADVERTISE_ADDR, CLUSTER_AUTOMANAGED_PORT): %w", addr, err)
	}
	server := echo.New()
	server.HideBanner = true
	server.HidePort = true
	server.Listener = listener // echo serves on it rather than on 0.0.0.0
	server.GET("/_health", func(c echo.Context) error {
		host, port, err := system.GetHostPort()
		if err != nil {
			return c.NoContent(http.StatusServiceUnavailable)
		}
		return c.JSON(http.StatusOK, automanaged.NewNode(cfg.Name, system.ID, host, port, cfg.AutomanagedPort, []string{room.Kind}))
	})
	// "Testing" only means that protoactor takes our server instead of building its own.
	return automanaged.NewWithTesting(2*time.Second, cfg.AutomanagedPort, server, cfg.Seeds...), nil
}
