package audio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WAV format tags.
const (
	wavPCM        = 0x0001
	wavFloat      = 0x0003
	wavExtensible = 0xFFFE
)

const (
	maxChannels   = 64
	maxSampleRate = 1 << 22 // 4.19 MHz: above any real audio rate
	maxWAVChunks  = 1 << 16 // chunks walked before giving up
)

// wavFmt is the content of a "fmt " chunk.
type wavFmt struct {
	tag        int // wavPCM, wavFloat, or another codec (unsupported)
	channels   int
	sampleRate int
	byteRate   int
	blockAlign int
	bits       int // container bits per sample
}

// containerBytes is the size of one sample as stored; 20-bit audio, for
// instance, is stored left-justified in 3 bytes.
func (f wavFmt) containerBytes() int { return f.blockAlign / f.channels }

// decodable reports whether the samples are PCM we convert ourselves.
func (f wavFmt) decodable() bool {
	switch f.tag {
	case wavPCM:
		return f.containerBytes() >= 1 && f.containerBytes() <= 4
	case wavFloat:
		return f.containerBytes() == 4 || f.containerBytes() == 8
	}
	return false
}

// parseWAVFmt decodes and checks a "fmt " chunk body. WAVE_FORMAT_EXTENSIBLE
// is resolved to the codec its sub-format GUID names.
func parseWAVFmt(b []byte) (wavFmt, error) {
	if len(b) < 16 {
		return wavFmt{}, errors.New("fmt chunk shorter than 16 bytes")
	}
	le := binary.LittleEndian
	f := wavFmt{
		tag:        int(le.Uint16(b[0:])),
		channels:   int(le.Uint16(b[2:])),
		sampleRate: int(le.Uint32(b[4:])),
		byteRate:   int(le.Uint32(b[8:])),
		blockAlign: int(le.Uint16(b[12:])),
		bits:       int(le.Uint16(b[14:])),
	}
	if f.tag == wavExtensible {
		if len(b) < 40 {
			return wavFmt{}, errors.New("WAVE_FORMAT_EXTENSIBLE fmt chunk shorter than 40 bytes")
		}
		// The first two bytes of the sub-format GUID are the codec's tag.
		f.tag = int(le.Uint16(b[24:]))
	}
	switch {
	case f.channels < 1 || f.channels > maxChannels:
		return wavFmt{}, fmt.Errorf("%d channels", f.channels)
	case f.sampleRate < 1 || f.sampleRate > maxSampleRate:
		return wavFmt{}, fmt.Errorf("sample rate %d", f.sampleRate)
	case f.blockAlign < 1:
		return wavFmt{}, errors.New("block align 0")
	}
	if f.tag == wavPCM || f.tag == wavFloat {
		if f.bits < 1 || f.bits > 64 || f.blockAlign != f.channels*((f.bits+7)/8) {
			return wavFmt{}, fmt.Errorf("block align %d does not match %d channels of %d bits", f.blockAlign, f.channels, f.bits)
		}
	}
	return f, nil
}

// wavFile is what the chunk walk finds.
type wavFile struct {
	fmt        wavFmt
	dataOff    int64
	dataLen    int64
	factFrames int64 // from a "fact" chunk; -1 if none
}

// parseWAVHeader walks the RIFF chunks of a WAV file, skipping unknown ones
// (with their odd-size padding byte), until it has both the "fmt " and the
// "data" chunk. A data chunk longer than the file means the file was cut
// short: ErrCorrupt. The size 0xFFFFFFFF, which streaming writers leave when
// they cannot seek back, means "to the end of the file".
func parseWAVHeader(r io.ReaderAt, size int64) (*wavFile, error) {
	return walkWAV(r, size, false)
}

// walkWAV is parseWAVHeader; with fmtOnly it stops at a valid fmt chunk,
// which is all that recognising the format needs.
func walkWAV(r io.ReaderAt, size int64, fmtOnly bool) (*wavFile, error) {
	var hdr [12]byte
	if _, err := readFullAt(r, hdr[:], 0); err != nil || !isRIFFWAVE(hdr[:]) {
		return nil, fmt.Errorf("%w: no RIFF/WAVE header", ErrCorrupt)
	}
	w := &wavFile{factFrames: -1, dataOff: -1}
	haveFmt := false
	off := int64(12)
	for range maxWAVChunks {
		var ch [8]byte
		if _, err := readFullAt(r, ch[:], off); err != nil {
			break
		}
		id := string(ch[:4])
		n := int64(binary.LittleEndian.Uint32(ch[4:]))
		body := off + 8
		if !printableID(ch[:4]) {
			return nil, fmt.Errorf("%w: WAV: invalid chunk id %q at byte %d", ErrCorrupt, id, off)
		}
		switch id {
		case "fmt ":
			if haveFmt {
				return nil, fmt.Errorf("%w: WAV: two fmt chunks", ErrCorrupt)
			}
			if n < 16 || n > 1024 || body+n > size {
				return nil, fmt.Errorf("%w: WAV: fmt chunk of %d bytes", ErrCorrupt, n)
			}
			b := make([]byte, n)
			if _, err := readFullAt(r, b, body); err != nil {
				return nil, fmt.Errorf("%w: WAV: fmt chunk: %v", ErrCorrupt, err)
			}
			f, err := parseWAVFmt(b)
			if err != nil {
				return nil, fmt.Errorf("%w: WAV: %v", ErrCorrupt, err)
			}
			w.fmt, haveFmt = f, true
			if fmtOnly {
				return w, nil
			}
		case "fact":
			var b [4]byte
			if n >= 4 {
				if _, err := readFullAt(r, b[:], body); err == nil {
					w.factFrames = int64(binary.LittleEndian.Uint32(b[:]))
				}
			}
		case "data":
			if w.dataOff >= 0 {
				break // a second data chunk is not audio we play
			}
			if n == 0xFFFFFFFF {
				n = size - body
			}
			if body+n > size {
				return nil, fmt.Errorf("%w: WAV: data chunk announces %d bytes, the file holds %d", ErrCorrupt, n, size-body)
			}
			w.dataOff, w.dataLen = body, n
		}
		if haveFmt && w.dataOff >= 0 {
			return w, nil
		}
		off = body + n + n&1
		if off >= size {
			break
		}
	}
	if !haveFmt {
		return nil, fmt.Errorf("%w: WAV without fmt chunk", ErrCorrupt)
	}
	return nil, fmt.Errorf("%w: WAV without data chunk", ErrCorrupt)
}

// analyzeWAV decodes PCM WAV chunk by chunk: it reads 64 KiB at a time, so
// memory stays flat whatever the file size.
func analyzeWAV(ctx context.Context, r io.ReaderAt, size int64, points int) (*Info, error) {
	w, err := parseWAVHeader(r, size)
	if err != nil {
		return nil, err
	}
	f := w.fmt
	frames := w.dataLen / int64(f.blockAlign)
	info := &Info{
		Format:      WAV,
		SampleRate:  f.sampleRate,
		Channels:    f.channels,
		BitrateKbps: int((int64(f.byteRate)*8 + 500) / 1000),
	}
	if !f.decodable() {
		if w.factFrames >= 0 {
			info.DurationMS = samplesToMS(w.factFrames, f.sampleRate)
		} else if f.byteRate > 0 {
			info.DurationMS = (w.dataLen*1000 + int64(f.byteRate)/2) / int64(f.byteRate)
		}
		return info, fmt.Errorf("%w: WAV codec 0x%04x (%d-bit) is not decoded", ErrUnsupported, f.tag, f.bits)
	}
	info.BitrateKbps = int((int64(f.sampleRate)*int64(f.blockAlign)*8 + 500) / 1000)
	info.DurationMS = samplesToMS(frames, f.sampleRate)

	p := newPeaker(points, frames)
	bytesPer := f.containerBytes()
	chunkFrames := int(min(max(1, (64<<10)/int64(f.blockAlign)), max(frames, 1)))
	buf := make([]byte, chunkFrames*f.blockAlign)
	for done := int64(0); done < frames; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(int64(chunkFrames), frames-done)
		b := buf[:n*int64(f.blockAlign)]
		if _, err := readFullAt(r, b, w.dataOff+done*int64(f.blockAlign)); err != nil {
			return nil, fmt.Errorf("%w: WAV data: %v", ErrCorrupt, err)
		}
		for len(b) > 0 {
			run := int(min(p.room(), int64(len(b)/f.blockAlign)))
			seg := b[:run*f.blockAlign]
			p.add(pcmPeak(seg, f.tag, bytesPer), int64(run))
			b = b[len(seg):]
		}
		done += n
	}
	info.Peaks = p.peaks()
	return info, nil
}

// pcmPeak returns the largest absolute sample in b, normalised to [0,1].
// Integer maxima are tracked as integers and converted once per run.
func pcmPeak(b []byte, tag, bytesPer int) float32 {
	switch {
	case tag == wavFloat && bytesPer == 4:
		var m float32
		for i := 0; i+4 <= len(b); i += 4 {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))
			if v < 0 {
				v = -v
			}
			if v > m { // NaN never wins
				m = v
			}
		}
		return m
	case tag == wavFloat:
		var m float64
		for i := 0; i+8 <= len(b); i += 8 {
			v := math.Abs(math.Float64frombits(binary.LittleEndian.Uint64(b[i:])))
			if v > m {
				m = v
			}
		}
		return float32(min(m, 1))
	case bytesPer == 1: // unsigned, centred on 128
		m := 0
		for _, c := range b {
			v := int(c) - 128
			if v < 0 {
				v = -v
			}
			m = max(m, v)
		}
		return float32(m) / 128
	case bytesPer == 2:
		m := int32(0)
		for i := 0; i+2 <= len(b); i += 2 {
			v := int32(int16(binary.LittleEndian.Uint16(b[i:])))
			if v < 0 {
				v = -v
			}
			m = max(m, v)
		}
		return float32(m) / 32768
	case bytesPer == 3:
		m := int32(0)
		for i := 0; i+3 <= len(b); i += 3 {
			v := int32(uint32(b[i])<<8|uint32(b[i+1])<<16|uint32(b[i+2])<<24) >> 8
			if v < 0 {
				v = -v
			}
			m = max(m, v)
		}
		return float32(m) / (1 << 23)
	default: // 4-byte integers
		m := int64(0)
		for i := 0; i+4 <= len(b); i += 4 {
			v := int64(int32(binary.LittleEndian.Uint32(b[i:])))
			if v < 0 {
				v = -v
			}
			m = max(m, v)
		}
		return float32(float64(m) / (1 << 31))
	}
}
