package audio

import (
	"bytes"
	"context"
	"testing"

	"github.com/veza/veza/modules/tracks/audio/audiotest"
)

// benchAnalyze reports MB/s of file and how many times faster than real
// time the analysis runs.
func benchAnalyze(b *testing.B, data []byte) {
	b.Helper()
	info, err := Analyze(context.Background(), bytes.NewReader(data), int64(len(data)), 1000)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Analyze(context.Background(), bytes.NewReader(data), int64(len(data)), 1000); err != nil {
			b.Fatal(err)
		}
	}
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(info.DurationMS)/1000/perOp, "x-realtime")
}

// 30 s of 44.1 kHz 16-bit stereo (5.3 MB).
func BenchmarkAnalyzeWAV(b *testing.B) {
	var buf bytes.Buffer
	if err := audiotest.WriteWAV(&buf, 44100, 2, 16, 30, 440); err != nil {
		b.Fatal(err)
	}
	benchAnalyze(b, buf.Bytes())
}

// 30 s of 128 kbps stereo MP3 (the fixture's frames repeated).
func BenchmarkAnalyzeMP3(b *testing.B) {
	data, _ := longMP3(b, 10)
	benchAnalyze(b, data)
}

// 30 s of 16-bit stereo FLAC (the fixture's frames repeated).
func BenchmarkAnalyzeFLAC(b *testing.B) {
	benchAnalyze(b, longFLAC(b, 10))
}

// One call per format on a 4 KiB head, plus a rejected random buffer.
func BenchmarkSniff(b *testing.B) {
	var heads [][]byte
	for _, fx := range fixtures {
		if fx.sniffHead {
			heads = append(heads, head(readFixture(b, fx.name)))
		}
	}
	heads = append(heads, randomBytes(1, SniffLen))
	b.ReportAllocs()
	for b.Loop() {
		for _, h := range heads {
			Sniff(h)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(heads)), "ns/sniff")
}
