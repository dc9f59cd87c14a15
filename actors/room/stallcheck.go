package room

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"meetcoord/messages"
)

// verifyCurrent makes sure, before a request is answered from memory, that no stall of the node
// has left this activation stale. A node that stood still beyond its membership lease lost its
// rooms: other members activated them (a newer epoch) and took writes, and the requests queued
// in this node's sockets meanwhile reach its old activations when it resumes, before the store's
// announcement of the newer ones does (supersede). After a stall, the room reads its epoch from
// the store: a newer one means the room moved, so this activation stops and answers MOVED (the
// cluster retries on a fresh activation); a store that does not answer leaves the question open,
// so the answer is "unavailable", never stale state. nil means go ahead. Without a stall it costs
// a clock reading: no store call.
func (r *Room) verifyCurrent(ctx actor.Context) *messages.RoomReply {
	if !r.loaded {
		return nil // answered "unavailable" by the caller, from no state
	}
	generation := r.deps.Stalls.Check()
	if generation == r.stallsSeen {
		return nil
	}
	storeCtx, cancel := context.WithTimeout(context.Background(), r.deps.Config.StoreTimeout)
	defer cancel()
	stored, err := r.deps.Store.Epoch(storeCtx, r.id)
	if err != nil {
		r.deps.Metrics.StoreErrors.Inc()
		r.logger().Error("room epoch could not be checked after a stall of the node", slog.Any("error", err))
		return failure(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "Room state is unavailable, try again.")
	}
	if stored != r.epoch {
		// Newer (another activation took over), or gone with an expired tombstone: either way
		// this activation's memory is not the room's state any more.
		r.deps.Metrics.StaleAfterStall.Inc()
		r.logger().Info("room activated elsewhere while the node stood still, stopping",
			slog.Int64("epoch", r.epoch), slog.Int64("stored", stored))
		r.stopAsStale(ctx)
		return moved()
	}
	// The generation read before the store: a stall during the read is seen by the next request.
	r.stallsSeen = generation
	return nil
}
