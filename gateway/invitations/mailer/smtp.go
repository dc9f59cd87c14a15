// Package mailer delivers invitation emails: over SMTP (go-mail), or to the log in dev mode.
package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"meetcoord/gateway/invitations"
)

// Security is how the connection to the mail server is protected.
type Security int

const (
	// Plain is no TLS (EMAIL_USE_TLS and EMAIL_USE_SSL false), as the reference product does by
	// default. Credentials are then only sent to a server on localhost (go-mail refuses otherwise).
	Plain Security = iota
	// StartTLS upgrades the connection and fails when the server does not offer STARTTLS
	// (EMAIL_USE_TLS, usually port 587).
	StartTLS
	// ImplicitTLS speaks TLS from the first byte (EMAIL_USE_SSL, usually port 465).
	ImplicitTLS
)

// Config is the SMTP server and the sender.
type Config struct {
	Host     string
	Port     int
	Username string // empty: no SMTP AUTH
	Password string
	Security Security
	From     string // "Name <address>" or "address"
	// TLS overrides the TLS settings (tests: a private CA); nil: system roots, server name Host.
	TLS *tls.Config
}

// SMTP sends each email over its own connection: invitations are rare and bursty, and a fresh
// connection cannot be left broken by a previous failure.
type SMTP struct {
	cfg Config
}

var _ invitations.Mailer = (*SMTP)(nil)

// NewSMTP checks the configuration.
func NewSMTP(cfg Config) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("mailer: no SMTP host")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mailer: invalid SMTP port %d", cfg.Port)
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("mailer: invalid sender %q: %w", cfg.From, err)
	}
	if cfg.TLS == nil {
		cfg.TLS = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	}
	return &SMTP{cfg: cfg}, nil
}

// Send implements invitations.Mailer: a multipart/alternative message (text, then HTML), given
// up when ctx is done, whatever stage the conversation is at.
func (s *SMTP) Send(ctx context.Context, e invitations.Email) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return fmt.Errorf("sender %q: %w", s.cfg.From, err)
	}
	if err := msg.To(e.To); err != nil {
		return fmt.Errorf("recipient %q: %w", e.To, err)
	}
	msg.Subject(e.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, e.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, e.HTML)

	// The connection is closed when ctx ends, or when Send returns (then already closed by
	// QUIT), which also releases the close hook.
	connCtx, release := context.WithCancel(ctx)
	defer release()
	client, err := gomail.NewClient(s.cfg.Host, s.options(connCtx)...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		// go-mail's per-command deadline is the same instant as ctx's: either one is the timeout.
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("smtp %s: %w (%v)", s.address(), context.DeadlineExceeded, err)
		}
		return fmt.Errorf("smtp %s: %w", s.address(), err)
	}
	return nil
}

func (s *SMTP) address() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

func (s *SMTP) options(ctx context.Context) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTLSConfig(s.cfg.TLS),
		gomail.WithDialContextFunc(s.dialer(ctx)),
	}
	if deadline, ok := ctx.Deadline(); ok {
		// go-mail's own per-command deadline; the dialer below enforces the overall one.
		if d := time.Until(deadline); d > 0 {
			opts = append(opts, gomail.WithTimeout(d))
		}
	}
	switch s.cfg.Security {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		// Plain, or ImplicitTLS where the dialer already speaks TLS.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		// The strongest mechanism the server offers. PLAIN and LOGIN are refused by go-mail
		// on a connection that is not TLS (except to localhost).
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return opts
}

// dialer connects (in TLS for ImplicitTLS) and closes the connection when ctx ends: go-mail
// only bounds each command, so a server that answers slowly, command after command, could
// otherwise hold a worker for several timeouts.
func (s *SMTP) dialer(ctx context.Context) gomail.DialContextFunc {
	return func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		var err error
		if s.cfg.Security == ImplicitTLS {
			d := tls.Dialer{Config: s.cfg.TLS}
			conn, err = d.DialContext(dialCtx, network, addr)
		} else {
			var d net.Dialer
			conn, err = d.DialContext(dialCtx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
}
