package tracks_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/veza/veza/app/apptest"
)

// rawConn is an upload sent byte by byte over its own TCP connection, so a
// test can stall it, cut it or half-close it the way a real client does.
type rawConn struct {
	t    testing.TB
	conn *net.TCPConn
	req  *http.Request
}

// rawForm is a complete multipart upload: its body and its boundary.
type rawForm struct {
	boundary string
	body     []byte
}

// newRawForm builds an upload of file with a title.
func newRawForm(t testing.TB, file []byte) rawForm {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.WriteField("title", "raw"); err != nil {
		t.Fatal(err)
	}
	fw, err := w.CreateFormFile("file", "raw.wav")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(file); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return rawForm{boundary: w.Boundary(), body: b.Bytes()}
}

// dialUpload opens a connection and sends the head of POST /api/v1/tracks:
// Content-Length length, or chunked when length is negative, and extra
// header lines.
func (e *env) dialUpload(t testing.TB, token, boundary string, length int, extra ...string) *rawConn {
	t.Helper()
	u, err := url.Parse(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	framing := fmt.Sprintf("Content-Length: %d", length)
	if length < 0 {
		framing = "Transfer-Encoding: chunked"
	}
	for _, h := range extra {
		framing += "\r\n" + h
	}
	head := fmt.Sprintf("POST /api/v1/tracks HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=%s\r\n%s\r\n\r\n", u.Host, token, boundary, framing)
	rc := &rawConn{t: t, conn: c.(*net.TCPConn), req: httptestRequest(e.URL)}
	rc.send([]byte(head))
	return rc
}

func httptestRequest(base string) *http.Request {
	req, _ := http.NewRequest("POST", base+"/api/v1/tracks", nil)
	return req
}

func (rc *rawConn) send(b []byte) {
	rc.t.Helper()
	if _, err := rc.conn.Write(b); err != nil {
		rc.t.Fatalf("send: %v", err)
	}
}

// chunk sends b as one chunk of a chunked body.
func (rc *rawConn) chunk(b []byte) {
	rc.t.Helper()
	rc.send(fmt.Appendf(nil, "%x\r\n%s\r\n", len(b), b))
}

// answer reads the response, waiting at most wait for it.
func (rc *rawConn) answer(wait time.Duration) *apptest.Response {
	rc.t.Helper()
	_ = rc.conn.SetReadDeadline(time.Now().Add(wait))
	res, err := http.ReadResponse(bufio.NewReader(rc.conn), rc.req)
	if err != nil {
		rc.t.Fatalf("no answer within %s: %v", wait, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		rc.t.Fatalf("read the answer: %v", err)
	}
	return &apptest.Response{Response: res, Body: body}
}

// nothingKept fails unless no track, no stored file and no staging file is
// left.
func (e *env) nothingKept(t testing.TB, what string) {
	t.Helper()
	if n := e.count(t, `SELECT count(*) FROM tracks`); n != 0 {
		t.Fatalf("%s: %d tracks recorded", what, n)
	}
	if n := e.files(t); n != 0 {
		t.Fatalf("%s: %d files stored", what, n)
	}
	if n := tmpFiles(e); n != 0 {
		t.Fatalf("%s: %d staging files left", what, n)
	}
}
