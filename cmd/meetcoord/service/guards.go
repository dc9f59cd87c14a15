package service

import (
	"meetcoord/actors/store"
	"meetcoord/cluster"
	"meetcoord/gateway"
	"meetcoord/gateway/invitations"
	"meetcoord/gateway/marketing"
)

// Compile-time checks that the adapters assembled here implement the gateway's ports. They live
// in the composition root because the adapters' packages must not import the gateway (the
// gateway's tests import the store); the room actor's ports are checked in the adapters' own
// packages.
var (
	// serviceStore embeds the six ports a store serves: the rooms', the gateway's directory,
	// users, sessions and user e-mails, and the applications' registry.
	_ serviceStore = (*store.Redis)(nil)
	_ serviceStore = (*store.Memory)(nil)

	_ gateway.Rooms   = (*cluster.Node)(nil)
	_ gateway.Inviter = (*invitations.Service)(nil)
	_ gateway.Signups = (*marketing.Signups)(nil)
)
