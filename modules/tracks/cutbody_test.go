package tracks_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"
)

// A body cut short is the client's fault: 400 malformed_body, and nothing
// of it is kept (no track, no file, no staging file). The client here sends
// what it sends, then half-closes its connection (as one that crashed or
// was cut off, but still able to read the answer).
func TestCutBodies(t *testing.T) {
	e := start(t, nil)
	_, tok := e.user(t, "maker", "creator")
	form := newRawForm(t, wav(t, 1))
	body := form.body
	withoutClose := bytes.TrimSuffix(body, []byte("--\r\n")) // "...\r\n--B": no closing "--"
	cases := []struct {
		name    string
		length  int // announced; -1: chunked
		send    [][]byte
		endMark bool // send the chunked body's last chunk
	}{
		{"Content-Length larger than sent, form complete", len(body) + 1000, [][]byte{body}, false},
		{"Content-Length larger than sent, cut mid-file", len(body), [][]byte{body[:len(body)/2]}, false},
		{"Content-Length larger than sent, cut in the first bytes", len(body), [][]byte{body[:5]}, false},
		{"chunked, cut between chunks", -1, [][]byte{body[:len(body)/3], body[len(body)/3 : len(body)/2]}, false},
		{"chunked, cut inside a chunk", -1, [][]byte{body[:len(body)/2]}, false},
		{"no closing boundary", len(withoutClose), [][]byte{withoutClose}, false},
		{"a boundary line, then the end", len(withoutClose) + 2, [][]byte{withoutClose, []byte("\r\n")}, false},
		{"no closing boundary, chunked", -1, [][]byte{withoutClose}, true},
		{"an empty body", 0, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := e.dialUpload(t, tok, form.boundary, c.length)
			for i, b := range c.send {
				switch {
				case c.length >= 0:
					rc.send(b)
				case c.name == "chunked, cut inside a chunk" && i == 0:
					rc.send(append([]byte("100000\r\n"), b...)) // announces more than it sends
				default:
					rc.chunk(b)
				}
			}
			if c.endMark {
				rc.send([]byte("0\r\n\r\n"))
			}
			if err := rc.conn.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			rc.answer(10*time.Second).ErrorCode(t, http.StatusBadRequest, "malformed_body")
			e.nothingKept(t, c.name)
		})
	}
	// The same form, whole, is fine, announced or chunked.
	rc := e.dialUpload(t, tok, form.boundary, len(body))
	rc.send(body)
	rc.answer(10*time.Second).Status(t, 201)
	rc = e.dialUpload(t, tok, form.boundary, -1)
	rc.chunk(body[:1000])
	rc.chunk(body[1000:])
	rc.send([]byte("0\r\n\r\n"))
	rc.answer(10*time.Second).Status(t, 201)
	// The connection stays usable for the next request.
	rc.send([]byte("GET /api/v1/tracks HTTP/1.1\r\nHost: veza.test\r\n\r\n"))
	rc.req, _ = http.NewRequest("GET", e.URL+"/api/v1/tracks", nil)
	rc.answer(10*time.Second).Status(t, 200)
}
