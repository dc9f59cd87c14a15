// Package cluster is a node's membership of the meetcoord cluster: the protoactor actor system
// and membership provider, placement of room grains (package placement), routing of requests to
// them with retries, and fencing of stale activations. The node's assembly from its
// configuration lives in cmd/meetcoord/service.
package cluster
