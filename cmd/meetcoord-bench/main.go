// Command meetcoord-bench measures a meetcoord node from outside, as an operator would, and prints
// one table: each figure of docs/performance.md beside its bare counterpart measured in the same
// run on the same machine, the ratio, and the goal. `make bench` builds it and the node, starts
// a throwaway Redis and etcd, and runs it.
//
// Every load is made by wrk (HTTP/1.1 keep-alive, Lua scripts written by this command) against a
// node process, then against a bare process answering the same requests; the ratio of the two is
// what counts, since absolute numbers vary with the machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// settings is what every measurement needs from the command line.
type settings struct {
	meetcoord string        // the node binary
	self      string        // this binary, re-executed as a bare counterpart
	redisURL  string        // a Redis of the benchmark's own: its statistics are read
	etcd      string        // etcd endpoints for the cross-node figure
	duration  time.Duration // of each wrk run
	workDir   string        // scripts, keys, logs
	only      map[string]bool
	profile   bool // save the node's CPU profile of each measured run (and heap profiles) in workDir
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "bare" {
		if err := serveBare(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "meetcoord-bench bare:", err)
			os.Exit(1)
		}
		return
	}
	var s settings
	var only string
	flag.StringVar(&s.meetcoord, "meetcoord", ".cache/bin/meetcoord", "the meetcoord binary")
	flag.StringVar(&s.redisURL, "redis", os.Getenv("REDIS_URL"), "Redis URL (a Redis of its own: its statistics are read)")
	flag.StringVar(&s.etcd, "etcd", os.Getenv("ETCD_ENDPOINTS"), "etcd endpoints, for the cross-node figure")
	flag.DurationVar(&s.duration, "duration", 10*time.Second, "length of each wrk run")
	flag.StringVar(&s.workDir, "dir", ".cache/bench", "working directory (scripts, logs)")
	flag.BoolVar(&s.profile, "profile", false, "save the node's CPU profile of each measured run and its heap profiles in -dir")
	flag.StringVar(&only, "only", "", "comma-separated figures to measure (polls,webhooks,rooms,knocks,crossnode); all by default")
	flag.Parse()
	self, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	s.self = self
	if s.redisURL == "" {
		fatal(fmt.Errorf("-redis (or REDIS_URL) is required"))
	}
	s.only = map[string]bool{}
	for _, f := range strings.Split(only, ",") {
		if f != "" {
			s.only[f] = true
		}
	}
	if err := os.MkdirAll(s.workDir, 0o755); err != nil {
		fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))

	var rows []row
	figures := []struct {
		name    string
		measure func(context.Context, settings) ([]row, error)
	}{
		{"polls", measurePolls},
		{"webhooks", measureWebhooks},
		{"rooms", measureRooms},
		{"knocks", measureKnocks},
		{"crossnode", measureCrossNode},
	}
	failed := false
	for _, f := range figures {
		if len(s.only) > 0 && !s.only[f.name] {
			continue
		}
		slog.Info("measuring", slog.String("figure", f.name))
		got, err := f.measure(ctx, s)
		if err != nil {
			slog.Error("measurement failed", slog.String("figure", f.name), slog.Any("error", err))
			failed = true
			continue
		}
		rows = append(rows, got...)
	}
	printTable(os.Stdout, rows)
	for _, r := range rows {
		if !r.met() {
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "meetcoord-bench:", err)
	os.Exit(2)
}
