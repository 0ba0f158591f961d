// Package audiotest generates audio files for tests, the way
// net/http/httptest provides servers: the audio package's tests, the tracks
// module's, the end-to-end tests and the benchmarks make real uploads of any
// size with it, and no test generator ships inside the production package.
package audiotest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WAVAmplitude is the peak amplitude of the sine WriteWAV writes (-6 dBFS),
// so that tests know what waveform peaks to expect.
const WAVAmplitude = 0.5

// The largest channel count and sample rate the generator writes: those the
// audio package decodes, so that every file made here is one it can read.
const (
	MaxChannels   = 64
	MaxSampleRate = 1 << 22
)

// WAV format tags (RIFF/WAVE fmt chunk).
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagExtensible = 0xFFFE
)

// WriteWAV writes a PCM WAV file holding a sine wave of freq Hz at
// WAVAmplitude, the same on every channel, lasting seconds (rounded to whole
// samples), with bits of 8, 16, 24 or 32 (integer PCM).
//
// It streams through w in 64 KiB blocks, so a
// 200 MB file costs no more memory than a small one. Files whose data would
// not fit a RIFF size (4 GiB) are refused.
func WriteWAV(w io.Writer, sampleRate, channels, bits int, seconds float64, freq float64) error {
	if seconds < 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) || math.IsNaN(freq) || math.IsInf(freq, 0) {
		return errors.New("audiotest: WriteWAV: seconds and freq must be finite, seconds >= 0")
	}
	spec := WAVSpec{
		Rate:     sampleRate,
		Channels: channels,
		Bits:     bits,
		Frames:   int64(math.Round(seconds * float64(sampleRate))),
	}
	step := 2 * math.Pi * freq / float64(sampleRate)
	return WriteSignal(w, spec, func(i int64, _ int) float64 {
		return WAVAmplitude * math.Sin(step*float64(i))
	})
}

// WAVSpec describes a WAV file for WriteSignal.
type WAVSpec struct {
	// Rate is in Hz; Bits is per sample: 8, 16, 24 or 32 (32 or 64 with
	// Float).
	Rate, Channels, Bits int
	// Float writes IEEE float samples (Bits 32 or 64) instead of integers.
	Float bool
	// Extensible writes a WAVE_FORMAT_EXTENSIBLE header, as multichannel
	// encoders do.
	Extensible bool
	// Frames is the length in samples per channel.
	Frames int64
}

// WriteSignal streams a WAV file whose sample (frame i, channel ch) is
// signal(i, ch), clipped to [-1, 1]: for tests that need a waveform of
// their own (silence, steps, one loud channel) or an unusual header.
func WriteSignal(w io.Writer, s WAVSpec, signal func(i int64, ch int) float64) error {
	if err := s.check(); err != nil {
		return err
	}
	block := s.Channels * s.Bits / 8
	fmtLen := 16
	if s.Extensible {
		fmtLen = 40
	}
	hdrLen := 12 + 8 + fmtLen + 8
	dataLen := s.Frames * int64(block)
	if dataLen > math.MaxUint32-int64(hdrLen) {
		return fmt.Errorf("audiotest: %d frames do not fit a WAV file", s.Frames)
	}
	if _, err := w.Write(s.header(fmtLen, hdrLen, dataLen)); err != nil {
		return fmt.Errorf("audiotest: write header: %w", err)
	}
	return s.writeSamples(w, block, signal)
}

func (s WAVSpec) check() error {
	if s.Rate < 1 || s.Rate > MaxSampleRate {
		return fmt.Errorf("audiotest: sample rate %d out of range", s.Rate)
	}
	if s.Channels < 1 || s.Channels > MaxChannels {
		return fmt.Errorf("audiotest: %d channels out of range", s.Channels)
	}
	okBits := s.Bits == 8 || s.Bits == 16 || s.Bits == 24 || s.Bits == 32
	if s.Float {
		okBits = s.Bits == 32 || s.Bits == 64
	}
	if !okBits {
		return fmt.Errorf("audiotest: %d-bit samples not supported", s.Bits)
	}
	if s.Frames < 0 {
		return fmt.Errorf("audiotest: %d frames", s.Frames)
	}
	return nil
}

// header is the RIFF header, fmt chunk and data chunk header.
func (s WAVSpec) header(fmtLen, hdrLen int, dataLen int64) []byte {
	block := s.Channels * s.Bits / 8
	le := binary.LittleEndian
	h := make([]byte, 0, hdrLen)
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, uint32(int64(hdrLen)-8+dataLen))
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, uint32(fmtLen))
	tag := uint16(tagPCM)
	if s.Float {
		tag = tagFloat
	}
	if s.Extensible {
		h = le.AppendUint16(h, tagExtensible)
	} else {
		h = le.AppendUint16(h, tag)
	}
	h = le.AppendUint16(h, uint16(s.Channels))
	h = le.AppendUint32(h, uint32(s.Rate))
	h = le.AppendUint32(h, uint32(s.Rate*block))
	h = le.AppendUint16(h, uint16(block))
	h = le.AppendUint16(h, uint16(s.Bits))
	if s.Extensible {
		h = le.AppendUint16(h, 22)             // cbSize
		h = le.AppendUint16(h, uint16(s.Bits)) // valid bits
		h = le.AppendUint32(h, 0)              // channel mask: unspecified
		h = le.AppendUint16(h, tag)            // sub-format GUID: tag + the fixed tail
		h = append(h, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71)
	}
	h = append(h, "data"...)
	return le.AppendUint32(h, uint32(dataLen))
}

// writeSamples streams the data chunk in 64 KiB blocks, so that a file of
// any size costs the same memory.
func (s WAVSpec) writeSamples(w io.Writer, block int, signal func(i int64, ch int) float64) error {
	buf := make([]byte, 0, (64<<10)/block*block)
	for i := int64(0); i < s.Frames; i++ {
		for ch := range s.Channels {
			buf = s.appendSample(buf, max(-1, min(1, signal(i, ch))))
		}
		if len(buf)+block > cap(buf) || i == s.Frames-1 {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("audiotest: write samples: %w", err)
			}
			buf = buf[:0]
		}
	}
	return nil
}

// appendSample encodes v, in [-1, 1], in the spec's sample format.
func (s WAVSpec) appendSample(buf []byte, v float64) []byte {
	le := binary.LittleEndian
	switch {
	case s.Float && s.Bits == 32:
		return le.AppendUint32(buf, math.Float32bits(float32(v)))
	case s.Float:
		return le.AppendUint64(buf, math.Float64bits(v))
	case s.Bits == 8:
		return append(buf, byte(128+int(math.Round(v*127))))
	case s.Bits == 16:
		return le.AppendUint16(buf, uint16(int16(math.Round(v*math.MaxInt16))))
	case s.Bits == 24:
		x := int32(math.Round(v * (1<<23 - 1)))
		return append(buf, byte(x), byte(x>>8), byte(x>>16))
	default:
		return le.AppendUint32(buf, uint32(int32(math.Round(v*math.MaxInt32))))
	}
}
