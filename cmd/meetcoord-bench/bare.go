package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// The bare counterparts: what the same requests cost a net/http handler with nothing behind it,
// in a process of its own as the node is.

// serveBare is `meetcoord-bench bare -kind polls|webhooks -addr A`.
func serveBare(args []string) error {
	flags := flag.NewFlagSet("bare", flag.ContinueOnError)
	kind := flags.String("kind", "polls", "polls or webhooks")
	addr := flags.String("addr", "127.0.0.1:0", "listen address")
	if err := flags.Parse(args); err != nil {
		return err
	}
	var h http.HandlerFunc
	switch *kind {
	case "polls":
		// A request-entry poll: the body decoded, the cookie read, an answer of the same shape.
		h = func(w http.ResponseWriter, r *http.Request) {
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			cookie, _ := r.Cookie("lobbyParticipantId")
			_ = cookie
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"id": "d1ac1855-d5da-4e2c-9abc-c9762020b154", "status": "waiting", "username": body["username"],
				"color": "hsl(222, 73%, 48%)", "livekit": nil,
			})
		}
	case "webhooks":
		// A webhook: the body read, acknowledged.
		h = func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"success"}`)
		}
	default:
		return fmt.Errorf("unknown kind %q", *kind)
	}
	server := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return server.ListenAndServe()
}

// bareServer is a running bare counterpart.
type bareServer struct {
	url string
	cmd *exec.Cmd
}

func startBare(ctx context.Context, s settings, kind string) (*bareServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.self, "bare", "-kind", kind, "-addr", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &bareServer{url: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Post(b.url+"/ready", "application/json", nil)
		if err == nil {
			res.Body.Close()
			return b, nil
		}
		select {
		case <-ctx.Done():
			b.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	b.stop()
	return nil, errors.New("bare counterpart did not start")
}

func (b *bareServer) stop() {
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
}
