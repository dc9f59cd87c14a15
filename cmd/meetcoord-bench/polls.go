package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
)

const pollRooms = 1000

// measurePolls: request-entry polls of waiting guests, one per room over 1,000 rooms, against the
// bare handler answering the same JSON.
func measurePolls(ctx context.Context, s settings) ([]row, error) {
	if err := flushRedis(ctx, s); err != nil {
		return nil, err
	}
	n, err := startNode(ctx, s, "polls", nodeEnv(s, nil))
	if err != nil {
		return nil, err
	}
	defer n.stop()
	token, err := n.token(s, "bench-owner")
	if err != nil {
		return nil, err
	}
	rooms, err := newClient(n.url, token).createRooms(pollRooms, 16)
	if err != nil {
		return nil, err
	}
	guest := newClient(n.url, "")
	reqs := make([]replayed, 0, len(rooms))
	for _, id := range rooms {
		path := "/api/v1.0/rooms/" + id + "/request-entry/"
		status, out, res, err := guest.do(http.MethodPost, path, map[string]any{"username": "guest"})
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK || out["status"] != "waiting" {
			return nil, fmt.Errorf("knock: %d %v", status, out)
		}
		cookie := ""
		for _, c := range res.Cookies() {
			if c.Name == "lobbyParticipantId" {
				cookie = c.Name + "=" + c.Value
			}
		}
		if cookie == "" {
			return nil, fmt.Errorf("knock on %s set no lobby cookie", id)
		}
		reqs = append(reqs, replayed{path: path, header: "Cookie", value: cookie, body: `{"username":"guest"}`})
	}
	file := filepath.Join(s.workDir, "polls.txt")
	if err := writeRequests(file, reqs); err != nil {
		return nil, err
	}
	nodeRate, bareRate, err := compareWithBare(ctx, s, n, "polls", file, "application/json")
	if err != nil {
		return nil, err
	}
	return []row{{
		figure:   fmt.Sprintf("lobby polls (%d rooms, wrk -t%d -c%d)", pollRooms, wrkThreads, wrkConnections),
		measured: rate(nodeRate), counterpart: rate(bareRate), result: nodeRate / bareRate, unit: "ratio", goal: 0.7,
	}}, nil
}

// compareWithBare replays file against the node, then against a bare counterpart of kind, each
// after a short warm-up, and returns both rates.
func compareWithBare(ctx context.Context, s settings, n *node, kind, file, contentType string) (float64, float64, error) {
	warmUp := 2 * time.Second
	if _, err := runWrk(ctx, s, n.url, file, contentType, warmUp); err != nil {
		return 0, 0, fmt.Errorf("warm-up: %w", err)
	}
	profiled := n.profileCPU(s, kind+".cpu.pprof", s.duration-time.Second)
	nodeRun, err := runWrk(ctx, s, n.url, file, contentType, s.duration)
	profiled()
	if err != nil {
		return 0, 0, err
	}
	bare, err := startBare(ctx, s, kind)
	if err != nil {
		return 0, 0, err
	}
	defer bare.stop()
	if _, err := runWrk(ctx, s, bare.url, file, contentType, warmUp); err != nil {
		return 0, 0, fmt.Errorf("bare warm-up: %w", err)
	}
	bareRun, err := runWrk(ctx, s, bare.url, file, contentType, s.duration)
	if err != nil {
		return 0, 0, err
	}
	return nodeRun.perSecond, bareRun.perSecond, nil
}

func flushRedis(ctx context.Context, s settings) error {
	opts, err := redis.ParseURL(s.redisURL)
	if err != nil {
		return err
	}
	c := redis.NewClient(opts)
	defer c.Close()
	return c.FlushAll(ctx).Err()
}
