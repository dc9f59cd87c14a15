package cluster

import (
	"context"
	"log/slog"
)

// protoactorLifecycle are messages protoactor logs at ERROR for ordinary membership changes (a
// member leaving or dying, a connection closing at shutdown). They are demoted to INFO, so the
// service's log shows them only when LOG_LEVEL asks for that much; the state they reflect is
// logged once, at the right level, by the placement lookup and the node.
var protoactorLifecycle = map[string]bool{
	"EndpointWriter failed to connect":                                true,
	"EndpointWriter lost connection":                                  true,
	"EndpointWriter failed to create receive stream":                  true,
	"EndpointWriter failed to receive connect response":               true,
	"EndpointWriter failed to send connect request":                   true,
	"EndpointWriter error when closing the client conn":               true,
	"EndpointWriter error when closing the stream":                    true,
	"EndpointWatcher receive message for already terminated endpoint": true,
	"EndpointReader failed to send disconnection message":             true,
	"Bad connection to the node health status":                        true,
	"Couldn't request node health status":                             true,
	"Failure reaching nodes":                                          true,
	"Automanaged server stopping..!":                                  true,
	"Could not get a response from GossipActor":                       true,
	"Could not get a response from GossipActor: request timeout":      true,
	"Could not get a response from Gossiper Actor":                    true,
	"Could not get a response from Gossiper Actor: request timeout":   true,
	"cluster.RequestFuture failed":                                    true,
	"sendGossipForMember failed":                                      true, // every 300 ms while a gone member is still listed
	"deregisterMember":                                                true, // the node logs its own failure to leave
}

// quietProtoactor passes protoactor's warnings and errors to the service's handler, minus the
// lifecycle noise: protoactor logs much at info level, and lifecycle events at error.
type quietProtoactor struct {
	slog.Handler
}

// Enabled: records below WARN never pass; lifecycle messages (all logged at WARN or ERROR) are
// decided in Handle, by message.
func (h quietProtoactor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h quietProtoactor) Handle(ctx context.Context, r slog.Record) error {
	if protoactorLifecycle[r.Message] {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelInfo
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietProtoactor) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietProtoactor{Handler: h.Handler.WithAttrs(attrs)}
}

func (h quietProtoactor) WithGroup(name string) slog.Handler {
	return quietProtoactor{Handler: h.Handler.WithGroup(name)}
}
