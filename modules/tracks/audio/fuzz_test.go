package audio

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// fuzzSeeds returns real files, their beginnings, and non-audio inputs.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, fx := range fixtures {
		b := readFixture(t, fx.name)
		seeds = append(seeds, b, b[:min(len(b), 2048)], b[:min(len(b), 200)])
	}
	for _, s := range []wavSpec{
		{rate: 8000, channels: 1, bits: 8, frames: 400},
		{rate: 8000, channels: 2, bits: 24, frames: 300},
		{rate: 8000, channels: 1, bits: 32, float: true, extensible: true, frames: 300},
	} {
		seeds = append(seeds, genWAV(t, s, sine(s.rate, 0.5)))
	}
	for _, b := range notAudio(t) {
		seeds = append(seeds, b)
	}
	return seeds
}

func FuzzSniff(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s[:min(len(s), SniffLen)])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := Sniff(b)
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
