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
