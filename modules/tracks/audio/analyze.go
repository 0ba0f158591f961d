package audio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
)

// MaxPoints is the largest waveform Analyze computes: enough for a
// full-width waveform on any screen, small enough to store in a row.
const MaxPoints = 10000

// Info is what the tracks module stores about an uploaded file.
type Info struct {
	// Format is the container detected from the bytes.
	Format Format
	// DurationMS is the playing time in milliseconds. For MP3 it excludes the
	// encoder delay and padding announced by a LAME/Xing header (what gapless
	// players play); for Opus it excludes the pre-skip.
	DurationMS int64
	// SampleRate is in Hz (Opus: always 48000, its decoding rate).
	SampleRate int
	// Channels is the channel count of the source (an MP3 mono file is 1 even
	// though the decoder outputs stereo); 0 if the headers do not say.
	Channels int
	// BitrateKbps is the average bitrate: for PCM WAV the exact PCM rate, for
	// compressed formats the size of the audio data (the file without its
	// leading ID3v2 and trailing ID3v1/APE tags, or FLAC metadata, or MP4
	// boxes other than mdat) divided by the duration, so cover art does not
	// inflate it. 0 when the duration is 0.
	BitrateKbps int
	// Peaks is the waveform: len(Peaks) == the points asked for, point i
	// being the largest absolute sample value, over all channels, in the
	// i-th of that many equal time slices, on a 0..1 scale (1 = full scale).
	// Nil for formats that are not decoded (see ErrUnsupported).
	Peaks []float32
}

// Analyze reads an audio file through r (size bytes long) and returns its
// format, duration, sample rate, channel count, average bitrate and a
// waveform of points peaks (clamped to 1..MaxPoints).
//
// The format comes from the bytes (SniffAt), never from a name. WAV (PCM
// integer 8-32 bits, float 32/64), FLAC and MP3 (Layer III, MPEG-1 and 2) are
// decoded as a stream: only one 64 KiB chunk (WAV) or one frame (FLAC, MP3)
// of samples is held at a time and the waveform is folded in as it goes, so
// memory does not grow with the file's length (a 10-minute file grows the
// heap by well under 16 MiB, most of it the decoders' short-lived garbage;
// speeds are in docs/performance.md). ctx is checked between chunks or
// frames, so cancelling it stops the work promptly; the error then wraps
// ctx.Err().
//
// For formats that are recognised but not decoded, Analyze returns a non-nil
// *Info together with an error wrapping ErrUnsupported, filled from headers
// only and with Peaks nil:
//   - OGG (Vorbis, Opus, FLAC, Speex): SampleRate and Channels from the
//     identification header, DurationMS from the granule position of the
//     stream's last page (Opus: minus pre-skip, at 48 kHz), BitrateKbps from
//     the file size.
//   - M4A: DurationMS from the audio track's mdhd (else mvhd, else mehd for
//     fragmented files), SampleRate and Channels from its sample entry,
//     refined by the AAC AudioSpecificConfig; BitrateKbps from the mdat size.
//     A file with no audio track is ErrCorrupt.
//   - AAC (ADTS): SampleRate and Channels from the first header, DurationMS
//     from the frame count (1024 samples per raw data block), BitrateKbps
//     from the stream size.
//   - MP3 Layer II and MPEG-2.5: all fields from the frame header scan.
//   - WAV with a non-PCM codec: fields from the fmt chunk, DurationMS from
//     the fact chunk or the data size over the byte rate.
//
// Errors: ErrUnknownFormat when the bytes are no audio format we know,
// ErrCorrupt (wrapped with the reason) when the file is truncated or cannot
// be decoded (decoder panics included), ErrUnsupported as above, or the
// context's error.
func Analyze(ctx context.Context, r io.ReaderAt, size int64, points int) (info *Info, err error) {
	points = min(max(points, 1), MaxPoints)
	if size <= 0 {
		return nil, fmt.Errorf("%w: empty file", ErrUnknownFormat)
	}
	defer func() {
		if p := recover(); p != nil {
			info, err = nil, fmt.Errorf("%w: decoder failed: %v", ErrCorrupt, p)
		}
	}()
	f, ok := SniffAt(r, size)
	if !ok {
		return nil, ErrUnknownFormat
	}
	switch f {
	case WAV:
		info, err = analyzeWAV(ctx, r, size, points)
	case FLAC:
		info, err = analyzeFLAC(ctx, r, size, points)
	case MP3:
		info, err = analyzeMP3(ctx, r, size, points)
	case OGG:
		info, err = analyzeOgg(ctx, r, size)
	case M4A:
		info, err = analyzeMP4(ctx, r, size)
	case AAC:
		info, err = analyzeADTS(ctx, r, size)
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil, fmt.Errorf("audio: analysis stopped: %w", err)
	}
	return info, err
}

// samplesToMS converts a sample count at rate Hz to rounded milliseconds.
func samplesToMS(samples int64, rate int) int64 {
	if rate <= 0 || samples <= 0 {
		return 0
	}
	return int64(math.Round(float64(samples) * 1000 / float64(rate)))
}

// bitrateKbps is bytes over a duration, in kilobits per second.
func bitrateKbps(bytes, ms int64) int {
	if ms <= 0 || bytes <= 0 {
		return 0
	}
	return int(math.Round(float64(bytes) * 8 / float64(ms)))
}
