package clamavtest

import (
	"bytes"
	"net"
	"testing"
	"time"
)

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestEICARDetectorSplits(t *testing.T) {
	data := concat([]byte("some audio bytes "), []byte(EICAR), []byte(" more bytes"))
	for i := 0; i <= len(data); i++ {
		for j := i; j <= len(data); j++ {
			var d eicarDetector
			_, _ = d.Write(data[:i])
			_, _ = d.Write(data[i:j])
			_, _ = d.Write(data[j:])
			if !d.found {
				t.Fatalf("EICAR not found when split at %d and %d", i, j)
			}
		}
	}
	var d eicarDetector
	almost := []byte(EICAR[:len(EICAR)-1])
	for range 5 {
		_, _ = d.Write(almost)
	}
	if d.found {
		t.Fatal("truncated EICAR reported as found")
	}
}

func TestCloseWithWithIdleConnection(t *testing.T) {
	f, err := NewServer(0)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", f.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("zINSTREAM\x00\x00\x00")); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { f.Close(); f.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close blocked on an idle connection")
	}
}
