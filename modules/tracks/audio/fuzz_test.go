package audio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/mewkiz/flac"
	flacframe "github.com/mewkiz/flac/frame"
	"github.com/mewkiz/flac/meta"

	"github.com/veza/veza/modules/tracks/audio/audiotest"
)

// Fuzz seeds are kept to a few hundred bytes: the fuzzer minimises every new
// interesting input with an O(n²) search (up to a minute each), and MP3
// decoding costs about 0.3 ms a frame, so larger seeds would spend a
// 30-second run minimising instead of exploring.
const maxSeed = 600

// compactSeeds returns tiny but complete files of each format that Analyze
// processes to the end (see TestCompactSeeds).
func compactSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}

	// MP3: two real frames without the Info frame (decoded), the Info frame
	// with a frame (its frame count does not match: corrupt), and silent
	// frames: MPEG-1 32 kbps 48 kHz (96 bytes) and MPEG-2 8 kbps 24 kHz
	// (24 bytes), whose zero side info and main data decode to silence.
	b := readFixture(t, "sine440_48000_mono.mp3")
	s, err := scanMPEG(context.Background(), bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	fl := int64(s.first.frameLen)
	seeds["mp3"] = b[s.start+fl : s.start+3*fl]
	seeds["mp3 with Info"] = b[s.start : s.start+2*fl]
	silent := func(hdr []byte, size, n int) []byte {
		var out []byte
		for range n {
			out = append(out, hdr...)
			out = append(out, make([]byte, size-len(hdr))...)
		}
		return out
	}
	seeds["mp3 silent mpeg1"] = silent([]byte{0xFF, 0xFB, 0x14, 0xC0}, 96, 4)
	seeds["mp3 silent mpeg2"] = silent([]byte{0xFF, 0xF3, 0x14, 0xC0}, 24, 6)
	seeds["mp2"] = silent([]byte{0xFF, 0xFD, 0x14, 0xC0}, 96, 3) // Layer II, header-only

	// FLAC: two small frames from mewkiz's encoder.
	seeds["flac"] = tinyFLAC(t)

	// Ogg Opus: identification page and an end-of-stream page.
	head := []byte("OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00")
	seeds["ogg"] = append(buildOggPage(t, 0x02, 0, 0, head), buildOggPage(t, 0x04, 48000+312, 1, []byte{0xFC})...)

	// M4A: ftyp, an empty mdat and a minimal moov.
	seeds["m4a"] = tinyM4A()

	aac := readFixture(t, "sine440_48000_mono.aac")
	off := 0
	for range 3 {
		h, ok := parseADTSHeader(aac[off:])
		if !ok {
			t.Fatal("bad ADTS fixture")
		}
		off += h.frameLen
	}
	seeds["aac"] = aac[:off]

	for name, s := range map[string]audiotest.WAVSpec{
		"wav 8-bit":   {Rate: 8000, Channels: 1, Bits: 8, Frames: 100},
		"wav 24-bit":  {Rate: 8000, Channels: 2, Bits: 24, Frames: 40},
		"wav float32": {Rate: 8000, Channels: 1, Bits: 32, Float: true, Extensible: true, Frames: 60},
	} {
		seeds[name] = genWAV(t, s, sine(s.Rate, 0.5))
	}
	return seeds
}

// tinyFLAC encodes two 32-sample stereo frames.
func tinyFLAC(t testing.TB) []byte {
	var buf bytes.Buffer
	info := &meta.StreamInfo{BlockSizeMin: 32, BlockSizeMax: 32, SampleRate: 8000, NChannels: 2, BitsPerSample: 16, NSamples: 64}
	enc, err := flac.NewEncoder(&buf, info)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 2 {
		fr := &flacframe.Frame{Header: flacframe.Header{HasFixedBlockSize: true, BlockSize: 32, SampleRate: 8000, Channels: flacframe.ChannelsLR, BitsPerSample: 16}}
		for ch := range 2 {
			sub := &flacframe.Subframe{SubHeader: flacframe.SubHeader{Pred: flacframe.PredVerbatim}, NSamples: 32}
			for i := range 32 {
				sub.Samples = append(sub.Samples, int32(16000*math.Sin(float64(n*32+i+ch))))
			}
			fr.Subframes = append(fr.Subframes, sub)
		}
		if err := enc.WriteFrame(fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// buildOggPage builds one Ogg page (serial 0x1234) holding a packet.
func buildOggPage(t testing.TB, flags byte, granule uint64, seq uint32, packet []byte) []byte {
	if len(packet) > 254 {
		t.Fatal("packet too long for one segment")
	}
	le := binary.LittleEndian
	p := []byte{'O', 'g', 'g', 'S', 0, flags}
	p = le.AppendUint64(p, granule)
	p = le.AppendUint32(p, 0x1234)
	p = le.AppendUint32(p, seq)
	p = append(p, 0, 0, 0, 0, 1, byte(len(packet)))
	p = append(p, packet...)
	var crc uint32
	for _, c := range p {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^c]
	}
	le.PutUint32(p[22:], crc)
	return p
}

// m4aSpec varies tinyM4A.
type m4aSpec struct {
	handler  string // "soun" unless set
	v1       bool   // 64-bit mvhd/mdhd
	duration uint64 // in 1/44100 s, in mvhd and mdhd
	fragment uint64 // mehd fragment duration (fragmented file), 0 = none
	asc      []byte // AudioSpecificConfig; AAC-LC 44.1 kHz stereo if nil
}

// tinyM4A is 2 s of 44.1 kHz stereo AAC-LC: ftyp + empty mdat +
// moov(mvhd, trak(mdia(mdhd, hdlr, minf(stbl(stsd(mp4a(esds))))))).
func tinyM4A() []byte { return buildM4A(m4aSpec{duration: 88200}) }

func buildM4A(s m4aSpec) []byte {
	be := binary.BigEndian
	box := func(typ string, parts ...[]byte) []byte {
		n := 8
		for _, p := range parts {
			n += len(p)
		}
		b := be.AppendUint32(nil, uint32(n))
		b = append(b, typ...)
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	u32 := func(v uint32) []byte { return be.AppendUint32(nil, v) }
	timeHdr := append(make([]byte, 12), u32(44100)...)
	timeHdr = append(timeHdr, u32(uint32(s.duration))...)
	if s.v1 {
		timeHdr = append([]byte{1, 0, 0, 0}, make([]byte, 16)...)
		timeHdr = append(timeHdr, u32(44100)...)
		timeHdr = be.AppendUint64(timeHdr, s.duration)
	}
	if s.handler == "" {
		s.handler = "soun"
	}
	hdlr := append(make([]byte, 8), s.handler...)
	hdlr = append(hdlr, make([]byte, 13)...)
	if s.asc == nil {
		s.asc = []byte{0x12, 0x10} // AAC-LC, 44.1 kHz, 2 channels
	}
	dsi := append([]byte{0x05, byte(len(s.asc))}, s.asc...)
	dcd := append([]byte{0x40, 0x15, 0, 0, 0, 0, 1, 0xF4, 0, 0, 1, 0xF4, 0}, dsi...)
	es := append([]byte{0, 1, 0, 0x04, byte(len(dcd))}, dcd...)
	es = append(es, 0x06, 0x01, 0x02)
	esds := append([]byte{0, 0, 0, 0, 0x03, byte(len(es))}, es...)
	entry := append(make([]byte, 6), 0, 1)         // reserved, data reference index
	entry = append(entry, make([]byte, 8)...)      // version, revision, vendor
	entry = append(entry, 0, 2, 0, 16, 0, 0, 0, 0) // channels, sample size, ...
	entry = append(entry, u32(44100<<16)...)       // sample rate 16.16
	stsd := append(u32(0), u32(1)...)
	out := box("ftyp", []byte("M4A "), u32(0), []byte("M4A isom"))
	out = append(out, box("mdat")...)
	moov := [][]byte{
		box("mvhd", timeHdr, make([]byte, 80)),
		box("trak", box("mdia",
			box("mdhd", timeHdr),
			box("hdlr", hdlr),
			box("minf", box("stbl", box("stsd", stsd, box("mp4a", entry, box("esds", esds))))))),
	}
	if s.fragment > 0 {
		moov = append(moov, box("mvex", box("mehd", []byte{1, 0, 0, 0}, be.AppendUint64(nil, s.fragment))))
	}
	return append(out, box("moov", moov...)...)
}

// fuzzSeeds returns the compact files, the beginnings of the fixtures, and
// non-audio inputs, none longer than maxSeed.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, b := range compactSeeds(t) {
		seeds = append(seeds, b)
	}
	for _, fx := range fixtures {
		b := readFixture(t, fx.name)
		seeds = append(seeds, b[:min(len(b), 160)])
	}
	for _, b := range notAudio(t) {
		seeds = append(seeds, b[:min(len(b), 160)])
	}
	for _, s := range seeds {
		if len(s) > maxSeed {
			t.Fatalf("seed of %d bytes", len(s))
		}
	}
	return seeds
}

// The compact seeds reach the decoders rather than stopping at a header.
func TestCompactSeeds(t *testing.T) {
	for name, b := range compactSeeds(t) {
		info, err := analyzeBytes(t, b, 100)
		switch {
		case strings.HasSuffix(name, "with Info"):
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: %v", name, err)
			}
		case name == "ogg" || name == "m4a" || name == "aac" || name == "mp2":
			if !errors.Is(err, ErrUnsupported) || info.DurationMS <= 0 {
				t.Errorf("%s: %v %+v", name, err, info)
			}
		default:
			if err != nil || info.DurationMS <= 0 {
				t.Errorf("%s: %v %+v", name, err, info)
			}
		}
	}
}

func FuzzSniff(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := Sniff(b)
		// SniffReader replays the stream unchanged and agrees with Sniff.
		rf, body, rok, err := SniffReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if replay, _ := io.ReadAll(body); !bytes.Equal(replay, b) {
			t.Fatal("SniffReader changed the stream")
		}
		if ok && (!rok || rf != got) {
			t.Fatalf("Sniff = %q but SniffReader = %q, %v", got, rf, rok)
		}
		if !ok {
			if got != "" {
				t.Fatalf("not sure but said %q", got)
			}
			return
		}
		if got.ContentType() == "application/octet-stream" || got.Ext() == "" {
			t.Fatalf("unknown format %q", got)
		}
		// SniffAt sees at least as much as Sniff and agrees with it.
		at, okAt := SniffAt(bytes.NewReader(b), int64(len(b)))
		if !okAt || at != got {
			t.Fatalf("Sniff = %q but SniffAt = %q, %v", got, at, okAt)
		}
	})
}

func FuzzAnalyze(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, uint16(i*37%2000))
	}
	f.Fuzz(func(t *testing.T, b []byte, points uint16) {
		info, err := Analyze(context.Background(), bytes.NewReader(b), int64(len(b)), int(points))
		switch {
		case err == nil:
			if info == nil {
				t.Fatal("nil Info without error")
			}
			want := min(max(int(points), 1), MaxPoints)
			if len(info.Peaks) != want {
				t.Fatalf("%d peaks, want %d", len(info.Peaks), want)
			}
			for i, p := range info.Peaks {
				if !(p >= 0 && p <= 1) {
					t.Fatalf("peak %d = %v", i, p)
				}
			}
			if info.SampleRate <= 0 || info.Channels <= 0 {
				t.Fatalf("Info %+v", *info)
			}
		case errors.Is(err, ErrUnsupported):
			if info == nil || info.Peaks != nil {
				t.Fatalf("ErrUnsupported with Info %+v", info)
			}
		case errors.Is(err, ErrCorrupt), errors.Is(err, ErrUnknownFormat):
			if info != nil {
				t.Fatalf("Info %+v with %v", *info, err)
			}
			return
		default:
			t.Fatalf("unexpected error %v", err)
		}
		if info.DurationMS < 0 || info.BitrateKbps < 0 {
			t.Fatalf("Info %+v", *info)
		}
		if f, ok := SniffAt(bytes.NewReader(b), int64(len(b))); !ok || f != info.Format {
			t.Fatalf("analysed as %q, sniffed as %q %v", info.Format, f, ok)
		}
	})
}
