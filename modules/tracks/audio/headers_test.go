package audio

import (
	"encoding/binary"
	"errors"
	"testing"
)

// What Analyze returns for formats measured from their headers.
func TestAnalyzeHeaderOnly(t *testing.T) {
	le := binary.LittleEndian
	// Ogg FLAC: "\x7fFLAC", mapping version 1.0, 1 header, "fLaC", then
	// the STREAMINFO block (from the FLAC fixture: 44.1 kHz stereo).
	flac := readFixture(t, "sine440_44100_stereo.flac")
	oggFLAC := append([]byte("\x7fFLAC\x01\x00\x00\x01"), flac[:42]...)
	speex := append([]byte("Speex   1.2.1"), make([]byte, 80-13)...)
	le.PutUint32(speex[36:], 16000)
	le.PutUint32(speex[48:], 1)
	opus := []byte("OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00")
	ogg := func(ident []byte, granule uint64) []byte {
		return append(buildOggPage(t, 0x02, 0, 0, ident), buildOggPage(t, 0x04, granule, 1, []byte{1})...)
	}
	cases := []struct {
		name     string
		b        []byte
		format   Format
		ms       int64
		rate, ch int
	}{
		{"Ogg FLAC", ogg(oggFLAC, 88200), OGG, 2000, 44100, 2},
		{"Ogg Speex", ogg(speex, 16000*5), OGG, 5000, 16000, 1},
		{"Ogg Opus (pre-skip 312)", ogg(opus, 48000+312), OGG, 1000, 48000, 2},
		{"M4A", tinyM4A(), M4A, 2000, 44100, 2},
		{"M4A 64-bit headers", buildM4A(m4aSpec{v1: true, duration: 441000}), M4A, 10000, 44100, 2},
		{"M4A fragmented", buildM4A(m4aSpec{fragment: 44100 * 7}), M4A, 7000, 44100, 2},
		// HE-AAC v1: AOT 5 (SBR), core 22.05 kHz, extension 44.1 kHz, mono.
		{"M4A HE-AAC", buildM4A(m4aSpec{duration: 44100, asc: []byte{0x2B, 0x8A, 0x08, 0x00}}), M4A, 1000, 44100, 1},
		// HE-AAC v2: AOT 29 (PS), mono core, stereo output.
		{"M4A HE-AACv2", buildM4A(m4aSpec{duration: 44100, asc: []byte{0xEB, 0x8A, 0x08, 0x00}}), M4A, 1000, 44100, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, err := analyzeBytes(t, c.b, 100)
			if !errors.Is(err, ErrUnsupported) || info == nil {
				t.Fatalf("err = %v", err)
			}
			if info.Format != c.format || info.DurationMS != c.ms || info.SampleRate != c.rate || info.Channels != c.ch || info.Peaks != nil {
				t.Errorf("got %+v, want %s %d ms %d Hz %d ch", *info, c.format, c.ms, c.rate, c.ch)
			}
		})
	}

	// Structural problems are ErrCorrupt.
	for name, b := range map[string][]byte{
		"M4A without audio track": buildM4A(m4aSpec{handler: "vide", duration: 44100}),
		"Ogg without end":         buildOggPage(t, 0x02, 0, 0, opus),
		"Ogg unknown codec page":  append(buildOggPage(t, 0x02, 0, 0, opus), buildOggPage(t, 0x00, 100, 1, []byte{1})...),
	} {
		if _, err := analyzeBytes(t, b, 10); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

// The MPEG header table: every bitrate/sample-rate pair gives the frame
// length the standard's formula gives.
func TestParseMPEGHeader(t *testing.T) {
	cases := []struct {
		hdr                   []byte
		version, layer, kbps  int
		rate, channels, bytes int
	}{
		{[]byte{0xFF, 0xFB, 0x90, 0x64}, mpeg1, 3, 128, 44100, 2, 417},
		{[]byte{0xFF, 0xFB, 0x92, 0x64}, mpeg1, 3, 128, 44100, 2, 418}, // padded
		{[]byte{0xFF, 0xFB, 0xE4, 0xC4}, mpeg1, 3, 320, 48000, 1, 960},
		{[]byte{0xFF, 0xFD, 0x98, 0x04}, mpeg1, 2, 160, 32000, 2, 720},
		{[]byte{0xFF, 0xF3, 0x82, 0xC4}, mpeg2, 3, 64, 22050, 1, 209},
		{[]byte{0xFF, 0xE3, 0x18, 0xC4}, mpeg25, 3, 8, 8000, 1, 72},
	}
	for _, c := range cases {
		h, ok := parseMPEGHeader(c.hdr)
		if !ok || h.version != c.version || h.layer != c.layer || h.bitrate != c.kbps*1000 || h.sampleRate != c.rate || h.channels != c.channels || h.frameLen != c.bytes {
			t.Errorf("% x: %+v %v", c.hdr, h, ok)
		}
	}
	for _, bad := range [][]byte{
		{0xFF, 0xFB, 0x00, 0x64}, // free format
		{0xFF, 0xFB, 0xF0, 0x64}, // bitrate index 15
		{0xFF, 0xFB, 0x9C, 0x64}, // sample rate index 3
		{0xFF, 0xEB, 0x90, 0x64}, // version 01 (reserved)
		{0xFF, 0xF9, 0x90, 0x64}, // layer 00 (ADTS)
		{0xFF, 0xFF, 0x90, 0x64}, // layer I
		{0xFF, 0xFB, 0x90, 0x66}, // emphasis 10
		{0xFF, 0xFB, 0x90},       // short
	} {
		if h, ok := parseMPEGHeader(bad); ok {
			t.Errorf("% x accepted: %+v", bad, h)
		}
	}
}
