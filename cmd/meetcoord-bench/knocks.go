package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// measureKnocks: bytes sent to Redis per lobby knock while 1,000 guests wait, against the same
// while 10 wait (a knock should write its own entry, not the whole lobby).
func measureKnocks(ctx context.Context, s settings) ([]row, error) {
	n, owner, err := startFreshNode(ctx, s, "knocks")
	if err != nil {
		return nil, err
	}
	defer n.stop()
	rooms, err := owner.createRooms(1, 1)
	if err != nil {
		return nil, err
	}
	rdb, err := redisClient(s)
	if err != nil {
		return nil, err
	}
	defer rdb.Close()
	path := "/api/v1.0/rooms/" + rooms[0] + "/request-entry/"
	waiting := 0
	knock := func() error {
		status, out, _, err := newClient(n.url, "").do(http.MethodPost, path,
			map[string]any{"username": fmt.Sprintf("Guest number %04d of the lobby", waiting)})
		if err != nil {
			return err
		}
		if status != http.StatusOK || out["status"] != "waiting" {
			return fmt.Errorf("knock with %d waiting: %d %v", waiting, status, out)
		}
		waiting++
		return nil
	}
	const window = 10
	perKnockAt := func(size int) (float64, error) {
		for waiting < size {
			if err := knock(); err != nil {
				return 0, err
			}
		}
		before, err := redisInputBytes(ctx, rdb)
		if err != nil {
			return 0, err
		}
		for range window {
			if err := knock(); err != nil {
				return 0, err
			}
		}
		after, err := redisInputBytes(ctx, rdb)
		return float64(after-before) / window, err
	}
	small, err := perKnockAt(10)
	if err != nil {
		return nil, err
	}
	large, err := perKnockAt(1000)
	if err != nil {
		return nil, err
	}
	return []row{{
		figure:   "Redis bytes written per knock, 1,000 waiting vs 10",
		measured: fmt.Sprintf("%.0f B", large), counterpart: fmt.Sprintf("%.0f B", small),
		result: large / small, unit: "ratio", goal: 2, atMost: true,
	}}, nil
}

// redisInputBytes is what Redis has received since it started (INFO stats).
func redisInputBytes(ctx context.Context, rdb *redis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "stats").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_net_input_bytes:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no total_net_input_bytes in INFO stats")
}
