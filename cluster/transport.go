package cluster

import (
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// remoteWindow is the HTTP/2 flow-control window of the gRPC streams between members, per
// stream and per connection (protoactor opens one stream per peer, so they are the same size).
//
// A fixed window, where gRPC's default is a window it grows by estimating the bandwidth-delay
// product: to do so, the receiver of a data frame sends a window update and a PING, and the
// sender answers the PING, whenever no PING is already out. Between members the traffic is a
// request answered by a small reply, one at a time per room, so nearly every message had a
// ping exchange of its own: two more writes and two more wake-ups per hop, on both members'
// CPUs, beside the message they follow (lobby polls to a room on another member, make bench).
// 4 MiB lets a burst of replies through without waiting for a window update; it is memory only
// when the receiving member falls that far behind.
const remoteWindow = 4 << 20

// remoteOptions are the gRPC settings of the members' links. protoactor's own default dial
// option (plain-text transport) is repeated here, since WithDialOptions replaces it.
func remoteOptions() []remote.ConfigOption {
	return []remote.ConfigOption{
		remote.WithDialOptions(
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithStaticStreamWindowSize(remoteWindow),
			grpc.WithStaticConnWindowSize(remoteWindow),
		),
		remote.WithServerOptions(
			grpc.StaticStreamWindowSize(remoteWindow),
			grpc.StaticConnWindowSize(remoteWindow),
		),
	}
}
