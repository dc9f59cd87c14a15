package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"meetcoord/cluster"
	"meetcoord/messages"
)

const (
	heapRooms  = 20000  // rooms measured for the heap per room
	totalRooms = 100000 // rooms for the resident set size
	warmRooms  = 1000   // created before the first reading: one-off structures grow here
)

// measureRooms: heap in use per active room (20,000 rooms created and kept active), against a
// grain that does nothing on the same cluster wiring (the floor protoactor and placement set);
// and the resident set size of a node with 100,000 active rooms.
func measureRooms(ctx context.Context, s settings) ([]row, error) {
	n, owner, err := startFreshNode(ctx, s, "rooms")
	if err != nil {
		return nil, err
	}
	defer n.stop()
	if _, err := owner.createRooms(warmRooms, 16); err != nil {
		return nil, err
	}
	before, err := n.heapInUse()
	if err != nil {
		return nil, err
	}
	if _, err := owner.createRooms(heapRooms, 16); err != nil {
		return nil, err
	}
	after, err := n.heapInUse()
	if err != nil {
		return nil, err
	}
	if err := checkActive(n, warmRooms+heapRooms); err != nil {
		return nil, err
	}
	n.saveHeapProfile(s, "rooms.heap.pprof")
	perRoom := (after - before) / heapRooms
	floor, err := bareGrainHeap(heapRooms)
	if err != nil {
		return nil, err
	}
	rows := []row{{
		figure:   fmt.Sprintf("heap in use per active room (%d rooms)", heapRooms),
		measured: fmt.Sprintf("%.0f B", perRoom), counterpart: fmt.Sprintf("%.0f B (a grain doing nothing)", floor),
		result: perRoom, unit: "B", goal: 4096, atMost: true,
	}}
	if _, err := owner.createRooms(totalRooms-warmRooms-heapRooms, 16); err != nil {
		return nil, err
	}
	if err := checkActive(n, totalRooms); err != nil {
		return nil, err
	}
	if _, err := n.heapInUse(); err != nil { // a collection, as the process would have done by itself
		return nil, err
	}
	rss, err := n.rssBytes()
	if err != nil {
		return nil, err
	}
	// No counterpart: beside the figure, the live heap after that collection, of which the
	// resident size is about twice (GOGC=100) plus what lies outside the heap.
	live, err := n.metric("go_memstats_heap_alloc_bytes")
	if err != nil {
		return nil, err
	}
	rows = append(rows, row{
		figure:      fmt.Sprintf("resident set size, %d active rooms", totalRooms),
		measured:    fmt.Sprintf("%.0f MiB", float64(rss)/(1<<20)),
		counterpart: fmt.Sprintf("(live heap %.0f MiB)", live/(1<<20)),
		result:      float64(rss) / (1 << 20), unit: "MiB", goal: 600, atMost: true,
	})
	return rows, nil
}

// checkActive fails unless at least want rooms are activated and none passivated: the figures
// are for active rooms.
func checkActive(n *node, want int) error {
	activated, err := n.metric("meetcoord_room_activations_total")
	if err != nil {
		return err
	}
	passivated, err := n.metric("meetcoord_room_passivations_total")
	if err != nil {
		return err
	}
	if activated-passivated < float64(want) {
		return fmt.Errorf("%.0f rooms active (%.0f activated, %.0f passivated), want %d", activated-passivated, activated, passivated, want)
	}
	return nil
}

// idleGrain answers every message with an empty reply: a room grain without a room.
func idleGrain(ctx actor.Context) {
	if _, ok := ctx.Message().(*messages.GetRoom); ok {
		ctx.Respond(&messages.RoomReply{})
	}
}

// bareGrainHeap is the heap in use per grain of count grains that do nothing, activated through
// the same cluster wiring as rooms (a one-node cluster, our placement lookup and PID cache).
func bareGrainHeap(count int) (float64, error) {
	node, err := cluster.StartNode(cluster.Config{Provider: "none", Name: fmt.Sprintf("floor-%d", time.Now().UnixNano()),
		AdvertiseAddr: "127.0.0.1", ActivationTimeout: 5 * time.Second, RequestTimeout: 10 * time.Second},
		actor.PropsFromFunc(idleGrain), slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, err
	}
	defer node.Stop()
	ask := func(from, to int) error {
		for i := from; i < to; i++ {
			if _, err := node.Ask(context.Background(), fmt.Sprintf("floor-grain-%d", i), &messages.GetRoom{}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := ask(0, warmRooms); err != nil {
		return 0, err
	}
	before := heapInUseHere()
	if err := ask(warmRooms, warmRooms+count); err != nil {
		return 0, err
	}
	return (heapInUseHere() - before) / float64(count), nil
}

func heapInUseHere() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse)
}
