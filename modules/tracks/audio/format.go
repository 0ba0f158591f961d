// Package audio recognises and measures the audio files that users upload to
// the tracks module.
//
// Two questions are answered here, both from the file's bytes and never from
// its name or the Content-Type a client declared (either can lie, and a
// mislabelled file would otherwise reach listeners with the wrong type):
//
//   - Sniff / SniffAt: which container is this (WAV, FLAC, MP3, OGG, M4A or
//     raw ADTS AAC)? The upload handler calls it to refuse anything else early
//     and to store the file with a trustworthy Content-Type.
//   - Analyze: how long is it, at which sample rate and channel count, and what
//     does its waveform look like? The tracks:process job calls it once per
//     upload. WAV, FLAC and MP3 are decoded in Go (the MP3 and FLAC codecs are
//     github.com/hajimehoshi/go-mp3 and github.com/mewkiz/flac) with bounded
//     memory; OGG, M4A and AAC are recognised and measured from their headers
//     only (see Analyze for exactly what is returned).
//
// Nothing in this package panics on hostile input: decoder panics are
// recovered and reported as ErrCorrupt.
package audio

import "errors"

// Format names an audio container recognised by Sniff. Its string value is
// short, lower-case and stable, so it can be stored in the database and sent
// to clients as is.
type Format string

// The formats that Sniff recognises.
const (
	// MP3 is MPEG-1/2/2.5 audio, Layer III or Layer II, optionally behind ID3v2
	// tags. Only Layer III (MPEG-1 and MPEG-2) is decoded; Layer II and MPEG-2.5
	// are measured from their frame headers (ErrUnsupported).
	MP3 Format = "mp3"
	// FLAC is native FLAC ("fLaC", optionally behind ID3v2 tags). Ogg-wrapped
	// FLAC is reported as OGG.
	FLAC Format = "flac"
	// WAV is RIFF/WAVE. PCM 8/16/24/32-bit integer and 32/64-bit float are
	// decoded; other codecs inside a WAV are measured only (ErrUnsupported).
	WAV Format = "wav"
	// OGG is an Ogg stream whose first logical stream is Vorbis, Opus, FLAC
	// or Speex. It is measured from its headers, not decoded.
	OGG Format = "ogg"
	// M4A is an ISO base media file (MP4/M4A) with an audio brand. It is
	// measured from its boxes, not decoded.
	M4A Format = "m4a"
	// AAC is a raw ADTS AAC stream (what many encoders write as .aac). It is
	// kept apart from M4A because it has no MP4 container: serving it as
	// audio/mp4 would be wrong. It is measured from its frame headers.
	AAC Format = "aac"
)

// ContentType returns the MIME type to store and serve the file with, so that
// browsers and players pick the right decoder. An unknown Format gives
// "application/octet-stream".
func (f Format) ContentType() string {
	switch f {
	case MP3:
		return "audio/mpeg"
	case FLAC:
		return "audio/flac"
	case WAV:
		return "audio/wav"
	case OGG:
		return "audio/ogg"
	case M4A:
		return "audio/mp4"
	case AAC:
		return "audio/aac"
	}
	return "application/octet-stream"
}

// Ext returns the file name extension (with its dot) to give a stored object
// or a download, chosen from the detected format rather than from the name
// the client sent. An unknown Format gives "".
func (f Format) Ext() string {
	switch f {
	case MP3, FLAC, WAV, OGG, M4A, AAC:
		return "." + string(f)
	}
	return ""
}

// Errors returned by Analyze. They are always wrapped with context; test them
// with errors.Is.
var (
	// ErrUnknownFormat means the bytes are not any format Sniff recognises:
	// the upload is not audio we accept.
	ErrUnknownFormat = errors.New("audio: unrecognised format")
	// ErrUnsupported means the format was recognised but is not decoded here
	// (OGG, M4A, AAC, MP3 Layer II / MPEG-2.5, non-PCM WAV). Analyze returns it
	// together with a non-nil *Info filled from the headers, without Peaks, so
	// the caller can still store the duration and show a placeholder waveform.
	ErrUnsupported = errors.New("audio: format recognised but not decodable")
	// ErrCorrupt means the file claims to be a known format but cannot be
	// read: truncated, inconsistent headers, undecodable frames, or a decoder
	// that panicked. Retrying will not help.
	ErrCorrupt = errors.New("audio: corrupt or truncated file")
)
