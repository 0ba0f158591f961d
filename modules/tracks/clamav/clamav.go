// Package clamav is a minimal client for ClamAV's clamd daemon over TCP.
//
// Uploaded audio files are streamed to clamd with the INSTREAM command so
// that they are virus-scanned before being stored or served; no shared
// filesystem between the application and clamd is needed.
package clamav

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Defaults applied when the corresponding Client field is zero.
const (
	// DefaultTimeout bounds a whole Scan or Ping so that a stuck clamd
	// cannot hold an upload forever.
	DefaultTimeout = 60 * time.Second
	// DefaultChunkSize is the INSTREAM chunk size; 64 KiB keeps memory low
	// while amortising the per-chunk header.
	DefaultChunkSize = 64 << 10
	// MaxChunkSize caps ChunkSize so a misconfiguration cannot allocate a
	// huge buffer (clamd would reject such chunks anyway).
	MaxChunkSize = 16 << 20
)

// maxReply bounds how much of clamd's reply is read, so a misbehaving
// server cannot make the client buffer without limit.
const maxReply = 4096

// ErrUnavailable reports that clamd could not be reached, timed out or broke
// the protocol. It is distinct from a verdict so that the caller can decide
// whether uploads are refused or accepted unscanned (CLAMAV_REQUIRED).
var ErrUnavailable = errors.New("clamav: clamd unavailable")

// ErrTooLarge reports that clamd refused the stream because it exceeds its
// StreamMaxLength ("INSTREAM size limit exceeded"). The file was not
// scanned; callers usually reject the upload or raise the clamd limit.
var ErrTooLarge = errors.New("clamav: stream exceeds clamd size limit")

// Client talks to one clamd instance. The zero value is not usable: Addr is
// required. A Client holds no connection state (every call opens its own
// connection, as clamd closes it after each command), so it is safe for
// concurrent use.
type Client struct {
	// Addr is clamd's TCP address, "host:port" (clamd's TCPSocket,
	// usually 3310).
	Addr string
	// Timeout bounds a whole Scan or Ping, including connecting; zero means
	// DefaultTimeout. A context deadline that is earlier wins.
	Timeout time.Duration
	// ChunkSize is the size of the INSTREAM chunks; zero or negative means
	// DefaultChunkSize, larger than MaxChunkSize means MaxChunkSize.
	ChunkSize int
}

// Result is clamd's verdict on a stream.
type Result struct {
	// Clean is true only when clamd explicitly answered "OK"; errors always
	// come with a zero Result so that nothing is considered clean by
	// accident.
	Clean bool
	// Virus is the signature name reported by clamd when the stream is
	// infected (for example "Eicar-Test-Signature").
	Virus string
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) chunkSize() int {
	switch {
	case c.ChunkSize <= 0:
		return DefaultChunkSize
	case c.ChunkSize > MaxChunkSize:
		return MaxChunkSize
	}
	return c.ChunkSize
}

// session is one clamd connection bounded by ctx and the client's timeout.
type session struct {
	parent context.Context // the caller's context
	ctx    context.Context // parent plus Timeout
	conn   net.Conn
	stop   func() bool // unregisters the close-on-cancel hook
	cancel context.CancelFunc
}

// dial connects to clamd. The connection gets the scan deadline and is
// closed as soon as ctx is done, so blocked reads and writes return.
func (c *Client) dial(ctx context.Context) (*session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("clamav: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, c.timeout())
	s := &session{parent: ctx, ctx: sctx, cancel: cancel}
	var d net.Dialer
	conn, err := d.DialContext(sctx, "tcp", c.Addr)
	if err != nil {
		err = s.wrap("connect", err)
		cancel()
		return nil, err
	}
	s.conn = conn
	if dl, ok := sctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	s.stop = context.AfterFunc(sctx, func() { _ = conn.Close() })
	return s, nil
}

func (s *session) close() {
	s.stop()
	_ = s.conn.Close()
	s.cancel()
}

// wrap classifies a network error: the caller's cancellation is reported as
// such, everything else (refused, reset, timeout) as ErrUnavailable.
func (s *session) wrap(op string, err error) error {
	if cerr := s.parent.Err(); cerr != nil {
		return fmt.Errorf("clamav: %s: %w", op, cerr)
	}
	if s.ctx.Err() != nil {
		return fmt.Errorf("%w: %s: timed out: %w", ErrUnavailable, op, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// readReply reads a NUL-terminated reply. Whatever was received before EOF
// or an error is returned too, because clamd may reset the connection right
// after answering (size limit).
func (s *session) readReply() (string, error) {
	buf := make([]byte, 0, 256)
	tmp := make([]byte, 256)
	for len(buf) < maxReply {
		n, err := s.conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			return string(buf[:i]), nil
		}
		if err != nil {
			if len(buf) > 0 {
				return string(buf), nil
			}
			return "", s.wrap("read reply", err)
		}
	}
	return "", fmt.Errorf("%w: reply longer than %d bytes", ErrUnavailable, maxReply)
}

// Scan streams r to clamd with INSTREAM and returns its verdict.
//
// Errors: ErrTooLarge when clamd's StreamMaxLength is exceeded,
// ErrUnavailable when clamd cannot be reached, times out or answers
// something unexpected, the context's error when ctx is done, and a plain
// error when r fails (the stream is then aborted without a verdict) or
// clamd reports an ERROR. Result is zero whenever err is non-nil.
func (c *Client) Scan(ctx context.Context, r io.Reader) (Result, error) {
	s, err := c.dial(ctx)
	if err != nil {
		return Result{}, err
	}
	defer s.close()

	werr := s.send(r, c.chunkSize())
	var rerr *readError
	if errors.As(werr, &rerr) {
		// Do not send the terminator: closing the connection (deferred)
		// makes clamd drop the partial stream.
		return Result{}, rerr.err
	}
	// Even when writing failed, clamd may have answered before closing
	// (it does so when the size limit is exceeded), so try to read.
	reply, err := s.readReply()
	if err != nil {
		if werr != nil {
			return Result{}, werr
		}
		return Result{}, err
	}
	res, perr := parseScanReply(reply)
	if perr != nil && werr != nil && !errors.Is(perr, ErrTooLarge) && !errors.Is(perr, errClamd) {
		// The garbage reply is less informative than the write failure.
		return Result{}, werr
	}
	return res, perr
}

// readError marks a failure of the caller's reader, as opposed to a network
// failure.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }

// send writes the INSTREAM command, the chunks of r and the terminating
// zero-length chunk.
func (s *session) send(r io.Reader, size int) error {
	if _, err := s.conn.Write([]byte("zINSTREAM\x00")); err != nil {
		return s.wrap("send command", err)
	}
	buf := make([]byte, 4+size)
	for {
		n, err := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf[:4], uint32(n))
			if _, werr := s.conn.Write(buf[:4+n]); werr != nil {
				return s.wrap("send chunk", werr)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return &readError{fmt.Errorf("clamav: reading input: %w", err)}
		}
	}
	if _, err := s.conn.Write([]byte{0, 0, 0, 0}); err != nil {
		return s.wrap("send end of stream", err)
	}
	return nil
}

// errClamd marks an ERROR answer from clamd other than the size limit.
var errClamd = errors.New("clamav: clamd error")

// parseScanReply interprets clamd's answer to INSTREAM.
func parseScanReply(reply string) (Result, error) {
	reply = strings.TrimSpace(reply)
	switch {
	case reply == "stream: OK":
		return Result{Clean: true}, nil
	case strings.Contains(reply, "size limit exceeded"):
		return Result{}, ErrTooLarge
	case strings.HasSuffix(reply, " FOUND"):
		name := strings.TrimSuffix(reply, " FOUND")
		name = strings.TrimSpace(strings.TrimPrefix(name, "stream:"))
		if name == "" {
			return Result{}, fmt.Errorf("%w: malformed reply %q", ErrUnavailable, reply)
		}
		return Result{Virus: name}, nil
	case strings.HasSuffix(reply, "ERROR"):
		return Result{}, fmt.Errorf("%w: %q", errClamd, reply)
	}
	return Result{}, fmt.Errorf("%w: unexpected reply %q", ErrUnavailable, reply)
}

// Ping checks that clamd is reachable and responsive ("zPING" -> "PONG"),
// for health checks and start-up diagnostics. It returns ErrUnavailable (or
// the context's error) otherwise.
func (c *Client) Ping(ctx context.Context) error {
	s, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := s.conn.Write([]byte("zPING\x00")); err != nil {
		return s.wrap("send ping", err)
	}
	reply, err := s.readReply()
	if err != nil {
		return err
	}
	if strings.TrimSpace(reply) != "PONG" {
		return fmt.Errorf("%w: unexpected ping reply %q", ErrUnavailable, reply)
	}
	return nil
}
