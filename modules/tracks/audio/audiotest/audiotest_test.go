package audiotest

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"runtime"
	"testing"
)

func TestWriteWAVHeader(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteWAV(&buf, 44100, 2, 16, 2.5, 440); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if want := 44 + 110250*4; len(b) != want {
		t.Fatalf("%d bytes, want %d", len(b), want)
	}
	le := binary.LittleEndian
	if string(b[:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("header %q", b[:44])
	}
	if le.Uint32(b[4:]) != uint32(len(b)-8) || le.Uint32(b[40:]) != uint32(len(b)-44) {
		t.Errorf("RIFF size %d, data size %d for a %d-byte file", le.Uint32(b[4:]), le.Uint32(b[40:]), len(b))
	}
	if le.Uint16(b[22:]) != 2 || le.Uint32(b[24:]) != 44100 || le.Uint16(b[34:]) != 16 {
		t.Errorf("fmt chunk %x", b[20:36])
	}
}

func TestWriteWAVRefuses(t *testing.T) {
	for _, bad := range []struct{ rate, ch, bits int }{{0, 2, 16}, {44100, 0, 16}, {44100, 2, 12}, {44100, MaxChannels + 1, 16}, {MaxSampleRate + 1, 1, 8}} {
		if err := WriteWAV(io.Discard, bad.rate, bad.ch, bad.bits, 1, 440); err == nil {
			t.Errorf("WriteWAV(%v) accepted", bad)
		}
	}
	if err := WriteWAV(io.Discard, 44100, 2, 16, math.NaN(), 440); err == nil {
		t.Error("NaN seconds accepted")
	}
	if err := WriteWAV(io.Discard, 192000, 8, 32, 3600, 440); err == nil {
		t.Error("a WAV over 4 GiB accepted")
	}
	if err := WriteSignal(io.Discard, WAVSpec{Rate: 8000, Channels: 1, Bits: 16, Float: true, Frames: 1}, nil); err == nil {
		t.Error("16-bit float accepted")
	}
}

// WriteWAV streams: a 50 MB file costs a few dozen KiB.
func TestWriteWAVStreams(t *testing.T) {
	var n countWriter
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := WriteWAV(&n, 44100, 2, 16, 50e6/176400, 440); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n < 50e6-4 {
		t.Fatalf("wrote %d bytes", n)
	}
	if total := after.TotalAlloc - before.TotalAlloc; total > 1<<20 {
		t.Errorf("writing %d bytes allocated %d bytes", n, total)
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
