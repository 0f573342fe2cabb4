package ax88179

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"webminiport/usbnic"
)

// collect is a FrameSink that keeps a copy of every frame.
type collect struct{ frames [][]byte }

func (c *collect) Frame(f []byte) { c.frames = append(c.frames, append([]byte(nil), f...)) }

// count is a FrameSink that only counts, for allocation and speed measurements.
type count struct{ frames, bytes int }

func (c *count) Frame(f []byte) { c.frames++; c.bytes += len(f) }

// Two frames used throughout, written out by hand.
var (
	// 18 bytes: broadcast ARP-typed frame with a 4-byte payload.
	frameA = []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0xde, 0xad, 0xbe, 0xef,
	}
	// 15 bytes: multicast IPv4-typed frame with one payload byte.
	frameB = []byte{
		0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
		0x45,
	}
)

// oneFrame is frameA as current firmware sends it: pseudo header, frame, pad to 24; the
// metadata entry (pkt_len 20) and its dummy; padding2; rx_hdr (pkt_cnt 2, hdr_off 24).
var oneFrame = []byte{
	0x00, 0x00, // pseudo header
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
	0xde, 0xad, 0xbe, 0xef,
	0x00, 0x00, 0x00, 0x00, // pad to 8
	0x00, 0x00, 0x14, 0x00, // meta: pkt_len 20
	0x00, 0x00, 0x00, 0x80, // dummy: pkt_len 0, DROP_ERR
	0x00, 0x00, 0x00, 0x00, // padding2
	0x02, 0x00, 0x18, 0x00, // rx_hdr: pkt_cnt 2, hdr_off 24
}

// twoFrames is frameA and frameB (pkt_len 17, padded to 24), with dummies, without padding2.
var twoFrames = []byte{
	0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
	0xde, 0xad, 0xbe, 0xef,
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, // offset 24
	0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
	0x45,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pad 17 -> 24
	0x00, 0x00, 0x14, 0x00, // offset 48: meta A
	0x00, 0x00, 0x00, 0x80,
	0x00, 0x00, 0x11, 0x00, // meta B: pkt_len 17
	0x00, 0x00, 0x00, 0x80,
	0x04, 0x00, 0x30, 0x00, // pkt_cnt 4, hdr_off 48
}

func TestRxFixupOneFrameWithDummyAndPadding2(t *testing.T) {
	var c collect
	if err := New().RxFixup(nil, oneFrame, &c); err != nil {
		t.Fatal(err)
	}
	wantFrames(t, c.frames, frameA)
}

func TestRxFixupTwoFramesWithoutPadding2(t *testing.T) {
	var c collect
	if err := New().RxFixup(nil, twoFrames, &c); err != nil {
		t.Fatal(err)
	}
	wantFrames(t, c.frames, frameA, frameB)
}

func TestRxFixupOldFirmwareWithoutDummyEntries(t *testing.T) {
	transfer := []byte{
		0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0xde, 0xad, 0xbe, 0xef,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x14, 0x00, // meta A, no dummy
		0x01, 0x00, 0x18, 0x00, // pkt_cnt 1, hdr_off 24
	}
	var c collect
	if err := New().RxFixup(nil, transfer, &c); err != nil {
		t.Fatal(err)
	}
	wantFrames(t, c.frames, frameA)
}

func TestRxFixupLastPacketEndsTransferWhateverEntriesFollow(t *testing.T) {
	transfer := []byte{
		0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0xde, 0xad, 0xbe, 0xef,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x14, 0x00, // meta A: ends exactly at hdr_off
		0x00, 0x00, 0xff, 0x1f, // nonsense entry never looked at
		0x02, 0x00, 0x18, 0x00,
	}
	var c collect
	if err := New().RxFixup(nil, transfer, &c); err != nil {
		t.Fatal(err)
	}
	wantFrames(t, c.frames, frameA)
}

// spec builds a transfer the way §1.8 describes the firmware doing it; used for the N-frame
// and benchmark transfers, whose size makes writing them out byte by byte pointless.
func spec(frames [][]byte, dummies bool) []byte {
	var t []byte
	var meta []uint32
	for _, f := range frames {
		pktLen := len(f) + 2
		t = append(t, 0, 0)
		t = append(t, f...)
		for len(t)%8 != 0 {
			t = append(t, 0)
		}
		meta = append(meta, uint32(pktLen)<<16)
		if dummies {
			meta = append(meta, 0x80000000)
		}
	}
	hdrOff := len(t)
	for _, m := range meta {
		t = binary.LittleEndian.AppendUint32(t, m)
	}
	if (len(t)+4)%8 != 0 {
		t = append(t, 0, 0, 0, 0) // padding2
	}
	return binary.LittleEndian.AppendUint32(t, uint32(len(meta))|uint32(hdrOff)<<16)
}

func TestRxFixupNFramesOfEveryPaddingRemainder(t *testing.T) {
	var frames [][]byte
	for n := 14; n < 14+8; n++ { // pkt_len 16..23: every remainder mod 8
		f := make([]byte, n)
		for i := range f {
			f[i] = byte(n*7 + i)
		}
		frames = append(frames, f)
	}
	frames = append(frames, bytes.Repeat([]byte{0x5a}, 1514))
	for _, dummies := range []bool{false, true} {
		var c collect
		if err := New().RxFixup(nil, spec(frames, dummies), &c); err != nil {
			t.Fatal(err)
		}
		wantFrames(t, c.frames, frames...)
	}
}

// rxChecks violates each Linux check of §1.8 (numbered as there); the fuzz seeds in
// testdata/fuzz/FuzzRxFixup are these inputs.
var rxChecks = []struct {
	name    string
	in      []byte
	check   RxCheck
	offset  int
	entry   int
	dropped int
	frames  [][]byte // delivered before the check failed
}{
	{"1 transfer shorter than rx_hdr", []byte{0x01, 0x00, 0x00}, CheckShortTransfer, 0, -1, 0, nil},
	{"2 pkt_cnt zero", []byte{0, 0, 0, 0, 0x00, 0x00, 0x04, 0x00}, CheckNoPackets, 4, -1, 0, nil},
	{"3 metadata runs into rx_hdr", []byte{
		0, 0, 0, 0, 0, 0, 0, 0,
		0x02, 0x00, 0x04, 0x00, // pkt_cnt 2 at hdr_off 4: 4+8 > 8
	}, CheckMetadataBounds, 8, -1, 0, nil},
	{"6 packet runs past hdr_off", []byte{
		0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0x00, 0x00, 0x14, 0x00, // offset 16: meta says 20 (24 padded) but hdr_off is 16
		0x01, 0x00, 0x10, 0x00,
	}, CheckPacketBounds, 0, 0, 0, nil},
	{"6 second packet runs past hdr_off, first stays delivered", []byte{
		0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0xde, 0xad, 0xbe, 0xef,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 8 more bytes: A is not last
		0x00, 0x00, 0x14, 0x00, // offset 32: meta A
		0x00, 0x00, 0x14, 0x00, // meta 2: 24 bytes, only 8 left
		0x02, 0x00, 0x20, 0x00,
	}, CheckPacketBounds, 24, 1, 0, [][]byte{frameA}},
	{"7 CRC error skipped, next packet delivered", []byte{
		0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0xde, 0xad, 0xbe, 0xef,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00,
		0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
		0x45,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x14, 0x20, // meta A with CRC_ERR
		0x00, 0x00, 0x11, 0x00, // meta B
		0x02, 0x00, 0x30, 0x00,
	}, CheckFrameError, 0, 0, 1, [][]byte{frameB}},
	{"7 drop error on a real entry", []byte{
		0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0xde, 0xad, 0xbe, 0xef,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00,
		0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
		0x45,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x14, 0x00, // meta A
		0x00, 0x00, 0x11, 0x80, // meta B with DROP_ERR: skipped, and it was the last
		0x02, 0x00, 0x30, 0x00,
	}, CheckNoLastPacket, 48, -1, 1, [][]byte{frameA}},
	{"7 runt under 16 bytes", []byte{
		0x00, 0x00,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
		0x00, // pad 15 -> 16
		0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0xde, 0xad, 0xbe, 0xef,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x0f, 0x00, // offset 40: runt, pkt_len 15
		0x00, 0x00, 0x14, 0x00, // meta A
		0x02, 0x00, 0x28, 0x00,
	}, CheckRunt, 0, 0, 1, [][]byte{frameA}},
	{"8 no packet ends at hdr_off", []byte{
		0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0xde, 0xad, 0xbe, 0xef,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // slack before the metadata
		0x00, 0x00, 0x14, 0x00,
		0x00, 0x00, 0x00, 0x80,
		0x02, 0x00, 0x20, 0x00,
	}, CheckNoLastPacket, 24, -1, 0, [][]byte{frameA}},
	{"8 only dummy entries", []byte{
		0x00, 0x00, 0x00, 0x80,
		0x00, 0x00, 0x00, 0x80,
		0x02, 0x00, 0x00, 0x00,
	}, CheckNoLastPacket, 0, -1, 0, nil},
}

func TestRxFixupEveryLinuxCheck(t *testing.T) {
	for _, tc := range rxChecks {
		t.Run(tc.name, func(t *testing.T) {
			var c collect
			err := New().RxFixup(nil, tc.in, &c)
			var re *RxError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *RxError", err)
			}
			if re.Check != tc.check || re.Offset != tc.offset || re.Entry != tc.entry || re.Dropped != tc.dropped || re.Len != len(tc.in) {
				t.Errorf("got %+v (%v)\nwant check %v offset %d entry %d dropped %d", *re, err, tc.check, tc.offset, tc.entry, tc.dropped)
			}
			wantFrames(t, c.frames, tc.frames...)
			t.Log(err)
		})
	}
}

func TestRxErrorMessageNamesCheckAndOffset(t *testing.T) {
	err := New().RxFixup(nil, []byte{0, 0, 0, 0, 0x02, 0x00, 0x04, 0x00}, &count{})
	want := "ax88179 rx: metadata array runs past rx_hdr: rx_hdr 0x00040002, offset 4 of 8"
	if err == nil || err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

func wantFrames(t *testing.T, got [][]byte, want ...[]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d:\n got % x\nwant % x", i, got[i], want[i])
		}
	}
}

func TestRxFixupAllocatesNothing(t *testing.T) {
	m := New()
	var c count
	transfer := spec(framesOf(64, 16384), true)
	allocs := testing.AllocsPerRun(100, func() {
		if err := m.RxFixup(nil, transfer, &c); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per transfer", allocs)
	}
}

// framesOf fills one bulk-in transfer of at most size bytes with n-byte frames.
func framesOf(n, size int) [][]byte {
	per := (n+2+7)&^7 + 8 // padded packet plus entry and dummy
	var frames [][]byte
	for i := 0; (i+1)*per+8 <= size; i++ {
		f := make([]byte, n)
		f[0], f[n-1] = byte(i), byte(i>>8)
		frames = append(frames, f)
	}
	return frames
}

func BenchmarkAX88179RxFixup(b *testing.B) {
	for _, n := range []int{64, 1514} {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			transfer := spec(framesOf(n, 16384), true)
			m := New()
			var c count
			b.ReportAllocs()
			b.SetBytes(int64(len(transfer)))
			for b.Loop() {
				if err := m.RxFixup(nil, transfer, &c); err != nil {
					b.Fatal(err)
				}
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(c.frames)/secs, "frames/s")
			b.ReportMetric(float64(c.bytes)*8/secs/1e9, "Gb/s")
		})
	}
}

func FuzzRxFixup(f *testing.F) {
	f.Add(oneFrame)
	f.Add(twoFrames)
	f.Fuzz(func(t *testing.T, transfer []byte) {
		var c collect
		err := New().RxFixup(nil, transfer, &c)
		total := 0
		for _, fr := range c.frames {
			if len(fr) < 14 || len(fr) > 0x1fff-2 {
				t.Fatalf("delivered a %d-byte frame", len(fr))
			}
			total += len(fr) + 2
		}
		if total > len(transfer) {
			t.Fatalf("delivered %d bytes from a %d-byte transfer", total, len(transfer))
		}
		if err == nil && len(c.frames) == 0 {
			t.Fatal("accepted a transfer without delivering a frame")
		}
		var re *RxError
		if err != nil && (!errors.As(err, &re) || re.Check < CheckShortTransfer || re.Check > CheckNoLastPacket) {
			t.Fatalf("error %v is not a known RxError", err)
		}
	})
}

var _ usbnic.FrameSink = (*count)(nil)
