package audio

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/veza/veza/modules/tracks/audio/audiotest"
)

func head(b []byte) []byte { return b[:min(len(b), SniffLen)] }

func TestSniffFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			b := readFixture(t, fx.name)
			f, ok := Sniff(head(b))
			if fx.sniffHead && (!ok || f != fx.format) {
				t.Errorf("Sniff = %q, %v; want %q", f, ok, fx.format)
			}
			if !fx.sniffHead && ok {
				t.Errorf("Sniff = %q, want not sure (the ID3 tag hides the audio)", f)
			}
			f, ok = SniffAt(bytes.NewReader(b), int64(len(b)))
			if !ok || f != fx.format {
				t.Errorf("SniffAt = %q, %v; want %q", f, ok, fx.format)
			}
		})
	}
}

// The name a file is stored under plays no part: the same bytes under a
// misleading name give the same answer, and different bytes under an audio
// name are refused.
func TestSniffIgnoresNames(t *testing.T) {
	dir := t.TempDir()
	mp3 := readFixture(t, "sine440_44100_stereo.mp3")
	for name, want := range map[string]Format{"song.wav": MP3, "cover.png": MP3, "noext": MP3} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, mp3, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := SniffAt(f, int64(len(mp3)))
		f.Close()
		if !ok || got != want {
			t.Errorf("%s: SniffAt = %q, %v; want %q", name, got, ok, want)
		}
	}
	p := filepath.Join(dir, "song.mp3")
	if err := os.WriteFile(p, pngBytes(t), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if f, ok := Sniff(b); ok {
		t.Errorf("a PNG named song.mp3 sniffed as %q", f)
	}
}

func TestSniffGeneratedWAV(t *testing.T) {
	specs := map[string]audiotest.WAVSpec{
		"16-bit stereo":         {Rate: 44100, Channels: 2, Bits: 16, Frames: 100},
		"8-bit mono":            {Rate: 8000, Channels: 1, Bits: 8, Frames: 100},
		"24-bit":                {Rate: 48000, Channels: 2, Bits: 24, Frames: 100},
		"32-bit int":            {Rate: 48000, Channels: 2, Bits: 32, Frames: 100},
		"float32":               {Rate: 44100, Channels: 2, Bits: 32, Float: true, Frames: 100},
		"float64 extensible 6c": {Rate: 96000, Channels: 6, Bits: 64, Float: true, Extensible: true, Frames: 100},
		"empty data":            {Rate: 44100, Channels: 2, Bits: 16},
	}
	for name, s := range specs {
		b := genWAV(t, s, sine(s.Rate, 0.5))
		if f, ok := Sniff(b); !ok || f != WAV {
			t.Errorf("%s: Sniff = %q, %v", name, f, ok)
		}
	}
	// A WAV whose metadata pushes the fmt chunk past SniffLen: only SniffAt
	// can walk that far.
	wav := genWAV(t, audiotest.WAVSpec{Rate: 44100, Channels: 2, Bits: 16, Frames: 100}, sine(44100, 0.5))
	big := rebuildWAV(wav, [][2]string{{"LIST", string(bytes.Repeat([]byte("x"), 6001))}}, nil, nil, false)
	if f, ok := Sniff(head(big)); ok {
		t.Errorf("Sniff with fmt beyond head = %q, want not sure", f)
	}
	if f, ok := SniffAt(bytes.NewReader(big), int64(len(big))); !ok || f != WAV {
		t.Errorf("SniffAt with fmt beyond head = %q, %v", f, ok)
	}
}

func pngBytes(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegBytes(t testing.TB) []byte {
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(3, 3, color.White)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipBytes(t testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("song.mp3")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(readFixture(t, "sine440_44100_stereo.mp3"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// notAudio returns inputs every sniffer must refuse.
func notAudio(t testing.TB) map[string][]byte {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exeHead := make([]byte, SniffLen)
	if f, err := os.Open(exe); err == nil {
		f.ReadAt(exeHead, 0)
		f.Close()
	}
	wav := genWAV(t, audiotest.WAVSpec{Rate: 44100, Channels: 2, Bits: 16, Frames: 1000}, sine(44100, 0.5))
	ftypVideo := []byte("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41")
	ftypVideo = append(ftypVideo, make([]byte, 64)...)
	theora := oggBOS(t, []byte("\x80theora\x03\x02\x01"))
	loneFrame := append([]byte{0xFF, 0xFB, 0x90, 0x64}, randomBytes(7, SniffLen-4)...)
	return map[string][]byte{
		"PNG":                  pngBytes(t),
		"JPEG":                 jpegBytes(t),
		"PDF":                  []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"),
		"text":                 []byte("Hello, this is a plain text file.\nIt mentions ID3 and RIFF and fLaC and OggS but is not audio.\n"),
		"ZIP holding an MP3":   zipBytes(t),
		"random 4 KiB":         randomBytes(1, SniffLen),
		"random 4 KiB (2)":     randomBytes(2, SniffLen),
		"executable":           exeHead,
		"Windows EXE":          append([]byte("MZ\x90\x00\x03\x00\x00\x00"), randomBytes(3, 500)...),
		"GIF":                  []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04"),
		"empty":                {},
		"nil":                  nil,
		"truncated WAV header": wav[:30],
		"RIFF WAVE only":       wav[:12],
		"WAV header + garbage": append(append([]byte{}, wav[:12]...), randomBytes(4, 1000)...),
		"WAV bad fmt":          badFmtWAV(wav),
		"AVI":                  append([]byte("RIFF\x00\x10\x00\x00AVI LIST"), randomBytes(5, 100)...),
		"ID3 alone":            []byte("ID3"),
		"ID3 header alone":     []byte("ID3\x03\x00\x00\x00\x00\x00\x00"),
		"ID3 then text":        append([]byte("ID3\x03\x00\x00\x00\x00\x00\x05hello"), "not audio at all"...),
		"fLaC alone":           []byte("fLaC"),
		"OggS alone":           []byte("OggS"),
		"Ogg Theora":           theora,
		"MP4 video brands":     ftypVideo,
		"lone MP3 frame sync":  loneFrame,
		"0xFFFB run":           bytes.Repeat([]byte{0xFF, 0xFB}, 2048),
		"zeros":                make([]byte, SniffLen),
	}
}

// badFmtWAV returns the WAV with a zero channel count.
func badFmtWAV(wav []byte) []byte {
	b := append([]byte{}, wav[:64]...)
	binary.LittleEndian.PutUint16(b[22:], 0)
	return b
}

// oggBOS builds a valid first Ogg page (correct CRC) holding packet.
func oggBOS(t testing.TB, packet []byte) []byte { return buildOggPage(t, 0x02, 0, 0, packet) }

func TestSniffRejects(t *testing.T) {
	for name, b := range notAudio(t) {
		if f, ok := Sniff(b); ok {
			t.Errorf("%s: Sniff = %q, want false", name, f)
		}
		if f, ok := SniffAt(bytes.NewReader(b), int64(len(b))); ok {
			t.Errorf("%s: SniffAt = %q, want false", name, f)
		}
	}
}

// A single valid-looking MPEG or ADTS header followed by random bytes must
// not pass: the next header has to be where the frame ends.
func TestSniffLoneHeadersInRandomBytes(t *testing.T) {
	headers := [][]byte{
		{0xFF, 0xFB, 0x90, 0x64}, // MPEG-1 Layer III 128 kbps 44.1 kHz
		{0xFF, 0xFD, 0xA0, 0x00}, // MPEG-1 Layer II
		{0xFF, 0xF3, 0x40, 0xC4}, // MPEG-2 Layer III
		{0xFF, 0xF1, 0x50, 0x80}, // ADTS AAC-LC 44.1 kHz stereo
	}
	for seed := uint64(0); seed < 500; seed++ {
		for _, h := range headers {
			b := randomBytes(seed+100, SniffLen)
			copy(b, h)
			if h[1] == 0xF1 { // plausible ADTS frame length
				b[3] = b[3]&^3 | 0x80
				b[4] = 0x2E
			}
			if f, ok := Sniff(b); ok {
				t.Fatalf("seed %d: header % x then random bytes sniffed as %q", seed, h, f)
			}
		}
	}
	// Random buffers on their own.
	for seed := uint64(1000); seed < 3000; seed++ {
		b := randomBytes(seed, SniffLen)
		if f, ok := Sniff(b); ok {
			t.Fatalf("seed %d: random bytes sniffed as %q", seed, f)
		}
	}
}

// Sniff accepts longer inputs but looks at SniffLen bytes only, and a short
// head of a real file is enough when it holds the headers.
func TestSniffLengths(t *testing.T) {
	b := readFixture(t, "sine440_44100_stereo.flac")
	if f, ok := Sniff(b); !ok || f != FLAC {
		t.Errorf("whole file: %q %v", f, ok)
	}
	if f, ok := Sniff(b[:8]); !ok || f != FLAC {
		t.Errorf("8 bytes: %q %v", f, ok)
	}
	mp3 := readFixture(t, "sine440_44100_stereo.mp3")
	if f, ok := Sniff(mp3[:1000]); !ok || f != MP3 {
		t.Errorf("MP3 first 1000 bytes: %q %v", f, ok)
	}
	ogg := readFixture(t, "sine440_44100_stereo.ogg")
	if f, ok := Sniff(ogg[:40]); !ok || f != OGG {
		t.Errorf("Ogg first 40 bytes: %q %v", f, ok)
	}
}

// FLAC and ADTS behind an ID3v2 tag are recognised too.
func TestSniffAfterID3(t *testing.T) {
	tag := id3Tag(200)
	for name, want := range map[string]Format{
		"sine440_44100_stereo.flac": FLAC,
		"sine440_48000_mono.aac":    AAC,
		"sine440_44100_stereo.mp3":  MP3,
	} {
		b := append(append([]byte{}, tag...), readFixture(t, name)...)
		if f, ok := Sniff(head(b)); !ok || f != want {
			t.Errorf("%s after ID3: Sniff = %q, %v", name, f, ok)
		}
	}
}

// id3Tag returns an ID3v2.3 tag with a TIT2 frame and zero padding, n bytes
// of body.
func id3Tag(n int) []byte {
	body := append([]byte("TIT2\x00\x00\x00\x06\x00\x00\x00Veza!"), make([]byte, n)...)
	body = body[:n]
	h := []byte{'I', 'D', '3', 3, 0, 0, byte(n >> 21 & 0x7F), byte(n >> 14 & 0x7F), byte(n >> 7 & 0x7F), byte(n & 0x7F)}
	return append(h, body...)
}

func TestFormatMethods(t *testing.T) {
	want := map[Format][2]string{
		MP3:  {"audio/mpeg", ".mp3"},
		FLAC: {"audio/flac", ".flac"},
		WAV:  {"audio/wav", ".wav"},
		OGG:  {"audio/ogg", ".ogg"},
		M4A:  {"audio/mp4", ".m4a"},
		AAC:  {"audio/aac", ".aac"},
		"x":  {"application/octet-stream", ""},
	}
	for f, w := range want {
		if f.ContentType() != w[0] || f.Ext() != w[1] {
			t.Errorf("%q: %q %q, want %q %q", f, f.ContentType(), f.Ext(), w[0], w[1])
		}
	}
}

// Junk between an ID3v2 tag and the first frame: SniffAt finds the frames
// (Sniff, which has no tag to justify a search, does not).
func TestSniffAtJunkAfterID3(t *testing.T) {
	mp3 := readFixture(t, "sine440_44100_stereo.mp3")
	b := append(append(id3Tag(100), "junk junk junk"...), mp3...)
	if f, ok := Sniff(head(b)); ok {
		t.Errorf("Sniff = %q", f)
	}
	if f, ok := SniffAt(bytes.NewReader(b), int64(len(b))); !ok || f != MP3 {
		t.Errorf("SniffAt = %q, %v", f, ok)
	}
	info, err := analyzeBytes(t, b, 10)
	if err != nil || info.DurationMS != 3000 {
		t.Errorf("Analyze: %v %+v", err, info)
	}
	// A tag followed by random bytes is still refused.
	b = append(id3Tag(100), randomBytes(11, 8000)...)
	if f, ok := SniffAt(bytes.NewReader(b), int64(len(b))); ok {
		t.Errorf("ID3 + random bytes: SniffAt = %q", f)
	}
}

// SniffReader sees past large tags in a stream and hands back every byte.
func TestSniffReader(t *testing.T) {
	wav := genWAV(t, audiotest.WAVSpec{Rate: 44100, Channels: 2, Bits: 16, Frames: 1000}, sine(44100, 0.5))
	mp3 := readFixture(t, "sine440_44100_stereo.mp3")
	cases := []struct {
		name string
		b    []byte
		want Format
	}{
		{"MP3 behind a 6 KB ID3v2 tag", readFixture(t, "sine440_48000_mono_id3.mp3"), MP3},
		{"MP3 behind a 2 MB tag and another tag", append(append(id3Tag(2<<20), id3Tag(50)...), mp3...), MP3},
		{"FLAC", readFixture(t, "sine440_44100_stereo.flac"), FLAC},
		{"WAV with 100 KB of metadata first", rebuildWAV(wav, [][2]string{{"LIST", string(make([]byte, 100<<10))}}, nil, nil, false), WAV},
		{"short WAV", genWAV(t, audiotest.WAVSpec{Rate: 8000, Channels: 1, Bits: 8, Frames: 10}, sine(8000, 0.5)), WAV},
		{"PNG", pngBytes(t), ""},
		{"empty", nil, ""},
		{"tag larger than MaxSniffPrefix", append(id3Tag(MaxSniffPrefix+10), mp3...), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, body, ok, err := SniffReader(bytes.NewReader(c.b))
			if err != nil {
				t.Fatal(err)
			}
			if ok != (c.want != "") || f != c.want {
				t.Errorf("got %q %v, want %q", f, ok, c.want)
			}
			got, err := io.ReadAll(body)
			if err != nil || !bytes.Equal(got, c.b) {
				t.Errorf("body differs from the input (%d vs %d bytes, %v)", len(got), len(c.b), err)
			}
		})
	}
	// A read error is returned, not taken for end of file.
	_, _, ok, err := SniffReader(io.MultiReader(bytes.NewReader(id3Tag(10000)), iotest.ErrReader(errors.New("reset"))))
	if ok || err == nil {
		t.Errorf("read error: ok %v err %v", ok, err)
	}
}
