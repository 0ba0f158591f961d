package audio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/mewkiz/flac"
)

// streamInfo is FLAC's STREAMINFO block.
type streamInfo struct {
	minBlock   int
	sampleRate int
	channels   int
	bits       int
	samples    int64 // 0 = unknown
}

// parseStreamInfo decodes the 34-byte STREAMINFO body.
func parseStreamInfo(b []byte) (streamInfo, error) {
	if len(b) < 34 {
		return streamInfo{}, errors.New("STREAMINFO shorter than 34 bytes")
	}
	x := binary.BigEndian.Uint64(b[10:18])
	si := streamInfo{
		minBlock:   int(binary.BigEndian.Uint16(b[0:])),
		sampleRate: int(x >> 44),
		channels:   int(x>>41&7) + 1,
		bits:       int(x>>36&31) + 1,
		samples:    int64(x & (1<<36 - 1)),
	}
	if si.minBlock < 16 {
		return streamInfo{}, fmt.Errorf("minimum block size %d", si.minBlock)
	}
	if si.sampleRate == 0 {
		return streamInfo{}, errors.New("sample rate 0")
	}
	if si.bits < 4 {
		return streamInfo{}, fmt.Errorf("%d bits per sample", si.bits)
	}
	return si, nil
}

// flacLayout reads the signature and metadata block headers, returning
// STREAMINFO, where the signature is and where the audio frames start.
func flacLayout(r io.ReaderAt, size int64) (si streamInfo, sig, audio int64, err error) {
	sig, err = streamStart(r, size)
	if err != nil {
		return si, 0, 0, fmt.Errorf("%w: ID3v2 tag: %v", ErrCorrupt, err)
	}
	var b [8 + 34]byte
	if _, err := readFullAt(r, b[:], sig); err != nil || string(b[:4]) != "fLaC" {
		return si, 0, 0, fmt.Errorf("%w: FLAC: no signature and STREAMINFO", ErrCorrupt)
	}
	if b[4]&0x7F != 0 || binary.BigEndian.Uint32(b[4:])&0xFFFFFF != 34 {
		return si, 0, 0, fmt.Errorf("%w: FLAC: first metadata block is not STREAMINFO", ErrCorrupt)
	}
	if si, err = parseStreamInfo(b[8:]); err != nil {
		return si, 0, 0, fmt.Errorf("%w: FLAC: %v", ErrCorrupt, err)
	}
	off := sig + 4
	for last := false; !last; {
		var h [4]byte
		if _, err := readFullAt(r, h[:], off); err != nil {
			return si, 0, 0, fmt.Errorf("%w: FLAC: metadata runs past the end of the file", ErrCorrupt)
		}
		last = h[0]&0x80 != 0
		off += 4 + int64(binary.BigEndian.Uint32(h[:])&0xFFFFFF)
		if off > size {
			return si, 0, 0, fmt.Errorf("%w: FLAC: metadata runs past the end of the file", ErrCorrupt)
		}
	}
	return si, sig, off, nil
}

// analyzeFLAC decodes FLAC frame by frame with mewkiz/flac (each frame's
// CRC-16 is checked, so damaged frames are caught). Only one frame's samples
// (at most 65535 per channel) are held at a time.
func analyzeFLAC(ctx context.Context, r io.ReaderAt, size int64, points int) (*Info, error) {
	si, sig, audio, err := flacLayout(r, size)
	if err != nil {
		return nil, err
	}
	stream, err := flac.New(io.NewSectionReader(r, sig, size-sig))
	if err != nil {
		return nil, fmt.Errorf("%w: FLAC: %v", ErrCorrupt, err)
	}
	p := newPeaker(points, si.samples)
	var decoded int64
	for si.samples == 0 || decoded < si.samples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fr, err := stream.Next()
		if err != nil && decoded > 0 && si.samples == 0 {
			break // no announced length: the stream ends where frames stop
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("%w: FLAC frame at sample %d: %v", ErrCorrupt, decoded, err)
		}
		if fr.BitsPerSample == 0 { // "see STREAMINFO"
			fr.BitsPerSample = uint8(si.bits)
		}
		if fr.Channels.Count() != si.channels {
			return nil, fmt.Errorf("%w: FLAC frame at sample %d has %d channels, STREAMINFO says %d", ErrCorrupt, decoded, fr.Channels.Count(), si.channels)
		}
		if err := fr.Parse(); err != nil {
			return nil, fmt.Errorf("%w: FLAC frame at sample %d: %v", ErrCorrupt, decoded, err)
		}
		n := int(fr.BlockSize)
		scale := 1 / float32(int64(1)<<(fr.BitsPerSample-1))
		for i := 0; i < n; {
			run := int(min(p.room(), int64(n-i)))
			var m int32
			for _, sub := range fr.Subframes {
				if len(sub.Samples) < i+run {
					return nil, fmt.Errorf("%w: FLAC frame at sample %d is short", ErrCorrupt, decoded)
				}
				for _, v := range sub.Samples[i : i+run] {
					if v < 0 {
						v = -v
					}
					m = max(m, v)
				}
			}
			p.add(float32(m)*scale, int64(run))
			i += run
		}
		decoded += int64(n)
	}
	if si.samples > 0 {
		decoded = si.samples
	}
	info := &Info{
		Format:     FLAC,
		SampleRate: si.sampleRate,
		Channels:   si.channels,
		DurationMS: samplesToMS(decoded, si.sampleRate),
		Peaks:      p.peaks(),
	}
	info.BitrateKbps = bitrateKbps(size-audio, info.DurationMS)
	return info, nil
}
