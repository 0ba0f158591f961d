package audio

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veza/veza/modules/tracks/audio/audiotest"
)

// fixture describes a committed file under testdata/ (see testdata/README.md).
type fixture struct {
	name        string
	format      Format
	durationMS  int64 // expected Info.DurationMS (±50 ms)
	sampleRate  int
	channels    int
	minKbps     int
	maxKbps     int
	unsupported bool // Analyze returns ErrUnsupported (header-only)
	sniffHead   bool // Sniff on the first SniffLen bytes recognises it
}

var fixtures = []fixture{
	{name: "sine440_44100_stereo.mp3", format: MP3, durationMS: 3000, sampleRate: 44100, channels: 2, minKbps: 120, maxKbps: 140, sniffHead: true},
	{name: "sine440_48000_mono.mp3", format: MP3, durationMS: 3000, sampleRate: 48000, channels: 1, minKbps: 60, maxKbps: 70, sniffHead: true},
	{name: "sine440_22050_mono_mpeg2.mp3", format: MP3, durationMS: 3000, sampleRate: 22050, channels: 1, minKbps: 60, maxKbps: 70, sniffHead: true},
	// 6000 bytes of ID3v2 padding: Sniff cannot see past it, SniffAt can.
	{name: "sine440_48000_mono_id3.mp3", format: MP3, durationMS: 3000, sampleRate: 48000, channels: 1, minKbps: 60, maxKbps: 70},
	// No Xing/LAME tag (the 104-byte frames are too small for it), so the
	// length includes the encoder delay and padding: 117 frames of 576
	// samples. go-mp3 mis-sizes its padded frames: header-only.
	{name: "sine440_22050_mono_mpeg2_32k.mp3", format: MP3, durationMS: 3056, sampleRate: 22050, channels: 1, minKbps: 30, maxKbps: 34, unsupported: true, sniffHead: true},
	// Layer II: 115 frames of 1152 samples, no gapless information.
	{name: "sine440_44100_stereo.mp2", format: MP3, durationMS: 3004, sampleRate: 44100, channels: 2, minKbps: 125, maxKbps: 131, unsupported: true, sniffHead: true},
	{name: "sine440_44100_stereo.flac", format: FLAC, durationMS: 3000, sampleRate: 44100, channels: 2, minKbps: 100, maxKbps: 140, sniffHead: true},
	{name: "sine440_48000_mono_24bit.flac", format: FLAC, durationMS: 2000, sampleRate: 48000, channels: 1, minKbps: 250, maxKbps: 400, sniffHead: true},
	{name: "sine440_44100_stereo.ogg", format: OGG, durationMS: 3000, sampleRate: 44100, channels: 2, minKbps: 20, maxKbps: 80, unsupported: true, sniffHead: true},
	{name: "sine440_48000_mono.opus", format: OGG, durationMS: 3000, sampleRate: 48000, channels: 1, minKbps: 30, maxKbps: 60, unsupported: true, sniffHead: true},
	// voaacenc adds no priming in the edit list; mdhd says 2995 ms.
	{name: "sine440_44100_stereo.m4a", format: M4A, durationMS: 3000, sampleRate: 44100, channels: 2, minKbps: 55, maxKbps: 75, unsupported: true, sniffHead: true},
	// 140 ADTS frames of 1024 samples: the encoder drops the last partial one.
	{name: "sine440_48000_mono.aac", format: AAC, durationMS: 2987, sampleRate: 48000, channels: 1, minKbps: 40, maxKbps: 60, unsupported: true, sniffHead: true},
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// genWAV returns a WAV file in memory.
func genWAV(t testing.TB, s audiotest.WAVSpec, signal func(i int64, ch int) float64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := audiotest.WriteSignal(&buf, s, signal); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sine is a 440 Hz sine at amplitude amp for a given sample rate.
func sine(rate int, amp float64) func(int64, int) float64 {
	step := 2 * math.Pi * 440 / float64(rate)
	return func(i int64, _ int) float64 { return amp * math.Sin(step*float64(i)) }
}

// rebuildWAV re-assembles a generated WAV (header from writeWAV) with extra
// chunks: before fmt, between fmt and data, and after data.
func rebuildWAV(wav []byte, before, between, after [][2]string, dataFirst bool) []byte {
	fmtLen := int(binary.LittleEndian.Uint32(wav[16:]))
	fmtChunk := wav[12 : 20+fmtLen]
	dataChunk := wav[20+fmtLen:]
	chunk := func(id, body string) []byte {
		b := append([]byte(id), 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
		b = append(b, body...)
		if len(body)%2 == 1 {
			b = append(b, 0) // pad byte
		}
		return b
	}
	var body []byte
	body = append(body, "WAVE"...)
	for _, c := range before {
		body = append(body, chunk(c[0], c[1])...)
	}
	if dataFirst {
		body = append(body, dataChunk...)
		body = append(body, fmtChunk...)
	} else {
		body = append(body, fmtChunk...)
		for _, c := range between {
			body = append(body, chunk(c[0], c[1])...)
		}
		body = append(body, dataChunk...)
	}
	for _, c := range after {
		body = append(body, chunk(c[0], c[1])...)
	}
	out := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(body)))
	return append(out, body...)
}

// synthWAV is an io.ReaderAt serving a WAV of any size without storing it:
// a real header followed by a repeating non-silent byte pattern.
type synthWAV struct {
	hdr  []byte
	size int64
}

func newSynthWAV(t testing.TB, rate, channels int, seconds float64) *synthWAV {
	var buf bytes.Buffer
	if err := audiotest.WriteWAV(&buf, rate, channels, 16, 0, 440); err != nil {
		t.Fatal(err)
	}
	hdr := buf.Bytes()
	data := int64(seconds*float64(rate)) * int64(channels) * 2
	binary.LittleEndian.PutUint32(hdr[4:], uint32(int64(len(hdr))-8+data))
	binary.LittleEndian.PutUint32(hdr[len(hdr)-4:], uint32(data))
	return &synthWAV{hdr: hdr, size: int64(len(hdr)) + data}
}

func (s *synthWAV) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) && off+int64(n) < s.size {
		o := off + int64(n)
		if o < int64(len(s.hdr)) {
			p[n] = s.hdr[o]
		} else {
			p[n] = byte(o * 37)
		}
		n++
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// peakHeap samples HeapInuse while fn runs and returns the largest growth
// over the value measured just before.
func peakHeap(fn func()) (peak uint64, totalAlloc uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var top atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > before.HeapInuse && m.HeapInuse-before.HeapInuse > top.Load() {
				top.Store(m.HeapInuse - before.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if after.HeapInuse > before.HeapInuse && after.HeapInuse-before.HeapInuse > top.Load() {
		top.Store(after.HeapInuse - before.HeapInuse)
	}
	return top.Load(), after.TotalAlloc - before.TotalAlloc
}
