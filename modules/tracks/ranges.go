package tracks

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// rangeKind is what a Range header asks of a file.
type rangeKind int

const (
	// rangeWhole: no Range, or one to ignore (RFC 9110 §14.2: another
	// unit, a header that does not parse, several ranges): 200, the file.
	rangeWhole rangeKind = iota
	// rangeOne: one range some bytes satisfy: 206.
	rangeOne
	// rangeNone: one range no byte satisfies: 416.
	rangeNone
)

// parseRange reads a Range header against a file of size bytes. It answers
// one range or none: several ranges, even overlapping or adjacent ones, get
// the whole file, which the RFC allows and every player handles, rather
// than a multipart/byteranges body no audio player asks for. OWS is taken
// around each range (the list syntax allows it), not inside one.
func parseRange(header string, size int64) (kind rangeKind, first, last int64) {
	unit, set, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return rangeWhole, 0, 0
	}
	var specs []string
	for _, el := range strings.Split(set, ",") {
		if el = strings.Trim(el, " \t"); el != "" {
			specs = append(specs, el)
		}
	}
	if len(specs) != 1 {
		return rangeWhole, 0, 0
	}
	from, to, ok := parseSpec(specs[0])
	switch {
	case !ok:
		return rangeWhole, 0, 0
	case from < 0: // suffix: the last `to` bytes
		if to == 0 || size == 0 {
			return rangeNone, 0, 0
		}
		return rangeOne, max(0, size-to), size - 1
	case from >= size:
		return rangeNone, 0, 0
	case to < 0 || to >= size:
		return rangeOne, from, size - 1
	}
	return rangeOne, from, to
}

// parseSpec reads "first-last", "first-" (last < 0) or "-suffix" (first <
// 0). A last position before the first makes the spec invalid.
func parseSpec(spec string) (first, last int64, ok bool) {
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	if a == "" {
		n, ok := digits(b)
		return -1, n, ok
	}
	first, ok = digits(a)
	if !ok {
		return 0, 0, false
	}
	if b == "" {
		return first, -1, true
	}
	last, ok = digits(b)
	return first, last, ok && last >= first
}

// digits parses 1*DIGIT, saturating instead of overflowing: a position past
// any file is still a valid position.
func digits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-9)/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// settleRange rewrites the request's Range header into the one form
// fasthttp's SendFile reads correctly ("bytes=first-last"), or removes it
// when the whole file is the answer: left as sent, SendFile answers 416 to
// a header it cannot parse or does not support (another unit, several
// ranges, whitespace) and 206 with an inverted Content-Range to
// "bytes=-0". It reports a range no byte satisfies, which the caller
// answers 416. If-Range decides first whether the range applies at all.
func settleRange(c *fiber.Ctx, size int64, tag string, modified time.Time) (unsatisfiable bool) {
	header := c.Get(fiber.HeaderRange)
	if header == "" {
		return false
	}
	kind, first, last := rangeWhole, int64(0), int64(0)
	if ifRangeHolds(c.Get(fiber.HeaderIfRange), tag, modified) {
		kind, first, last = parseRange(header, size)
	}
	switch kind {
	case rangeOne:
		c.Request().Header.Set(fiber.HeaderRange, fmt.Sprintf("bytes=%d-%d", first, last))
	case rangeNone:
		return true
	default:
		c.Request().Header.Del(fiber.HeaderRange)
	}
	return false
}

// ifRangeHolds reports whether the client's copy, named by If-Range, is
// the current file, so that a range of it may be sent: an entity tag by
// strong comparison (a weak one never holds), a date when it is the file's
// Last-Modified exactly. Without If-Range it holds.
func ifRangeHolds(v, tag string, modified time.Time) bool {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return true
	case strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/"):
		return v == tag
	}
	at, err := http.ParseTime(v)
	return err == nil && at.Equal(modified.Truncate(time.Second))
}

// noneMatch reports whether If-None-Match names the current file (weak
// comparison, or "*"), which answers 304.
func noneMatch(v, tag string) bool {
	if strings.TrimSpace(v) == "*" {
		return true
	}
	for _, t := range strings.Split(v, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == tag {
			return true
		}
	}
	return false
}
