package audio

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
)

// oggCRCTable is the CRC-32 of the Ogg framing (polynomial 0x04C11DB7, not
// reflected, initial value 0).
var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// oggPage is a parsed page header.
type oggPage struct {
	flags   byte
	granule uint64
	serial  uint32
	hdrLen  int // 27 + segment table
	bodyLen int
}

// parseOggPage parses the page at the start of b and checks its CRC; it
// fails when the page is not entirely inside b.
func parseOggPage(b []byte) (oggPage, bool) {
	if len(b) < 27 || string(b[:4]) != "OggS" || b[4] != 0 {
		return oggPage{}, false
	}
	pg := oggPage{
		flags:   b[5],
		granule: binary.LittleEndian.Uint64(b[6:]),
		serial:  binary.LittleEndian.Uint32(b[14:]),
		hdrLen:  27 + int(b[26]),
	}
	if len(b) < pg.hdrLen {
		return oggPage{}, false
	}
	for _, l := range b[27:pg.hdrLen] {
		pg.bodyLen += int(l)
	}
	if len(b) < pg.hdrLen+pg.bodyLen {
		return oggPage{}, false
	}
	var crc uint32
	for i, c := range b[:pg.hdrLen+pg.bodyLen] {
		if i >= 22 && i < 26 {
			c = 0 // the CRC field itself counts as zero
		}
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^c]
	}
	if crc != binary.LittleEndian.Uint32(b[22:]) {
		return oggPage{}, false
	}
	return pg, true
}

// oggMaxPage is the largest possible Ogg page.
const oggMaxPage = 27 + 255 + 255*255

// analyzeOgg measures an Ogg stream from two pages, without decoding: the
// first page's identification header gives the codec, sample rate and
// channel count; the granule position of the last page of the same logical
// stream gives the length in samples (Opus: at 48 kHz, minus the pre-skip).
// A stream whose last page does not carry the end-of-stream flag was cut
// short: ErrCorrupt. Chained streams are measured by their first link.
func analyzeOgg(ctx context.Context, r io.ReaderAt, size int64) (*Info, error) {
	first := make([]byte, min(size, oggMaxPage))
	if _, err := readFullAt(r, first, 0); err != nil {
		return nil, fmt.Errorf("%w: Ogg: %v", ErrCorrupt, err)
	}
	pg, ok := parseOggPage(first)
	if !ok || pg.flags&0x02 == 0 {
		return nil, fmt.Errorf("%w: Ogg: first page is damaged", ErrCorrupt)
	}
	pkt := first[pg.hdrLen : pg.hdrLen+pg.bodyLen]
	info := &Info{Format: OGG}
	var preSkip uint64
	codec := oggCodecOf(pkt)
	le := binary.LittleEndian
	switch codec {
	case "vorbis":
		if len(pkt) < 30 || le.Uint32(pkt[7:]) != 0 {
			return nil, fmt.Errorf("%w: Ogg: bad Vorbis identification header", ErrCorrupt)
		}
		info.Channels = int(pkt[11])
		info.SampleRate = int(le.Uint32(pkt[12:]))
	case "opus":
		if len(pkt) < 19 || pkt[8]>>4 != 0 {
			return nil, fmt.Errorf("%w: Ogg: bad Opus identification header", ErrCorrupt)
		}
		info.Channels = int(pkt[9])
		preSkip = uint64(le.Uint16(pkt[10:]))
		info.SampleRate = 48000 // Opus always decodes at 48 kHz; granules count at that rate
	case "flac":
		// 0x7F "FLAC", version (2), header count (2), "fLaC", the
		// STREAMINFO block header (4) and body (34).
		if len(pkt) < 9+4+4+34 || string(pkt[9:13]) != "fLaC" {
			return nil, fmt.Errorf("%w: Ogg: bad FLAC mapping header", ErrCorrupt)
		}
		si, err := parseStreamInfo(pkt[17:])
		if err != nil {
			return nil, fmt.Errorf("%w: Ogg FLAC: %v", ErrCorrupt, err)
		}
		info.Channels, info.SampleRate = si.channels, si.sampleRate
	case "speex":
		if len(pkt) < 52 {
			return nil, fmt.Errorf("%w: Ogg: bad Speex header", ErrCorrupt)
		}
		info.SampleRate = int(le.Uint32(pkt[36:]))
		info.Channels = int(le.Uint32(pkt[48:]))
	default:
		return nil, fmt.Errorf("%w: Ogg: not an audio codec we know", ErrCorrupt)
	}
	if info.Channels < 1 || info.Channels > 255 || info.SampleRate < 1 || info.SampleRate > maxSampleRate {
		return nil, fmt.Errorf("%w: Ogg %s: %d channels at %d Hz", ErrCorrupt, codec, info.Channels, info.SampleRate)
	}

	last, err := lastOggPage(ctx, r, size, pg.serial)
	if err != nil {
		return nil, err
	}
	if last.flags&0x04 == 0 {
		return nil, fmt.Errorf("%w: Ogg: truncated (no end-of-stream page)", ErrCorrupt)
	}
	samples := last.granule - min(preSkip, last.granule)
	info.DurationMS = samplesToMS(int64(min(samples, 1<<62)), info.SampleRate)
	info.BitrateKbps = bitrateKbps(size, info.DurationMS)
	return info, fmt.Errorf("%w: Ogg %s is measured from its headers, not decoded", ErrUnsupported, codec)
}

// lastOggPage scans backwards from the end of the file for the last intact
// page of the logical stream serial that ends a packet (granule != -1).
func lastOggPage(ctx context.Context, r io.ReaderAt, size int64, serial uint32) (oggPage, error) {
	for _, span := range []int64{2 * oggMaxPage, 16 * oggMaxPage} {
		if err := ctx.Err(); err != nil {
			return oggPage{}, err
		}
		n := min(size, span)
		buf := make([]byte, n)
		if _, err := readFullAt(r, buf, size-n); err != nil {
			return oggPage{}, fmt.Errorf("%w: Ogg: %v", ErrCorrupt, err)
		}
		for i := len(buf) - 27; i >= 0; i-- {
			if buf[i] != 'O' || string(buf[i:i+4]) != "OggS" {
				continue
			}
			pg, ok := parseOggPage(buf[i:])
			if ok && pg.serial == serial && pg.granule != ^uint64(0) {
				return pg, nil
			}
		}
		if n == size {
			break
		}
	}
	return oggPage{}, fmt.Errorf("%w: Ogg: no complete final page", ErrCorrupt)
}
