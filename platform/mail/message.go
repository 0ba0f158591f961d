// Package mail is the platform's outgoing mail, shared by every module that
// sends transactional mail (address verification, password reset,
// notifications). One Sender per process, chosen by MAIL_DRIVER: "smtp" for
// real delivery (through github.com/wneessen/go-mail), "log" for
// environments that must not send anything, and "dir" to drop .eml files a
// developer can open. The platform provides it to every module; build one
// with New.
//
// Every driver validates a Message the same way, so a message that would be
// refused in production (bad address, header injection) is refused in
// development too.
package mail

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidMessage is wrapped by every error caused by the message itself
// (addresses, headers, body) rather than by the transport, so that a job
// handler can tell with errors.Is that retrying cannot help.
var ErrInvalidMessage = errors.New("mail: invalid message")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, args...))
}

// Message is what a module hands to a Sender: plain data, so that it
// can travel in a job payload and be rendered the same way by every driver.
type Message struct {
	// From is one RFC 5322 mailbox, e.g. "Veza <no-reply@veza.local>"; its
	// address is also the SMTP envelope sender.
	From string
	// To lists one mailbox per entry; every one becomes an SMTP recipient.
	To []string
	// Subject may hold any UTF-8 text; non-ASCII is sent as RFC 2047
	// encoded-words.
	Subject string
	// Text is the plain-text body. It is required: it is what text-only
	// clients show and what spam filters expect to find.
	Text string
	// HTML is an optional HTML rendering of Text; when set the message is
	// multipart/alternative with Text first.
	HTML string
	// Headers are extra header fields (List-Unsubscribe, Auto-Submitted, ...).
	// Fields that Build writes itself (Date, From, To, Cc, Bcc, Subject,
	// MIME-Version, Content-*, Return-Path) are refused, so a caller cannot
	// produce a message whose headers disagree with its envelope. Message-ID
	// is the one exception: a caller may fix it so that a retried job sends
	// a message receivers can recognise as the same one.
	Headers map[string]string
}

// prepared is a validated Message: parsed addresses, checked headers and
// its Message-ID and date. Every driver starts from it, so that a message
// refused by one driver is refused by all of them.
type prepared struct {
	from    *mail.Address
	to      []*mail.Address
	subject string
	text    string
	html    string
	extra   []header // sorted by name
	id      string   // with angle brackets
	date    time.Time
}

// built is a message rendered by Build, plus its Message-ID and recipients.
type built struct {
	raw []byte
	id  string
	to  []string // envelope recipients (bare addresses)
}

// Build renders m as RFC 5322 bytes (CRLF line endings, quoted-printable
// UTF-8 bodies) dated now, with a fresh Message-ID on domain (the From
// address's domain when domain is empty). It is exported so that callers and
// tests can see exactly what the dir driver writes; the smtp driver sends the
// same message rendered by go-mail.
func Build(m Message, now time.Time, domain string) (raw []byte, messageID string, err error) {
	b, err := build(m, now, domain)
	if err != nil {
		return nil, "", err
	}
	return b.raw, b.id, nil
}

// reserved header fields are written by build from Message's own fields.
var reserved = map[string]bool{
	"date": true, "from": true, "to": true, "cc": true, "bcc": true,
	"subject": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "return-path": true,
}

type header struct{ name, value string }

func build(m Message, now time.Time, domain string) (*built, error) {
	p, err := prepare(m, now, domain)
	if err != nil {
		return nil, err
	}
	raw, err := render(p)
	if err != nil {
		return nil, err
	}
	return &built{raw: raw, id: p.id, to: p.recipients()}, nil
}

// prepare validates m and fixes its Message-ID and date.
func prepare(m Message, now time.Time, domain string) (*prepared, error) {
	from, err := parseAddress(m.From)
	if err != nil {
		return nil, invalidf("From: %v", err)
	}
	to, err := parseRecipients(m.To)
	if err != nil {
		return nil, err
	}
	if err := checkHeaderValue("Subject", m.Subject); err != nil {
		return nil, err
	}
	if m.Text == "" {
		return nil, invalidf("empty text body")
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		return nil, invalidf("body is not valid UTF-8")
	}
	extra, id, err := extraHeaders(m.Headers)
	if err != nil {
		return nil, err
	}
	if id == "" {
		if id, err = newMessageID(from, domain); err != nil {
			return nil, err
		}
	}
	return &prepared{from: from, to: to, subject: m.Subject, text: m.Text, html: m.HTML,
		extra: extra, id: id, date: now.UTC()}, nil
}

func parseRecipients(list []string) ([]*mail.Address, error) {
	if len(list) == 0 {
		return nil, invalidf("no recipient")
	}
	to := make([]*mail.Address, 0, len(list))
	for _, s := range list {
		a, err := parseAddress(s)
		if err != nil {
			return nil, invalidf("To: %v", err)
		}
		to = append(to, a)
	}
	return to, nil
}

// extraHeaders checks the caller's header fields and takes the Message-ID
// out of them.
func extraHeaders(h map[string]string) (extra []header, id string, err error) {
	extra = make([]header, 0, len(h))
	seen := make(map[string]bool, len(h))
	for name, value := range h {
		if err := checkHeaderName(name); err != nil {
			return nil, "", err
		}
		lower := strings.ToLower(name)
		if seen[lower] {
			return nil, "", invalidf("header %q given twice", name)
		}
		seen[lower] = true
		if reserved[lower] {
			return nil, "", invalidf("header %q is set by Build from the Message fields", name)
		}
		if err := checkHeaderValue(name, value); err != nil {
			return nil, "", err
		}
		if lower == "message-id" {
			if id, err = parseMessageID(value); err != nil {
				return nil, "", err
			}
			continue
		}
		extra = append(extra, header{name, value})
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].name < extra[j].name })
	return extra, id, nil
}

func newMessageID(from *mail.Address, domain string) (string, error) {
	if domain == "" {
		domain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	}
	if err := checkDomain(domain); err != nil {
		return "", invalidf("Message-ID: %v", err)
	}
	// 26 base32 characters: 130 random bits, unique without coordination
	// between processes, and safe in a file name.
	return "<" + rand.Text() + "@" + domain + ">", nil
}

// recipients are the envelope recipients: bare addresses.
func (p *prepared) recipients() []string {
	out := make([]string, len(p.to))
	for i, a := range p.to {
		out[i] = a.Address
	}
	return out
}

// render writes p as RFC 5322 bytes.
func render(p *prepared) ([]byte, error) {
	toList := make([]string, len(p.to))
	for i, a := range p.to {
		toList[i] = a.String()
	}
	var buf bytes.Buffer
	hw := headerWriter{buf: &buf}
	hw.write("Date", p.date.Format(time.RFC1123Z))
	hw.write("From", p.from.String())
	hw.write("To", strings.Join(toList, ", "))
	hw.write("Subject", mime.QEncoding.Encode("utf-8", p.subject))
	hw.write("Message-ID", p.id)
	hw.write("MIME-Version", "1.0")
	for _, h := range p.extra {
		hw.write(h.name, mime.QEncoding.Encode("utf-8", h.value))
	}
	if p.html == "" {
		hw.write("Content-Type", "text/plain; charset=utf-8")
		hw.write("Content-Transfer-Encoding", "quoted-printable")
		if hw.err != nil {
			return nil, hw.err
		}
		buf.WriteString("\r\n")
		if err := writeQP(&buf, p.text); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	mw := multipart.NewWriter(&buf) // random boundary from crypto/rand
	hw.write("Content-Type", mime.FormatMediaType("multipart/alternative",
		map[string]string{"boundary": mw.Boundary()}))
	if hw.err != nil {
		return nil, hw.err
	}
	buf.WriteString("\r\n")
	if err := writeAlternatives(mw, p.text, p.html); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeAlternatives(mw *multipart.Writer, text, html string) error {
	for _, part := range []struct{ ctype, body string }{
		{"text/plain; charset=utf-8", text},
		{"text/html; charset=utf-8", html},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return err
		}
		if err := writeQP(w, part.body); err != nil {
			return err
		}
	}
	return mw.Close() // ends with "--boundary--\r\n"
}

// writeQP writes s quoted-printable encoded: lines come out at most 76
// octets, CRLF-terminated, 7-bit, whatever s holds. s is given a final line
// break so the message (and the SMTP DATA that carries it) ends with CRLF.
func writeQP(w io.Writer, s string) error {
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	qw := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qw, s); err != nil {
		return err
	}
	return qw.Close()
}

const (
	foldAt  = 78  // RFC 5322 2.1.1: SHOULD
	maxLine = 998 // RFC 5322 2.1.1: MUST
)

// headerWriter writes header fields folded at spaces so that lines stay
// under 78 octets where the value allows it; it records the first error.
type headerWriter struct {
	buf *bytes.Buffer
	err error
}

func (hw *headerWriter) write(name, value string) {
	if hw.err != nil {
		return
	}
	hw.buf.WriteString(name)
	hw.buf.WriteByte(':')
	n := len(name) + 1
	for i, word := range strings.Split(value, " ") {
		// Fold (CRLF before the space) only before a non-empty word and
		// never right after the field name, so no line is whitespace only.
		if i > 0 && word != "" && n+1+len(word) > foldAt {
			hw.buf.WriteString("\r\n")
			n = 0
		}
		hw.buf.WriteByte(' ')
		hw.buf.WriteString(word)
		n += 1 + len(word)
		if n > maxLine {
			hw.err = invalidf("header %s: a line would exceed %d octets", name, maxLine)
			return
		}
	}
	hw.buf.WriteString("\r\n")
}

// ParseAddress parses one RFC 5322 mailbox ("Name <user@example.com>" or
// "user@example.com") and also refuses what net/mail accepts but an SMTP
// envelope cannot carry safely: line breaks, non-ASCII or quoted local parts,
// and domains that are not host names. Use it to validate user input before
// it is stored, so that a mail job never fails on an address later.
func ParseAddress(s string) (*mail.Address, error) {
	a, err := parseAddress(s)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	return a, nil
}

func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("address contains a line break")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("address %q: %v", s, err)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 0 {
		return nil, fmt.Errorf("address %q: no @", s)
	}
	local, domain := a.Address[:at], a.Address[at+1:]
	if len(local) > 64 || !isDotAtom(local) {
		return nil, fmt.Errorf("address %q: unsupported local part", s)
	}
	if err := checkDomain(domain); err != nil {
		return nil, fmt.Errorf("address %q: %v", s, err)
	}
	return a, nil
}

// checkDomain accepts ASCII host names (IDNs must be given in punycode).
func checkDomain(d string) error {
	if d == "" || len(d) > 253 {
		return fmt.Errorf("bad domain length %d", len(d))
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("bad domain %q", d)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("bad domain %q", d)
			}
		}
	}
	return nil
}

// isDotAtom reports whether s is an RFC 5322 dot-atom-text.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", rune(c)) {
			return false
		}
	}
	return true
}

// checkHeaderName accepts RFC 5322 field names: printable ASCII, no colon.
func checkHeaderName(name string) error {
	if name == "" || len(name) > 76 {
		return invalidf("bad header name %q", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return invalidf("bad header name %q", name)
		}
	}
	return nil
}

// checkHeaderValue refuses line breaks, which would let a value (a subject
// built from user input, say) start header fields of its own.
func checkHeaderValue(name, value string) error {
	if strings.ContainsAny(value, "\r\n") {
		return invalidf("header %s contains a line break", name)
	}
	if !utf8.ValidString(value) {
		return invalidf("header %s is not valid UTF-8", name)
	}
	return nil
}

// parseMessageID accepts "<left@right>" (brackets optional) with
// dot-atom-text on both sides.
func parseMessageID(v string) (string, error) {
	v = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(v), "<"), ">")
	at := strings.LastIndexByte(v, '@')
	if at < 0 || !isDotAtom(v[:at]) || !isDotAtom(v[at+1:]) {
		return "", invalidf("bad Message-ID %q", v)
	}
	return "<" + v + ">", nil
}
