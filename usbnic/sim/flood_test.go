package sim

import (
	"bytes"
	"context"
	"testing"
	"time"

	"webminiport/usbnic"
	"webminiport/usbnic/sim/wire"
)

// floodRig is a device receiving from a flood wire with its receiver on, and the IN endpoint
// and transfer size its host driver would use.
type floodRig struct {
	d   *Device
	ep  uint8
	buf []byte
}

func newFloodRig(t testing.TB, m *Model, size int) floodRig {
	t.Helper()
	switch m {
	case AX88179:
		d := plug(t, AX88179, newFlood(frame(ax179MAC, size, 0)), WithLinkDelay(time.Millisecond), WithSpeed(usbnic.SpeedSuper))
		ax179Start(t, d)
		macWrite(t, d, 0x2E, 0x07, 0x4F, 0x00, 0x10, 0xFF) // aggregates up to 16 KiB
		return floodRig{d, 0x82, make([]byte, 16384)}
	case AX88772B:
		d := plug(t, AX88772B, newFlood(frame(ax772BMAC, size, 0)), WithLinkDelay(time.Millisecond))
		ax772Start(t, d)
		vendorOut(t, d, 0x10, 0x0388, 0, nil) // SO|AB, MFB 16 KiB
		return floodRig{d, 0x82, make([]byte, 16384)}
	case CDCECM:
		return floodRig{cdcStart(t, CDCECM, newFlood(frame(gadgetHostMAC, size, 0))), 0x81, make([]byte, 1514)}
	default:
		return floodRig{cdcStart(t, CDCNCM, newFlood(frame(gadgetHostMAC, size, 0))), 0x81, make([]byte, 16384)}
	}
}

func (r floodRig) fill(tb testing.TB) int {
	n, st, err := r.d.TransferIn(context.Background(), r.ep, r.buf)
	if err != nil || st != usbnic.StatusOK {
		tb.Fatalf("%d bytes, %v, %v", n, st, err)
	}
	return n
}

// The flood path allocates nothing per transfer or per frame, for every model.
func TestFloodFillAllocatesNothing(t *testing.T) {
	for _, m := range []*Model{AX88179, AX88772B, CDCECM, CDCNCM} {
		r := newFloodRig(t, m, 64)
		before := r.d.Stats().RxFrames
		allocs := testing.AllocsPerRun(100, func() { r.fill(t) })
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per transfer", m.Name, allocs)
		}
		if got := r.d.Stats().RxFrames - before; got < 101 {
			t.Errorf("%s: %d frames in 101 transfers", m.Name, got)
		}
	}
}

// One 16 KiB transfer holds as many 64-byte frames as the framing allows: AX88179 (80 bytes a
// frame with metadata, 8-byte trailer) 204; NCM 31 (the datagram limit).
func TestFloodFillsTheTransfer(t *testing.T) {
	for _, tc := range []struct {
		m      *Model
		frames uint64
	}{{AX88179, 204}, {CDCNCM, 31}, {CDCECM, 1}} {
		r := newFloodRig(t, tc.m, 64)
		before := r.d.Stats().RxFrames
		r.fill(t)
		if got := r.d.Stats().RxFrames - before; got != tc.frames {
			t.Errorf("%s: %d frames in one transfer, want %d", tc.m.Name, got, tc.frames)
		}
	}
}

func TestTransmitAllocatesNothing(t *testing.T) {
	for _, tc := range []struct {
		m    *Model
		ep   uint8
		data []byte
	}{
		{AX88179, 0x03, append(hx(t, "3c 00 00 00 00 00 00 00"), frame(peerMAC, 60, 0)...)},
		{AX88772B, 0x03, append(hx(t, "3c 00 c3 ff"), frame(peerMAC, 60, 0)...)},
		{CDCECM, 0x02, frame(peerMAC, 60, 0)},
		{CDCNCM, 0x02, ntb16Out(frame(peerMAC, 60, 0), frame(peerMAC, 1514, 1))},
	} {
		r := newFloodRig(t, tc.m, 64)
		if tc.m == AX88179 {
			macWrite(t, r.d, 0x35, 0x67) // TX checksum offload on: frames go through the scratch copy
		}
		allocs := testing.AllocsPerRun(100, func() {
			if _, st, err := r.d.TransferOut(context.Background(), tc.ep, tc.data); err != nil || st != usbnic.StatusOK {
				t.Fatal(st, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per OUT transfer", tc.m.Name, allocs)
		}
		if s := r.d.Stats(); s.TxErrors != 0 || s.TxFrames < 101 {
			t.Errorf("%s: stats %+v", tc.m.Name, s)
		}
	}
}

func benchFill(b *testing.B, m *Model) {
	for _, size := range []int{64, 1514} {
		b.Run(map[int]string{64: "64B", 1514: "1514B"}[size], func(b *testing.B) {
			runFill(b, newFloodRig(b, m, size))
		})
	}
}

// runFill times b.N bulk-IN transfers of r and reports frames per transfer and per second.
func runFill(b *testing.B, r floodRig) {
	before := r.d.Stats().RxFrames
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.fill(b)
	}
	frames := float64(r.d.Stats().RxFrames - before)
	b.ReportMetric(frames/float64(b.N), "frames/transfer")
	b.ReportMetric(frames/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkSimNCMFill fills one 16 KiB bulk-IN transfer (an NTB) from a flood wire.
func BenchmarkSimNCMFill(b *testing.B) { benchFill(b, CDCNCM) }

// BenchmarkSimAX88179Fill fills one 16 KiB bulk-IN transfer (an aggregate) from a flood wire.
func BenchmarkSimAX88179Fill(b *testing.B) { benchFill(b, AX88179) }

// onlyChecked hides a wire.Wire's runs (ToHostFlood) from the model: it takes the flood one
// frame at a time, with the checksums vouched for as in the runs.
type onlyChecked struct{ w *wire.Wire }

func (o onlyChecked) FromHost(f []byte)                    { o.w.FromHost(f) }
func (o onlyChecked) ToHost(buf []byte) int                { return o.w.ToHost(buf) }
func (o onlyChecked) ToHostChecked(buf []byte) (int, bool) { return o.w.ToHostChecked(buf) }
func (o onlyChecked) Ready() <-chan struct{}               { return o.w.Ready() }

// newWireRig is an AX88179 flooded by a wire.Wire, as the page has it: receive checksum offload
// on as Linux sets it, aggregates up to 16 KiB. With runs false the model sees only ToHost and
// ToHostChecked and takes the flood a frame at a time.
func newWireRig(tb testing.TB, size int, runs bool) floodRig {
	tb.Helper()
	w, err := wire.New(wire.Config{HostMAC: wire.MAC(ax179MAC)})
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Flood(size, 0); err != nil {
		tb.Fatal(err)
	}
	var plugged Wire = w
	if !runs {
		plugged = onlyChecked{w}
	}
	d := plug(tb, AX88179, plugged, WithLinkDelay(time.Millisecond), WithSpeed(usbnic.SpeedSuper))
	ax179Start(tb, d)
	macWrite(tb, d, 0x34, 0x67)
	macWrite(tb, d, 0x2E, 0x07, 0x4F, 0x00, 0x10, 0xFF)
	return floodRig{d, 0x82, make([]byte, 16384)}
}

// An AX88179 taking a flood in runs (ToHostFlood) hands the host the same transfers, byte for
// byte, and counts the same, as one taking it a frame at a time.
func TestAX88179FloodRunsGiveTheTransfersOfSingleFrames(t *testing.T) {
	for _, size := range []int{60, 61, 64, 1000, 1514} {
		runs, single := newWireRig(t, size, true), newWireRig(t, size, false)
		for k := range 5 {
			a, b := runs.fill(t), single.fill(t)
			if !bytes.Equal(runs.buf[:a], single.buf[:b]) {
				t.Fatalf("%d-byte flood, transfer %d: %d bytes in runs, %d a frame at a time, and they differ", size, k, a, b)
			}
		}
		if a, b := runs.d.Stats(), single.d.Stats(); a.RxFrames != b.RxFrames || a.RxBytes != b.RxBytes || a.RxFrames == 0 {
			t.Errorf("%d-byte flood: in runs %d frames %d bytes, a frame at a time %d frames %d bytes", size, a.RxFrames, a.RxBytes, b.RxFrames, b.RxBytes)
		}
	}
}

func TestAX88179FloodRunsAllocateNothing(t *testing.T) {
	r := newWireRig(t, 64, true)
	if allocs := testing.AllocsPerRun(100, func() { r.fill(t) }); allocs != 0 {
		t.Errorf("%.1f allocations per transfer", allocs)
	}
}

// BenchmarkSimAX88179FromWire fills one 16 KiB bulk-IN transfer from a wire.Wire flood, in runs
// (as the page's virtual adapter does) and a frame at a time.
func BenchmarkSimAX88179FromWire(b *testing.B) {
	for _, size := range []int{64, 1514} {
		for _, runs := range []bool{true, false} {
			name := map[int]string{64: "64B", 1514: "1514B"}[size] + map[bool]string{true: "/runs", false: "/single"}[runs]
			b.Run(name, func(b *testing.B) { runFill(b, newWireRig(b, size, runs)) })
		}
	}
}
