package main

import (
	"context"
	"fmt"
	"path/filepath"
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
	nodeRun, bareRun, err := compareWithBare(ctx, s, n, "polls", file, file, contentType, nil)
	if err != nil {
		return nil, err
	}
	return []row{{
		figure:   fmt.Sprintf("lobby polls (%d rooms, wrk -t%d -c%d)", pollRooms, wrkThreads, wrkConnections),
		measured: nodeRun.rateAndCPU(), counterpart: bareRun.rateAndCPU(),
		result: nodeRun.perSecond / bareRun.perSecond, unit: "ratio", goal: 0.7,
	}}, nil
}

// compareWithBare replays file against the node, then against a bare counterpart of kind, each
// after a short warm-up replaying warmUpFile (a file of its own where a request may not be
// repeated), and returns both runs. check, when set, judges the node's run before the bare one.
func compareWithBare(ctx context.Context, s settings, n *node, kind, warmUpFile, file, contentType string, check func(wrkResult) error) (wrkResult, wrkResult, error) {
	const warmUp = 2 * time.Second
	if _, err := runWrk(ctx, s, n.url, warmUpFile, contentType, warmUp); err != nil {
		return wrkResult{}, wrkResult{}, fmt.Errorf("warm-up: %w", err)
	}
	profiled := n.profileRun(s, kind, s.duration-time.Second)
	nodeRun, err := runWrkOn(ctx, s, n.cmd.Process.Pid, n.url, file, contentType, s.duration)
	profiled()
	if err == nil && check != nil {
		err = check(nodeRun)
	}
	if err != nil {
		return wrkResult{}, wrkResult{}, err
	}
	bare, err := startBare(ctx, s, kind)
	if err != nil {
		return wrkResult{}, wrkResult{}, err
	}
	defer bare.stop()
	if _, err := runWrk(ctx, s, bare.url, warmUpFile, contentType, warmUp); err != nil {
		return wrkResult{}, wrkResult{}, fmt.Errorf("bare warm-up: %w", err)
	}
	bareRun, err := runWrkOn(ctx, s, bare.cmd.Process.Pid, bare.url, file, contentType, s.duration)
	if err != nil {
		return wrkResult{}, wrkResult{}, err
	}
	return nodeRun, bareRun, nil
}
