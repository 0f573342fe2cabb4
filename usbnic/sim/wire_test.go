package sim

import (
	"bytes"
	"testing"
)

func TestQueueIsABoundedFIFO(t *testing.T) {
	q := NewQueue(2)
	select {
	case <-q.Ready():
		t.Fatal("ready before any frame")
	default:
	}
	if q.Push(nil) {
		t.Error("empty frame accepted")
	}
	a, b, c := frame(broadcast, 60, 1), frame(broadcast, 1514, 2), frame(broadcast, 42, 3)
	if !q.Push(a) || !q.Push(b) || q.Push(c) {
		t.Error("capacity 2 not honoured")
	}
	if q.Waiting() != 2 || q.Dropped != 1 {
		t.Errorf("waiting %d, dropped %d", q.Waiting(), q.Dropped)
	}
	select {
	case <-q.Ready():
	default:
		t.Error("no ready signal after push")
	}
	buf := make([]byte, MaxFrameSize)
	if n := q.ToHost(buf); !bytes.Equal(buf[:n], a) {
		t.Error("first frame out differs")
	}
	if n := q.ToHost(buf); !bytes.Equal(buf[:n], b) {
		t.Error("second frame out differs")
	}
	if n := q.ToHost(buf); n != 0 {
		t.Errorf("empty queue gave %d bytes", n)
	}
	// The ring reuses its slots: pushing again after a wrap allocates nothing.
	q.Push(a)
	q.ToHost(buf)
	if allocs := testing.AllocsPerRun(100, func() { q.Push(a); q.ToHost(buf) }); allocs != 0 {
		t.Errorf("%.1f allocations per push and pop", allocs)
	}
}

func TestQueueKeepsWhatTheHostSent(t *testing.T) {
	q := NewQueue(4)
	f := frame(peerMAC, 100, 0)
	q.FromHost(f)
	f[0] = 0xEE // the wire copied it: the host may reuse its buffer
	small := make([]byte, 10)
	if n := q.Sent(small); n != 10 || small[0] != peerMAC[0] {
		t.Errorf("Sent into a small buffer: %d bytes % x", n, small)
	}
	if q.Waiting() != 0 {
		t.Error("a sent frame is waiting for the host")
	}
	l := NewLoopback(4)
	l.FromHost(f)
	buf := make([]byte, MaxFrameSize)
	if n := l.ToHost(buf); !bytes.Equal(buf[:n], f) {
		t.Error("loopback did not return the frame")
	}
}
