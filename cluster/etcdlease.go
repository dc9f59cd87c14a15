package cluster

import (
	"context"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// withLeaseTTL makes every lease the etcd client grants last ttl (whole seconds, etcd's unit).
//
// protoactor's etcd provider registers a member with a lease whose TTL it hard-codes (3 s, an
// unexported field) and keeps it alive with the client's keep-alive (one renewal every TTL/3).
// A member or an etcd starved of CPU for longer than the TTL loses its lease: its key is
// deleted, every member blocks its id for good (protoactor never lets a member that left join
// again) and the member removes itself from its own view, so it stays out until it restarts
// (CLUSTER_REJOIN_TIMEOUT). The provider takes no option for the TTL but asks for its lease
// through the client we configure: this interceptor on that client's LeaseGrant calls is where
// CLUSTER_LEASE_TTL takes effect (docs/decisions.md).
func withLeaseTTL(ttl time.Duration) grpc.DialOption {
	seconds := int64((ttl + time.Second - 1) / time.Second)
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if grant, ok := req.(*pb.LeaseGrantRequest); ok && seconds > 0 {
			// A fresh request per call (clientv3's Grant builds one): changing it is safe.
			grant.TTL = seconds
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
}
