package sim

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"webminiport/usbnic"
)

var bg = context.Background()

// hx decodes hex bytes written with spaces and newlines, as in data/usb/README.md.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// plug builds an open device with every interface of its current configuration claimed.
func plug(t testing.TB, m *Model, w Wire, opts ...Option) *Device {
	t.Helper()
	d := New(m, w, opts...)
	if err := d.Open(bg); err != nil {
		t.Fatal(err)
	}
	claimAll(t, d)
	return d
}

func claimAll(t testing.TB, d *Device) {
	t.Helper()
	c := d.config(d.Configuration())
	for _, f := range c.ifaces {
		if err := d.ClaimInterface(bg, f.number); err != nil {
			t.Fatal(err)
		}
	}
}

func vendorIn(t testing.TB, d *Device, req uint8, value, index uint16, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	got, st, err := d.ControlIn(bg, usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToDevice, Request: req, Value: value, Index: index}, buf)
	if err != nil || st != usbnic.StatusOK {
		t.Fatalf("vendor IN %#02x value %#04x index %#04x: %d bytes, %v, %v", req, value, index, got, st, err)
	}
	return buf[:got]
}

func vendorOut(t testing.TB, d *Device, req uint8, value, index uint16, data []byte) {
	t.Helper()
	st, err := d.ControlOut(bg, usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToDevice, Request: req, Value: value, Index: index}, data)
	if err != nil || st != usbnic.StatusOK {
		t.Fatalf("vendor OUT %#02x value %#04x index %#04x: %v, %v", req, value, index, st, err)
	}
}

func vendorOutStatus(d *Device, req uint8, value, index uint16, data []byte) usbnic.Status {
	st, err := d.ControlOut(bg, usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToDevice, Request: req, Value: value, Index: index}, data)
	if err != nil {
		return 0xFF
	}
	return st
}

func vendorInStatus(d *Device, req uint8, value, index uint16, n int) usbnic.Status {
	_, st, err := d.ControlIn(bg, usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToDevice, Request: req, Value: value, Index: index}, make([]byte, n))
	if err != nil {
		return 0xFF
	}
	return st
}

func classSetup(req uint8, value, index uint16) usbnic.Setup {
	return usbnic.Setup{Type: usbnic.Class, Recipient: usbnic.ToInterface, Request: req, Value: value, Index: index}
}

// in runs one IN transfer with a deadline so a model that never answers fails the test
// instead of hanging it.
func in(t testing.TB, d *Device, ep uint8, n int) ([]byte, usbnic.Status) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	buf := make([]byte, n)
	got, st, err := d.TransferIn(ctx, ep, buf)
	if err != nil {
		t.Fatalf("IN %#02x: %v", ep, err)
	}
	return buf[:got], st
}

// nothingIn checks that an IN transfer on ep finds nothing within a short while.
func nothingIn(t testing.TB, d *Device, ep uint8) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, 30*time.Millisecond)
	defer cancel()
	n, _, err := d.TransferIn(ctx, ep, make([]byte, 64<<10))
	if err == nil {
		t.Fatalf("IN %#02x returned %d bytes, want nothing", ep, n)
	}
}

func out(t testing.TB, d *Device, ep uint8, data []byte) {
	t.Helper()
	n, st, err := d.TransferOut(bg, ep, data)
	if err != nil || st != usbnic.StatusOK || n != len(data) {
		t.Fatalf("OUT %#02x: %d of %d bytes, %v, %v", ep, n, len(data), st, err)
	}
}

var (
	broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	peerMAC   = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
)

// frame builds an Ethernet frame of n bytes to dst with a local experimental EtherType
// (0x88B5, so no checksum offload applies) and payload bytes seq, seq+1, ...
func frame(dst [6]byte, n int, seq byte) []byte {
	f := make([]byte, n)
	copy(f, dst[:])
	copy(f[6:], peerMAC[:])
	f[12], f[13] = 0x88, 0xB5
	for i := 14; i < n; i++ {
		f[i] = seq + byte(i)
	}
	return f
}

func sent(t testing.TB, q *Queue) [][]byte {
	t.Helper()
	var fs [][]byte
	buf := make([]byte, MaxFrameSize)
	for {
		n := q.Sent(buf)
		if n == 0 {
			return fs
		}
		fs = append(fs, append([]byte(nil), buf[:n]...))
	}
}

// eventually polls cond until it holds or two seconds pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// floodWire always has the same frame waiting: a line-rate flood with no end.
type floodWire struct {
	frame []byte
	ready chan struct{}
	sent  int
}

func newFlood(f []byte) *floodWire {
	w := &floodWire{frame: f, ready: make(chan struct{}, 1)}
	w.ready <- struct{}{}
	return w
}

func (w *floodWire) FromHost(f []byte)      { w.sent++ }
func (w *floodWire) ToHost(buf []byte) int  { return copy(buf, w.frame) }
func (w *floodWire) Ready() <-chan struct{} { return w.ready }

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(bg, d)
}
