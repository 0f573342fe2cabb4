//go:build js && wasm

package webusb

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/pool"
	"webminiport/usbnic/nic"
	"webminiport/usbnic/sim"
	"webminiport/usbnic/sim/wire"
)

// countingProtocol counts received frames and returns every NBL at once: the cheapest protocol,
// so that the benchmark measures the path below it. It tells done when the count reaches
// target.
type countingProtocol struct {
	a       *ndis.Adapter
	frames  atomic.Int64
	target  atomic.Int64
	done    chan struct{}
	oidDone chan ndis.Status
}

func (p *countingProtocol) ReceiveNBLs(_ *pool.Pool, chain pool.NBL, count int, flags ndis.ReceiveFlags) {
	n := p.frames.Add(int64(count))
	if flags&ndis.ReceiveResources == 0 {
		_ = p.a.ReturnNBLs(chain, 0)
	}
	if t := p.target.Load(); t > 0 && n >= t && p.target.CompareAndSwap(t, 0) {
		p.done <- struct{}{}
	}
}

// waitFrames waits until n more frames arrived. It waits on a channel: while frames arrive
// faster than the path takes them the fake settles every transfer in a microtask, and the
// browser's event loop runs no timer until the flood stops.
func (p *countingProtocol) waitFrames(n int) {
	p.target.Store(p.frames.Load() + int64(n))
	<-p.done
}

func (p *countingProtocol) SendComplete(pool.NBL, ndis.SendCompleteFlags)         {}
func (p *countingProtocol) Status(ndis.StatusIndication)                          {}
func (p *countingProtocol) OIDRequestComplete(_ *ndis.OIDRequest, st ndis.Status) { p.oidDone <- st }

// setFilter sets the packet filter to directed and broadcast frames (the wire floods to the
// broadcast address until it learned the host's MAC) and waits for the set to complete: with
// none set the receive engine drops every frame.
func (p *countingProtocol) setFilter(b *testing.B) {
	st, err := p.a.OIDRequest(&ndis.OIDRequest{Type: ndis.OIDSet, OID: ndis.OIDGenCurrentPacketFilter,
		Buffer: binary.LittleEndian.AppendUint32(nil, ndis.FilterDirected|ndis.FilterBroadcast)})
	must(b, err)
	if st == ndis.StatusPending {
		select {
		case st = <-p.oidDone:
		case <-time.After(patience):
			b.Fatal("the packet filter set never completed")
		}
	}
	if st != ndis.StatusSuccess {
		b.Fatalf("packet filter: %v", st)
	}
}

// BenchmarkWebUSBRx is the receive path in the browser: the wire floods frames of one size to a
// CDC-NCM gadget (16 KiB NTBs: f_ncm's dwNtbInMaxSize; several transfers in flight), whose
// transfers go through the fake navigator.usb and the WebUSB transport (a promise per transfer,
// the data copied out of a DataView) into the usbnic core, the minidriver's rx fixup and the
// receive engine, which indicates them to a protocol that returns them at once. One op is one
// frame. Each size runs twice: "direct", the same device and core with the sim device as the
// transport (no JavaScript), then "webusb"; the difference of their µs/transfer is the cost of
// the JS boundary per transfer, reported as js-µs/transfer. It is only that while the direct
// path is the slower one's bottleneck: where both keep up with line rate (1514-byte frames) the
// paced flood leaves them idle between frames, and the difference is near zero.
//
// The flood is paced at gigabit line rate for its frame size, as nothing faster could come from
// a real adapter. When the path is slower than that (64-byte frames) the device always has
// frames and the browser runs no timer until the flood stops, so the benchmark waits on
// channels only (waitFrames). Reported: frames/s, Gb/s of frame bytes for 1514-byte frames,
// frames per transfer, and µs/transfer, the elapsed time per bulk-IN transfer (transfers
// overlap, so it is the cost per transfer of the whole path, not one transfer's latency). B/op
// and allocs/op count the whole program, including the fake, the sim and syscall/js.
func BenchmarkWebUSBRx(b *testing.B) {
	direct := map[int]float64{} // µs/transfer of the direct run, by frame size
	for _, bc := range []struct {
		name string
		size int // frame bytes without FCS
	}{
		{"64B", 60},
		{"1514B", 1514},
	} {
		b.Run(bc.name+"/direct", func(b *testing.B) {
			w, err := wire.New(wire.Config{})
			must(b, err)
			ctx, cancel := context.WithTimeout(bg, patience)
			defer cancel()
			ad, err := nic.Open(ctx, sim.New(sim.CDCNCM, w, sim.WithLinkDelay(2*time.Millisecond)), nic.Options{})
			must(b, err)
			direct[bc.size] = benchRx(b, ad, w, bc.size)
		})
		b.Run(bc.name+"/webusb", func(b *testing.B) {
			r := newWebRig(b, sim.CDCNCM, nic.Options{})
			us := benchRx(b, r.ad, r.w, bc.size)
			if d, ok := direct[bc.size]; ok && us > 0 {
				b.ReportMetric(us-d, "js-µs/transfer")
			}
		})
	}
}

// benchRx floods ad with frames of size bytes from w and measures b.N of them arriving. It
// returns the µs per bulk-IN transfer (0 when none completed) and closes the adapter.
func benchRx(b *testing.B, ad *nic.Adapter, w *wire.Wire, size int) float64 {
	p := &countingProtocol{a: ad.NDIS, done: make(chan struct{}, 1), oidDone: make(chan ndis.Status, 1)}
	must(b, ad.NDIS.Bind(p))
	b.Cleanup(func() {
		must(b, ad.Close(bg))
		must(b, ad.NDIS.Unbind())
	})
	must(b, ad.Start())
	p.setFilter(b)
	waitFor(b, "link up", func() bool { return ad.NDIS.Link().MediaConnect == ndis.MediaConnectConnected })
	if sz := ad.NIC.Info().RxBufferSize; sz != 16<<10 {
		b.Fatalf("bulk-IN transfers of %d bytes, want 16 KiB", sz)
	}
	must(b, w.Flood(size, wire.LineRate(size)))
	// Past the start: buffers sized, every transfer slot busy. The waits are on channels, not
	// timers: see above.
	p.waitFrames(2000)

	s0 := ad.NIC.Stats()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	p.waitFrames(b.N)
	b.StopTimer()
	s1 := ad.NIC.Stats()
	w.Quiet()

	elapsed := b.Elapsed().Seconds()
	transfers := float64(s1.RxTransfers - s0.RxTransfers)
	frames := float64(s1.RxFrames - s0.RxFrames)
	b.ReportMetric(float64(b.N)/elapsed, "frames/s")
	if size == 1514 {
		b.ReportMetric(float64(b.N)*float64(size)*8/elapsed/1e9, "Gb/s")
	}
	if transfers == 0 {
		return 0
	}
	us := elapsed * 1e6 / transfers
	b.ReportMetric(us, "µs/transfer")
	b.ReportMetric(frames/transfers, "frames/transfer")
	return us
}
