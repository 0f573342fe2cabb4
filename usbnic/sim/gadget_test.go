package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"webminiport/usbnic"
)

// Requests as a device controller hands them over: vendor requests to the device, written from
// §1.2/§2.2 rather than taken from the models.
func gadgetVendorIn(t testing.TB, g *Gadget, req uint8, value, index uint16, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	got, ok := g.Control(usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToDevice, Request: req, Value: value, Index: index}, true, buf)
	if !ok {
		t.Fatalf("vendor IN %#02x value %#04x index %#04x stalled", req, value, index)
	}
	return buf[:got]
}

func gadgetVendorOut(t testing.TB, g *Gadget, req uint8, value, index uint16, data []byte) {
	t.Helper()
	if _, ok := g.Control(usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToDevice, Request: req, Value: value, Index: index}, false, data); !ok {
		t.Fatalf("vendor OUT %#02x value %#04x index %#04x stalled", req, value, index)
	}
}

func gadgetIn(t testing.TB, g *Gadget, ep uint8) ([]byte, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	buf := make([]byte, 64<<10)
	n, zlp, err := g.In(ctx, ep, buf)
	if err != nil {
		t.Fatalf("IN %#02x: %v", ep, err)
	}
	return buf[:n], zlp
}

func TestGadgetAnswersVendorRequestsToTheDevice(t *testing.T) {
	for _, tc := range []struct {
		speed usbnic.Speed
		usb   byte
	}{{usbnic.SpeedSuper, 0x04}, {usbnic.SpeedHigh, 0x02}} {
		g := NewGadget(AX88179, nil, tc.speed)
		if got := gadgetVendorIn(t, g, 0x01, 0x10, 6, 6); !bytes.Equal(got, ax179MAC[:]) {
			t.Errorf("%v: NODE_ID % x, want % x", tc.speed, got, ax179MAC)
		}
		if got := gadgetVendorIn(t, g, 0x01, 0x02, 1, 1); got[0] != tc.usb {
			t.Errorf("%v: PHYSICAL_LINK_STATUS %#02x, want %#02x", tc.speed, got[0], tc.usb)
		}
	}
}

func TestGadgetRunsUSB2ChipsAtHighSpeedOnASuperSpeedBus(t *testing.T) {
	g := NewGadget(AX88772, nil, usbnic.SpeedSuper)
	if g.Speed() != usbnic.SpeedHigh {
		t.Fatalf("speed %v, want high", g.Speed())
	}
	// bcdUSB 2.00 and a 64-byte ep0, not the SuperSpeed 3.x and 2^9.
	if d := g.DeviceDescriptor(); d[2] != 0x00 || d[3] != 0x02 || d[7] != 64 {
		t.Errorf("device descriptor % x", d)
	}
}

func TestGadgetStallsWhatTheModelRefuses(t *testing.T) {
	g := NewGadget(AX88179, nil, usbnic.SpeedHigh)
	for _, tc := range []struct {
		name string
		s    usbnic.Setup
		in   bool
		n    int
	}{
		{"unknown vendor request", usbnic.Setup{Type: usbnic.Vendor, Request: 0x55}, true, 2},
		{"MAC read with wIndex != wLength", usbnic.Setup{Type: usbnic.Vendor, Request: 0x01, Value: 0x10, Index: 6}, true, 4},
		{"vendor request to an interface", usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToInterface, Request: 0x01, Value: 0x10, Index: 6}, true, 6},
		{"SET_CONFIGURATION of a missing configuration", usbnic.Setup{Request: 0x09, Value: 7}, false, 0},
		{"SET_INTERFACE of a missing alternate setting", usbnic.Setup{Recipient: usbnic.ToInterface, Request: 0x0B, Value: 1}, false, 0},
	} {
		before := g.Stats().Stalls
		if n, ok := g.Control(tc.s, tc.in, make([]byte, tc.n)); ok {
			t.Errorf("%s: answered %d bytes, want a stall", tc.name, n)
		}
		if g.Stats().Stalls != before+1 {
			t.Errorf("%s: stall not counted", tc.name)
		}
	}
}

func TestGadgetUnconfiguredStallsFunctionRequests(t *testing.T) {
	g := NewGadget(AX88179, nil, usbnic.SpeedHigh)
	if !g.SetConfiguration(0) {
		t.Fatal("SetConfiguration(0) refused")
	}
	if _, ok := g.Control(usbnic.Setup{Type: usbnic.Vendor, Request: 0x01, Value: 0x10, Index: 6}, true, make([]byte, 6)); ok {
		t.Error("vendor request answered while unconfigured")
	}
	buf := make([]byte, 1)
	if n, ok := g.Control(usbnic.Setup{Request: 0x08}, true, buf); !ok || n != 1 || buf[0] != 0 {
		t.Errorf("GET_CONFIGURATION: %d bytes % x, %v; want 00", n, buf[:n], ok)
	}
	if _, _, err := g.In(bg, 0x81, make([]byte, 8)); !errors.Is(err, ErrInvalidState) {
		t.Errorf("IN while unconfigured: %v, want ErrInvalidState", err)
	}
	// SET_CONFIGURATION through Control, as GadgetFS hands it over.
	if _, ok := g.Control(usbnic.Setup{Request: 0x09, Value: 1}, false, nil); !ok {
		t.Fatal("SET_CONFIGURATION 1 stalled")
	}
	if got := gadgetVendorIn(t, g, 0x01, 0x10, 6, 6); !bytes.Equal(got, ax179MAC[:]) {
		t.Errorf("NODE_ID after configuring: % x", got)
	}
}

func TestGadgetSetInterfaceSelectsTheDataAlternate(t *testing.T) {
	g := NewGadget(CDCECM, nil, usbnic.SpeedHigh)
	if _, _, err := g.In(bg, 0x81, make([]byte, 64)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bulk IN in alternate setting 0: %v, want ErrNotFound", err)
	}
	if _, ok := g.Control(usbnic.Setup{Recipient: usbnic.ToInterface, Request: 0x0B, Value: 1, Index: 1}, false, nil); !ok {
		t.Fatal("SET_INTERFACE 1/1 stalled")
	}
	if g.Interface(1) != 1 {
		t.Errorf("interface 1 in alternate setting %d, want 1", g.Interface(1))
	}
	buf := make([]byte, 1)
	if n, ok := g.Control(usbnic.Setup{Recipient: usbnic.ToInterface, Request: 0x0A, Index: 1}, true, buf); !ok || n != 1 || buf[0] != 1 {
		t.Errorf("GET_INTERFACE: %d bytes % x, %v; want 01", n, buf[:n], ok)
	}
	// f_ecm tells the host the link is up once the data interface runs: CONNECTION_SPEED_CHANGE
	// or NETWORK_CONNECTION on the notification endpoint.
	note, zlp := gadgetIn(t, g, 0x85)
	if len(note) < 8 || note[0] != 0xA1 || zlp {
		t.Errorf("notification % x (zlp %v)", note, zlp)
	}
}

func TestGadgetInDeliversTheLinkInterrupt(t *testing.T) {
	g := NewGadget(AX88179, nil, usbnic.SpeedHigh, WithLinkDelay(time.Millisecond))
	gadgetVendorOut(t, g, 0x01, 0x26, 2, []byte{0x00, 0x00})
	gadgetVendorOut(t, g, 0x01, 0x26, 2, []byte{0x20, 0x00})
	got, zlp := gadgetIn(t, g, 0x81)
	if !bytes.Equal(got, []byte{0, 0, 1, 0, 0, 0, 0, 0}) || zlp {
		t.Errorf("link interrupt % x (zlp %v), want 00 00 01 00 00 00 00 00 and no ZLP: an interrupt transfer of wMaxPacketSize fills the host's read", got, zlp)
	}
}

func TestGadgetInReturnsWhenTheContextEnds(t *testing.T) {
	g := NewGadget(AX88179, nil, usbnic.SpeedHigh)
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if _, _, err := g.In(ctx, 0x82, make([]byte, 64<<10)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("IN with nothing to send: %v, want the context's deadline", err)
	}
}

func TestGadgetInIsAbortedBySetConfiguration(t *testing.T) {
	g := NewGadget(AX88179, nil, usbnic.SpeedHigh)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(bg, 5*time.Second)
		defer cancel()
		_, _, err := g.In(ctx, 0x82, make([]byte, 64<<10))
		done <- err
	}()
	eventually(t, "the IN transfer to wait", func() bool { return g.d.Outstanding() == 1 })
	g.SetConfiguration(1)
	if err := <-done; !errors.Is(err, ErrAborted) {
		t.Fatalf("IN across SET_CONFIGURATION: %v, want ErrAborted", err)
	}
}

func TestGadgetRejectsEndpointsOfTheWrongDirection(t *testing.T) {
	g := NewGadget(AX88179, nil, usbnic.SpeedHigh)
	if _, _, err := g.In(bg, 0x03, make([]byte, 8)); !errors.Is(err, ErrNotFound) {
		t.Errorf("In on OUT endpoint 0x03: %v", err)
	}
	if err := g.Out(0x82, make([]byte, 8)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Out on IN endpoint 0x82: %v", err)
	}
	if err := g.Out(0x05, make([]byte, 8)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Out on missing endpoint 0x05: %v", err)
	}
}

func TestGadgetOutTransmitsOnTheWire(t *testing.T) {
	q := NewQueue(8)
	g := NewGadget(AX88179, q, usbnic.SpeedHigh, WithLinkDelay(time.Millisecond))
	gadgetVendorOut(t, g, 0x01, 0x26, 2, []byte{0x20, 0x00})
	gadgetIn(t, g, 0x81) // link up
	f := frame(broadcast, 60, 1)
	// §1.9: LE32 length, LE32 0 (no TSO, no padding), the frame.
	xfer := append([]byte{60, 0, 0, 0, 0, 0, 0, 0}, f...)
	if err := g.Out(0x03, xfer); err != nil {
		t.Fatal(err)
	}
	if got := sent(t, q); len(got) != 1 || !bytes.Equal(got[0], f) {
		t.Fatalf("wire got %d frames, want the one sent", len(got))
	}
}

// The zero-length packet rule: a bulk-IN transfer that ends on a 512-byte boundary short of what
// the host reads needs one; an AX88772 burst of the full RX_CTL size fills Linux's 2048-byte read
// and must not have one (the host would see an empty transfer).
func TestGadgetInSaysWhenTheBusNeedsAZeroLengthPacket(t *testing.T) {
	t.Run("AX88179 aggregate of one 512-byte packet", func(t *testing.T) {
		q := NewQueue(8)
		g := NewGadget(AX88179, q, usbnic.SpeedHigh, WithLinkDelay(time.Millisecond))
		gadgetVendorOut(t, g, 0x01, 0x26, 2, []byte{0x20, 0x00})
		gadgetVendorOut(t, g, 0x01, 0x0B, 2, []byte{0x88, 0x02}) // RX_CTL START|AB|IPE
		gadgetVendorOut(t, g, 0x01, 0x22, 2, []byte{0x33, 0x01}) // MEDIUM ... RECEIVE_EN
		gadgetIn(t, g, 0x81)
		// 2 + 494 bytes pad to 496; two 8-byte metadata entries; 496 + 16 = 512.
		q.Push(frame(broadcast, 494, 1))
		got, zlp := gadgetIn(t, g, 0x82)
		if len(got) != 512 || !zlp {
			t.Errorf("%d bytes, zlp %v; want 512 and a ZLP", len(got), zlp)
		}
		q.Push(frame(broadcast, 60, 2))
		if got, zlp := gadgetIn(t, g, 0x82); len(got)%512 == 0 || zlp {
			t.Errorf("%d bytes, zlp %v; want a short transfer and no ZLP", len(got), zlp)
		}
	})
	t.Run("AX88772 stream", func(t *testing.T) {
		q := NewQueue(8)
		g := NewGadget(AX88772, q, usbnic.SpeedHigh, WithLinkDelay(time.Millisecond))
		gadgetVendorOut(t, g, 0x10, 0x0088, 0, nil) // RX_CTL SO|AB: 2 KiB bursts
		gadgetVendorOut(t, g, 0x1B, 0x0336, 0, nil) // MEDIUM with RE
		gadgetIn(t, g, 0x81)
		// A record is a 4-byte header and the frame: 4 + 508 = 512.
		q.Push(frame(broadcast, 508, 1))
		if got, zlp := gadgetIn(t, g, 0x82); len(got) != 512 || !zlp {
			t.Errorf("one record: %d bytes, zlp %v; want 512 and a ZLP", len(got), zlp)
		}
		for i := range 4 {
			q.Push(frame(broadcast, 508, byte(i)))
		}
		if got, zlp := gadgetIn(t, g, 0x82); len(got) != 2048 || zlp {
			t.Errorf("a full burst: %d bytes, zlp %v; want 2048 and no ZLP", len(got), zlp)
		}
	})
}

// gadgetFlood is an AX88179 on the device side of a high-speed bus, its receiver on, a flood
// of size-byte frames on its wire.
func gadgetFlood(t testing.TB, size int) *Gadget {
	t.Helper()
	g := NewGadget(AX88179, newFlood(frame(ax179MAC, size, 0)), usbnic.SpeedHigh, WithLinkDelay(time.Millisecond))
	gadgetVendorOut(t, g, 0x01, 0x26, 2, []byte{0x20, 0x00})
	gadgetIn(t, g, 0x81)
	gadgetVendorOut(t, g, 0x01, 0x0B, 2, []byte{0x88, 0x02})
	gadgetVendorOut(t, g, 0x01, 0x22, 2, []byte{0x33, 0x01})
	return g
}

// The device side's per-transfer path allocates nothing: an IN aggregate, an OUT frame.
func TestGadgetTransfersAllocateNothing(t *testing.T) {
	g := gadgetFlood(t, 64)
	buf := make([]byte, 64<<10)
	out := append([]byte{60, 0, 0, 0, 0, 0, 0, 0}, frame(peerMAC, 60, 0)...)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := g.In(bg, 0x82, buf); err != nil {
			t.Fatal(err)
		}
		if err := g.Out(0x03, out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per IN and OUT transfer", allocs)
	}
}

// BenchmarkGadgetIn is the device side of a bulk-IN flood: one AX88179 aggregate per
// iteration, built from the wire.
func BenchmarkGadgetIn(b *testing.B) {
	for _, size := range []int{64, 1514} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			g := gadgetFlood(b, size)
			buf := make([]byte, 64<<10)
			before := g.Stats()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, _, err := g.In(bg, 0x82, buf); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			after := g.Stats()
			b.ReportMetric(float64(after.RxFrames-before.RxFrames)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// The length of the device's reads on an OUT endpoint: f_ncm posts whole NTBs of
// dwNtbOutMaxSize on its bulk-OUT endpoint; no other model fixes one.
func TestGadgetOutTransferSize(t *testing.T) {
	for _, tc := range []struct {
		m    *Model
		ep   uint8
		want int
	}{
		{CDCNCM, gadgetLayout.out, 16384},
		{CDCNCM, gadgetLayout.in, 0},
		{CDCECM, gadgetLayout.out, 0},
		{AX88179, 0x03, 0},
		{AX88772, 0x03, 0},
	} {
		g := NewGadget(tc.m, nil, usbnic.SpeedHigh)
		if !g.SetConfiguration(1) {
			t.Fatalf("%s: SET_CONFIGURATION 1 refused", tc.m.Name)
		}
		if got := g.OutTransferSize(tc.ep); got != tc.want {
			t.Errorf("%s %#02x: %d, want %d", tc.m.Name, tc.ep, got, tc.want)
		}
	}
}
