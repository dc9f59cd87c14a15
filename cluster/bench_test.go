package cluster_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"meetcoord/cluster/placement"
	"meetcoord/cmd/meetcoord/service/servicetest"
)

// Cluster measurements (`make bench-cluster`): three node processes on one Redis and one etcd,
// all on this machine, so remote hops are loopback hops.

// clusterAddress is a node's member address (CLUSTER_ADVERTISE_ADDR is 127.0.0.1 in tests).
func clusterAddress(p *servicetest.Process) string {
	port := ""
	for _, kv := range p.Env {
		if v, ok := strings.CutPrefix(kv, "CLUSTER_PORT="); ok {
			port = v
		}
	}
	return "127.0.0.1:" + port
}

// ownedBy splits rooms by the node that hosts them when every node is up.
func ownedBy(nodes []*servicetest.Process, rooms []string) map[*servicetest.Process][]string {
	addrs := make([]string, len(nodes))
	byAddr := map[string]*servicetest.Process{}
	for i, n := range nodes {
		addrs[i] = clusterAddress(n)
		byAddr[addrs[i]] = n
	}
	out := map[*servicetest.Process][]string{}
	for _, room := range rooms {
		owner := byAddr[placement.OwnerAmong(addrs, room)]
		out[owner] = append(out[owner], room)
	}
	return out
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// BenchmarkLobbyPollLatency: one client polls the lobby through node 1, for rooms hosted by
// node 1 (no hop) and by the other nodes (one remote hop); reports p50 and p99.
func BenchmarkLobbyPollLatency(b *testing.B) {
	nodes, issuer := startCluster(b, failoverEnv, nil)
	owner := mintOwner(b, issuer)
	rooms := createRooms(b, owner, nodes, 300)
	byOwner := ownedBy(nodes, rooms)
	entry := nodes[0]
	guests := map[string]*servicetest.Client{} // room -> its waiting participant's browser
	pool := &http.Transport{MaxIdleConnsPerHost: 4}
	for _, room := range rooms {
		guest := entry.Client(b, "").WithTransport(pool, 0)
		if _, err := guest.Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"}); err != nil {
			b.Fatal(err)
		}
		guests[room] = guest
	}
	for _, c := range []struct {
		name  string
		rooms []string
	}{
		{"owner=receiving-node", byOwner[nodes[0]]},
		{"owner=other-node", append(slices.Clone(byOwner[nodes[1]]), byOwner[nodes[2]]...)},
	} {
		b.Run(c.name, func(b *testing.B) {
			latencies := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				room := c.rooms[i%len(c.rooms)]
				start := time.Now()
				res, err := guests[room].Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"})
				latencies = append(latencies, time.Since(start))
				if err != nil || res.Status != http.StatusOK {
					b.Fatalf("poll: %d %v", res.Status, err)
				}
			}
			b.StopTimer()
			slices.Sort(latencies)
			b.ReportMetric(float64(percentile(latencies, 0.50).Microseconds()), "p50-µs")
			b.ReportMetric(float64(percentile(latencies, 0.99).Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkNodeLoss: 10,000 active rooms; kill -9 the node hosting a third of them; reports the
// time from the kill to the first successful request for a moved room, and how many moved rooms
// per second the survivors re-activate (every moved room requested by 16 clients at once right
// after the kill). One measurement per run: use -benchtime 1x.
func BenchmarkNodeLoss(b *testing.B) {
	nodes, issuer := startCluster(b, failoverEnv, nil)
	owner := mintOwner(b, issuer)
	rooms := createRooms(b, owner, nodes, 10000)
	victim, survivors := nodes[2], nodes[:2]
	moved := ownedBy(nodes, rooms)[victim]
	// Activate every room (creation leaves them active, but make sure after any rebalance).
	get := func(caller *servicetest.Client, via *servicetest.Process, room string) bool {
		res, err := caller.Via(via.URL).Request(http.MethodGet, "/api/v1.0/rooms/"+room+"/", nil)
		return err == nil && res.Status == http.StatusOK
	}
	sweep := func(rooms []string) (time.Duration, int64) {
		pooled := owner.WithTransport(&http.Transport{MaxIdleConnsPerHost: 16}, 30*time.Second)
		var next, failed atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(len(rooms)) {
						return
					}
					if !get(pooled, survivors[w%2], rooms[i]) {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start), failed.Load()
	}
	if _, failed := sweep(rooms); failed != 0 {
		b.Fatalf("%d rooms failed before the kill", failed)
	}
	activationsBefore := survivors[0].Client(b, "").Metric("meetcoord_room_activations_total") + survivors[1].Client(b, "").Metric("meetcoord_room_activations_total")

	victim.Kill()
	killed := time.Now()
	for !get(owner, survivors[0], moved[0]) {
		time.Sleep(time.Millisecond)
	}
	firstSuccess := time.Since(killed)
	took, failed := sweep(moved[1:])
	if failed != 0 {
		b.Fatalf("%d moved rooms failed after the kill", failed)
	}
	activations := survivors[0].Client(b, "").Metric("meetcoord_room_activations_total") + survivors[1].Client(b, "").Metric("meetcoord_room_activations_total") - activationsBefore
	b.ReportMetric(float64(firstSuccess.Milliseconds()), "ms-kill-to-first-success")
	b.ReportMetric(float64(len(moved)-1)/took.Seconds(), "moved-rooms-reactivated/s")
	b.ReportMetric(float64(len(moved)), "moved-rooms")
	b.Logf("kill -9 of a node hosting %d of %d rooms: first moved room served %v after the kill; the other %d re-activated in %v (%.0f/s); %v activations on the survivors",
		len(moved), len(rooms), firstSuccess.Round(time.Millisecond), len(moved)-1, took.Round(time.Millisecond), float64(len(moved)-1)/took.Seconds(), activations)
	if int(activations) < len(moved) {
		b.Fatalf("%v activations on the survivors, want at least the %d moved rooms", activations, len(moved))
	}
}
