package audio

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

// WriteWAV writes a PCM WAV file holding a sine wave of freq Hz at
// WAVAmplitude, the same on every channel, lasting seconds (rounded to whole
// samples), with bits of 8, 16, 24 or 32 (integer PCM).
//
// It exists so that tests, this package's and the tracks module's, can make
// real uploads of any size: it streams through w in 64 KiB blocks, so a
// 200 MB file costs no more memory than a small one. Files whose data would
// not fit a RIFF size (4 GiB) are refused.
func WriteWAV(w io.Writer, sampleRate, channels, bits int, seconds float64, freq float64) error {
	if sampleRate < 1 || sampleRate > maxSampleRate {
		return fmt.Errorf("audio: WriteWAV: sample rate %d out of range", sampleRate)
	}
	if seconds < 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) || math.IsNaN(freq) || math.IsInf(freq, 0) {
		return errors.New("audio: WriteWAV: seconds and freq must be finite, seconds >= 0")
	}
	spec := wavSpec{
		rate:     sampleRate,
		channels: channels,
		bits:     bits,
		frames:   int64(math.Round(seconds * float64(sampleRate))),
	}
	step := 2 * math.Pi * freq / float64(sampleRate)
	return writeWAV(w, spec, func(i int64, _ int) float64 {
		return WAVAmplitude * math.Sin(step*float64(i))
	})
}

// wavSpec describes a WAV file for writeWAV.
type wavSpec struct {
	rate, channels, bits int
	float                bool // IEEE float samples (bits 32 or 64)
	extensible           bool // WAVE_FORMAT_EXTENSIBLE header
	frames               int64
}

// writeWAV streams a WAV file whose sample (frame i, channel ch) is
// signal(i, ch) in [-1, 1].
func writeWAV(w io.Writer, s wavSpec, signal func(i int64, ch int) float64) error {
	if s.channels < 1 || s.channels > maxChannels {
		return fmt.Errorf("audio: WriteWAV: %d channels out of range", s.channels)
	}
	okBits := s.bits == 8 || s.bits == 16 || s.bits == 24 || s.bits == 32
	if s.float {
		okBits = s.bits == 32 || s.bits == 64
	}
	if !okBits {
		return fmt.Errorf("audio: WriteWAV: %d-bit samples not supported", s.bits)
	}
	bytesPer := s.bits / 8
	block := s.channels * bytesPer
	fmtLen := 16
	if s.extensible {
		fmtLen = 40
	}
	hdrLen := 12 + 8 + fmtLen + 8
	dataLen := s.frames * int64(block)
	if s.frames < 0 || dataLen > math.MaxUint32-int64(hdrLen) {
		return fmt.Errorf("audio: WriteWAV: %d frames do not fit a WAV file", s.frames)
	}

	le := binary.LittleEndian
	h := make([]byte, 0, hdrLen)
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, uint32(int64(hdrLen)-8+dataLen))
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, uint32(fmtLen))
	tag := uint16(wavPCM)
	if s.float {
		tag = wavFloat
	}
	if s.extensible {
		h = le.AppendUint16(h, wavExtensible)
	} else {
		h = le.AppendUint16(h, tag)
	}
	h = le.AppendUint16(h, uint16(s.channels))
	h = le.AppendUint32(h, uint32(s.rate))
	h = le.AppendUint32(h, uint32(s.rate*block))
	h = le.AppendUint16(h, uint16(block))
	h = le.AppendUint16(h, uint16(s.bits))
	if s.extensible {
		h = le.AppendUint16(h, 22)             // cbSize
		h = le.AppendUint16(h, uint16(s.bits)) // valid bits
		h = le.AppendUint32(h, 0)              // channel mask: unspecified
		h = le.AppendUint16(h, tag)            // sub-format GUID: tag + the fixed tail
		h = append(h, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71)
	}
	h = append(h, "data"...)
	h = le.AppendUint32(h, uint32(dataLen))
	if _, err := w.Write(h); err != nil {
		return err
	}

	buf := make([]byte, 0, (64<<10)/block*block)
	for i := int64(0); i < s.frames; i++ {
		for ch := range s.channels {
			v := max(-1, min(1, signal(i, ch)))
			switch {
			case s.float && s.bits == 32:
				buf = le.AppendUint32(buf, math.Float32bits(float32(v)))
			case s.float:
				buf = le.AppendUint64(buf, math.Float64bits(v))
			case s.bits == 8:
				buf = append(buf, byte(128+int(math.Round(v*127))))
			case s.bits == 16:
				buf = le.AppendUint16(buf, uint16(int16(math.Round(v*math.MaxInt16))))
			case s.bits == 24:
				x := int32(math.Round(v * (1<<23 - 1)))
				buf = append(buf, byte(x), byte(x>>8), byte(x>>16))
			default:
				buf = le.AppendUint32(buf, uint32(int32(math.Round(v*math.MaxInt32))))
			}
		}
		if len(buf)+block > cap(buf) {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}
