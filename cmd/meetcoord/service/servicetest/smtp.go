package servicetest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPServer is a real SMTP server (emersion/go-smtp) in the test process that keeps every
// message it accepts.
type SMTPServer struct {
	Host string
	Port int
	// CA trusts the server's certificate (TLS servers only).
	CA *x509.CertPool

	opts   SMTPOptions
	mu     sync.Mutex
	mails  []ReceivedMail
	server *smtp.Server
}

// SMTPOptions shape the test server.
type SMTPOptions struct {
	// STARTTLS offers STARTTLS with a self-signed certificate for 127.0.0.1 and localhost.
	STARTTLS bool
	// ImplicitTLS speaks TLS from the first byte (SMTPS), with the same kind of certificate.
	ImplicitTLS bool
	// Username and Password, when set, make AUTH PLAIN mandatory before MAIL FROM (only
	// offered over TLS, as real servers do).
	Username, Password string
	// RejectRecipient, when set, refuses the recipients it returns true for (550).
	RejectRecipient func(address string) bool
}

// ReceivedMail is one message as the server received it.
type ReceivedMail struct {
	From string   // envelope sender
	To   []string // envelope recipients
	Data []byte   // the message as sent (RFC 5322)
	TLS  bool     // the session was encrypted
	User string   // the authenticated user, "" without AUTH
}

// StartSMTP serves SMTP on a free loopback port until the test ends.
func StartSMTP(t testing.TB, opts SMTPOptions) *SMTPServer {
	t.Helper()
	s := &SMTPServer{opts: opts}
	s.server = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{server: s, conn: c}, nil
	}))
	s.server.Domain = "localhost"
	s.server.ReadTimeout = 30 * time.Second
	s.server.WriteTimeout = 30 * time.Second
	s.server.MaxMessageBytes = 1 << 20
	var tlsConfig *tls.Config
	if opts.STARTTLS || opts.ImplicitTLS {
		cert, pool := selfSignedCertificate(t)
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.CA = pool
	}
	if opts.STARTTLS {
		s.server.TLSConfig = tlsConfig
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp server: %v", err)
	}
	s.Host, s.Port = "127.0.0.1", l.Addr().(*net.TCPAddr).Port
	if opts.ImplicitTLS {
		l = tls.NewListener(l, tlsConfig)
	}
	go func() { _ = s.server.Serve(l) }()
	t.Cleanup(func() { _ = s.server.Close() })
	return s
}

// Addr is host:port.
func (s *SMTPServer) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Mails returns the messages accepted so far.
func (s *SMTPServer) Mails() []ReceivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ReceivedMail(nil), s.mails...)
}

// WaitMails polls until n messages have arrived (failing the test after within) and returns
// them.
func (s *SMTPServer) WaitMails(t testing.TB, n int, within time.Duration) []ReceivedMail {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		mails := s.Mails()
		if len(mails) >= n {
			return mails
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtp server: %d messages after %s, want %d", len(mails), within, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type smtpSession struct {
	server *SMTPServer
	conn   *smtp.Conn
	user   string
	from   string
	to     []string
}

func (s *smtpSession) AuthMechanisms() []string {
	if s.server.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.server.opts.Username || password != s.server.opts.Password {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.server.opts.Username != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if reject := s.server.opts.RejectRecipient; reject != nil && reject(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.server.mu.Lock()
	s.server.mails = append(s.server.mails, ReceivedMail{From: s.from, To: s.to, Data: b, TLS: isTLS, User: s.user})
	s.server.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset() { s.from, s.to = "", nil }

func (s *smtpSession) Logout() error { return nil }

// StartSilentSMTP accepts TCP connections on a free loopback port and never answers: a mail
// server that hangs. It returns host and port.
func StartSilentSMTP(t testing.TB) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("silent smtp server: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "127.0.0.1", l.Addr().(*net.TCPAddr).Port
}

// selfSignedCertificate is a certificate for 127.0.0.1 and localhost, and a pool trusting it.
func selfSignedCertificate(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "meetcoord test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// ParsedMail is a received message decoded: headers (encoded words decoded) and the text and
// HTML alternatives of a multipart/alternative body.
type ParsedMail struct {
	Header  mail.Header
	Subject string
	To      []*mail.Address
	Text    string
	HTML    string
}

// ParseMail decodes a message with net/mail and mime/multipart.
func ParseMail(data []byte) (ParsedMail, error) {
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return ParsedMail{}, fmt.Errorf("read message: %w", err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return ParsedMail{}, fmt.Errorf("subject: %w", err)
	}
	to, err := m.Header.AddressList("To")
	if err != nil {
		return ParsedMail{}, fmt.Errorf("to: %w", err)
	}
	p := ParsedMail{Header: m.Header, Subject: subject, To: to}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return ParsedMail{}, fmt.Errorf("content type: %w", err)
	}
	if mediaType != "multipart/alternative" {
		return ParsedMail{}, fmt.Errorf("content type %s, want multipart/alternative", mediaType)
	}
	parts := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := parts.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ParsedMail{}, fmt.Errorf("part: %w", err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			return ParsedMail{}, fmt.Errorf("part body: %w", err)
		}
		// Text travels in canonical form (CRLF line ends); tests compare with Go strings.
		body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
		partType, partParams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if cs := strings.ToLower(partParams["charset"]); cs != "" && cs != "utf-8" {
			return ParsedMail{}, fmt.Errorf("part %s in charset %s, want UTF-8", partType, cs)
		}
		switch partType {
		case "text/plain":
			p.Text = string(body)
		case "text/html":
			p.HTML = string(body)
		}
	}
	return p, nil
}
