// Package clamavtest provides a fake clamd for tests, the way
// net/http/httptest provides servers: the clamav client's tests and those of
// its users (the tracks upload path) run without a ClamAV installation, and
// no test double ships inside the production package.
package clamavtest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// EICAR is the standard antivirus test string. Every scanner, including
// clamd and Server, reports it as a virus, which lets tests exercise the
// "infected" path without real malware.
const EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// EICARSignature is the name under which clamd (and Server) reports EICAR.
const EICARSignature = "Eicar-Test-Signature"

// Server is an in-process stand-in for clamd, listening on 127.0.0.1. It
// implements the subset of the protocol the clamav Client uses: zINSTREAM
// with chunk parsing and clamd's StreamMaxLength behaviour, and zPING. A
// stream is infected when it contains EICAR anywhere, including across
// chunk boundaries. Like clamd it serves one command per connection.
type Server struct {
	ln       net.Listener
	maxBytes int64

	scans   atomic.Int64 // verdicts sent
	aborted atomic.Int64 // streams that ended without a terminating chunk

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewServer starts a fake clamd on a free port of 127.0.0.1. maxBytes
// mimics clamd's StreamMaxLength: a stream longer than that is answered with
// "INSTREAM size limit exceeded. ERROR" and the connection is closed, as
// clamd does; maxBytes <= 0 means no limit. Call Close when done.
func NewServer(maxBytes int64) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("clamavtest: listen: %w", err)
	}
	f := &Server{ln: ln, maxBytes: maxBytes, conns: make(map[net.Conn]struct{})}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

// Start is NewServer for a test: it fails t when the server cannot start
// and closes it when t ends.
func Start(t testing.TB, maxBytes int64) *Server {
	t.Helper()
	f, err := NewServer(maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// Addr is the "host:port" to put in Client.Addr (or CLAMAV_ADDRESS).
func (f *Server) Addr() string { return f.ln.Addr().String() }

// Scans counts completed scans, that is verdicts (clean or infected) sent,
// so tests can assert that an upload really went through the scanner. The
// count is incremented before the verdict is written, so it is already up
// to date when the client's Scan returns.
func (f *Server) Scans() int { return int(f.scans.Load()) }

// Aborted counts streams that ended without their terminating chunk: a
// client that gave up half-way (its reader failed, its context ended).
func (f *Server) Aborted() int { return int(f.aborted.Load()) }

// Close stops the fake, drops open connections and waits for its
// goroutines, so tests do not leak them. It is safe to call more than once.
func (f *Server) Close() {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		_ = f.ln.Close()
		for c := range f.conns {
			_ = c.Close()
		}
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *Server) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			_ = c.Close()
			return
		}
		f.conns[c] = struct{}{}
		f.wg.Add(1)
		f.mu.Unlock()
		go func() {
			defer f.wg.Done()
			defer func() {
				f.mu.Lock()
				delete(f.conns, c)
				f.mu.Unlock()
				_ = c.Close()
			}()
			f.handle(c)
		}()
	}
}

// handle serves one command. Commands are "z"-prefixed and NUL-terminated
// (or "n"-prefixed and newline-terminated), as in clamd.
func (f *Server) handle(c net.Conn) {
	br := bufio.NewReader(c)
	prefix, err := br.ReadByte()
	if err != nil {
		return
	}
	var delim byte
	switch prefix {
	case 'z':
		delim = 0
	case 'n':
		delim = '\n'
	default:
		_, _ = c.Write([]byte("UNKNOWN COMMAND\n"))
		return
	}
	cmd, err := readLine(br, delim, 64)
	if err != nil {
		return
	}
	reply := func(s string) { _, _ = c.Write(append([]byte(s), delim)) }
	switch cmd {
	case "PING":
		reply("PONG")
	case "INSTREAM":
		f.instream(br, reply)
	default:
		reply("UNKNOWN COMMAND")
	}
}

// readLine reads up to delim, refusing lines longer than limit.
func readLine(br *bufio.Reader, delim byte, limit int) (string, error) {
	var sb strings.Builder
	for sb.Len() <= limit {
		b, err := br.ReadByte()
		if err != nil {
			return "", err
		}
		if b == delim {
			return sb.String(), nil
		}
		sb.WriteByte(b)
	}
	return "", errors.New("command too long")
}

func (f *Server) instream(br *bufio.Reader, reply func(string)) {
	var (
		total int64
		det   eicarDetector
		hdr   [4]byte
	)
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			f.aborted.Add(1)
			return
		}
		n := int64(binary.BigEndian.Uint32(hdr[:]))
		if n == 0 {
			break
		}
		total += n
		if f.maxBytes > 0 && total > f.maxBytes {
			reply("INSTREAM size limit exceeded. ERROR")
			return // the deferred close drops the rest, like clamd
		}
		if _, err := io.CopyN(&det, br, n); err != nil {
			f.aborted.Add(1)
			return
		}
	}
	f.scans.Add(1)
	if det.found {
		reply("stream: " + EICARSignature + " FOUND")
		return
	}
	reply("stream: OK")
}

// eicarDetector looks for EICAR in a stream written in arbitrary pieces,
// keeping only the tail needed to match across piece boundaries.
type eicarDetector struct {
	tail  []byte
	found bool
}

func (d *eicarDetector) Write(p []byte) (int, error) {
	if d.found {
		return len(p), nil
	}
	keep := len(EICAR) - 1
	// Search the previous tail joined with the head of p, then p itself.
	head := p
	if len(head) > keep {
		head = head[:keep]
	}
	joined := append(append([]byte(nil), d.tail...), head...)
	if bytes.Contains(joined, []byte(EICAR)) || bytes.Contains(p, []byte(EICAR)) {
		d.found = true
		return len(p), nil
	}
	if len(p) >= keep {
		d.tail = append(d.tail[:0], p[len(p)-keep:]...)
	} else {
		d.tail = append(d.tail, p...)
		if len(d.tail) > keep {
			d.tail = d.tail[len(d.tail)-keep:]
		}
	}
	return len(p), nil
}
