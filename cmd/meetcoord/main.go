// Command meetcoord coordinates the rooms of a LiveKit-based meeting service.
//
//	meetcoord serve [--dev]                              run a node
//	meetcoord dev-token --sub SUB [--email E] [--name N] print a bearer token for dev mode
//	meetcoord app create|list|disable|enable|rotate-secret  external API applications
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"meetcoord/cmd/meetcoord/config"
	"meetcoord/cmd/meetcoord/service"
	gwauth "meetcoord/gateway/auth"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "meetcoord:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: meetcoord serve [--dev] | meetcoord dev-token --sub SUB [--email E] [--name N] | meetcoord app ...")
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "dev-token":
		return devToken(args[1:], stdout)
	case "app":
		return app(args[1:], stdout)
	default:
		return fmt.Errorf("unknown command %q (serve, dev-token, app)", args[0])
	}
}

func serve(args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	dev := flags.Bool("dev", false, "development defaults: in-process store unless REDIS_URL, local LiveKit devkey/secret, embedded OIDC issuer, plain-http cookies")
	if err := flags.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*dev)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogLevel)

	// Listen before joining the cluster so that a port conflict fails fast.
	listener, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on LISTEN_ADDR %s: %w", cfg.ListenAddr, err)
	}
	svc, err := service.New(cfg, logger, service.Options{})
	if err != nil {
		listener.Close()
		return err
	}
	listener = service.LimitListener(listener, cfg.HTTP)
	server := service.NewHTTPServer(cfg.HTTP, svc.Handler())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 2)
	go func() { served <- server.Serve(listener) }()
	if cfg.MetricsAddr != "" {
		// Scrapers reach a port the public does not; it carries no API.
		metricsListener, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			svc.Close()
			return fmt.Errorf("listen on METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
		}
		metricsServer := service.NewMetricsServer(cfg.HTTP, svc.MetricsHandler())
		defer metricsServer.Close()
		go func() { served <- metricsServer.Serve(metricsListener) }()
	}
	logger.Info("meetcoord serving", slog.String("addr", listener.Addr().String()), slog.Bool("dev", cfg.Dev))

	var lost error
	select {
	case err := <-served:
		svc.Close()
		return fmt.Errorf("http server: %w", err)
	case <-svc.Lost():
		lost = errors.New("dropped from the cluster membership and not back within CLUSTER_REJOIN_TIMEOUT: exiting so that the supervisor restarts this node")
	case <-ctx.Done():
	}
	if cfg.ShutdownDelay > 0 {
		logger.Info("shutting down: not ready from now on, still serving", slog.Duration("for", cfg.ShutdownDelay))
		svc.ShuttingDown()
		time.Sleep(cfg.ShutdownDelay)
	}
	logger.Info("shutting down: draining HTTP requests, then leaving the cluster")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		logger.Warn("HTTP shutdown incomplete", slog.Any("error", err))
	}
	svc.Close()
	logger.Info("meetcoord stopped")
	return lost
}

// devToken prints a bearer token that a dev-mode server started from the same directory with
// the same environment accepts: both use the key file DEV_OIDC_KEY_FILE
// (.meetcoord-dev/oidc-key.pem by default) and the issuer URL derived from LISTEN_ADDR.
func devToken(args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("dev-token", flag.ContinueOnError)
	sub := flags.String("sub", "", "subject (user id at the identity provider), required")
	email := flags.String("email", "", "email claim")
	name := flags.String("name", "", "full name claim")
	ttl := flags.Duration("ttl", 12*time.Hour, "token lifetime")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("dev-token: --sub is required")
	}
	cfg, err := loadConfig(true)
	if err != nil {
		return err
	}
	issuer, err := service.DevIssuer(cfg)
	if err != nil {
		return err
	}
	shortName, _, _ := strings.Cut(*name, " ")
	token, err := issuer.Mint(gwauth.Claims{Subject: *sub, Email: *email, FullName: *name, ShortName: shortName}, cfg.OIDCAudience, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}

// loadConfig reads the environment over the optional MEETCOORD_CONFIG_FILE.
func loadConfig(dev bool) (config.Config, error) {
	getenv, err := config.WithConfigFile(os.Getenv)
	if err == nil {
		var cfg config.Config
		if cfg, err = config.Load(getenv, dev); err == nil {
			return cfg, nil
		}
	}
	return config.Config{}, fmt.Errorf("configuration:\n%w", err)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
