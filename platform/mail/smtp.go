package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Defaults of SMTPConfig, chosen so that a forgotten setting still bounds
// how long a mail job can hold a worker.
const (
	DefaultSMTPTimeout     = 30 * time.Second
	DefaultSMTPDialTimeout = 10 * time.Second
)

// ErrSTARTTLSUnavailable is returned when the server does not offer STARTTLS
// and Insecure is not set: sending credentials and reset links in plaintext
// over the network is refused rather than silently downgraded.
var ErrSTARTTLSUnavailable = errors.New("server does not offer STARTTLS; refusing to send in plaintext (Insecure is meant for local test servers only)")

// SMTPConfig configures the smtp driver.
type SMTPConfig struct {
	// Host is the relay's host name; it is also the name its TLS
	// certificate is verified against.
	Host string
	// Port defaults to 587 (submission with STARTTLS), or 465 with
	// ImplicitTLS.
	Port int
	// Username and Password enable AUTH PLAIN. They are only ever sent over
	// TLS, unless Insecure is set.
	Username, Password string
	// Insecure allows a server that does not offer STARTTLS, and AUTH over
	// that plaintext connection: for local capture servers (Mailpit,
	// MailHog) only. It does not turn off certificate verification when
	// TLS is used; TLSConfig is the place for that.
	Insecure bool
	// ImplicitTLS speaks TLS from the first byte (port 465, RFC 8314)
	// instead of upgrading with STARTTLS.
	ImplicitTLS bool
	// Timeout bounds the whole exchange, from dial to QUIT, so a stalled
	// server cannot hold a worker (default DefaultSMTPTimeout). The
	// context given to Send can only shorten it.
	Timeout time.Duration
	// DialTimeout bounds the TCP connection (and, with ImplicitTLS, the
	// handshake) within Timeout (default DefaultSMTPDialTimeout).
	DialTimeout time.Duration
	// TLSConfig is optional (a private CA, tests). It is cloned; an empty
	// ServerName is set to Host and MinVersion defaults to TLS 1.2.
	TLSConfig *tls.Config
	// HeloName is the name sent with EHLO (default "localhost"). Some
	// relays score a fully qualified name better.
	HeloName string
}

// Validate reports a configuration that cannot work, so New can refuse it
// at start-up instead of at the first mail.
func (c SMTPConfig) Validate() error {
	switch {
	case c.Host == "":
		return errors.New("mail: smtp host is required")
	case strings.ContainsAny(c.Host, " \r\n/"):
		return fmt.Errorf("mail: bad smtp host %q", c.Host)
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("mail: bad smtp port %d", c.Port)
	case c.Password != "" && c.Username == "":
		return errors.New("mail: smtp password set without a username")
	case strings.ContainsAny(c.Username+c.Password, "\x00"):
		return errors.New("mail: smtp credentials must not contain NUL")
	case strings.ContainsAny(c.HeloName, " \r\n"):
		return fmt.Errorf("mail: bad smtp helo name %q", c.HeloName)
	case c.Timeout < 0 || c.DialTimeout < 0:
		return errors.New("mail: smtp timeouts must not be negative")
	}
	return nil
}

func (c SMTPConfig) addr() string {
	port := c.Port
	if port == 0 {
		port = 587
		if c.ImplicitTLS {
			port = 465
		}
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

func (c SMTPConfig) tlsConfig() *tls.Config {
	tc := &tls.Config{}
	if c.TLSConfig != nil {
		tc = c.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = c.Host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	return tc
}

type smtpSender struct {
	cfg SMTPConfig
	now func() time.Time
}

// NewSMTP returns a Sender that delivers through an SMTP relay: one
// connection per message (mail jobs are rare and independent, a pool would
// only add stale connections), STARTTLS whenever offered and required unless
// Insecure, AUTH PLAIN only over TLS. The configuration is checked on every
// Send; use New or SMTPConfig.Validate to check it at start-up.
func NewSMTP(cfg SMTPConfig) Sender {
	return &smtpSender{cfg: cfg, now: time.Now}
}

func (s *smtpSender) Send(ctx context.Context, m Message) (string, error) {
	if err := s.cfg.Validate(); err != nil {
		return "", err
	}
	b, err := build(m, s.now(), "")
	if err != nil {
		return "", err
	}
	timeout := s.cfg.Timeout
	if timeout == 0 {
		timeout = DefaultSMTPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	addr := s.cfg.addr()
	conn, err := s.dial(ctx, addr)
	if err != nil {
		return "", fmt.Errorf("mail: smtp connect %s: %w", addr, withContext(ctx, err))
	}
	defer conn.Close()
	// net/smtp has no context: the deadline bounds every read and write,
	// and a cancellation moves it to the past, which unblocks them.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if err := s.exchange(conn, b); err != nil {
		return "", fmt.Errorf("mail: smtp %s: %w", addr, withContext(ctx, err))
	}
	return b.id, nil
}

// withContext makes an I/O error caused by the context's end match
// context.DeadlineExceeded or context.Canceled, so callers can tell a stalled
// server from a refusal. The connection deadline and the context's timer
// expire together, so the I/O error may arrive before ctx.Err() is set.
func withContext(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); cerr == nil && ok && !time.Now().Before(dl) {
		cerr = context.DeadlineExceeded
	}
	if cerr == nil || errors.Is(err, cerr) {
		return err
	}
	return fmt.Errorf("%w: %w", cerr, err)
}

// replyError presents an SMTP error reply verbatim ("535 5.7.8 ...") on one
// line, while errors.As still finds the *textproto.Error under it.
type replyError struct{ err *textproto.Error }

func (e *replyError) Error() string {
	msg := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ReplaceAll(e.err.Msg, "\n", " | "))
	return fmt.Sprintf("%03d %s", e.err.Code, msg)
}

func (e *replyError) Unwrap() error { return e.err }

// step names a failed SMTP step, with the server's reply when there is one.
func step(name string, err error) error {
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return fmt.Errorf("%s: server replied %w", name, &replyError{reply})
	}
	return fmt.Errorf("%s: %w", name, err)
}

func (s *smtpSender) dial(ctx context.Context, addr string) (net.Conn, error) {
	dt := s.cfg.DialTimeout
	if dt == 0 {
		dt = DefaultSMTPDialTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, dt)
	defer cancel() // a connected net.Conn outlives its dial context
	d := &net.Dialer{}
	if s.cfg.ImplicitTLS {
		td := &tls.Dialer{NetDialer: d, Config: s.cfg.tlsConfig()}
		return td.DialContext(ctx, "tcp", addr)
	}
	return d.DialContext(ctx, "tcp", addr)
}

// exchange runs one SMTP session on conn. net/smtp's data writer does the
// dot-stuffing; Build's output is already CRLF-only.
func (s *smtpSender) exchange(conn net.Conn, b *built) error {
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return step("greeting", err)
	}
	helo := s.cfg.HeloName
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return step("EHLO", err)
	}
	if _, isTLS := c.TLSConnectionState(); !isTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.cfg.tlsConfig()); err != nil {
				return step("STARTTLS", err)
			}
		} else if !s.cfg.Insecure {
			return ErrSTARTTLSUnavailable
		}
	}
	if s.cfg.Username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok || !hasField(mechs, "PLAIN") {
			return fmt.Errorf("AUTH: server does not offer AUTH PLAIN (offers %q)", mechs)
		}
		if err := c.Auth(&plainAuth{user: s.cfg.Username, pass: s.cfg.Password, insecure: s.cfg.Insecure}); err != nil {
			return step("AUTH PLAIN", err)
		}
	}
	if err := c.Mail(b.from); err != nil {
		return &envelopeError{step("MAIL FROM", err)}
	}
	for _, rcpt := range b.to {
		if err := c.Rcpt(rcpt); err != nil {
			return &envelopeError{step("RCPT TO <"+rcpt+">", err)}
		}
	}
	w, err := c.Data()
	if err != nil {
		return &envelopeError{step("DATA", err)}
	}
	if _, err := w.Write(b.raw); err != nil {
		return step("DATA", err)
	}
	if err := w.Close(); err != nil { // sends "." and reads the verdict
		return &envelopeError{step("DATA", err)}
	}
	// The message is accepted: a failed QUIT must not make the job retry
	// and send it twice.
	_ = c.Quit()
	return nil
}

func hasField(list, want string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, want) {
			return true
		}
	}
	return false
}

// plainAuth is AUTH PLAIN (RFC 4616) with this package's policy: net/smtp's
// PlainAuth only allows plaintext towards localhost, whereas Insecure
// decides here.
type plainAuth struct {
	user, pass string
	insecure   bool
}

func (a *plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.insecure {
		return "", nil, errors.New("refusing to send credentials over a plaintext connection")
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected AUTH PLAIN challenge")
	}
	return nil, nil
}
