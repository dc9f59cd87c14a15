package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"meetcoord/actors/store"
	"meetcoord/gateway/auth/application"
)

const appUsage = `usage: meetcoord app <command>
  create --name NAME --domains example.org[,example.com|*] [--scopes rooms:list,rooms:create,rooms:retrieve]
                                 register an application; prints its client id and secret (shown once)
  list                           the applications
  disable CLIENT_ID              refuse new tokens and the tokens already issued
  enable CLIENT_ID               accept the application again
  rotate-secret CLIENT_ID        a new secret (shown once); the old one and its tokens stop working
Reads the same configuration as serve (REDIS_URL, MEETCOORD_CONFIG_FILE).`

// app administers the external API's applications in the configured Redis.
func app(args []string, stdout io.Writer) error {
	switch {
	case len(args) == 0:
		return errors.New(appUsage)
	case !slices.Contains([]string{"create", "list", "disable", "enable", "rotate-secret"}, args[0]):
		return fmt.Errorf("app: unknown command %q\n%s", args[0], appUsage)
	}
	cfg, err := loadConfig(true) // only REDIS_URL matters here: no LiveKit or OIDC settings needed
	if err != nil {
		return err
	}
	if cfg.RedisURL == "" {
		return errors.New("app: REDIS_URL is required: applications live in Redis, which the server reads " +
			"(a server without REDIS_URL keeps its state in its own process, out of reach)")
	}
	redisStore, err := store.NewRedis(cfg.RedisURL, cfg.StoreTimeout)
	if err != nil {
		return err
	}
	defer redisStore.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*cfg.StoreTimeout)
	defer cancel()
	reg := application.NewRegistry(redisStore)

	switch args[0] {
	case "create":
		return appCreate(ctx, reg, args[1:], stdout)
	case "list":
		return appList(ctx, reg, args[1:], stdout)
	case "disable", "enable":
		clientID, err := oneClientID(args)
		if err != nil {
			return err
		}
		if err := reg.SetActive(ctx, clientID, args[0] == "enable"); err != nil {
			return fmt.Errorf("app %s: %w", args[0], err)
		}
		_, err = fmt.Fprintf(stdout, "application %s %sd\n", clientID, args[0])
		return err
	case "rotate-secret":
		clientID, err := oneClientID(args)
		if err != nil {
			return err
		}
		secret, err := reg.RotateSecret(ctx, clientID)
		if err != nil {
			return fmt.Errorf("app rotate-secret: %w", err)
		}
		_, err = fmt.Fprintf(stdout, "client_id: %s\nclient_secret: %s\n", clientID, secret)
		return err
	}
	return fmt.Errorf("app: unknown command %q", args[0])
}

func oneClientID(args []string) (string, error) {
	if len(args) != 2 || strings.HasPrefix(args[1], "-") {
		return "", fmt.Errorf("usage: meetcoord app %s CLIENT_ID", args[0])
	}
	return args[1], nil
}

func appCreate(ctx context.Context, reg *application.Registry, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("app create", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	name := flags.String("name", "", "application name, required")
	domains := flags.String("domains", "", "email domains of the users it may act for, comma-separated, required (* for all)")
	scopes := flags.String("scopes", strings.Join(application.AllScopes, ","), "granted scopes, comma-separated")
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("app create: %w\n%s", err, appUsage)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("app create: unexpected argument %q\n%s", flags.Arg(0), appUsage)
	}
	if *name == "" || *domains == "" {
		return fmt.Errorf("app create: --name and --domains are required\n%s", appUsage)
	}
	a, secret, err := reg.Create(ctx, *name, strings.Split(*scopes, ","), strings.Split(*domains, ","))
	if err != nil {
		return fmt.Errorf("app create: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "id: %s\nclient_id: %s\nclient_secret: %s\nscopes: %s\nallowed_domains: %s\n",
		a.ID, a.ClientID, secret, strings.Join(a.Scopes, " "), strings.Join(a.AllowedDomains, ","))
	return err
}

func appList(ctx context.Context, reg *application.Registry, args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return errors.New("usage: meetcoord app list")
	}
	apps, err := reg.List(ctx)
	if err != nil {
		return fmt.Errorf("app list: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tNAME\tACTIVE\tSCOPES\tDOMAINS\tCREATED\tID")
	for _, a := range apps {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\t%s\t%s\n", a.ClientID, a.Name, a.Active, strings.Join(a.Scopes, ","),
			strings.Join(a.AllowedDomains, ","), a.CreatedAt.Format(time.RFC3339), a.ID)
	}
	return tw.Flush()
}
