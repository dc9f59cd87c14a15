package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

const pollRooms = 1000

// measurePolls: request-entry polls of waiting guests, one per room over 1,000 rooms, against the
// bare handler answering the same JSON.
func measurePolls(ctx context.Context, s settings) ([]row, error) {
	n, owner, err := startFreshNode(ctx, s, "polls")
	if err != nil {
		return nil, err
	}
	defer n.stop()
	rooms, err := owner.createRooms(pollRooms, 16)
	if err != nil {
		return nil, err
	}
	guest := newClient(n.url, "")
	reqs := make([]replayed, 0, len(rooms))
	for _, id := range rooms {
		p, err := knock(guest, id)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, replayed{path: p.path, header: "Cookie", value: p.cookie, body: `{"username":"guest"}`})
	}
	file := filepath.Join(s.workDir, "polls.txt")
	if err := writeRequests(file, reqs); err != nil {
		return nil, err
	}
	const contentType = "application/json"
	// Polls change nothing: each round replays the same file.
	nodeRun, bareRun, err := compareWithBare(ctx, s, n, "polls", file, slices.Repeat([]string{file}, rounds), contentType, nil)
	if err != nil {
		return nil, err
	}
	return []row{{
		figure:   fmt.Sprintf("lobby polls (%d rooms, wrk -t%d -c%d)", pollRooms, wrkThreads, wrkConnections),
		measured: nodeRun.rateAndCPU(), counterpart: bareRun.rateAndCPU(),
		result: nodeRun.perSecond / bareRun.perSecond, unit: "ratio", goal: 0.7,
	}}, nil
}

// rounds is how many times a figure's node and bare runs alternate: the machine's speed drifts
// (other tenants of the host, its own background work), and one run of each, a few seconds
// apart, measured that drift as much as the node. Alternating spreads it over both.
const rounds = 3

// roundLength is each round's run, the run's length split over the rounds (wrk counts whole
// seconds).
func roundLength(s settings) time.Duration {
	return max(time.Second, (s.duration+rounds*time.Second-1)/rounds).Truncate(time.Second)
}

// compareWithBare replays files[i] against the node and then against a bare counterpart of
// kind, for each round i, after a short warm-up of each replaying warmUpFile (a file of its own
// where a request may not be repeated), and returns the rounds of each added up. check, when set,
// judges each of the node's runs.
func compareWithBare(ctx context.Context, s settings, n *node, kind, warmUpFile string, files []string, contentType string, check func(wrkResult) error) (wrkResult, wrkResult, error) {
	const warmUp = 2 * time.Second
	if _, err := runWrk(ctx, s, n.url, warmUpFile, contentType, warmUp); err != nil {
		return wrkResult{}, wrkResult{}, fmt.Errorf("warm-up: %w", err)
	}
	bare, err := startBare(ctx, s, kind)
	if err != nil {
		return wrkResult{}, wrkResult{}, err
	}
	defer bare.stop()
	if _, err := runWrk(ctx, s, bare.url, warmUpFile, contentType, warmUp); err != nil {
		return wrkResult{}, wrkResult{}, fmt.Errorf("bare warm-up: %w", err)
	}
	length := roundLength(s)
	var nodeRuns, bareRuns []wrkResult
	for i, file := range files {
		profiled := func() {}
		if i == 0 {
			profiled = n.profileRun(s, kind, length-time.Second)
		}
		nodeRun, err := runWrkOn(ctx, s, n.cmd.Process.Pid, n.url, file, contentType, length)
		profiled()
		if err == nil && check != nil {
			err = check(nodeRun)
		}
		if err != nil {
			return wrkResult{}, wrkResult{}, err
		}
		bareRun, err := runWrkOn(ctx, s, bare.cmd.Process.Pid, bare.url, file, contentType, length)
		if err != nil {
			return wrkResult{}, wrkResult{}, err
		}
		nodeRuns, bareRuns = append(nodeRuns, nodeRun), append(bareRuns, bareRun)
	}
	return sumRuns(nodeRuns), sumRuns(bareRuns), nil
}

// sumRuns adds runs up: their requests and server CPU, and the rate over their time together.
func sumRuns(runs []wrkResult) wrkResult {
	var sum wrkResult
	var seconds float64
	for _, r := range runs {
		sum.requests += r.requests
		sum.serverCPU += r.serverCPU
		if r.perSecond > 0 {
			seconds += float64(r.requests) / r.perSecond
		}
	}
	if seconds > 0 {
		sum.perSecond = float64(sum.requests) / seconds
	}
	return sum
}
