// Package mailtest is a fake SMTP relay for tests, as net/http/httptest is a
// fake HTTP server: a module's tests point MAIL_DRIVER=smtp at it (Env) and
// read what arrived.
//
//	srv := mailtest.NewServer(t, mailtest.Options{})
//	srv.Respond("RCPT", "550 5.1.1 User unknown", mailtest.Always)
//	app := apptest.Start(t, apptest.Options{Modules: mods, Env: srv.Env(mailtest.StartTLS)})
//	...
//	msgs := srv.WaitMessages(t, 1, 10*time.Second)
//
// One Server listens three times on loopback: in plaintext without
// STARTTLS, in plaintext offering STARTTLS, and with TLS from the first
// byte. Its certificate is its own CA's (CA, CAFile for SMTP_CA_FILE). It
// speaks enough ESMTP for a real client: EHLO, STARTTLS, AUTH PLAIN,
// MAIL, RCPT, DATA (dot-unstuffing), RSET, NOOP, QUIT. Every connection is
// recorded as an Attempt, every message accepted after DATA as a Message.
package mailtest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mode is one of the Server's listeners.
type Mode string

// The listeners of a Server.
const (
	// Plain never offers STARTTLS (SMTP_TLS=opportunistic sends in
	// plaintext; starttls refuses it).
	Plain Mode = "plain"
	// StartTLS offers STARTTLS (port 587 style).
	StartTLS Mode = "starttls"
	// Implicit speaks TLS from the first byte (port 465 style).
	Implicit Mode = "implicit"
)

// smtpTLS is the SMTP_TLS value that reaches each listener.
var smtpTLS = map[Mode]string{Plain: "opportunistic", StartTLS: "starttls", Implicit: "implicit"}

// Always makes Respond's reply permanent.
const Always = -1

// Options configure a Server.
type Options struct {
	// Username and Password, when Username is set, are the only credentials
	// AUTH PLAIN accepts, and MAIL is refused (530) until they are given.
	Username, Password string
	// PlainAuth accepts AUTH before TLS; by default the server answers 538
	// (encryption required), as relays do.
	PlainAuth bool
	// Silent accepts connections and never says anything, to test clients'
	// timeouts.
	Silent bool
	// CA signs the server's certificate; nil: a new one.
	CA *CA
}

// Command is one command the server received.
type Command struct {
	// Verb is upper-cased: "EHLO", "MAIL", "RCPT", ...
	Verb string
	// Arg is the rest of the line; for AUTH only the mechanism is kept.
	Arg string
	// TLS tells whether the connection was encrypted when it arrived.
	TLS bool
	// Reply is the server's answer, e.g. "250 2.1.5 Ok".
	Reply string
}

// Attempt is one connection to the server.
type Attempt struct {
	// Mode is the listener the client connected to.
	Mode Mode
	// Commands are the commands received, in order.
	Commands []Command
	// Messages are the messages whose content was transmitted on this
	// connection, delivered or not (see Message.Reply).
	Messages []Message
}

// Verbs lists the attempt's commands, "/tls" marking those received
// encrypted: "EHLO STARTTLS EHLO/tls AUTH/tls MAIL/tls ...".
func (a Attempt) Verbs() string {
	var b strings.Builder
	for i, c := range a.Commands {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.Verb)
		if c.TLS {
			b.WriteString("/tls")
		}
	}
	return b.String()
}

// Server is a fake SMTP relay. Its methods may be called from any
// goroutine. It stops when the test that made it ends.
type Server struct {
	t    testing.TB
	opts Options
	ca   *CA
	lns  map[Mode]net.Listener
	tls  *tls.Config

	mu       sync.Mutex
	attempts []*Attempt
	rules    map[string][]*rule
	conns    []net.Conn
	caFile   string
	wg       sync.WaitGroup
}

// rule is a scripted reply for one command.
type rule struct {
	reply string
	left  int // Always: forever
}

// NewServer starts a Server on three loopback ports and stops it when t
// ends.
func NewServer(t testing.TB, o Options) *Server {
	t.Helper()
	ca := o.CA
	if ca == nil {
		ca = NewCA(t)
	}
	s := &Server{
		t: t, opts: o, ca: ca, lns: map[Mode]net.Listener{}, rules: map[string][]*rule{},
		tls: &tls.Config{Certificates: []tls.Certificate{ca.cert}, MinVersion: tls.VersionTLS12},
	}
	t.Cleanup(s.close)
	for _, m := range []Mode{Plain, StartTLS, Implicit} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("mailtest: listen: %v", err)
		}
		s.lns[m] = ln
		s.wg.Add(1)
		go s.accept(m, ln)
	}
	return s
}

func (s *Server) close() {
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.mu.Lock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept(m Mode, ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.attempts = append(s.attempts, &Attempt{Mode: m})
		n := len(s.attempts) - 1
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serve(m, n, c)
		}()
	}
}

// Port is the TCP port of listener m.
func (s *Server) Port(m Mode) int { return s.lns[m].Addr().(*net.TCPAddr).Port }

// Addr is "127.0.0.1:<port>" of listener m.
func (s *Server) Addr(m Mode) string { return s.lns[m].Addr().String() }

// CA is the authority whose certificate the server presents.
func (s *Server) CA() *CA { return s.ca }

// CAFile writes the CA certificate as PEM (once) and returns the file's
// path, for SMTP_CA_FILE.
func (s *Server) CAFile() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.caFile == "" {
		s.caFile = s.ca.WriteFile(s.t)
	}
	return s.caFile
}

// Env is the platform configuration that sends mail to listener m:
// MAIL_DRIVER, SMTP_HOST, SMTP_PORT, SMTP_TLS, SMTP_CA_FILE and, when the
// server has credentials, SMTP_USERNAME and SMTP_PASSWORD.
func (s *Server) Env(m Mode) map[string]string {
	env := map[string]string{
		"MAIL_DRIVER":  "smtp",
		"SMTP_HOST":    "127.0.0.1",
		"SMTP_PORT":    strconv.Itoa(s.Port(m)),
		"SMTP_TLS":     smtpTLS[m],
		"SMTP_CA_FILE": s.CAFile(),
	}
	if s.opts.Username != "" {
		env["SMTP_USERNAME"], env["SMTP_PASSWORD"] = s.opts.Username, s.opts.Password
	}
	return env
}

// Respond scripts the reply to a command for its next times occurrences
// (Always: every one), instead of the normal handling: Respond("RCPT",
// "550 5.1.1 User unknown", Always), or Respond(".", "451 4.3.0 Try again
// later", 1) to refuse the first message after its content was sent (the
// command "." is the end of DATA). Scripts for one command apply in the
// order given.
func (s *Server) Respond(command, reply string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	verb := strings.ToUpper(command)
	s.rules[verb] = append(s.rules[verb], &rule{reply: reply, left: times})
}

// scripted returns the scripted reply for verb, if one is left.
func (s *Server) scripted(verb string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rules[verb] {
		if r.left == Always {
			return r.reply, true
		}
		if r.left > 0 {
			r.left--
			return r.reply, true
		}
	}
	return "", false
}

// Attempts returns a copy of every connection so far, in order of arrival.
func (s *Server) Attempts() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Attempt, len(s.attempts))
	for i, a := range s.attempts {
		out[i] = Attempt{Mode: a.Mode, Commands: append([]Command(nil), a.Commands...),
			Messages: append([]Message(nil), a.Messages...)}
	}
	return out
}

// Messages returns the delivered messages (accepted at the end of DATA), in
// order.
func (s *Server) Messages() []Message {
	var out []Message
	for _, a := range s.Attempts() {
		for _, m := range a.Messages {
			if m.Delivered() {
				out = append(out, m)
			}
		}
	}
	return out
}

// WaitMessages waits until at least n messages were delivered and returns
// them; the test fails after timeout.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	var msgs []Message
	s.wait(t, timeout, "delivered messages", n, func() int { msgs = s.Messages(); return len(msgs) })
	return msgs
}

// WaitAttempts waits until at least n connections arrived and returns them;
// the test fails after timeout.
func (s *Server) WaitAttempts(t testing.TB, n int, timeout time.Duration) []Attempt {
	t.Helper()
	var atts []Attempt
	s.wait(t, timeout, "connections", n, func() int { atts = s.Attempts(); return len(atts) })
	return atts
}

func (s *Server) wait(t testing.TB, timeout time.Duration, what string, n int, count func() int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("mailtest: %d %s after %s, want %d", count(), what, timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// record adds a command to attempt n and returns its index.
func (s *Server) record(n int, c Command) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts[n].Commands = append(s.attempts[n].Commands, c)
	return len(s.attempts[n].Commands) - 1
}

func (s *Server) setReply(n, cmd int, reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts[n].Commands[cmd].Reply = reply
}

func (s *Server) recordMessage(n int, m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts[n].Messages = append(s.attempts[n].Messages, m)
}

// session is one connection's state.
type session struct {
	s      *Server
	n      int // index of the attempt
	cmd    int // index of the command being answered
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	tls    bool
	authed bool
	cur    *Message // the transaction under way
	// content is the transaction whose DATA was accepted: its content
	// comes next.
	content *Message
}

func (s *Server) serve(m Mode, n int, conn net.Conn) {
	if s.opts.Silent {
		_, _ = io.Copy(io.Discard, conn) // until the client gives up
		return
	}
	ss := &session{s: s, n: n, conn: conn}
	if m == Implicit {
		tc := tls.Server(conn, s.tls)
		if tc.Handshake() != nil {
			return // the client did not trust us: nothing to record
		}
		ss.conn, ss.tls = tc, true
	}
	ss.r, ss.w = bufio.NewReader(ss.conn), bufio.NewWriter(ss.conn)
	ss.reply("220 mailtest ESMTP ready")
	for {
		line, ok := ss.readLine()
		if !ok {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		recorded := arg
		if verb == "AUTH" {
			recorded, _, _ = strings.Cut(arg, " ") // never record credentials
		}
		// Recorded before it is answered: a client that got the reply finds
		// the command in Attempts.
		ss.cmd = s.record(n, Command{Verb: verb, Arg: recorded, TLS: ss.tls})
		quit := ss.handle(m, verb, arg)
		if ss.content != nil {
			quit = !ss.readContent()
		}
		if quit {
			return
		}
	}
}

func (ss *session) reply(line string) {
	_, _ = ss.w.WriteString(line + "\r\n")
	_ = ss.w.Flush()
}

func (ss *session) readLine() (string, bool) {
	line, err := ss.r.ReadString('\n')
	if err != nil {
		return "", false
	}
	if !strings.HasSuffix(line, "\r\n") {
		ss.s.t.Errorf("mailtest: line without CRLF: %q", line)
	}
	return strings.TrimSuffix(line, "\r\n"), true
}

// handle answers one command; quit ends the session.
func (ss *session) handle(m Mode, verb, arg string) (quit bool) {
	if r, ok := ss.s.scripted(verb); ok {
		ss.send(r)
		if verb == "MAIL" || verb == "DATA" {
			ss.cur = nil
		}
		return verb == "QUIT"
	}
	switch verb {
	case "EHLO":
		ss.ehlo(m, arg)
	case "HELO":
		ss.send("250 mailtest")
	case "STARTTLS":
		return ss.startTLS(m)
	case "AUTH":
		return ss.auth(arg)
	case "MAIL":
		ss.mail(arg)
	case "RCPT":
		ss.rcpt(arg)
	case "DATA":
		ss.data()
	case "RSET":
		ss.cur = nil
		ss.send("250 2.0.0 Ok")
	case "NOOP":
		ss.send("250 2.0.0 Ok")
	case "QUIT":
		ss.send("221 2.0.0 Bye")
		return true
	default:
		ss.send("502 5.5.2 Command not recognized")
	}
	return false
}

// send records line as the reply to the current command, then writes it.
func (ss *session) send(line string) {
	ss.s.setReply(ss.n, ss.cmd, line)
	ss.reply(line)
}

func (ss *session) ehlo(m Mode, arg string) {
	ext := []string{"250-mailtest greets " + arg, "250-8BITMIME", "250-ENHANCEDSTATUSCODES"}
	if m == StartTLS && !ss.tls {
		ext = append(ext, "250-STARTTLS")
	}
	// AUTH is advertised before TLS too, so that only the client's own
	// policy keeps it from authenticating in plaintext.
	ext = append(ext, "250-AUTH PLAIN", "250 SIZE 10240000")
	ss.s.setReply(ss.n, ss.cmd, ext[0])
	for _, l := range ext {
		_, _ = ss.w.WriteString(l + "\r\n")
	}
	_ = ss.w.Flush()
	ss.cur, ss.authed = nil, false
}

func (ss *session) startTLS(m Mode) (quit bool) {
	if m != StartTLS || ss.tls {
		ss.send("502 5.5.1 STARTTLS not available")
		return false
	}
	ss.send("220 2.0.0 Ready to start TLS")
	tc := tls.Server(ss.conn, ss.s.tls)
	if tc.Handshake() != nil {
		return true // the client did not trust us
	}
	ss.conn, ss.tls = tc, true
	ss.r, ss.w = bufio.NewReader(tc), bufio.NewWriter(tc)
	ss.cur, ss.authed = nil, false
	return false
}

func (ss *session) auth(arg string) (quit bool) {
	if !ss.tls && !ss.s.opts.PlainAuth {
		ss.send("538 5.7.11 Encryption required for requested authentication mechanism")
		return false
	}
	mech, initial, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") {
		ss.send("504 5.5.4 Unrecognized authentication type")
		return false
	}
	if initial == "" {
		ss.reply("334 ")
		var ok bool
		if initial, ok = ss.readLine(); !ok {
			return true
		}
	}
	dec, err := base64.StdEncoding.DecodeString(initial)
	parts := strings.Split(string(dec), "\x00")
	if err != nil || len(parts) != 3 || parts[1] != ss.s.opts.Username || parts[2] != ss.s.opts.Password {
		ss.send("535 5.7.8 Authentication credentials invalid")
		return false
	}
	ss.authed = true
	ss.send("235 2.7.0 Authentication successful")
	return false
}

func (ss *session) mail(arg string) {
	if ss.s.opts.Username != "" && !ss.authed {
		ss.send("530 5.7.0 Authentication required")
		return
	}
	from, ok := between(arg, "FROM:<", ">")
	if !ok {
		ss.send("501 5.5.4 Syntax: MAIL FROM:<address>")
		return
	}
	ss.cur = &Message{From: from}
	ss.send("250 2.1.0 Ok")
}

func (ss *session) rcpt(arg string) {
	to, ok := between(arg, "TO:<", ">")
	switch {
	case ss.cur == nil:
		ss.send("503 5.5.1 Need MAIL first")
	case !ok:
		ss.send("501 5.5.4 Syntax: RCPT TO:<address>")
	default:
		ss.cur.To = append(ss.cur.To, to)
		ss.send("250 2.1.5 Ok")
	}
}

func (ss *session) data() {
	if ss.cur == nil || len(ss.cur.To) == 0 {
		ss.send("503 5.5.1 Need RCPT first")
		return
	}
	ss.content, ss.cur = ss.cur, nil
	ss.send("354 End data with <CR><LF>.<CR><LF>")
}

// readContent reads a message up to the lone dot, answers it and records
// it (as the command "."); false means the connection is gone.
func (ss *session) readContent() bool {
	msg := ss.content
	ss.content = nil
	for {
		l, err := ss.r.ReadString('\n')
		if err != nil {
			return false
		}
		if l == ".\r\n" {
			break
		}
		msg.Wire = append(msg.Wire, l...)
		msg.Raw = append(msg.Raw, strings.TrimPrefix(l, ".")...) // RFC 5321 4.5.2
	}
	msg.Reply = "250 2.0.0 Ok: queued"
	if r, ok := ss.s.scripted("."); ok {
		msg.Reply = r
	}
	if err := msg.parse(); err != nil {
		ss.s.t.Errorf("mailtest: message is not RFC 5322: %v", err)
	}
	ss.s.recordMessage(ss.n, *msg)
	ss.cmd = ss.s.record(ss.n, Command{Verb: ".", TLS: ss.tls})
	ss.send(msg.Reply)
	return true
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

// writeFile writes data to a new file in t's temporary directory.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("mailtest: %v", err)
	}
	return path
}
