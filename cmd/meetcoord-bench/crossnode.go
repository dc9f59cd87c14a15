package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"meetcoord/cluster/placement"
)

const (
	crossNodeRooms = 300
	crossNodePolls = 3000 // per kind of room
)

// measureCrossNode: one client polls the lobby through node 1 of three (etcd membership), for
// rooms another node hosts (one remote hop) and for rooms node 1 hosts; the goal is on the p99 of
// the remote ones, the local ones are the counterpart.
func measureCrossNode(ctx context.Context, s settings) ([]row, error) {
	if s.etcd == "" {
		return nil, fmt.Errorf("-etcd (or ETCD_ENDPOINTS) is required for the cross-node figure")
	}
	if err := flushRedis(ctx, s); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	var nodes []*node
	defer func() {
		for _, n := range nodes {
			n.stop()
		}
	}()
	for i := range 3 {
		port, err := freeAddr()
		if err != nil {
			return nil, err
		}
		_, p, _ := strings.Cut(port, ":")
		n, err := startNode(ctx, s, fmt.Sprintf("cluster-%d", i+1), nodeEnv(s, map[string]string{
			"CLUSTER_PROVIDER": "etcd", "ETCD_ENDPOINTS": s.etcd, "CLUSTER_NAME": name,
			"CLUSTER_ADVERTISE_ADDR": "127.0.0.1", "CLUSTER_PORT": p,
		}))
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if err := waitMembers(ctx, nodes); err != nil {
		return nil, err
	}
	entry := nodes[0]
	token, err := entry.token(s, "bench-owner")
	if err != nil {
		return nil, err
	}
	rooms, err := newClient(entry.url, token).createRooms(crossNodeRooms, 8)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.clusterAddr
	}
	var local, remote []lobbyPoll
	guest := newClient(entry.url, "")
	for _, id := range rooms {
		p, err := knock(guest, id)
		if err != nil {
			return nil, err
		}
		if placement.OwnerAmong(addrs, id) == entry.clusterAddr {
			local = append(local, p)
		} else {
			remote = append(remote, p)
		}
	}
	httpClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	latencies := func(polls []lobbyPoll) ([]time.Duration, error) {
		out := make([]time.Duration, 0, crossNodePolls)
		for i := range crossNodePolls + 200 { // the first 200: warm-up
			p := polls[i%len(polls)]
			req, _ := http.NewRequest(http.MethodPost, entry.url+p.path, strings.NewReader(`{"username":"guest"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Cookie", p.cookie)
			start := time.Now()
			res, err := httpClient.Do(req)
			if err != nil {
				return nil, err
			}
			var body struct{ Status string }
			err = json.NewDecoder(res.Body).Decode(&body)
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			took := time.Since(start)
			if err != nil || res.StatusCode != http.StatusOK || body.Status != "waiting" {
				return nil, fmt.Errorf("poll: %d %q %v", res.StatusCode, body.Status, err)
			}
			if i >= 200 {
				out = append(out, took)
			}
		}
		slices.Sort(out)
		return out, nil
	}
	localLat, err := latencies(local)
	if err != nil {
		return nil, err
	}
	remoteLat, err := latencies(remote)
	if err != nil {
		return nil, err
	}
	pct := func(d []time.Duration, p float64) time.Duration { return d[min(len(d)-1, int(float64(len(d))*p))] }
	return []row{{
		figure:      "lobby poll latency, room on another node (p50 / p99)",
		measured:    fmt.Sprintf("%s / %s", micro(pct(remoteLat, 0.5)), micro(pct(remoteLat, 0.99))),
		counterpart: fmt.Sprintf("%s / %s (room on the node asked)", micro(pct(localLat, 0.5)), micro(pct(localLat, 0.99))),
		result:      float64(pct(remoteLat, 0.99).Microseconds()), unit: "us", goal: 2000, atMost: true,
	}}, nil
}

func micro(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) + " us" }

// waitMembers waits until every node is ready and sees every other.
func waitMembers(ctx context.Context, nodes []*node) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		all := true
		for _, n := range nodes {
			res, err := http.Get(n.url + "/readyz")
			if err != nil {
				all = false
				break
			}
			var body map[string]any
			_ = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || body["members"] != float64(len(nodes)) {
				all = false
			}
		}
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the %d nodes did not see each other within 60 s", len(nodes))
}
