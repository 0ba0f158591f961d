package audio

import (
	"context"
	"fmt"
	"io"
)

// adtsHeader is a decoded ADTS (raw AAC) frame header.
type adtsHeader struct {
	mpeg2      bool // ID bit: MPEG-2 rather than MPEG-4 AAC
	profile    int
	sfIndex    int
	sampleRate int
	channels   int // 0: described in-band by a program config element
	frameLen   int // bytes, header included
	blocks     int // raw data blocks in the frame, 1024 samples each
}

var aacSampleRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// parseADTSHeader decodes the 7-byte ADTS header at the start of b: a 12-bit
// sync word 0xFFF followed by layer 00, which MPEG audio reserves, so ADTS and
// MP3 frames cannot be confused.
func parseADTSHeader(b []byte) (adtsHeader, bool) {
	if len(b) < 7 || b[0] != 0xFF || b[1]&0xF6 != 0xF0 {
		return adtsHeader{}, false
	}
	h := adtsHeader{
		mpeg2:   b[1]&0x08 != 0,
		profile: int(b[2] >> 6),
		sfIndex: int(b[2]>>2) & 0x0F,
	}
	if h.sfIndex >= len(aacSampleRates) {
		return adtsHeader{}, false
	}
	h.sampleRate = aacSampleRates[h.sfIndex]
	h.channels = int(b[2]&1)<<2 | int(b[3]>>6)
	if h.channels == 7 {
		h.channels = 8
	}
	h.frameLen = int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5)
	h.blocks = int(b[6]&3) + 1
	minLen := 7
	if b[1]&1 == 0 { // CRC present
		minLen = 9
	}
	if h.frameLen < minLen {
		return adtsHeader{}, false
	}
	return h, true
}

func (h adtsHeader) sameStream(o adtsHeader) bool {
	return h.mpeg2 == o.mpeg2 && h.profile == o.profile && h.sfIndex == o.sfIndex && h.channels == o.channels
}

// analyzeADTS measures a raw ADTS stream by walking its frame headers: each
// frame holds 1024 samples per raw data block, so the duration is exact
// without decoding. A header that does not chain from the previous frame ends
// the stream; a stream that breaks off after less than half the file is
// reported corrupt.
func analyzeADTS(ctx context.Context, r io.ReaderAt, size int64) (*Info, error) {
	start, err := streamStart(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: ID3v2 tag: %v", ErrCorrupt, err)
	}
	end := trailingTagsStart(r, size)
	w := newWindow(r, end)
	b, err := w.at(start, 7)
	if err != nil {
		return nil, fmt.Errorf("%w: no ADTS header", ErrCorrupt)
	}
	first, ok := parseADTSHeader(b)
	if !ok {
		return nil, fmt.Errorf("%w: no ADTS header", ErrCorrupt)
	}
	var samples, frames int64
	off := start
	for {
		if frames%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		b, err := w.at(off, 7)
		if err != nil {
			break
		}
		h, ok := parseADTSHeader(b)
		if !ok || !h.sameStream(first) || off+int64(h.frameLen) > end {
			break
		}
		off += int64(h.frameLen)
		samples += int64(h.blocks) * 1024
		frames++
	}
	if frames == 0 {
		return nil, fmt.Errorf("%w: no complete ADTS frame", ErrCorrupt)
	}
	if off-start < (end-start)/2 {
		return nil, fmt.Errorf("%w: ADTS frames stop at byte %d of %d", ErrCorrupt, off, end)
	}
	info := &Info{
		Format:     AAC,
		SampleRate: first.sampleRate,
		Channels:   first.channels,
		DurationMS: samplesToMS(samples, first.sampleRate),
	}
	info.BitrateKbps = bitrateKbps(off-start, info.DurationMS)
	return info, fmt.Errorf("%w: AAC is measured from its ADTS headers, not decoded", ErrUnsupported)
}
