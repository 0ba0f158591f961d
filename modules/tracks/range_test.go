package tracks_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
)

// fetch sends method url with headers (name, value pairs) and returns the
// answer with its body.
func fetch(t testing.TB, method, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// rangeCase is a Range request and the answer it must get: the whole file
// (200), bytes first..last (206), or 416.
type rangeCase struct {
	name, header string
	status       int
	first, last  int
	ifRange      string
}

// rangeCases are the cases for a file of n bytes whose ETag is tag and
// Last-Modified modified.
func rangeCases(n int, tag, modified string) []rangeCase {
	whole := func(name, h string) rangeCase { return rangeCase{name: name, header: h, status: 200} }
	part := func(name, h string, first, last int) rangeCase {
		return rangeCase{name: name, header: h, status: 206, first: first, last: last}
	}
	none := func(name, h string) rangeCase { return rangeCase{name: name, header: h, status: 416} }
	end := strconv.Itoa(n)
	return []rangeCase{
		whole("no range", ""),
		part("first byte", "bytes=0-0", 0, 0),
		part("last byte by suffix", "bytes=-1", n-1, n-1),
		part("a middle range", "bytes=100-1099", 100, 1099),
		part("open range at the last byte", "bytes="+strconv.Itoa(n-1)+"-", n-1, n-1),
		part("open range from 0", "bytes=0-", 0, n-1),
		part("last position past the end", "bytes=10-"+strconv.Itoa(n+500), 10, n-1),
		part("last position past any number", "bytes=10-99999999999999999999999", 10, n-1),
		part("suffix longer than the file", "bytes=-"+strconv.Itoa(n+500), 0, n-1),
		part("unit in capitals", "BYTES=0-1", 0, 1),
		part("space before the range", "bytes= 0-1", 0, 1),
		part("tab before the range", "bytes=\t0-1", 0, 1),
		part("space after the range", "bytes=0-1 ", 0, 1),
		part("space before the header value", " bytes=0-1", 0, 1),
		part("an empty list element after", "bytes=0-1,", 0, 1),
		part("an empty list element before", "bytes=, 0-1", 0, 1),
		none("empty suffix", "bytes=-0"),
		none("open range at the end", "bytes="+end+"-"),
		none("open range past the end", "bytes="+strconv.Itoa(n+10)+"-"),
		none("closed range past the end", "bytes="+end+"-"+strconv.Itoa(n+10)),
		none("first position past any number", "bytes=99999999999999999999999-"),
		whole("another unit", "items=0-1"),
		whole("no unit", "0-1"),
		whole("no range set", "bytes="),
		whole("only a unit", "bytes"),
		whole("not a number", "bytes=abc-"),
		whole("inverted range", "bytes=5-3"),
		whole("double dash", "bytes=--1"),
		whole("two dashes", "bytes=1-2-3"),
		whole("signed", "bytes=+1-2"),
		whole("space inside the range", "bytes=0 -1"),
		whole("space before the equals sign", "bytes =0-1"),
		whole("only commas", "bytes=,,"),
		whole("two ranges", "bytes=0-1,5-6"),
		whole("two ranges with space", "bytes=0-1, 5-6"),
		whole("overlapping ranges", "bytes=0-5,3-8"),
		whole("the same range twice", "bytes=0-1,0-1"),
		whole("a range and an unsatisfiable one", "bytes=0-1,"+end+"-"),
		whole("two unsatisfiable ranges", "bytes="+end+"-,-0"),
		{name: "If-Range with the ETag", header: "bytes=0-9", ifRange: tag, status: 206, first: 0, last: 9},
		{name: "If-Range with the ETag, unsatisfiable", header: "bytes=" + end + "-", ifRange: tag, status: 416},
		{name: "If-Range with another ETag", header: "bytes=0-9", ifRange: `"stale"`, status: 200},
		{name: "If-Range with the weak ETag", header: "bytes=0-9", ifRange: "W/" + tag, status: 200},
		{name: "If-Range with another ETag, unsatisfiable", header: "bytes=" + end + "-", ifRange: `"stale"`, status: 200},
		{name: "If-Range with Last-Modified", header: "bytes=0-9", ifRange: modified, status: 206, first: 0, last: 9},
		{name: "If-Range with an older date", header: "bytes=0-9", ifRange: "Mon, 02 Jan 2006 15:04:05 GMT", status: 200},
		{name: "If-Range that is neither", header: "bytes=0-9", ifRange: "yesterday", status: 200},
	}
}

// checkRange sends c to url, by GET and by HEAD, and checks the answer byte
// for byte: status, body, Content-Length, Content-Range; HEAD the same
// without the body.
func checkRange(t *testing.T, url string, file []byte, c rangeCase, headers ...string) {
	t.Helper()
	if c.header != "" {
		headers = append(headers, "Range", c.header)
	}
	if c.ifRange != "" {
		headers = append(headers, "If-Range", c.ifRange)
	}
	res, body := fetch(t, "GET", url, headers...)
	n := len(file)
	want, wantRange := file, ""
	switch c.status {
	case 206:
		want, wantRange = file[c.first:c.last+1], fmt.Sprintf("bytes %d-%d/%d", c.first, c.last, n)
	case 416:
		want, wantRange = nil, fmt.Sprintf("bytes */%d", n)
	}
	if res.StatusCode != c.status || res.Header.Get("Content-Range") != wantRange {
		t.Fatalf("%s (Range %q): %d, Content-Range %q; want %d, %q; body %.200s", c.name, c.header, res.StatusCode,
			res.Header.Get("Content-Range"), c.status, wantRange, body)
	}
	if want != nil && (!bytes.Equal(body, want) || res.ContentLength != int64(len(want))) {
		t.Fatalf("%s: %d bytes (Content-Length %d), want %d exact bytes", c.name, len(body), res.ContentLength, len(want))
	}
	if c.status == 416 && !bytes.Contains(body, []byte(`"range_not_satisfiable"`)) {
		t.Fatalf("%s: 416 body %s", c.name, body)
	}
	if res.Header.Get("Accept-Ranges") != "bytes" || res.Header.Get("ETag") == "" {
		t.Fatalf("%s: headers %v", c.name, res.Header)
	}
	head, hbody := fetch(t, "HEAD", url, headers...)
	for _, h := range []string{"Content-Range", "Content-Length", "Content-Type", "ETag", "Accept-Ranges", "Cache-Control", "Content-Disposition"} {
		if head.Header.Get(h) != res.Header.Get(h) {
			t.Fatalf("%s: HEAD %s %q, GET %q", c.name, h, head.Header.Get(h), res.Header.Get(h))
		}
	}
	if head.StatusCode != res.StatusCode || len(hbody) != 0 {
		t.Fatalf("%s: HEAD %d with %d bytes of body; GET %d", c.name, head.StatusCode, len(hbody), res.StatusCode)
	}
}

// Range on every route that serves a track's file: the stream, the
// download and the stream of a share link. One range gets 206, a range no
// byte satisfies 416 with Content-Range bytes */size, and anything else
// (another unit, a malformed header, several ranges) the whole file, as
// RFC 9110 allows. HEAD answers like GET without a body.
func TestRangeRequests(t *testing.T) {
	e := start(t, nil)
	_, owner := e.user(t, "maker", "creator")
	file := wav(t, 0.5)
	tr := e.uploadOK(t, owner, file, map[string]string{"title": "ranges", "visibility": "private"})
	e.ready(t, owner, tr.ID)
	var sh struct{ Token string }
	e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", map[string]any{}, as(owner)...).Status(t, 201).Data(t, &sh)

	base := e.URL + "/api/v1/tracks/"
	res, _ := fetch(t, "GET", base+tr.ID+"/stream", "Authorization", "Bearer "+owner)
	tag, modified := res.Header.Get("ETag"), res.Header.Get("Last-Modified")
	if tag == "" || modified == "" {
		t.Fatalf("no validators: %v", res.Header)
	}
	routes := []struct {
		name, url string
		headers   []string
	}{
		{"stream", base + tr.ID + "/stream", []string{"Authorization", "Bearer " + owner}},
		{"download", base + tr.ID + "/download", []string{"Authorization", "Bearer " + owner}},
		{"shared stream", base + "shared/" + sh.Token + "/stream", nil},
	}
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			for _, c := range rangeCases(len(file), tag, modified) {
				checkRange(t, r.url, file, c, r.headers...)
			}
			// A client's cached copy is still good: 304, by GET and HEAD.
			for _, m := range []string{"GET", "HEAD"} {
				res, _ := fetch(t, m, r.url, append([]string{"If-None-Match", `"other", ` + tag}, r.headers...)...)
				if res.StatusCode != 304 {
					t.Fatalf("%s If-None-Match: %d", m, res.StatusCode)
				}
			}
		})
	}
}
