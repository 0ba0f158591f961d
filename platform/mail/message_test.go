package mail

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))

// longLine is over 1000 octets (the RFC 5322 limit is 998) and non-ASCII.
var longLine = strings.Repeat("é0123456789", 120)

const testText = "Bonjour Zoë,\n" +
	".a line that starts with a dot\n" +
	".\n" +
	"trailing spaces   \n" +
	"=3D is not an escape here, =?utf-8?q?nor_this?=\n"

func testMessage() Message {
	return Message{
		From:    "Veza <no-reply@veza.local>",
		To:      []string{"Zoë Durand <zoe@example.com>", "ops@example.org"},
		Subject: "Vérifiez votre adresse — Veza",
		Text:    testText + longLine + "\n",
	}
}

func readBack(t *testing.T, raw []byte) *mail.Message {
	t.Helper()
	for i, line := range strings.Split(string(raw), "\r\n") {
		if strings.Contains(line, "\n") || strings.Contains(line, "\r") {
			t.Fatalf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) > 998 {
			t.Fatalf("line %d is %d octets long", i+1, len(line))
		}
	}
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Fatalf("message does not end with CRLF")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, raw)
	}
	return msg
}

func decodeQP(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(quotedprintable.NewReader(r))
	if err != nil {
		t.Fatalf("quoted-printable: %v", err)
	}
	if bytes.Contains(bytes.ReplaceAll(b, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatalf("decoded body has a bare LF")
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func TestBuildPlainText(t *testing.T) {
	m := testMessage()
	raw, id, err := Build(m, testNow, "")
	if err != nil {
		t.Fatal(err)
	}
	msg := readBack(t, raw)
	h := msg.Header

	if got, want := h.Get("Date"), "Fri, 14 Mar 2025 14:09:26 +0000"; got != want {
		t.Errorf("Date = %q, want %q", got, want)
	}
	if d, err := h.Date(); err != nil || !d.Equal(testNow) {
		t.Errorf("Date parses to %v, %v", d, err)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Veza" || from[0].Address != "no-reply@veza.local" {
		t.Errorf("From = %v, %v", from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Name != "Zoë Durand" || to[0].Address != "zoe@example.com" || to[1].Address != "ops@example.org" {
		t.Errorf("To = %v, %v", to, err)
	}
	if s := h.Get("Subject"); !strings.HasPrefix(s, "=?utf-8?q?") {
		t.Errorf("Subject not RFC 2047 encoded: %q", s)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("Subject decodes to %q, %v; want %q", subject, err, m.Subject)
	}
	if h.Get("Message-ID") != id {
		t.Errorf("Message-ID header %q, returned %q", h.Get("Message-ID"), id)
	}
	if !regexp.MustCompile(`^<[A-Z2-7]{26}@veza\.local>$`).MatchString(id) {
		t.Errorf("Message-ID %q not <random@domain of From>", id)
	}
	if h.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version = %q", h.Get("MIME-Version"))
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "text/plain" || params["charset"] != "utf-8" {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
	if h.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Errorf("Content-Transfer-Encoding = %q", h.Get("Content-Transfer-Encoding"))
	}
	if got := decodeQP(t, msg.Body); got != m.Text {
		t.Errorf("body decodes to\n%q\nwant\n%q", got, m.Text)
	}
	// Quoted-printable keeps the encoded body 7-bit.
	for _, c := range raw {
		if c >= 0x80 {
			t.Fatalf("raw message has 8-bit octet %#x", c)
		}
	}

	// A second build is a different message.
	_, id2, _ := Build(m, testNow, "")
	if id2 == id {
		t.Errorf("two builds share Message-ID %s", id)
	}
	// An explicit domain wins over From's.
	_, id3, _ := Build(m, testNow, "mail.veza.example")
	if !strings.HasSuffix(id3, "@mail.veza.example>") {
		t.Errorf("Message-ID %q ignores the domain argument", id3)
	}
}

func TestBuildBodyWithoutFinalNewline(t *testing.T) {
	m := testMessage()
	m.Text = "no newline at the end"
	raw, _, err := Build(m, testNow, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeQP(t, readBack(t, raw).Body); got != m.Text+"\n" {
		t.Errorf("body = %q", got)
	}
}

func TestBuildHTML(t *testing.T) {
	m := testMessage()
	m.HTML = `<p>Bonjour Zoë, <a href="https://veza.local/verify?token=abc">vérifier</a></p>` + "\n" + longLine + "\n"
	raw, _, err := Build(m, testNow, "")
	if err != nil {
		t.Fatal(err)
	}
	msg := readBack(t, raw)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" || len(params["boundary"]) < 30 {
		t.Fatalf("Content-Type = %q (%v)", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	want := []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}}
	for i, w := range want {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		pt, pp, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil || pt != w.ctype || pp["charset"] != "utf-8" {
			t.Errorf("part %d Content-Type = %q", i, p.Header.Get("Content-Type"))
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part %d Content-Transfer-Encoding = %q", i, cte)
		}
		if got := decodeQP(t, p); got != w.body {
			t.Errorf("part %d decodes to %q, want %q", i, got, w.body)
		}
	}
	if _, err := mr.NextRawPart(); err != io.EOF {
		t.Errorf("after two parts: %v, want EOF", err)
	}

	_, params2, _ := mime.ParseMediaType(readBack(t, mustBuild(t, m)).Header.Get("Content-Type"))
	if params2["boundary"] == params["boundary"] {
		t.Errorf("boundary is not random")
	}
}

func mustBuild(t *testing.T, m Message) []byte {
	t.Helper()
	raw, _, err := Build(m, testNow, "")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestBuildExtraHeadersAndMessageID(t *testing.T) {
	m := testMessage()
	m.Headers = map[string]string{
		"Auto-Submitted":   "auto-generated",
		"X-Veza-Note":      "créé",
		"List-Unsubscribe": "<https://veza.local/unsubscribe>",
		"message-id":       "retry-1234@veza.local",
	}
	raw, id, err := Build(m, testNow, "")
	if err != nil {
		t.Fatal(err)
	}
	h := readBack(t, raw).Header
	if id != "<retry-1234@veza.local>" || h.Get("Message-ID") != id {
		t.Errorf("Message-ID = %q / %q, want the caller's", id, h.Get("Message-ID"))
	}
	if n := strings.Count(string(raw), "essage-I"); n != 1 {
		t.Errorf("Message-ID written %d times", n)
	}
	if h.Get("Auto-Submitted") != "auto-generated" || h.Get("List-Unsubscribe") != "<https://veza.local/unsubscribe>" {
		t.Errorf("extra headers lost: %v", h)
	}
	if v, _ := new(mime.WordDecoder).DecodeHeader(h.Get("X-Veza-Note")); v != "créé" {
		t.Errorf("X-Veza-Note = %q", h.Get("X-Veza-Note"))
	}
}

func TestBuildFoldsLongHeaders(t *testing.T) {
	m := testMessage()
	m.Subject = strings.Repeat("Veza vous souhaite la bienvenue, ", 40) // ASCII, 1320 octets
	raw, _, err := Build(m, testNow, "")
	if err != nil {
		t.Fatal(err)
	}
	head := string(raw[:bytes.Index(raw, []byte("\r\n\r\n"))])
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > 78 {
			t.Errorf("header line of %d octets: %q", len(line), line)
		}
		if strings.TrimSpace(line) == "" {
			t.Errorf("whitespace-only header line")
		}
	}
	if got := readBack(t, raw).Header.Get("Subject"); got != strings.TrimSpace(m.Subject) {
		t.Errorf("Subject unfolds to %q", got)
	}

	m.Subject = strings.Repeat("x", 1200) // cannot be folded
	if _, _, err := Build(m, testNow, ""); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("unfoldable subject: err = %v", err)
	}
}

func TestBuildRefuses(t *testing.T) {
	cases := map[string]func(m *Message){
		"CRLF in From":          func(m *Message) { m.From = "Veza <no-reply@veza.local>\r\nBcc: victim@example.com" },
		"LF in From name":       func(m *Message) { m.From = "Veza\n <no-reply@veza.local>" },
		"CR in To":              func(m *Message) { m.To = []string{"a@example.com\rBcc: victim@example.com"} },
		"LF in To":              func(m *Message) { m.To = []string{"ok@example.com", "a@example.com\nX: y"} },
		"CRLF in Subject":       func(m *Message) { m.Subject = "Hello\r\nBcc: victim@example.com" },
		"LF in Subject":         func(m *Message) { m.Subject = "Hello\nBcc: victim@example.com" },
		"CR in Subject":         func(m *Message) { m.Subject = "Hello\rBcc: victim@example.com" },
		"LF in header value":    func(m *Message) { m.Headers = map[string]string{"X-A": "b\nBcc: victim@example.com"} },
		"CR in header value":    func(m *Message) { m.Headers = map[string]string{"X-A": "b\rBcc: victim@example.com"} },
		"colon in header name":  func(m *Message) { m.Headers = map[string]string{"X-A: b\r\nBcc": "c"} },
		"space in header name":  func(m *Message) { m.Headers = map[string]string{"X A": "b"} },
		"empty header name":     func(m *Message) { m.Headers = map[string]string{"": "b"} },
		"Bcc header":            func(m *Message) { m.Headers = map[string]string{"Bcc": "victim@example.com"} },
		"Content-Type header":   func(m *Message) { m.Headers = map[string]string{"content-type": "text/html"} },
		"duplicate header":      func(m *Message) { m.Headers = map[string]string{"X-A": "1", "x-a": "2"} },
		"bad Message-ID":        func(m *Message) { m.Headers = map[string]string{"Message-ID": "<a b@c>"} },
		"no recipient":          func(m *Message) { m.To = nil },
		"bad address":           func(m *Message) { m.To = []string{"not an address"} },
		"two addresses in one":  func(m *Message) { m.To = []string{"a@example.com, b@example.com"} },
		"quoted local part":     func(m *Message) { m.To = []string{`"a>b"@example.com`} },
		"non-ASCII local part":  func(m *Message) { m.To = []string{"zoë@example.com"} },
		"domain literal":        func(m *Message) { m.From = "a@[1.2.3.4]" },
		"empty From":            func(m *Message) { m.From = "" },
		"empty text":            func(m *Message) { m.Text = "" },
		"invalid UTF-8 body":    func(m *Message) { m.Text = "\xff\xfe" },
		"invalid UTF-8 subject": func(m *Message) { m.Subject = "\xff" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := testMessage()
			mutate(&m)
			raw, id, err := Build(m, testNow, "")
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("err = %v, want ErrInvalidMessage", err)
			}
			if raw != nil || id != "" {
				t.Errorf("got output with an error")
			}
			if !IsPermanent(err) {
				t.Errorf("IsPermanent(%v) = false", err)
			}
		})
	}
	if _, _, err := Build(testMessage(), testNow, "bad domain"); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("bad Message-ID domain: err = %v", err)
	}
}

func TestParseAddress(t *testing.T) {
	for _, s := range []string{"a@example.com", "Zoë <zoe+tag@sub.example.com>", `"Durand, Zoë" <z.d@example.com>`, "x@localhost"} {
		if _, err := ParseAddress(s); err != nil {
			t.Errorf("ParseAddress(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "a", "a@", "@b", "a@b..c", "a@-b.c", ".a@b.c", "a..b@c.d", "a@b\r\n.c"} {
		if _, err := ParseAddress(s); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("ParseAddress(%q) = %v, want ErrInvalidMessage", s, err)
		}
	}
}
