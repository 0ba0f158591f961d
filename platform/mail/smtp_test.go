package mail

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCert returns a self-signed ECDSA P-256 certificate for 127.0.0.1 and
// a pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "veza mail test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
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

// event is one command the fake server received, and whether the
// connection was encrypted at that point.
type event struct {
	verb string
	tls  bool
}

type received struct {
	from  string
	rcpts []string
	wire  []byte // DATA as sent, dot-stuffed
	data  []byte // DATA after dot-unstuffing
}

// fakeSMTP is a small ESMTP server: EHLO advertising STARTTLS and AUTH
// PLAIN, STARTTLS, AUTH PLAIN, MAIL/RCPT/DATA with dot-unstuffing, RSET,
// NOOP, QUIT.
type fakeSMTP struct {
	t         *testing.T
	ln        net.Listener
	tls       *tls.Config
	startTLS  bool // advertise and accept STARTTLS
	implicit  bool // TLS from the first byte
	silent    bool // accept, then never say anything
	plainAuth bool // accept AUTH without TLS
	user      string
	pass      string
	rejectTo  string // RCPT TO this address gets 550

	mu     sync.Mutex
	events []event
	msgs   []received
	conns  []net.Conn
	wg     sync.WaitGroup
}

func (s *fakeSMTP) start() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	s.ln = ln
	s.t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
}

func (s *fakeSMTP) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *fakeSMTP) record(verb string, isTLS bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, event{verb, isTLS})
}

func (s *fakeSMTP) snapshot() ([]event, []received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event(nil), s.events...), append([]received(nil), s.msgs...)
}

func (s *fakeSMTP) serve(conn net.Conn) {
	if s.silent {
		_, _ = io.Copy(io.Discard, conn) // until the client gives up
		return
	}
	isTLS := false
	if s.implicit {
		conn = tls.Server(conn, s.tls)
		isTLS = true
	}
	r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
	reply := func(lines ...string) {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		w.Flush()
	}
	readLine := func() (string, bool) {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", false
		}
		if !strings.HasSuffix(line, "\r\n") {
			s.t.Errorf("fake smtp: line without CRLF: %q", line)
		}
		return strings.TrimSuffix(line, "\r\n"), true
	}

	reply("220 fake.test ESMTP ready")
	authed := false
	var cur *received
	for {
		line, ok := readLine()
		if !ok {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		s.record(verb, isTLS)
		switch verb {
		case "EHLO":
			ext := []string{"250-fake.test greets " + arg, "250-8BITMIME"}
			if s.startTLS && !isTLS {
				ext = append(ext, "250-STARTTLS")
			}
			// AUTH is advertised before TLS too, so that only the client's
			// own policy keeps it from authenticating in plaintext.
			ext = append(ext, "250-AUTH PLAIN LOGIN", "250 SIZE 10240000")
			reply(ext...)
			cur, authed = nil, false
		case "HELO":
			reply("250 fake.test")
		case "STARTTLS":
			if !s.startTLS || isTLS {
				reply("502 5.5.1 STARTTLS not available")
				continue
			}
			reply("220 2.0.0 Ready to start TLS")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, isTLS = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
			cur, authed = nil, false
		case "AUTH":
			if !isTLS && !s.plainAuth {
				reply("538 5.7.11 Encryption required for requested authentication mechanism")
				continue
			}
			mech, initial, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") {
				reply("504 5.5.4 Unrecognized authentication type")
				continue
			}
			if initial == "" {
				reply("334 ")
				if initial, ok = readLine(); !ok {
					return
				}
			}
			dec, err := base64.StdEncoding.DecodeString(initial)
			parts := strings.Split(string(dec), "\x00")
			if err != nil || len(parts) != 3 || parts[1] != s.user || parts[2] != s.pass {
				reply("535 5.7.8 Authentication credentials invalid")
				continue
			}
			authed = true
			reply("235 2.7.0 Authentication successful")
		case "MAIL":
			if s.user != "" && !authed {
				reply("530 5.7.0 Authentication required")
				continue
			}
			from, ok := between(arg, "FROM:<", ">")
			if !ok {
				reply("501 5.5.4 Syntax: MAIL FROM:<address>")
				continue
			}
			cur = &received{from: from}
			reply("250 2.1.0 Ok")
		case "RCPT":
			to, ok := between(arg, "TO:<", ">")
			switch {
			case cur == nil:
				reply("503 5.5.1 Need MAIL first")
			case !ok:
				reply("501 5.5.4 Syntax: RCPT TO:<address>")
			case to == s.rejectTo:
				reply("550 5.1.1 <" + to + ">: Recipient address rejected: User unknown")
			default:
				cur.rcpts = append(cur.rcpts, to)
				reply("250 2.1.5 Ok")
			}
		case "DATA":
			if cur == nil || len(cur.rcpts) == 0 {
				reply("503 5.5.1 Need RCPT first")
				continue
			}
			reply("354 End data with <CR><LF>.<CR><LF>")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				cur.wire = append(cur.wire, l...)
				cur.data = append(cur.data, strings.TrimPrefix(l, ".")...) // RFC 5321 4.5.2
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, *cur)
			s.mu.Unlock()
			cur = nil
			reply("250 2.0.0 Ok: queued as FAKE1")
		case "RSET":
			cur = nil
			reply("250 2.0.0 Ok")
		case "NOOP":
			reply("250 2.0.0 Ok")
		case "*":
			reply("501 5.7.0 Authentication aborted")
		case "QUIT":
			reply("221 2.0.0 Bye")
			return
		default:
			reply("502 5.5.2 Command not recognized")
		}
	}
}

func between(s, prefix, suffix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	rest := s[len(prefix):]
	i := strings.Index(rest, suffix)
	if i < 0 {
		return "", false
	}
	return rest[:i], true
}

func newFake(t *testing.T, configure func(*fakeSMTP)) (*fakeSMTP, *x509.CertPool) {
	cert, pool := testCert(t)
	s := &fakeSMTP{
		t:        t,
		tls:      &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		startTLS: true,
		user:     "mailer",
		pass:     "s3cret pass",
	}
	if configure != nil {
		configure(s)
	}
	s.start()
	return s, pool
}

func smtpConfig(s *fakeSMTP, pool *x509.CertPool) SMTPConfig {
	return SMTPConfig{
		Host:      "127.0.0.1",
		Port:      s.port(),
		Username:  "mailer",
		Password:  "s3cret pass",
		Timeout:   5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: pool},
		HeloName:  "worker.veza.test",
	}
}

func verbs(events []event) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(e.verb)
		if e.tls {
			b.WriteString("/tls")
		}
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}

func TestSMTPStartTLSAuthAndDelivery(t *testing.T) {
	srv, pool := newFake(t, nil)
	m := testMessage()
	m.Headers = map[string]string{"Message-ID": "<fixed-for-comparison@veza.local>"}

	id, err := NewSMTP(smtpConfig(srv, pool)).Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if id != "<fixed-for-comparison@veza.local>" {
		t.Errorf("id = %q", id)
	}
	events, msgs := srv.snapshot()
	const want = "EHLO STARTTLS EHLO/tls AUTH/tls MAIL/tls RCPT/tls RCPT/tls DATA/tls QUIT/tls"
	if got := verbs(events); got != want {
		t.Errorf("session:\n got %s\nwant %s", got, want)
	}
	for _, e := range events {
		if e.verb == "AUTH" && !e.tls {
			t.Errorf("AUTH before TLS")
		}
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages received", len(msgs))
	}
	got := msgs[0]
	if got.from != "no-reply@veza.local" || strings.Join(got.rcpts, ",") != "zoe@example.com,ops@example.org" {
		t.Errorf("envelope: from %q to %q", got.from, got.rcpts)
	}

	// The bytes are Build's, for the same instant and Message-ID.
	parsed, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	date, err := parsed.Header.Date()
	if err != nil {
		t.Fatal(err)
	}
	wantRaw, _, err := Build(m, date, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.data, wantRaw) {
		t.Errorf("received message differs from Build's:\n got %q\nwant %q", got.data, wantRaw)
	}
	// ...and were dot-stuffed on the wire.
	if !bytes.Contains(got.wire, []byte("\r\n..a line that starts with a dot\r\n")) ||
		!bytes.Contains(got.wire, []byte("\r\n..\r\n")) {
		t.Errorf("lines starting with a dot were not stuffed:\n%s", got.wire)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	srv, pool := newFake(t, func(s *fakeSMTP) { s.implicit, s.startTLS = true, false })
	cfg := smtpConfig(srv, pool)
	cfg.ImplicitTLS = true
	if _, err := NewSMTP(cfg).Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	events, msgs := srv.snapshot()
	if got, want := verbs(events), "EHLO/tls AUTH/tls MAIL/tls RCPT/tls RCPT/tls DATA/tls QUIT/tls"; got != want {
		t.Errorf("session:\n got %s\nwant %s", got, want)
	}
	if len(msgs) != 1 {
		t.Errorf("%d messages received", len(msgs))
	}
}

func TestSMTPRequiresSTARTTLS(t *testing.T) {
	srv, pool := newFake(t, func(s *fakeSMTP) { s.startTLS, s.plainAuth = false, true })
	cfg := smtpConfig(srv, pool)

	_, err := NewSMTP(cfg).Send(context.Background(), testMessage())
	if !errors.Is(err, ErrSTARTTLSUnavailable) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want ErrSTARTTLSUnavailable", err)
	}
	if IsPermanent(err) {
		t.Errorf("a configuration problem is not permanent")
	}
	events, msgs := srv.snapshot()
	if got := verbs(events); got != "EHLO" || len(msgs) != 0 {
		t.Errorf("sent more than EHLO before refusing: %s", got)
	}

	// Insecure allows plaintext (and AUTH over it) for local test servers.
	cfg.Insecure = true
	if _, err := NewSMTP(cfg).Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Insecure: %v", err)
	}
	events, msgs = srv.snapshot()
	if got, want := verbs(events), "EHLO EHLO AUTH MAIL RCPT RCPT DATA QUIT"; got != want || len(msgs) != 1 {
		t.Errorf("session:\n got %s\nwant %s", got, want)
	}
}

func TestSMTPInsecureStillUsesAndVerifiesTLS(t *testing.T) {
	srv, _ := newFake(t, nil)
	cfg := smtpConfig(srv, x509.NewCertPool()) // does not trust the server
	cfg.Insecure = true
	_, err := NewSMTP(cfg).Send(context.Background(), testMessage())
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("err = %v, want a certificate verification error", err)
	}
	events, msgs := srv.snapshot()
	for _, e := range events {
		if e.verb == "AUTH" || e.verb == "MAIL" {
			t.Errorf("%s sent after a failed STARTTLS", e.verb)
		}
	}
	if len(msgs) != 0 {
		t.Errorf("message delivered")
	}
}

func TestSMTPWrongCredentials(t *testing.T) {
	srv, pool := newFake(t, nil)
	cfg := smtpConfig(srv, pool)
	cfg.Password = "wrong"
	_, err := NewSMTP(cfg).Send(context.Background(), testMessage())
	if err == nil || !strings.Contains(err.Error(), "535 5.7.8 Authentication credentials invalid") {
		t.Fatalf("err = %v, want the server's 535 reply", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the password: %v", err)
	}
	if IsPermanent(err) {
		t.Errorf("bad credentials are fixed by the operator, not permanent")
	}
	events, msgs := srv.snapshot()
	for _, e := range events {
		if e.verb == "MAIL" {
			t.Errorf("MAIL sent after failed AUTH")
		}
	}
	if len(msgs) != 0 {
		t.Errorf("message delivered")
	}
}

func TestSMTPRejectedRecipientIsPermanent(t *testing.T) {
	srv, pool := newFake(t, func(s *fakeSMTP) { s.rejectTo = "ops@example.org" })
	_, err := NewSMTP(smtpConfig(srv, pool)).Send(context.Background(), testMessage())
	if err == nil || !strings.Contains(err.Error(), "550 5.1.1") || !IsPermanent(err) {
		t.Fatalf("err = %v (permanent %v), want a permanent 550", err, IsPermanent(err))
	}
	if _, msgs := srv.snapshot(); len(msgs) != 0 {
		t.Errorf("message delivered")
	}
}

func TestSMTPSilentServerTimesOut(t *testing.T) {
	srv, pool := newFake(t, func(s *fakeSMTP) { s.silent = true })

	t.Run("Timeout", func(t *testing.T) {
		cfg := smtpConfig(srv, pool)
		cfg.Timeout = 300 * time.Millisecond
		start := time.Now()
		_, err := NewSMTP(cfg).Send(context.Background(), testMessage())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("ContextDeadline", func(t *testing.T) {
		cfg := smtpConfig(srv, pool)
		cfg.Timeout = time.Minute
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := NewSMTP(cfg).Send(ctx, testMessage())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("ContextCancel", func(t *testing.T) {
		cfg := smtpConfig(srv, pool)
		cfg.Timeout = time.Minute
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err := NewSMTP(cfg).Send(ctx, testMessage())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want Canceled", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

func TestSMTPRefusesBeforeConnecting(t *testing.T) {
	srv, pool := newFake(t, nil)
	m := testMessage()
	m.Subject = "hi\r\nBcc: victim@example.com"
	if _, err := NewSMTP(smtpConfig(srv, pool)).Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("err = %v", err)
	}
	if _, err := NewSMTP(SMTPConfig{}).Send(context.Background(), testMessage()); err == nil {
		t.Errorf("empty config accepted")
	}
	if events, _ := srv.snapshot(); len(events) != 0 {
		t.Errorf("connected anyway: %v", events)
	}
}
