package audio

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
)

// MPEG audio versions, as numbered in frame headers.
const (
	mpeg25 = 0
	mpeg2  = 2
	mpeg1  = 3
)

// mpegHeader is a decoded MPEG audio frame header.
type mpegHeader struct {
	version    int // mpeg1, mpeg2 or mpeg25
	layer      int // 2 or 3
	bitrate    int // bits per second
	sampleRate int
	channels   int
	protected  bool // a CRC follows the header
	frameLen   int  // bytes, header included
	samples    int  // samples per channel in the frame
	// goMP3Short: go-mp3 v0.3.4 computes this frame one byte too short
	// ((144*bitrate/rate + padding) >> 1 for MPEG-2 Layer III), which
	// misaligns its bit reservoir and turns the rest of the file into noise.
	goMP3Short bool
}

var (
	// kbps by [lsf][layer-1][index]; lsf = 1 for MPEG-2 and 2.5.
	mpegBitrates = [2][3][16]int{
		{
			{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
			{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
		},
		{
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		},
	}
	mpegSampleRates = [4][3]int{
		mpeg25: {11025, 12000, 8000},
		mpeg2:  {22050, 24000, 16000},
		mpeg1:  {44100, 48000, 32000},
	}
)

// parseMPEGHeader decodes the 4-byte MPEG audio frame header at the start of
// b. It accepts Layer II and III only, and rejects every reserved value and
// free-format frames (whose length cannot be known from the header).
func parseMPEGHeader(b []byte) (mpegHeader, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return mpegHeader{}, false
	}
	version := int(b[1]>>3) & 3
	layerBits := int(b[1]>>1) & 3
	bri := int(b[2] >> 4)
	sri := int(b[2]>>2) & 3
	if version == 1 || (layerBits != 1 && layerBits != 2) || bri == 0 || bri == 15 || sri == 3 || b[3]&3 == 2 {
		return mpegHeader{}, false
	}
	h := mpegHeader{
		version:    version,
		layer:      4 - layerBits,
		sampleRate: mpegSampleRates[version][sri],
		protected:  b[1]&1 == 0,
		channels:   2,
	}
	if b[3]>>6 == 3 {
		h.channels = 1
	}
	lsf := 0
	if version != mpeg1 {
		lsf = 1
	}
	h.bitrate = mpegBitrates[lsf][h.layer-1][bri] * 1000
	pad := int(b[2]>>1) & 1
	switch {
	case h.layer == 3 && lsf == 1:
		h.samples = 576
		h.frameLen = 72*h.bitrate/h.sampleRate + pad
		h.goMP3Short = (144*h.bitrate/h.sampleRate+pad)>>1 != h.frameLen
	default:
		h.samples = 1152
		h.frameLen = 144*h.bitrate/h.sampleRate + pad
	}
	return h, true
}

// sameStream reports whether two headers can belong to one stream.
func (h mpegHeader) sameStream(o mpegHeader) bool {
	return h.version == o.version && h.layer == o.layer && h.sampleRate == o.sampleRate
}

// mpegStream describes the frames found by scanMPEG.
type mpegStream struct {
	first       mpegHeader
	start, end  int64 // byte range of the complete frames
	frames      int64 // complete frames, the Xing/Info/VBRI frame included
	infoFrame   bool  // the first frame is a Xing/Info/VBRI frame, not audio
	headerCount int64 // frame count announced by that frame (0 = none)
	delay, pad  int   // LAME/LAVC encoder delay and padding (gapless info)
	gapless     bool
	goMP3Short  bool // some frame would be misread by go-mp3 (see mpegHeader)
}

// totalSamples is the number of samples per channel that a gapless player
// outputs, and skip how many decoded samples precede them.
func (s *mpegStream) totalSamples() (total, skip int64) {
	spf := int64(s.first.samples)
	audio := s.frames
	if s.infoFrame {
		audio--
		skip = spf
	}
	total = audio * spf
	if s.gapless && total > int64(s.delay+s.pad) {
		total -= int64(s.delay + s.pad)
		skip += int64(s.delay) + 529 // 529: the MP3 decoder's own delay
	}
	return total, skip
}

// trailingTagsStart returns where trailing ID3v1 and APEv2 tags begin, so
// that the frame scan does not take them for audio.
func trailingTagsStart(r io.ReaderAt, size int64) int64 {
	end := size
	var b [32]byte
	if end >= 128 {
		if _, err := readFullAt(r, b[:3], end-128); err == nil && string(b[:3]) == "TAG" {
			end -= 128
		}
	}
	if end >= 32 {
		if _, err := readFullAt(r, b[:], end-32); err == nil && string(b[:8]) == "APETAGEX" {
			n := int64(binary.LittleEndian.Uint32(b[12:16])) // body + footer
			if binary.LittleEndian.Uint32(b[20:24])&(1<<31) != 0 {
				n += 32 // header present
			}
			if n >= 32 && n <= end {
				end -= n
			}
		}
	}
	return end
}

// scanMPEG walks the frame headers from the first frame to the last complete
// one without decoding, resynchronising over junk the way decoders do (a
// resync point needs two consecutive headers). It reads only headers, so it
// costs little even on long files, and gives the frame count the decoder's
// output is mapped onto.
func scanMPEG(ctx context.Context, r io.ReaderAt, size int64) (*mpegStream, error) {
	start, err := streamStart(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: ID3v2 tag: %v", ErrCorrupt, err)
	}
	end := trailingTagsStart(r, size)
	w := newWindow(r, end)

	first, off, ok := mpegResync(w, start, start+maxZeroPadding)
	if !ok {
		return nil, fmt.Errorf("%w: no MPEG audio frame found", ErrCorrupt)
	}
	s := &mpegStream{first: first, start: off}
	s.parseInfoFrame(w, off)

	var junk int64
	for {
		if s.frames%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		b, err := w.at(off, 4)
		if err != nil {
			break // end of data
		}
		h, ok := parseMPEGHeader(b)
		if !ok || !h.sameStream(first) {
			h2, off2, found := mpegResync(w, off+1, end)
			if !found {
				break
			}
			junk += off2 - off
			h, off = h2, off2
		}
		if off+int64(h.frameLen) > end {
			break // truncated last frame: decoders drop it too
		}
		off += int64(h.frameLen)
		s.frames++
		s.end = off
		s.goMP3Short = s.goMP3Short || h.goMP3Short
	}
	if s.frames == 0 || (s.infoFrame && s.frames == 1) {
		return nil, fmt.Errorf("%w: no complete MPEG audio frame", ErrCorrupt)
	}
	if s.headerCount > 0 {
		got := s.frames
		if s.infoFrame {
			got--
		}
		// Allow a frame or two of slack for encoders that count differently;
		// anything more means the upload was cut short.
		if got+2 < s.headerCount {
			return nil, fmt.Errorf("%w: truncated: the stream header announces %d frames, %d found", ErrCorrupt, s.headerCount, got)
		}
	}
	if junk > (s.end-s.start)/2 {
		return nil, fmt.Errorf("%w: more junk than MPEG frames", ErrCorrupt)
	}
	return s, nil
}

// mpegResync finds, between from and limit, the first offset where a valid
// frame header is followed by another of the same stream (or by the end of
// the data).
func mpegResync(w *window, from, limit int64) (mpegHeader, int64, bool) {
	limit = min(limit, w.size)
	for off := from; off+4 <= limit; off++ {
		b, err := w.at(off, 4)
		if err != nil {
			return mpegHeader{}, 0, false
		}
		if b[0] != 0xFF {
			continue
		}
		h, ok := parseMPEGHeader(b)
		if !ok {
			continue
		}
		next := off + int64(h.frameLen)
		if next+4 > w.size {
			if next <= w.size {
				return h, off, true
			}
			continue
		}
		nb, err := w.at(next, 4)
		if err != nil {
			continue
		}
		if h2, ok := parseMPEGHeader(nb); ok && h2.sameStream(h) {
			return h, off, true
		}
	}
	return mpegHeader{}, 0, false
}

// parseInfoFrame looks for a Xing/Info (with an optional LAME tag) or VBRI
// header in the first frame. Such a frame carries no audio: decoders output
// silence for it, and its LAME tag tells how many samples of encoder delay
// and padding surround the real audio.
func (s *mpegStream) parseInfoFrame(w *window, off int64) {
	h := s.first
	if h.layer != 3 {
		return
	}
	b, err := w.at(off, h.frameLen)
	if err != nil {
		return
	}
	side := 32
	switch {
	case h.version == mpeg1 && h.channels == 1:
		side = 17
	case h.version != mpeg1 && h.channels == 1:
		side = 9
	case h.version != mpeg1:
		side = 17
	}
	x := 4 + side
	if h.protected {
		x += 2
	}
	if x+8 <= len(b) && (string(b[x:x+4]) == "Xing" || string(b[x:x+4]) == "Info") {
		s.infoFrame = true
		flags := binary.BigEndian.Uint32(b[x+4:])
		p := x + 8
		if flags&1 != 0 && p+4 <= len(b) {
			s.headerCount = int64(binary.BigEndian.Uint32(b[p:]))
			p += 4
		}
		if flags&2 != 0 {
			p += 4
		}
		if flags&4 != 0 {
			p += 100
		}
		if flags&8 != 0 {
			p += 4
		}
		if p+24 <= len(b) {
			enc := string(b[p : p+4])
			if enc == "LAME" || enc == "Lavf" || enc == "Lavc" || enc == "L3.9" {
				d := b[p+21:]
				s.delay = int(d[0])<<4 | int(d[1])>>4
				s.pad = int(d[1]&0x0F)<<8 | int(d[2])
				s.gapless = true
			}
		}
		return
	}
	if v := 4 + 32; v+18 <= len(b) && string(b[v:v+4]) == "VBRI" {
		s.infoFrame = true
		s.headerCount = int64(binary.BigEndian.Uint32(b[v+14:]))
	}
}

// window is a small read cache over an io.ReaderAt for header walks that
// read a few bytes at many nearby offsets.
type window struct {
	r     io.ReaderAt
	size  int64
	buf   []byte
	start int64
	n     int
}

func newWindow(r io.ReaderAt, size int64) *window {
	return &window{r: r, size: size, buf: make([]byte, min(64<<10, max(size, 16)))}
}

// at returns n bytes at off; the slice is valid until the next call.
func (w *window) at(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off+int64(n) > w.size {
		return nil, io.ErrUnexpectedEOF
	}
	if off >= w.start && off+int64(n) <= w.start+int64(w.n) {
		return w.buf[off-w.start : off-w.start+int64(n)], nil
	}
	if n > len(w.buf) {
		w.buf = make([]byte, n)
	}
	m := int(min(int64(len(w.buf)), w.size-off))
	if _, err := readFullAt(w.r, w.buf[:m], off); err != nil {
		w.n = 0
		return nil, err
	}
	w.start, w.n = off, m
	return w.buf[:n], nil
}
