package sim

import (
	"testing"
	"time"
)

// The device-side parsers of OUT transfers, fuzzed: whatever arrives, the device neither
// panics nor puts a malformed frame on the wire, and a rejected transfer is counted with a
// reason. Seeds in testdata/fuzz/ are the hand-built cases of the table tests.

func checkWire(t *testing.T, d *Device, q *Queue, max int, allOrNothing bool) int {
	t.Helper()
	fs := sent(t, q)
	s := d.Stats()
	for _, f := range fs {
		if len(f) < etherHeader || len(f) > max {
			t.Fatalf("a %d-byte frame reached the wire", len(f))
		}
	}
	if s.TxErrors > 0 && s.LastTxError == "" {
		t.Fatal("error counted without a reason")
	}
	if allOrNothing && s.TxErrors > 0 && len(fs) > 0 {
		t.Fatalf("%d frames delivered from a rejected transfer (%s)", len(fs), s.LastTxError)
	}
	if s.TxFrames != uint64(len(fs)) {
		t.Fatalf("TxFrames %d, wire got %d", s.TxFrames, len(fs))
	}
	return len(fs)
}

func FuzzNCMOut(f *testing.F) {
	f.Add(ntb16Out(frame(peerMAC, 42, 1), frame(peerMAC, 98, 2)))
	f.Fuzz(func(t *testing.T, data []byte) {
		q := NewQueue(4096)
		d := cdcStart(t, CDCNCM, q)
		out(t, d, 0x02, data)
		checkWire(t, d, q, etherMaxFrame, true)
	})
}

func FuzzAX88179Tx(f *testing.F) {
	f.Add(append(hx(f, "3c 00 00 00 00 00 00 00"), frame(peerMAC, 60, 0)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		q := NewQueue(16)
		d := plug(t, AX88179, q, WithLinkDelay(0))
		eventually(t, "link", func() bool { return phyRead(t, d, 0x11) != 0 })
		out(t, d, 0x03, data)
		if n := checkWire(t, d, q, 4088+18, true); n > 1 {
			t.Fatalf("%d frames from one transfer", n)
		}
	})
}

func FuzzAX88772Tx(f *testing.F) {
	f.Add(append(hx(f, "3c 00 c3 ff"), frame(peerMAC, 60, 0)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		q := NewQueue(4096)
		d := plug(t, AX88772B, q, WithLinkDelay(time.Nanosecond))
		eventually(t, "link", func() bool { return mii772(t, d, 1)&0x0004 != 0 })
		out(t, d, 0x03, data)
		// Records before a bad one are already out, as in a chip's stream: not all-or-nothing.
		checkWire(t, d, q, vlanMaxFrame, false)
	})
}
