package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Security is how the connection to the relay is protected (SMTP_TLS).
type Security string

// The protections a relay connection can have.
const (
	// StartTLS upgrades the connection with STARTTLS and refuses a server
	// that does not offer it: nothing, credentials least of all, travels in
	// plaintext (port 587).
	StartTLS Security = "starttls"
	// ImplicitTLS speaks TLS from the first byte (port 465, RFC 8314).
	ImplicitTLS Security = "implicit"
	// Opportunistic upgrades with STARTTLS when the server offers it and
	// otherwise sends in plaintext, AUTH included: for local capture
	// servers (Mailpit, MailHog) only. A failed upgrade is still an error,
	// never a silent downgrade.
	Opportunistic Security = "opportunistic"
)

// Defaults of SMTPConfig, chosen so that a stalled relay cannot hold a mail
// job, and so the worker, for long.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultSendTimeout    = 30 * time.Second
)

// SMTPConfig configures the smtp driver. New fills it from the platform
// configuration; NewSMTP takes it directly.
type SMTPConfig struct {
	// Host is the relay's host name; it is also the name its certificate
	// is verified against.
	Host string
	// Port defaults to 587, or 465 with ImplicitTLS.
	Port int
	// Username and Password enable AUTH PLAIN; without a username the
	// driver does not authenticate.
	Username, Password string
	// Security defaults to StartTLS.
	Security Security
	// RootCAs verify the relay's certificate; nil means the system's.
	// Certificates are always verified.
	RootCAs *x509.CertPool
	// ConnectTimeout bounds the TCP connection and, with ImplicitTLS, the
	// TLS handshake (default DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// SendTimeout bounds the whole exchange, from dial to QUIT (default
	// DefaultSendTimeout). The context given to Send can only shorten it.
	SendTimeout time.Duration
}

// Validate reports a configuration that cannot work, so that it is refused
// at start-up instead of at the first mail.
func (c SMTPConfig) Validate() error {
	switch {
	case c.Host == "":
		return errors.New("mail: SMTP_HOST is required with MAIL_DRIVER=smtp (the relay's host name)")
	case strings.ContainsAny(c.Host, " \r\n/"):
		return fmt.Errorf("mail: SMTP_HOST=%q is not a host name", c.Host)
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("mail: SMTP_PORT=%d is not a TCP port (1-65535)", c.Port)
	case c.Password != "" && c.Username == "":
		return errors.New("mail: SMTP_PASSWORD is set without SMTP_USERNAME; set both or neither")
	case strings.ContainsAny(c.Username+c.Password, "\x00\r\n"):
		return errors.New("mail: SMTP_USERNAME and SMTP_PASSWORD must not contain NUL or line breaks")
	case c.ConnectTimeout < 0 || c.SendTimeout < 0:
		return errors.New("mail: smtp timeouts must not be negative")
	}
	switch c.Security {
	case "", StartTLS, ImplicitTLS, Opportunistic:
		return nil
	}
	return fmt.Errorf("mail: SMTP_TLS=%q must be starttls, implicit or opportunistic", c.Security)
}

// withDefaults fills the zero values in.
func (c SMTPConfig) withDefaults() SMTPConfig {
	if c.Security == "" {
		c.Security = StartTLS
	}
	if c.Port == 0 {
		c.Port = gomail.DefaultPortTLS
		if c.Security == ImplicitTLS {
			c.Port = gomail.DefaultPortSSL
		}
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	return c
}

func (c SMTPConfig) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

func (c SMTPConfig) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: c.Host, RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}
}

type smtpSender struct {
	cfg SMTPConfig
	now func() time.Time
}

// NewSMTP returns a Sender that delivers through an SMTP relay with go-mail:
// one connection per message (transactional mails are rare and independent;
// a pool would only keep stale connections), protected as cfg.Security says,
// AUTH PLAIN when a username is set. It refuses an invalid cfg.
func NewSMTP(cfg SMTPConfig) (Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &smtpSender{cfg: cfg.withDefaults(), now: time.Now}, nil
}

func (s *smtpSender) Send(ctx context.Context, m Message) (string, error) {
	p, err := prepare(m, s.now(), "")
	if err != nil {
		return "", err
	}
	msg := goMailMessage(p)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	// Ending the context closes the connection (see dial), which is what
	// unblocks go-mail: it takes a context for the dial only.
	defer cancel()
	client, err := gomail.NewClient(s.cfg.Host, s.options(ctx)...)
	if err != nil {
		return "", fmt.Errorf("mail: smtp client: %w", err)
	}
	addr := s.cfg.addr()
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return "", fmt.Errorf("mail: smtp %s: %w", addr, withContext(ctx, err))
	}
	err = client.SendWithSMTPClient(conn, msg)
	// Once DATA is accepted the message is the relay's: a failed QUIT must
	// not make the caller retry and send it twice.
	_ = client.CloseWithSMTPClient(conn)
	if err != nil && !msg.IsDelivered() {
		return "", fmt.Errorf("mail: smtp %s: %w", addr, withContext(ctx, err))
	}
	return p.id, nil
}

// options maps the configuration onto go-mail's client; ctx is the send's.
func (s *smtpSender) options(ctx context.Context) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		// go-mail's timeout is the deadline of each phase (connect and
		// greeting, then the transaction); the send's context caps the sum.
		gomail.WithTimeout(s.cfg.SendTimeout),
		gomail.WithTLSConfig(s.cfg.tlsConfig()),
		gomail.WithDialContextFunc(s.dialer(ctx)),
		// A fresh connection needs no NOOP; and with one message per
		// connection, RSET after DATA could only turn a delivered message
		// into a reported failure.
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
	}
	switch s.cfg.Security {
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case Opportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		auth := gomail.SMTPAuthPlain
		if s.cfg.Security == Opportunistic {
			auth = gomail.SMTPAuthPlainNoEnc // what opportunistic means
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password))
	}
	return opts
}

// dialer connects within ConnectTimeout and ties the connection to the
// send's context: when it ends, the socket closes and whatever go-mail is
// waiting for fails at once. With ImplicitTLS it returns a *tls.Conn, which
// go-mail recognises as encrypted (AUTH PLAIN then goes ahead).
func (s *smtpSender) dialer(send context.Context) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
		defer cancel()
		raw, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
		context.AfterFunc(send, func() { _ = raw.Close() })
		if s.cfg.Security != ImplicitTLS {
			return raw, nil
		}
		tc := tls.Client(raw, s.cfg.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		return tc, nil
	}
}

// goMailMessage renders a prepared message with go-mail, keeping the
// Message-ID and date that prepare fixed.
func goMailMessage(p *prepared) *gomail.Msg {
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP),
		gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(p.from)
	msg.ToMailAddress(p.to...)
	msg.Subject(p.subject)
	msg.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(p.id, "<"), ">"))
	msg.SetDateWithValue(p.date)
	for _, h := range p.extra {
		msg.SetGenHeader(gomail.Header(h.name), h.value)
	}
	msg.SetBodyString(gomail.TypeTextPlain, p.text)
	if p.html != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, p.html)
	}
	return msg
}

// withContext makes an error caused by the context's end match
// context.DeadlineExceeded or context.Canceled, so callers can tell a
// stalled server from a refusal: closing the connection surfaces as "use of
// closed network connection", and the I/O deadline and the context's timer
// expire together, so the I/O error may come before ctx.Err() is set.
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
