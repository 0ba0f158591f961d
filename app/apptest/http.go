package apptest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// Response is an answer with its body read.
type Response struct {
	*http.Response
	Body []byte
}

// Do sends method path with body (JSON-encoded unless it is []byte or
// io.Reader) and headers given as name, value pairs.
func (s *Server) Do(t testing.TB, method, path string, body any, headers ...string) *Response {
	t.Helper()
	var r io.Reader
	isJSON := false
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("apptest: encode body: %v", err)
		}
		r, isJSON = bytes.NewReader(data), true
	}
	req, err := http.NewRequest(method, s.URL+trimPath(path), r)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	if isJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("apptest: %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("apptest: read %s %s: %v", method, path, err)
	}
	return &Response{Response: res, Body: data}
}

// Status fails the test unless the answer has status want.
func (r *Response) Status(t testing.TB, want int) *Response {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.Body)
	}
	return r
}

// JSON decodes the body into dst.
func (r *Response) JSON(t testing.TB, dst any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, dst); err != nil {
		t.Fatalf("decode %s: %v; body: %s", r.Request.URL.Path, err, r.Body)
	}
}

// Envelope is the API's answer shape.
type Envelope struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// Envelope decodes the body as the API envelope.
func (r *Response) Envelope(t testing.TB) Envelope {
	t.Helper()
	var e Envelope
	r.JSON(t, &e)
	return e
}

// ErrorCode fails the test unless the answer is an error envelope with
// status and code, and returns the envelope.
func (r *Response) ErrorCode(t testing.TB, status int, code string) Envelope {
	t.Helper()
	r.Status(t, status)
	e := r.Envelope(t)
	if e.Success || e.Error == nil || e.Error.Code != code {
		t.Fatalf("%s %s: want error code %q, got body %s", r.Request.Method, r.Request.URL.Path, code, r.Body)
	}
	if e.RequestID == "" || e.RequestID != r.Header.Get("X-Request-ID") {
		t.Fatalf("%s %s: request_id %q does not match X-Request-ID %q", r.Request.Method, r.Request.URL.Path, e.RequestID, r.Header.Get("X-Request-ID"))
	}
	return e
}

// Data decodes a success envelope's data into dst.
func (r *Response) Data(t testing.TB, dst any) {
	t.Helper()
	e := r.Envelope(t)
	if !e.Success {
		t.Fatalf("%s %s: not a success envelope: %s", r.Request.Method, r.Request.URL.Path, r.Body)
	}
	if err := json.Unmarshal(e.Data, dst); err != nil {
		t.Fatalf("decode data of %s: %v; body: %s", r.Request.URL.Path, err, r.Body)
	}
}
