package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkScript replays the requests of a file, each line "path<TAB>header<TAB>value<TAB>body", as
// POSTs in turn. Each wrk thread takes every n-th line, so that no two threads send the same
// request (webhook event ids stay distinct).
const wrkScript = `
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local reqs = {}
local i = 0
function init(args)
  local threads = tonumber(args[3])
  local n = 0
  for line in io.lines(args[1]) do
    if n % threads == id then
      local path, hname, hvalue, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {["Content-Type"] = args[2]}
      if hname ~= "" then headers[hname] = hvalue end
      reqs[#reqs + 1] = wrk.format("POST", path, headers, body)
    end
    n = n + 1
  end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
`

// replayed is one request of a wrk run.
type replayed struct {
	path, header, value, body string
}

// wrkResult is what wrk reports of a run.
type wrkResult struct {
	requests    int64
	perSecond   float64
	non2xx      int64
	socketError int64
	serverCPU   time.Duration // the server process's CPU time during the run (runWrkOn)
}

const (
	wrkThreads     = 2
	wrkConnections = 64
)

// writeRequests writes the lines the script replays.
func writeRequests(path string, reqs []replayed) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, r := range reqs {
		if strings.ContainsAny(r.body+r.value+r.path, "\t\n") {
			f.Close()
			return fmt.Errorf("request %s: a tab or newline cannot be replayed", r.path)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.path, r.header, r.value, r.body)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var (
	wrkPerSecond = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal     = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx    = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSocket    = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// runWrk replays requestsFile against base for d with wrk -t2 -c64.
func runWrk(ctx context.Context, s settings, base, requestsFile, contentType string, d time.Duration) (wrkResult, error) {
	script := filepath.Join(s.workDir, "replay.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return wrkResult{}, err
	}
	cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(wrkThreads), "-c", strconv.Itoa(wrkConnections),
		"-d", fmt.Sprintf("%ds", int(d.Seconds())), "--timeout", "10s", "-s", script, base, "--",
		requestsFile, contentType, strconv.Itoa(wrkThreads))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	text := string(out)
	var r wrkResult
	m := wrkPerSecond.FindStringSubmatch(text)
	if m == nil {
		return r, fmt.Errorf("wrk printed no rate: %s", text)
	}
	r.perSecond, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkTotal.FindStringSubmatch(text); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkNon2xx.FindStringSubmatch(text); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkSocket.FindStringSubmatch(text); m != nil {
		for _, v := range m[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			r.socketError += n
		}
	}
	if r.non2xx > 0 || r.socketError > 0 {
		return r, fmt.Errorf("wrk against %s: %d answers not 2xx, %d socket errors:\n%s", base, r.non2xx, r.socketError, text)
	}
	return r, nil
}

// runWrkOn is runWrk against the server process pid, whose CPU time during the run it records
// too: the server's CPU per request is steadier from run to run than the rate, which moves with
// whatever else the machine does (wrk shares its two cores), so it tells what a change did.
func runWrkOn(ctx context.Context, s settings, pid int, url, file, contentType string, d time.Duration) (wrkResult, error) {
	before, err := processCPU(pid)
	if err != nil {
		return wrkResult{}, err
	}
	res, err := runWrk(ctx, s, url, file, contentType, d)
	if err != nil {
		return res, err
	}
	after, err := processCPU(pid)
	if err != nil {
		return res, err
	}
	res.serverCPU = after - before
	return res, nil
}

// processCPU is the CPU time (user and system) a process has used, from /proc/pid/stat.
func processCPU(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("server's CPU time: %w", err)
	}
	// The command (field 2) is in parentheses and may hold spaces: fields are counted after it.
	_, rest, ok := strings.Cut(string(stat), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("server's CPU time: unexpected %s", stat)
	}
	const clockTicksPerSecond = 100 // USER_HZ, the same on every Linux architecture Go runs on
	var ticks int64
	for _, f := range fields[11:13] { // utime and stime, fields 14 and 15
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("server's CPU time: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicksPerSecond, nil
}

// rateAndCPU is the rate of a run and the server's CPU time per request, as the table shows it.
func (r wrkResult) rateAndCPU() string {
	if r.requests == 0 || r.serverCPU == 0 {
		return rate(r.perSecond)
	}
	return fmt.Sprintf("%s, %.0f us CPU", rate(r.perSecond), float64(r.serverCPU.Microseconds())/float64(r.requests))
}
