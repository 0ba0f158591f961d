package mailtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Message is one message whose content the server received.
type Message struct {
	// From and To are the envelope (MAIL FROM, RCPT TO), bare addresses.
	From string
	To   []string
	// Wire is the content as sent, dot-stuffed; Raw is the message after
	// dot-unstuffing (RFC 5321 4.5.2), as the client rendered it.
	Wire, Raw []byte
	// Header is Raw's header.
	Header mail.Header
	// Text and HTML are the decoded text/plain and text/html bodies (the
	// parts of a multipart/alternative message), with LF line endings.
	Text, HTML string
	// Reply is the server's answer to the end of DATA.
	Reply string
}

// Delivered tells whether the server accepted the message (a 2xx reply).
func (m Message) Delivered() bool { return strings.HasPrefix(m.Reply, "2") }

// Subject is the decoded Subject header.
func (m Message) Subject() string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}

// parse fills Header, Text and HTML from Raw.
func (m *Message) parse() error {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return err
	}
	m.Header = msg.Header
	return m.readBody(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

// readBody decodes a text part into Text or HTML, or walks the parts of a
// multipart body.
func (m *Message) readBody(ctype, cte string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if ctype == "" {
		mt, err = "text/plain", nil
	}
	if err != nil {
		return fmt.Errorf("Content-Type %q: %w", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		return m.readParts(multipart.NewReader(body, params["boundary"]))
	}
	text, err := decode(cte, body)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		m.Text = text
	case "text/html":
		m.HTML = text
	}
	return nil
}

func (m *Message) readParts(r *multipart.Reader) error {
	for {
		p, err := r.NextRawPart() // raw: we decode the transfer encoding ourselves
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := m.readBody(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
			return err
		}
	}
}

// decode undoes a Content-Transfer-Encoding and turns CRLF into LF.
func decode(cte string, r io.Reader) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &lineJoiner{r: r})
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("body (%s): %w", cte, err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), nil
}

// lineJoiner drops the line breaks of a base64 body.
type lineJoiner struct{ r io.Reader }

func (l *lineJoiner) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	out := p[:0]
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return len(out), err
}
