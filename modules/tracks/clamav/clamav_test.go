package clamav

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veza/veza/modules/tracks/clamav/clamavtest"
)

// randomData returns n deterministic pseudo-random bytes (which cannot
// contain EICAR by accident in practice).
func randomData(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{1, 2, 3}).Read(b)
	return b
}

// chunkCounter counts the Read calls that hand data to the client, to check
// that the stream really was split into many chunks.
type chunkCounter struct {
	r     io.Reader
	reads int
}

func (c *chunkCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.reads++
	}
	return n, err
}

func TestScanCleanLargeStream(t *testing.T) {
	f := clamavtest.Start(t, 0)
	c := &Client{Addr: f.Addr(), ChunkSize: 8 << 10}
	data := randomData(5<<20 + 123)
	cr := &chunkCounter{r: bytes.NewReader(data)}
	res, err := c.Scan(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Clean || res.Virus != "" {
		t.Fatalf("got %+v, want clean", res)
	}
	if want := len(data)/(8<<10) + 1; cr.reads != want {
		t.Errorf("input read in %d chunks, want %d", cr.reads, want)
	}
	if f.Scans() != 1 {
		t.Errorf("Scans() = %d, want 1", f.Scans())
	}
}

func TestScanEmptyStream(t *testing.T) {
	f := clamavtest.Start(t, 0)
	c := &Client{Addr: f.Addr()}
	res, err := c.Scan(context.Background(), strings.NewReader(""))
	if err != nil || !res.Clean {
		t.Fatalf("got %+v, %v; want clean", res, err)
	}
}

func TestScanEICAR(t *testing.T) {
	f := clamavtest.Start(t, 0)
	noise := randomData(300 << 10)
	cases := []struct {
		name      string
		data      []byte
		chunkSize int
	}{
		{"alone", []byte(clamavtest.EICAR), 0},
		{"middle of large stream", concat(noise[:200<<10], []byte(clamavtest.EICAR), noise[200<<10:]), 0},
		// With 16-byte chunks and EICAR at offset 10, the signature spans
		// five chunks; every other split point is covered by
		// clamavtest.TestEICARDetectorSplits.
		{"across chunk boundaries", concat(noise[:10], []byte(clamavtest.EICAR), noise[:50]), 16},
		{"split at last byte", concat(noise[:len(clamavtest.EICAR)-1], []byte(clamavtest.EICAR)), len(clamavtest.EICAR)*2 - 2},
		{"one byte chunks", []byte(clamavtest.EICAR), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{Addr: f.Addr(), ChunkSize: tc.chunkSize}
			res, err := c.Scan(context.Background(), bytes.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if res.Clean || res.Virus != clamavtest.EICARSignature {
				t.Fatalf("got %+v, want virus %q", res, clamavtest.EICARSignature)
			}
		})
	}
	if f.Scans() != len(cases) {
		t.Errorf("Scans() = %d, want %d", f.Scans(), len(cases))
	}
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestScanSizeLimit(t *testing.T) {
	const limit = 1 << 20
	f := clamavtest.Start(t, limit)
	big, atLimit := randomData(8<<20), randomData(limit)
	for _, chunk := range []int{0, 4 << 10, 1 << 20} {
		c := &Client{Addr: f.Addr(), ChunkSize: chunk}
		// Well over the limit: clamd stops reading, so the client's writes
		// fail and the reply must still be read.
		res, err := c.Scan(context.Background(), bytes.NewReader(big))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("chunk %d: got %+v, %v; want ErrTooLarge", chunk, res, err)
		}
		if res != (Result{}) {
			t.Fatalf("chunk %d: non-zero result %+v with error", chunk, res)
		}
		// Exactly at the limit is accepted, as with StreamMaxLength.
		res, err = c.Scan(context.Background(), bytes.NewReader(atLimit))
		if err != nil || !res.Clean {
			t.Fatalf("chunk %d: at limit got %+v, %v; want clean", chunk, res, err)
		}
	}
	if f.Scans() != 3 {
		t.Errorf("Scans() = %d, want 3 (refused streams are not completed scans)", f.Scans())
	}
}

// freeAddr returns an address on which nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestNothingListening(t *testing.T) {
	c := &Client{Addr: freeAddr(t), Timeout: 10 * time.Second}
	start := time.Now()
	res, err := c.Scan(context.Background(), strings.NewReader("data"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %+v, %v; want ErrUnavailable", res, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v, want a quick failure", d)
	}
	if err := c.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping: got %v, want ErrUnavailable", err)
	}
}

// silentServer accepts connections and never answers. With drain it reads
// and discards what it receives; without, it reads nothing so the client's
// writes eventually block. It reports when a connection is closed by the
// client.
type silentServer struct {
	ln     net.Listener
	drain  bool
	closed chan struct{} // one value per connection closed by the peer
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newSilentServer(t *testing.T, drain bool) *silentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentServer{ln: ln, drain: drain, closed: make(chan struct{}, 100)}
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
			if !s.drain {
				continue
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				if _, err := io.Copy(io.Discard, c); err == nil {
					s.closed <- struct{}{}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *silentServer) Addr() string { return s.ln.Addr().String() }

func TestServerNeverAnswers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drain bool
		size  int
	}{
		{"reads but never replies", true, 1000},
		{"never reads", false, 32 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSilentServer(t, tc.drain)
			c := &Client{Addr: s.Addr(), Timeout: 300 * time.Millisecond}
			start := time.Now()
			res, err := c.Scan(context.Background(), bytes.NewReader(make([]byte, tc.size)))
			d := time.Since(start)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("got %+v, %v; want ErrUnavailable", res, err)
			}
			if d < 250*time.Millisecond || d > 3*time.Second {
				t.Errorf("took %v, want about the 300ms timeout", d)
			}
			if err := c.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Ping: got %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestContextCancellation(t *testing.T) {
	s := newSilentServer(t, true)
	c := &Client{Addr: s.Addr(), Timeout: time.Minute}

	t.Run("cancel during scan", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		res, err := c.Scan(ctx, strings.NewReader("data"))
		if !errors.Is(err, context.Canceled) || res != (Result{}) {
			t.Fatalf("got %+v, %v; want context.Canceled", res, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v after cancel", d)
		}
		select {
		case <-s.closed:
		case <-time.After(3 * time.Second):
			t.Error("connection not closed after cancellation")
		}
	})

	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Scan(ctx, strings.NewReader("data")); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if err := c.Ping(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Ping: got %v, want context.Canceled", err)
		}
	})

	t.Run("context deadline before Timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Scan(ctx, strings.NewReader("data"))
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v, want context.DeadlineExceeded or ErrUnavailable", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v, want about 200ms", d)
		}
	})
}

func TestPing(t *testing.T) {
	f := clamavtest.Start(t, 0)
	c := &Client{Addr: f.Addr()}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.Scans() != 0 {
		t.Errorf("Scans() = %d after ping, want 0", f.Scans())
	}
}

var errBroken = errors.New("broken upload")

// failingReader returns n bytes and then errBroken.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errBroken
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

func TestReaderErrorAbortsStream(t *testing.T) {
	f := clamavtest.Start(t, 0)
	c := &Client{Addr: f.Addr(), ChunkSize: 4 << 10}
	res, err := c.Scan(context.Background(), &failingReader{n: 100 << 10})
	if !errors.Is(err, errBroken) || res != (Result{}) {
		t.Fatalf("got %+v, %v; want errBroken", res, err)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Fatalf("reader failure reported as ErrUnavailable: %v", err)
	}
	// The fake sees the connection end without a terminating chunk.
	deadline := time.Now().Add(3 * time.Second)
	for f.Aborted() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("connection not closed after reader error")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if f.Scans() != 0 {
		t.Errorf("Scans() = %d, want 0", f.Scans())
	}
}

// replyServer answers every connection with a fixed reply after reading
// the whole INSTREAM request, then closes.
func replyServer(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				// Read until the 4 zero bytes ending a small stream.
				var got []byte
				buf := make([]byte, 1024)
				for !bytes.HasSuffix(got, []byte{0, 0, 0, 0}) {
					n, err := c.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						return
					}
				}
				_, _ = c.Write([]byte(reply))
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func TestUnexpectedReplies(t *testing.T) {
	cases := []struct {
		reply   string
		wantErr error
		want    Result
	}{
		{"stream: OK\x00", nil, Result{Clean: true}},
		{"stream: Win.Test.Foo FOUND\x00", nil, Result{Virus: "Win.Test.Foo"}},
		{"stream: OK", nil, Result{Clean: true}}, // closed without NUL
		{"INSTREAM size limit exceeded. ERROR\x00", ErrTooLarge, Result{}},
		{"stream: lstat() failed. ERROR\x00", errClamd, Result{}},
		{"garbage\x00", ErrUnavailable, Result{}},
		{"stream:  FOUND\x00", ErrUnavailable, Result{}},
		{"", ErrUnavailable, Result{}}, // closed without answering
		{strings.Repeat("x", 2*maxReply), ErrUnavailable, Result{}},
	}
	for _, tc := range cases {
		addr := replyServer(t, tc.reply)
		c := &Client{Addr: addr, Timeout: 5 * time.Second}
		res, err := c.Scan(context.Background(), strings.NewReader("abc"))
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) || res != tc.want {
			t.Errorf("reply %.40q: got %+v, %v; want %+v, %v", tc.reply, res, err, tc.want, tc.wantErr)
		}
		if errors.Is(err, errClamd) && errors.Is(err, ErrUnavailable) {
			t.Errorf("reply %.40q: clamd ERROR reported as unavailable", tc.reply)
		}
	}
}

func TestConcurrentScans(t *testing.T) {
	f := clamavtest.Start(t, 0)
	c := &Client{Addr: f.Addr(), ChunkSize: 1 << 10}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			data := randomData(50 << 10)
			want := Result{Clean: true}
			if i%2 == 0 {
				data = concat(data, []byte(clamavtest.EICAR))
				want = Result{Virus: clamavtest.EICARSignature}
			}
			res, err := c.Scan(context.Background(), bytes.NewReader(data))
			if err == nil && res != want {
				err = errors.New("unexpected verdict")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if f.Scans() != 20 {
		t.Errorf("Scans() = %d, want 20", f.Scans())
	}
}
