package audio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

const (
	maxBoxes    = 100000 // boxes visited in one file before calling it corrupt
	maxBoxDepth = 8
)

// box is one ISO BMFF box: [off, off+size), body at off+hdr.
type box struct {
	typ       string
	off, size int64
	hdr       int64
}

func (b box) body() int64 { return b.off + b.hdr }
func (b box) end() int64  { return b.off + b.size }

// mp4Walker reads boxes through an io.ReaderAt, so a moov box at the end of
// the file costs a few small reads rather than reading the mdat before it.
type mp4Walker struct {
	ctx    context.Context
	r      io.ReaderAt
	visits int
}

var errBoxes = errors.New("too many boxes")

// each calls fn for every child box in [start, end).
func (w *mp4Walker) each(start, end int64, fn func(box) error) error {
	for off := start; off+8 <= end; {
		w.visits++
		if w.visits > maxBoxes {
			return errBoxes
		}
		if w.visits%1024 == 0 {
			if err := w.ctx.Err(); err != nil {
				return err
			}
		}
		var h [16]byte
		if _, err := readFullAt(w.r, h[:8], off); err != nil {
			return err
		}
		b := box{typ: string(h[4:8]), off: off, size: int64(binary.BigEndian.Uint32(h[:4])), hdr: 8}
		switch b.size {
		case 0: // to the end of the enclosing space
			b.size = end - off
		case 1: // 64-bit size follows
			if _, err := readFullAt(w.r, h[8:16], off+8); err != nil {
				return err
			}
			b.size, b.hdr = int64(binary.BigEndian.Uint64(h[8:16])), 16
		}
		if b.size < b.hdr || b.size > end-off {
			return fmt.Errorf("box %q at byte %d: size %d does not fit", b.typ, off, b.size)
		}
		if err := fn(b); err != nil {
			return err
		}
		off += b.size
	}
	return nil
}

// read returns the first n bytes of a box body (fewer if the body is shorter).
func (w *mp4Walker) read(b box, n int64) ([]byte, error) {
	n = min(n, b.size-b.hdr)
	buf := make([]byte, n)
	_, err := readFullAt(w.r, buf, b.body())
	return buf, err
}

// mp4Track collects what one trak box says.
type mp4Track struct {
	handler    string
	timescale  uint32
	duration   uint64
	codec      string
	sampleRate int
	channels   int
}

// mp4Movie collects what the whole file says.
type mp4Movie struct {
	timescale    uint32
	duration     uint64
	fragDuration uint64
	mdatBytes    int64
	tracks       []*mp4Track
}

// analyzeMP4 measures an MP4/M4A from its boxes, without decoding: the
// audio track's mdhd gives the duration (else mvhd, else the fragmented
// file's mehd), its sample entry gives channels and sample rate, refined by
// the AAC AudioSpecificConfig in esds when there is one (so HE-AAC reports
// its output rate). The bitrate is the mdat payload over the duration.
func analyzeMP4(ctx context.Context, r io.ReaderAt, size int64) (*Info, error) {
	w := &mp4Walker{ctx: ctx, r: r}
	mv := &mp4Movie{}
	sawMoov := false
	err := w.each(0, size, func(b box) error {
		switch b.typ {
		case "moov":
			if sawMoov {
				return nil
			}
			sawMoov = true
			return w.moov(b, mv)
		case "mdat":
			mv.mdatBytes += b.size - b.hdr
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: MP4: %v", ErrCorrupt, err)
	}
	if !sawMoov {
		return nil, fmt.Errorf("%w: MP4 without moov box", ErrCorrupt)
	}
	var tr *mp4Track
	for _, t := range mv.tracks {
		if t.handler == "soun" {
			tr = t
			break
		}
	}
	if tr == nil {
		return nil, fmt.Errorf("%w: MP4 without audio track", ErrCorrupt)
	}
	info := &Info{Format: M4A, SampleRate: tr.sampleRate, Channels: tr.channels}
	if info.SampleRate < 0 || info.SampleRate > maxSampleRate {
		info.SampleRate = 0 // unknown rather than nonsense
	}
	if info.Channels < 0 || info.Channels > maxChannels {
		info.Channels = 0
	}
	switch {
	case tr.timescale > 0 && tr.duration > 0:
		info.DurationMS = scaleMS(tr.duration, tr.timescale)
	case mv.timescale > 0 && mv.duration > 0:
		info.DurationMS = scaleMS(mv.duration, mv.timescale)
	case mv.timescale > 0 && mv.fragDuration > 0:
		info.DurationMS = scaleMS(mv.fragDuration, mv.timescale)
	}
	bytes := mv.mdatBytes
	if bytes == 0 {
		bytes = size
	}
	info.BitrateKbps = bitrateKbps(bytes, info.DurationMS)
	codec := tr.codec
	if codec == "" {
		codec = "unknown codec"
	}
	return info, fmt.Errorf("%w: MP4 audio (%s) is measured from its headers, not decoded", ErrUnsupported, codec)
}

// scaleMS converts a duration in timescale units to milliseconds.
func scaleMS(d uint64, scale uint32) int64 {
	if d == math.MaxUint32 || d == math.MaxUint64 { // "unknown"
		return 0
	}
	ms := float64(d) * 1000 / float64(scale)
	if ms > math.MaxInt64/2 {
		return 0
	}
	return int64(math.Round(ms))
}

func (w *mp4Walker) moov(moov box, mv *mp4Movie) error {
	return w.each(moov.body(), moov.end(), func(b box) error {
		switch b.typ {
		case "mvhd":
			scale, dur, err := w.timeHeader(b)
			if err != nil {
				return err
			}
			mv.timescale, mv.duration = scale, dur
		case "trak":
			t := &mp4Track{}
			mv.tracks = append(mv.tracks, t)
			return w.trak(b, t, 1)
		case "mvex":
			return w.each(b.body(), b.end(), func(c box) error {
				if c.typ != "mehd" {
					return nil
				}
				buf, err := w.read(c, 12)
				if err != nil || len(buf) < 8 {
					return fmt.Errorf("short mehd")
				}
				if buf[0] == 1 && len(buf) >= 12 {
					mv.fragDuration = binary.BigEndian.Uint64(buf[4:])
				} else {
					mv.fragDuration = uint64(binary.BigEndian.Uint32(buf[4:]))
				}
				return nil
			})
		}
		return nil
	})
}

// timeHeader reads the timescale and duration of an mvhd or mdhd box.
func (w *mp4Walker) timeHeader(b box) (uint32, uint64, error) {
	buf, err := w.read(b, 32)
	if err != nil || len(buf) < 20 {
		return 0, 0, fmt.Errorf("short %s", b.typ)
	}
	be := binary.BigEndian
	if buf[0] == 1 {
		if len(buf) < 32 {
			return 0, 0, fmt.Errorf("short %s", b.typ)
		}
		return be.Uint32(buf[20:]), be.Uint64(buf[24:]), nil
	}
	return be.Uint32(buf[12:]), uint64(be.Uint32(buf[16:])), nil
}

// trak descends trak > mdia > (mdhd, hdlr, minf > stbl > stsd).
func (w *mp4Walker) trak(b box, t *mp4Track, depth int) error {
	if depth > maxBoxDepth {
		return errors.New("boxes nested too deep")
	}
	return w.each(b.body(), b.end(), func(c box) error {
		switch c.typ {
		case "mdia", "minf", "stbl":
			return w.trak(c, t, depth+1)
		case "mdhd":
			scale, dur, err := w.timeHeader(c)
			if err != nil {
				return err
			}
			t.timescale, t.duration = scale, dur
		case "hdlr":
			buf, err := w.read(c, 12)
			if err != nil || len(buf) < 12 {
				return errors.New("short hdlr")
			}
			t.handler = string(buf[8:12])
		case "stsd":
			return w.stsd(c, t)
		}
		return nil
	})
}

// stsd reads the first sample entry of a sample description box.
func (w *mp4Walker) stsd(b box, t *mp4Track) error {
	if b.size-b.hdr < 8 {
		return errors.New("short stsd")
	}
	done := false
	return w.each(b.body()+8, b.end(), func(e box) error {
		if done {
			return nil
		}
		done = true
		t.codec = e.typ
		buf, err := w.read(e, 64)
		if err != nil || len(buf) < 28 {
			return nil // not an audio sample entry
		}
		be := binary.BigEndian
		version := be.Uint16(buf[8:])
		t.channels = int(be.Uint16(buf[16:]))
		t.sampleRate = int(be.Uint32(buf[24:]) >> 16)
		children := int64(28)
		switch version {
		case 1:
			children += 16
		case 2:
			children += 36
			if len(buf) >= 44 {
				t.sampleRate = int(math.Float64frombits(be.Uint64(buf[32:])))
				t.channels = int(be.Uint32(buf[40:]))
			}
		}
		if e.typ == "Opus" {
			t.sampleRate = 48000
		}
		if e.typ != "mp4a" || e.hdr+children >= e.size {
			return nil
		}
		return w.each(e.body()+children, e.end(), func(c box) error {
			if c.typ != "esds" {
				return nil
			}
			buf, err := w.read(c, 256)
			if err != nil || len(buf) < 4 {
				return nil
			}
			if asc := findASC(buf[4:]); asc != nil {
				if rate, ch, ok := parseASC(asc); ok {
					if rate > 0 {
						t.sampleRate = rate
					}
					if ch > 0 {
						t.channels = ch
					}
				}
			}
			return nil
		})
	})
}

// findASC returns the DecoderSpecificInfo (AudioSpecificConfig) inside an
// ES_Descriptor, or nil.
func findASC(b []byte) []byte {
	tag, body, _, ok := descriptor(b)
	if !ok || tag != 0x03 || len(body) < 3 {
		return nil
	}
	flags := body[2]
	p := 3
	if flags&0x80 != 0 {
		p += 2
	}
	if flags&0x40 != 0 {
		if p >= len(body) {
			return nil
		}
		p += 1 + int(body[p])
	}
	if flags&0x20 != 0 {
		p += 2
	}
	if p >= len(body) {
		return nil
	}
	tag, dcd, _, ok := descriptor(body[p:])
	if !ok || tag != 0x04 || len(dcd) < 13 {
		return nil
	}
	tag, dsi, _, ok := descriptor(dcd[13:])
	if !ok || tag != 0x05 {
		return nil
	}
	return dsi
}

// descriptor splits an MPEG-4 descriptor: tag, length in up to four 7-bit
// groups, body.
func descriptor(b []byte) (tag byte, body, rest []byte, ok bool) {
	if len(b) < 2 {
		return 0, nil, nil, false
	}
	tag = b[0]
	n, p := 0, 1
	for i := 0; i < 4; i++ {
		if p >= len(b) {
			return 0, nil, nil, false
		}
		c := b[p]
		p++
		n = n<<7 | int(c&0x7F)
		if c&0x80 == 0 {
			break
		}
	}
	if n > len(b)-p {
		return 0, nil, nil, false
	}
	return tag, b[p : p+n], b[p+n:], true
}

// parseASC reads the sample rate and channel count of an AAC
// AudioSpecificConfig; with explicit SBR (HE-AAC) the rate is the output rate.
func parseASC(b []byte) (rate, channels int, ok bool) {
	br := bitReader{b: b}
	aot := br.bits(5)
	if aot == 31 {
		aot = 32 + br.bits(6)
	}
	rate = ascRate(&br)
	channels = br.bits(4)
	if aot == 5 || aot == 29 { // SBR / PS: the extension rate is what plays
		if ext := ascRate(&br); ext > 0 {
			rate = ext
		}
		if aot == 29 && channels == 1 {
			channels = 2
		}
	}
	if channels == 7 {
		channels = 8
	} else if channels > 7 {
		channels = 0
	}
	return rate, channels, !br.overrun
}

func ascRate(br *bitReader) int {
	i := br.bits(4)
	if i == 15 {
		return br.bits(24)
	}
	if i < len(aacSampleRates) {
		return aacSampleRates[i]
	}
	return 0
}

// bitReader reads big-endian bit fields; reading past the end yields zeros
// and sets overrun.
type bitReader struct {
	b       []byte
	pos     int
	overrun bool
}

func (r *bitReader) bits(n int) int {
	v := 0
	for range n {
		if r.pos >= len(r.b)*8 {
			r.overrun = true
			v <<= 1
			continue
		}
		bit := r.b[r.pos/8] >> (7 - r.pos%8) & 1
		v = v<<1 | int(bit)
		r.pos++
	}
	return v
}
