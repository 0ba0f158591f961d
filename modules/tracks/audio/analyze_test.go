package audio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/veza/veza/modules/tracks/audio/audiotest"
)

func analyzeBytes(t testing.TB, b []byte, points int) (*Info, error) {
	t.Helper()
	return Analyze(context.Background(), bytes.NewReader(b), int64(len(b)), points)
}

// checkPeaks asserts n points in [0,1], and, away from the first and last
// 2% (encoder ramp-up and tail), within [lo, hi].
func checkPeaks(t *testing.T, peaks []float32, n int, lo, hi float32) {
	t.Helper()
	if len(peaks) != n {
		t.Fatalf("%d peaks, want %d", len(peaks), n)
	}
	edge := n / 50
	for i, p := range peaks {
		if p < 0 || p > 1 || math.IsNaN(float64(p)) {
			t.Fatalf("peak %d = %v outside [0,1]", i, p)
		}
		if i >= edge && i < n-edge && (p < lo || p > hi) {
			t.Fatalf("peak %d = %v outside [%v,%v]", i, p, lo, hi)
		}
	}
}

func TestAnalyzeFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			info, err := analyzeBytes(t, readFixture(t, fx.name), 1000)
			if fx.unsupported {
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("err = %v, want ErrUnsupported", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if info == nil {
				t.Fatal("nil Info")
			}
			if info.Format != fx.format || info.SampleRate != fx.sampleRate || info.Channels != fx.channels {
				t.Errorf("got %s %d Hz %d ch, want %s %d Hz %d ch", info.Format, info.SampleRate, info.Channels, fx.format, fx.sampleRate, fx.channels)
			}
			if d := info.DurationMS - fx.durationMS; d < -50 || d > 50 {
				t.Errorf("duration %d ms, want %d ±50", info.DurationMS, fx.durationMS)
			}
			if info.BitrateKbps < fx.minKbps || info.BitrateKbps > fx.maxKbps {
				t.Errorf("bitrate %d kbps, want %d..%d", info.BitrateKbps, fx.minKbps, fx.maxKbps)
			}
			if fx.unsupported {
				if info.Peaks != nil {
					t.Errorf("peaks for a format that is not decoded")
				}
				return
			}
			// Every fixture is a 0.5-amplitude sine; lossy codecs lose a
			// little of it (LAME's own decoder also reads 0.475).
			checkPeaks(t, info.Peaks, 1000, 0.45, 0.55)
		})
	}
}

func TestAnalyzeGeneratedWAV(t *testing.T) {
	specs := map[string]audiotest.WAVSpec{
		"16-bit stereo 44.1k":    {Rate: 44100, Channels: 2, Bits: 16},
		"8-bit stereo":           {Rate: 44100, Channels: 2, Bits: 8},
		"24-bit stereo":          {Rate: 44100, Channels: 2, Bits: 24},
		"32-bit int":             {Rate: 48000, Channels: 2, Bits: 32},
		"float32":                {Rate: 44100, Channels: 2, Bits: 32, Float: true},
		"float64":                {Rate: 44100, Channels: 1, Bits: 64, Float: true},
		"mono 22.05k":            {Rate: 22050, Channels: 1, Bits: 16},
		"extensible 24-bit 6 ch": {Rate: 48000, Channels: 6, Bits: 24, Extensible: true},
	}
	for name, s := range specs {
		t.Run(name, func(t *testing.T) {
			s.Frames = int64(2.5 * float64(s.Rate))
			info, err := analyzeBytes(t, genWAV(t, s, sine(s.Rate, 0.5)), 1000)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != WAV || info.SampleRate != s.Rate || info.Channels != s.Channels || info.DurationMS != 2500 {
				t.Errorf("got %+v", *info)
			}
			if want := s.Rate * s.Channels * s.Bits / 1000; math.Abs(float64(info.BitrateKbps-want)) > 1 {
				t.Errorf("bitrate %d, want %d", info.BitrateKbps, want)
			}
			checkPeaks(t, info.Peaks, 1000, 0.49, 0.51)
		})
	}
}

// The test generator writes what Analyze reads back.
func TestWriteWAV(t *testing.T) {
	var buf bytes.Buffer
	if err := audiotest.WriteWAV(&buf, 44100, 2, 16, 2.5, 440); err != nil {
		t.Fatal(err)
	}
	if want := 44 + 110250*4; buf.Len() != want {
		t.Fatalf("%d bytes, want %d", buf.Len(), want)
	}
	info, err := analyzeBytes(t, buf.Bytes(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if info.DurationMS != 2500 || info.Channels != 2 || info.SampleRate != 44100 || info.BitrateKbps != 1411 {
		t.Errorf("got %+v", *info)
	}
	checkPeaks(t, info.Peaks, 100, audiotest.WAVAmplitude-0.01, audiotest.WAVAmplitude+0.01)
}

// The generator writes exactly what this package decodes: a limit changed
// here must change there, or tests would make files no upload can have.
func TestGeneratorLimits(t *testing.T) {
	if audiotest.MaxChannels != maxChannels || audiotest.MaxSampleRate != maxSampleRate {
		t.Fatalf("audiotest writes up to %d channels at %d Hz; audio decodes %d at %d",
			audiotest.MaxChannels, audiotest.MaxSampleRate, maxChannels, maxSampleRate)
	}
}

// Half silence then half loud: the waveform shows the step where it is.
func TestAnalyzePeaksFollowStructure(t *testing.T) {
	const rate = 44100
	frames := int64(4 * rate)
	loud := sine(rate, 0.8)
	wav := genWAV(t, audiotest.WAVSpec{Rate: rate, Channels: 2, Bits: 16, Frames: frames}, func(i int64, ch int) float64 {
		if i < frames/2 {
			return 0
		}
		return loud(i, ch)
	})
	info, err := analyzeBytes(t, wav, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range info.Peaks {
		switch {
		case i < 500 && p != 0:
			t.Fatalf("peak %d = %v in the silent half", i, p)
		case i >= 500 && (p < 0.78 || p > 0.82):
			t.Fatalf("peak %d = %v in the loud half, want 0.8", i, p)
		}
	}
	// Channels are mixed by max: silence on the left, loud on the right.
	wav = genWAV(t, audiotest.WAVSpec{Rate: rate, Channels: 2, Bits: 16, Frames: rate}, func(i int64, ch int) float64 {
		if ch == 0 {
			return 0
		}
		return loud(i, ch)
	})
	info, err = analyzeBytes(t, wav, 50)
	if err != nil {
		t.Fatal(err)
	}
	checkPeaks(t, info.Peaks, 50, 0.78, 0.82)
}

func TestAnalyzeWAVChunks(t *testing.T) {
	wav := genWAV(t, audiotest.WAVSpec{Rate: 22050, Channels: 1, Bits: 16, Frames: 22050}, sine(22050, 0.5))
	cases := map[string][]byte{
		"odd chunks around fmt": rebuildWAV(wav,
			[][2]string{{"JUNK", "abc"}, {"bext", "odd!!"}},
			[][2]string{{"LIST", "INFOISFT\x05\x00\x00\x00veza\x00"}, {"cue ", "x"}},
			[][2]string{{"id3 ", "tag"}}, false),
		"data before fmt": rebuildWAV(wav, [][2]string{{"JUNK", "a"}}, nil, nil, true),
		"fmt beyond 4 KiB": rebuildWAV(wav,
			[][2]string{{"LIST", string(bytes.Repeat([]byte{'i'}, 9001))}}, nil, nil, false),
	}
	// A streaming writer that could not seek back leaves 0xFFFFFFFF.
	unknown := append([]byte{}, wav...)
	binary.LittleEndian.PutUint32(unknown[40:], 0xFFFFFFFF)
	cases["data size unknown"] = unknown
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			info, err := analyzeBytes(t, b, 100)
			if err != nil {
				t.Fatal(err)
			}
			if info.DurationMS != 1000 || info.SampleRate != 22050 || info.Channels != 1 {
				t.Errorf("got %+v", *info)
			}
			checkPeaks(t, info.Peaks, 100, 0.49, 0.51)
		})
	}
}

func TestAnalyzeUnsupportedWAVCodec(t *testing.T) {
	wav := genWAV(t, audiotest.WAVSpec{Rate: 8000, Channels: 1, Bits: 8, Frames: 8000}, sine(8000, 0.5))
	binary.LittleEndian.PutUint16(wav[20:], 7) // mu-law
	info, err := analyzeBytes(t, wav, 100)
	if !errors.Is(err, ErrUnsupported) || info == nil {
		t.Fatalf("err = %v", err)
	}
	if info.DurationMS != 1000 || info.Peaks != nil || info.BitrateKbps != 64 {
		t.Errorf("got %+v", *info)
	}
}

func TestAnalyzeMP3Tags(t *testing.T) {
	mp3 := readFixture(t, "sine440_44100_stereo.mp3")
	v1 := append([]byte("TAG"), bytes.Repeat([]byte{0xFF}, 125)...) // worst case: sync-like bytes
	b := append(append(id3Tag(20000), mp3...), v1...)
	info, err := analyzeBytes(t, b, 500)
	if err != nil {
		t.Fatal(err)
	}
	if info.DurationMS < 2950 || info.DurationMS > 3050 || info.BitrateKbps > 140 {
		t.Errorf("with a 20 KB ID3v2 tag and an ID3v1 tag: %+v", *info)
	}
	checkPeaks(t, info.Peaks, 500, 0.45, 0.55)
}

func TestAnalyzeFLACAfterID3(t *testing.T) {
	b := append(id3Tag(5000), readFixture(t, "sine440_44100_stereo.flac")...)
	info, err := analyzeBytes(t, b, 100)
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != FLAC || info.DurationMS != 3000 {
		t.Errorf("got %+v", *info)
	}
}

func TestAnalyzePoints(t *testing.T) {
	wav := genWAV(t, audiotest.WAVSpec{Rate: 8000, Channels: 1, Bits: 16, Frames: 8000}, sine(8000, 0.5))
	for asked, want := range map[int]int{-5: 1, 0: 1, 1: 1, 7: 7, 1000: 1000, MaxPoints: MaxPoints, 50000: MaxPoints} {
		info, err := analyzeBytes(t, wav, asked)
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Peaks) != want {
			t.Errorf("points %d: %d peaks, want %d", asked, len(info.Peaks), want)
		}
	}
	// More points than samples: each point shows the sample its time is in.
	tiny := genWAV(t, audiotest.WAVSpec{Rate: 8000, Channels: 1, Bits: 16, Frames: 3}, func(i int64, _ int) float64 { return float64(i+1) / 4 })
	info, err := analyzeBytes(t, tiny, 9)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range info.Peaks {
		if want := float32(i/3+1) / 4; math.Abs(float64(p-want)) > 0.001 {
			t.Errorf("peak %d = %v, want %v", i, p, want)
		}
	}
}

// The peaker without a known total (FLAC streams that do not announce their
// length) stays within one bucket of the exact answer.
func TestPeakerUnknownTotal(t *testing.T) {
	const frames, n = 123457, 100
	val := func(i int64) float32 { return float32(i%1000) / 1000 }
	exact := newPeaker(n, frames)
	approx := newPeaker(n, 0)
	for i := int64(0); i < frames; {
		run := min(exact.room(), approx.room(), frames-i)
		var m float32
		for j := i; j < i+run; j++ {
			m = max(m, val(j))
		}
		exact.add(m, run)
		approx.add(m, run)
		i += run
	}
	e, a := exact.peaks(), approx.peaks()
	for i := range e {
		if a[i] < e[i] {
			t.Fatalf("point %d: approx %v below exact %v", i, a[i], e[i])
		}
	}
	if len(approx.buckets) < n || len(approx.buckets) > 2*n {
		t.Errorf("%d buckets", len(approx.buckets))
	}
}

func TestAnalyzeCorrupt(t *testing.T) {
	wav := genWAV(t, audiotest.WAVSpec{Rate: 44100, Channels: 2, Bits: 16, Frames: 44100}, sine(44100, 0.5))
	flac := readFixture(t, "sine440_44100_stereo.flac")
	mp3 := readFixture(t, "sine440_44100_stereo.mp3")
	ogg := readFixture(t, "sine440_44100_stereo.ogg")
	m4a := readFixture(t, "sine440_44100_stereo.m4a")
	aac := readFixture(t, "sine440_48000_mono.aac")

	flipped := append([]byte{}, flac...)
	for i := len(flipped) / 2; i < len(flipped)/2+64; i++ {
		flipped[i] ^= 0x5A
	}
	aacJunk := append(append([]byte{}, aac[:len(aac)/3]...), randomBytes(9, len(aac))...)
	wavBadBlock := append([]byte{}, wav...)
	binary.LittleEndian.PutUint16(wavBadBlock[32:], 3) // block align for 2 x 16-bit is 4

	cases := map[string][]byte{
		"WAV cut in its data":        wav[:len(wav)/2],
		"WAV header only":            wav[:44],
		"FLAC cut in half":           flac[:len(flac)/2],
		"FLAC metadata only":         flac[:100],
		"FLAC with damaged frames":   flipped,
		"MP3 cut in half":            mp3[:len(mp3)/2],
		"MP3 first 100 bytes":        mp3[:100],
		"Ogg cut in half":            ogg[:len(ogg)/2],
		"M4A cut before its moov":    m4a[:len(m4a)/2],
		"AAC then garbage":           aacJunk,
		"WAV with wrong block align": wavBadBlock,
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			info, err := analyzeBytes(t, b, 1000)
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("err = %v, info = %+v; want ErrCorrupt", err, info)
			}
			if errors.Is(err, ErrUnknownFormat) {
				// Only when even the header is unreadable.
				if f, ok := SniffAt(bytes.NewReader(b), int64(len(b))); ok {
					t.Fatalf("sniffed as %q but analysed as unknown", f)
				}
			}
			if info != nil {
				t.Errorf("Info with ErrCorrupt: %+v", *info)
			}
		})
	}
	// These must be ErrCorrupt, not unknown: the header says what they are.
	for _, name := range []string{"WAV cut in its data", "FLAC cut in half", "FLAC with damaged frames", "MP3 cut in half", "Ogg cut in half", "M4A cut before its moov", "AAC then garbage"} {
		if _, err := analyzeBytes(t, cases[name], 10); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

func TestAnalyzeUnknown(t *testing.T) {
	for name, b := range notAudio(t) {
		info, err := analyzeBytes(t, b, 10)
		if !errors.Is(err, ErrUnknownFormat) || info != nil {
			t.Errorf("%s: %v, %v", name, info, err)
		}
	}
}

// A ReaderAt that fails is reported, not a panic.
func TestAnalyzeReadError(t *testing.T) {
	wav := genWAV(t, audiotest.WAVSpec{Rate: 44100, Channels: 2, Bits: 16, Frames: 441000}, sine(44100, 0.5))
	r := &failingReader{b: wav, after: 200 << 10}
	_, err := Analyze(context.Background(), r, int64(len(wav)), 100)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v", err)
	}
}

type failingReader struct {
	b     []byte
	after int64
}

func (f *failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.after {
		return 0, errors.New("disk on fire")
	}
	return bytes.NewReader(f.b).ReadAt(p, off)
}

// A 10-minute stereo 44.1 kHz WAV (~106 MB) is analysed with a small, flat
// amount of memory.
func TestAnalyzeMemoryWAV(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 106 MB file")
	}
	path := filepath.Join(t.TempDir(), "long.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := audiotest.WriteWAV(f, 44100, 2, 16, 600, 440); err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	var info *Info
	peak, total := peakHeap(func() {
		info, err = Analyze(context.Background(), f, st.Size(), 1000)
	})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if info.DurationMS != 600000 {
		t.Errorf("duration %d", info.DurationMS)
	}
	checkPeaks(t, info.Peaks, 1000, 0.49, 0.51)
	t.Logf("file %d MB: allocated %d KiB in total, heap grew at most %d KiB", st.Size()>>20, total>>10, peak>>10)
	if total > 4<<20 || peak > 16<<20 {
		t.Errorf("analysing a %d-byte file allocated %d bytes, heap grew %d", st.Size(), total, peak)
	}
}

// Ten minutes (two under the race detector) of MP3 and FLAC, made by repeating the fixtures' frames and
// read from files as the job does: the decoders' per-frame garbage is
// collected as it goes and the heap stays small.
func TestAnalyzeMemoryCompressed(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes ten minutes of audio")
	}
	dir := t.TempDir()
	reps := 200 // 10 minutes
	if raceEnabled {
		reps = 40
	}
	mp3, frames := longMP3(t, reps)
	files := map[string]int64{ // name -> expected duration
		// No Info frame in the copy, so each repetition keeps the encoder
		// delay and padding: frames of 1152 samples.
		"long.mp3":  int64(math.Round(float64(frames*1152) * 1000 / 44100)),
		"long.flac": int64(reps) * 3000,
	}
	if err := os.WriteFile(filepath.Join(dir, "long.mp3"), mp3, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "long.flac"), longFLAC(t, reps), 0o600); err != nil {
		t.Fatal(err)
	}
	mp3 = nil
	for name, want := range files {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			var info *Info
			peak, total := peakHeap(func() {
				info, err = Analyze(context.Background(), f, st.Size(), 1000)
			})
			if err != nil {
				t.Fatal(err)
			}
			if d := info.DurationMS - want; d < -50 || d > 50 {
				t.Errorf("duration %d ms, want %d", info.DurationMS, want)
			}
			checkPeaks(t, info.Peaks, 1000, 0.45, 0.55)
			t.Logf("%s of %d KiB: heap grew at most %d KiB (%d MiB allocated and collected along the way)", name, st.Size()>>10, peak>>10, total>>20)
			if peak > 16<<20 {
				t.Errorf("heap grew %d bytes", peak)
			}
		})
	}
}

// longMP3 repeats the audio frames (not the Info frame) of the stereo MP3
// fixture n times, and returns the total frame count.
func longMP3(t testing.TB, n int) ([]byte, int64) {
	b := readFixture(t, "sine440_44100_stereo.mp3")
	s, err := scanMPEG(context.Background(), bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	frames := b[s.start+int64(s.first.frameLen) : s.end]
	return bytes.Repeat(frames, n), (s.frames - 1) * int64(n)
}

// longFLAC repeats the frames of the stereo FLAC fixture n times and patches
// the sample count in STREAMINFO (frame numbers repeat, which the decoder
// does not check).
func longFLAC(t testing.TB, n int) []byte {
	b := readFixture(t, "sine440_44100_stereo.flac")
	si, sig, audio, err := flacLayout(bytes.NewReader(b), int64(len(b)))
	if err != nil || sig != 0 {
		t.Fatal(err)
	}
	out := append([]byte{}, b[:audio]...)
	x := binary.BigEndian.Uint64(out[18:26])
	x = x&^(1<<36-1) | uint64(si.samples)*uint64(n)
	binary.BigEndian.PutUint64(out[18:26], x)
	return append(out, bytes.Repeat(b[audio:], n)...)
}

// Cancelling the context stops a long analysis within a chunk or two.
func TestAnalyzeCancel(t *testing.T) {
	r := newSynthWAV(t, 48000, 2, 3*3600) // 3 hours, 2 GB, never stored
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := Analyze(ctx, r, r.size, 1000)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v to stop", d)
	}

	// Already cancelled: every decoder notices before doing the work.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	for _, name := range []string{"sine440_44100_stereo.mp3", "sine440_44100_stereo.flac"} {
		b := readFixture(t, name)
		if _, err := Analyze(ctx, bytes.NewReader(b), int64(len(b)), 10); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	time.Sleep(2 * time.Millisecond)
	b, _ := longMP3(t, 20)
	if _, err := Analyze(ctx, bytes.NewReader(b), int64(len(b)), 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("mp3 with deadline: err = %v", err)
	}
}
