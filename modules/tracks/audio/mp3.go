package audio

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hajimehoshi/go-mp3"
)

// readerOnly hides every method but Read. go-mp3 pre-scans the whole file
// and keeps one offset per frame when its source can seek; we scan headers
// ourselves in constant memory instead, so it must not see a Seeker.
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// analyzeMP3 measures MPEG audio. The frame headers are scanned first
// (scanMPEG) to learn the exact frame count, the sample rate and channel
// count (go-mp3 always outputs stereo, so the channel count comes from the
// first header) and the LAME gapless information. Layer III MPEG-1/2 is then
// decoded with go-mp3 and streamed into the peaks; Layer II and MPEG-2.5,
// which go-mp3 cannot decode, and MPEG-2 streams with padded frames that
// go-mp3 v0.3.4 mis-sizes (22.05 kHz at 32, 96, 128 kbps, ...: its output
// would be noise), are returned from the scan with ErrUnsupported.
//
// Duration is the decoded length minus what the Xing/Info frame and the
// encoder's delay and padding add (as gapless players do), so a 3 s input
// encoded by LAME measures 3 s rather than 3.08 s.
func analyzeMP3(ctx context.Context, r io.ReaderAt, size int64, points int) (*Info, error) {
	s, err := scanMPEG(ctx, r, size)
	if err != nil {
		return nil, err
	}
	h := s.first
	total, skip := s.totalSamples()
	info := &Info{Format: MP3, SampleRate: h.sampleRate, Channels: h.channels}
	if h.layer != 3 || h.version == mpeg25 || s.goMP3Short {
		info.DurationMS = samplesToMS(total, h.sampleRate)
		info.BitrateKbps = bitrateKbps(s.end-s.start, info.DurationMS)
		kind := fmt.Sprintf("Layer %d", h.layer)
		switch {
		case h.version == mpeg25:
			kind = "MPEG-2.5"
		case s.goMP3Short:
			kind = "MPEG-2 Layer III with padded frames of this bitrate"
		}
		return info, fmt.Errorf("%w: MPEG audio %s is measured from its frame headers, not decoded", ErrUnsupported, kind)
	}

	src := bufio.NewReaderSize(io.NewSectionReader(r, s.start, s.end-s.start), 32<<10)
	dec, err := mp3.NewDecoder(readerOnly{src})
	if err != nil {
		return nil, fmt.Errorf("%w: MP3: %v", ErrCorrupt, err)
	}
	p := newPeaker(points, total)
	buf := make([]byte, 16<<10)
	var pos int64 // decoded samples per channel
	carry := 0    // bytes of an incomplete stereo sample kept at buf's start
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := dec.Read(buf[carry:])
		n += carry
		frames := n / 4
		feedStereo16(p, buf[:frames*4], pos, skip, skip+total)
		pos += int64(frames)
		carry = copy(buf, buf[frames*4:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: MP3 frame near sample %d: %v", ErrCorrupt, pos, err)
		}
	}
	// Trim what the Xing frame and gapless delay/padding add to what was
	// actually decoded (normally exactly the scanned frame count).
	out := pos - (s.frames*int64(h.samples) - total)
	if out <= 0 {
		return nil, fmt.Errorf("%w: MP3: no audio decoded", ErrCorrupt)
	}
	info.DurationMS = samplesToMS(out, h.sampleRate)
	info.BitrateKbps = bitrateKbps(s.end-s.start, info.DurationMS)
	info.Peaks = p.peaks()
	return info, nil
}

// feedStereo16 adds interleaved 16-bit stereo frames, the first being frame
// number pos of the decoder's output, keeping only frames in [from, to).
func feedStereo16(p *peaker, b []byte, pos, from, to int64) {
	n := int64(len(b) / 4)
	lo := max(from-pos, 0)
	hi := min(to-pos, n)
	for i := lo; i < hi; {
		run := min(p.room(), hi-i)
		m := int32(0)
		seg := b[i*4 : (i+run)*4]
		for j := 0; j+2 <= len(seg); j += 2 {
			v := int32(int16(binary.LittleEndian.Uint16(seg[j:])))
			if v < 0 {
				v = -v
			}
			m = max(m, v)
		}
		p.add(float32(m)/32768, run)
		i += run
	}
}
