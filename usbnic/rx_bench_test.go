package usbnic_test

import (
	"context"
	"encoding/binary"
	"testing"

	"webminiport/ndis"
	"webminiport/pool"
	"webminiport/usbnic/nic"
	"webminiport/usbnic/sim"
)

// The receive benchmarks measure what the target names: rx fixup + indicate + return of
// 16 KiB bulk-IN transfers, per frame. The adapter is brought up for real (sim device, match
// table, minidriver bind, ndis adapter) with the cable unplugged, so no RX session runs, and
// prebuilt transfers are fed to the core's receive path directly (no goroutine hop per
// transfer). A protocol that returns every chain at once stands in for the capture protocol.

// transferSize is the bulk-IN transfer the benchmarks fill: 16 KiB, the NCM default NTB input
// size and about the AX88179's high-speed aggregation (24 KiB) and SuperSpeed one (20 KiB).
const transferSize = 16 * 1024

// returningProtocol returns every indicated chain at once and counts the frames.
type returningProtocol struct {
	a       *ndis.Adapter
	frames  int
	oidDone chan ndis.Status
}

func (p *returningProtocol) ReceiveNBLs(_ *pool.Pool, chain pool.NBL, count int, flags ndis.ReceiveFlags) {
	p.frames += count
	if flags&ndis.ReceiveResources == 0 {
		_ = p.a.ReturnNBLs(chain, 0)
	}
}
func (p *returningProtocol) SendComplete(pool.NBL, ndis.SendCompleteFlags) {}
func (p *returningProtocol) Status(ndis.StatusIndication)                  {}
func (p *returningProtocol) OIDRequestComplete(_ *ndis.OIDRequest, st ndis.Status) {
	p.oidDone <- st
}

// quietAdapter brings model up with the cable unplugged and a returning protocol bound, with
// the packet filter set to directed frames.
func quietAdapter(tb testing.TB, m *sim.Model) (*nic.Adapter, *returningProtocol) {
	tb.Helper()
	dev := sim.New(m, nil, sim.WithCable(false))
	ad, err := nic.Open(context.Background(), dev, nic.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	p := &returningProtocol{a: ad.NDIS, oidDone: make(chan ndis.Status, 1)}
	if err := ad.NDIS.Bind(p); err != nil {
		tb.Fatal(err)
	}
	if err := ad.Start(); err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, ndis.FilterDirected)
	req := &ndis.OIDRequest{Type: ndis.OIDSet, OID: ndis.OIDGenCurrentPacketFilter, Buffer: b}
	st, err := ad.NDIS.OIDRequest(req)
	if st == ndis.StatusPending {
		st = <-p.oidDone // the core programs the device on its kevent goroutine
	}
	if err != nil || st != ndis.StatusSuccess {
		tb.Fatal(st, err)
	}
	tb.Cleanup(func() {
		if err := ad.Close(context.Background()); err != nil {
			tb.Error(err)
		}
		if err := ad.NDIS.Unbind(); err != nil {
			tb.Error(err)
		}
		for _, r := range ad.NDIS.Reports() {
			tb.Errorf("misuse report: %v", r)
		}
	})
	return ad, p
}

// putFrame writes an Ethernet frame of size bytes to dst: to our MAC, from a peer, IPv4
// EtherType, the rest a counting pattern.
func putFrame(b []byte, dst [6]byte, size int) {
	copy(b[0:6], dst[:])
	copy(b[6:12], []byte{0x02, 0x77, 0, 0, 0, 0x50})
	b[12], b[13] = 0x08, 0x00
	for i := 14; i < size; i++ {
		b[i] = byte(i)
	}
}

// ax88179Transfer builds an AX88179 bulk-IN transfer of at most limit bytes holding as many
// frames of frameLen bytes as fit, laid out as specs/usbnic.md §1.8 describes: each packet is a
// 2-byte pseudo header and the frame, padded to 8 bytes; then one metadata entry per packet
// (pkt_len in bits 16-28, no error bits); then rx_hdr (pkt_cnt, hdr_off) in the last 4 bytes.
func ax88179Transfer(dst [6]byte, frameLen, limit int) (transfer []byte, frames int) {
	pktLen := 2 + frameLen
	padded := (pktLen + 7) &^ 7
	frames = (limit - 4) / (padded + 4)
	hdrOff := frames * padded
	b := make([]byte, hdrOff+4*frames+4)
	for i := range frames {
		putFrame(b[i*padded+2:], dst, frameLen)
		binary.LittleEndian.PutUint32(b[hdrOff+4*i:], uint32(pktLen)<<16)
	}
	binary.LittleEndian.PutUint32(b[len(b)-4:], uint32(hdrOff)<<16|uint32(frames))
	return b, frames
}

// ncmTransfer builds an NTB16 of at most limit bytes (specs/usbnic.md §4.2): NTH16 ("NCMH",
// wHeaderLength 12, wSequence, wBlockLength, wNdpIndex 12), one NDP16 right behind it ("NCM0",
// wLength covering the entries and the zero terminator, wNextNdpIndex 0), then the datagrams,
// each starting on a 4-byte boundary.
func ncmTransfer(dst [6]byte, frameLen, limit int) (transfer []byte, frames int) {
	const nth, ndpHdr = 12, 8
	step := (frameLen + 3) &^ 3
	frames = (limit - nth - ndpHdr - 4) / (4 + step)
	first := nth + ndpHdr + 4*(frames+1)
	b := make([]byte, first+frames*step)
	le := binary.LittleEndian
	le.PutUint32(b[0:], 0x484D434E)
	le.PutUint16(b[4:], nth)
	le.PutUint16(b[8:], uint16(len(b)))
	le.PutUint16(b[10:], nth)
	le.PutUint32(b[12:], 0x304D434E)
	le.PutUint16(b[16:], uint16(ndpHdr+4*(frames+1)))
	for i := range frames {
		off := first + i*step
		putFrame(b[off:], dst, frameLen)
		le.PutUint16(b[nth+ndpHdr+4*i:], uint16(off))
		le.PutUint16(b[nth+ndpHdr+4*i+2:], uint16(frameLen))
	}
	return b, frames
}

type transferBuilder func(dst [6]byte, frameLen, limit int) ([]byte, int)

// checkTransfer feeds one transfer and checks that every frame in it was indicated.
func checkTransfer(tb testing.TB, ad *nic.Adapter, p *returningProtocol, transfer []byte, frames int) {
	tb.Helper()
	before := p.frames
	ad.NIC.RxTransferForTest(transfer)
	if got := p.frames - before; got != frames {
		tb.Fatalf("%d frames indicated from a transfer of %d; stats %+v", got, frames, ad.NIC.Stats())
	}
}

func benchRx(b *testing.B, m *sim.Model, build transferBuilder, frameLen int) {
	ad, p := quietAdapter(b, m)
	transfer, frames := build(ad.NIC.Info().MAC, frameLen, transferSize)
	checkTransfer(b, ad, p, transfer, frames)
	b.SetBytes(int64(frames * frameLen))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ad.NIC.RxTransferForTest(transfer)
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	total := float64(b.N) * float64(frames)
	b.ReportMetric(total/sec, "frames/s")
	b.ReportMetric(total*float64(frameLen)*8/sec/1e9, "Gb/s")
	b.ReportMetric(float64(frames), "frames/transfer")
	if s := ad.NIC.Stats(); s.RxFixupErrors != 0 || s.RxFrameErrors != 0 {
		b.Fatalf("errors while benchmarking: %+v", s)
	}
}

// BenchmarkRxAX88179: AX88179 aggregated transfers (214 frames of 64 bytes, or 10 of 1514,
// per 16 KiB) through the trailer parser, the receive engine and back.
func BenchmarkRxAX88179(b *testing.B) {
	b.Run("64B", func(b *testing.B) { benchRx(b, sim.AX88179, ax88179Transfer, 64) })
	b.Run("1514B", func(b *testing.B) { benchRx(b, sim.AX88179, ax88179Transfer, 1514) })
}

// BenchmarkRxNCM: CDC-NCM NTB16s (240 frames of 64 bytes, or 10 of 1514, per 16 KiB) through
// the NTB parser, the receive engine and back.
func BenchmarkRxNCM(b *testing.B) {
	b.Run("64B", func(b *testing.B) { benchRx(b, sim.CDCNCM, ncmTransfer, 64) })
	b.Run("1514B", func(b *testing.B) { benchRx(b, sim.CDCNCM, ncmTransfer, 1514) })
}

// TestRxPathDoesNotAllocate: fixup, copy into NBLs, indication and return of a whole transfer
// make no heap allocation, for both aggregating framings and both frame sizes.
func TestRxPathDoesNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model *sim.Model
		build transferBuilder
	}{
		{"AX88179", sim.AX88179, ax88179Transfer},
		{"CDC-NCM", sim.CDCNCM, ncmTransfer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ad, p := quietAdapter(t, tc.model)
			for _, size := range []int{64, 1514} {
				transfer, frames := tc.build(ad.NIC.Info().MAC, size, transferSize)
				checkTransfer(t, ad, p, transfer, frames)
				if allocs := testing.AllocsPerRun(100, func() { ad.NIC.RxTransferForTest(transfer) }); allocs != 0 {
					t.Errorf("%d-byte frames: %v allocations per transfer, want 0", size, allocs)
				}
			}
			if s := ad.NIC.Stats(); s.RxFixupErrors != 0 || s.RxFrameErrors != 0 || s.RxTransfers == 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}
