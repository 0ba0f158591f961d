package tracks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxEpilogue bounds what a form may carry after its closing boundary.
const maxEpilogue = 64 << 10

// formBody is the body of a multipart upload. It turns the end of the body
// into io.ErrUnexpectedEOF unless the form's closing boundary came first:
// Go's multipart reader takes a body that stops right after a boundary line
// for a complete form, which would store whatever part came before it.
type formBody struct {
	r io.Reader
	// delim is the closing delimiter, "\n--<boundary>--" (the reader also
	// takes bare LF line ends); the body's start counts as a line end.
	delim []byte
	// tail holds the last len(delim)-1 bytes read, to find a delimiter that
	// straddles two reads; seam is scratch space for that search.
	tail, seam []byte
	closed     bool
}

func newFormBody(r io.Reader, boundary string) *formBody {
	delim := []byte("\n--" + boundary + "--")
	return &formBody{r: r, delim: delim, tail: []byte("\n"), seam: make([]byte, 0, 2*len(delim))}
}

func (f *formBody) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if !f.closed && n > 0 {
		f.scan(p[:n])
	}
	if err == io.EOF && !f.closed {
		err = fmt.Errorf("the form has no closing boundary: %w", io.ErrUnexpectedEOF)
	}
	return n, err
}

// scan looks for the closing delimiter in b and across its seam with the
// bytes read before it. The first one that passes is the real one: a part
// ends at the first delimiter line in it.
func (f *formBody) scan(b []byte) {
	keep := len(f.delim) - 1
	f.seam = append(append(f.seam[:0], f.tail...), b[:min(len(b), keep)]...)
	if bytes.Contains(f.seam, f.delim) || bytes.Contains(b, f.delim) {
		f.closed = true
		return
	}
	if len(b) >= keep {
		f.tail = append(f.tail[:0], b[len(b)-keep:]...)
		return
	}
	f.tail = append(f.tail, b...)
	f.tail = f.tail[max(0, len(f.tail)-keep):]
}

// finish reads what follows the form (an epilogue, usually nothing) to the
// end of the body, so that a body cut after its closing boundary, before
// the Content-Length it announced, still counts as cut.
func (f *formBody) finish() error {
	n, err := io.CopyN(io.Discard, f, maxEpilogue+1)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return err
	case n > maxEpilogue:
		return errors.New("more than 64 KiB after the form's closing boundary")
	}
	return nil
}
