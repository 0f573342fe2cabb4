package cdcncm

import (
	"bytes"
	"errors"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"webminiport/usbnic"
)

// capturedTx is the TX side as cdc_ncm negotiated it with the f_ncm gadget of the capture,
// set by hand from the README's GET_NTB_PARAMETERS table: 16384-byte NTBs, 40 datagrams, NDP16
// room 8 + 41*4, divisor 4 with remainder 0 (adjusted to (0-14)&3 = 2), NDP alignment 4,
// wMaxPacketSize 512, no padding below 16384 - 3*512.
func capturedTx() *ncm {
	return &ncm{f: &ntb16, rxMax: 16384, txMax: 16384, txMaxDatagrams: 40, ndpSize: 172, ndpAlign: 4,
		txModulus: 4, txRemainder: 2, minTxPkt: 14848, maxDatagram: 1514, maxPacket: 512}
}

// stale returns a buffer full of junk, as a reused transfer buffer would be.
func stale(n int) []byte { return bytes.Repeat([]byte{0xee}, n) }

// build appends the frames to one NTB and finishes it.
func build(t *testing.T, m *ncm, buf []byte, frames ...[]byte) []byte {
	t.Helper()
	used := 0
	for i, fr := range frames {
		n, _, err := m.TxAppend(nil, buf, used, fr)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		used = n
	}
	n, zlp := m.TxFinish(nil, buf, used)
	if zlp {
		t.Error("TxFinish asked for a ZLP")
	}
	return buf[:n]
}

func TestTxNTB16Golden(t *testing.T) {
	m := capturedTx()
	buf := stale(16384)
	got := build(t, m, buf, arpReply, frame20)
	// By hand: NTH16; NDP16 at 12 with room for 41 entries (to 184); the first datagram at
	// ALIGN(184,4)+2 = 186, the second at ALIGN(228,4)+2 = 230; the NTB ends at 250.
	want := []byte{'N', 'C', 'M', 'H', 0x0c, 0x00, 0x00, 0x00, 0xfa, 0x00, 0x0c, 0x00}
	want = append(want, 'N', 'C', 'M', '0', 0x14, 0x00, 0x00, 0x00, 0xba, 0x00, 0x2a, 0x00, 0xe6, 0x00, 0x14, 0x00)
	want = append(want, make([]byte, 186-len(want))...)
	want = append(want, arpReply...)
	want = append(want, 0x00, 0x00)
	want = append(want, frame20...)
	if !bytes.Equal(got, want) {
		t.Errorf("NTB\n% x\nwant\n% x", got, want)
	}
	// The next NTB carries wSequence 1.
	got = build(t, m, stale(16384), frame20)
	if got[6] != 0x01 || got[7] != 0x00 || len(got) != 206 {
		t.Errorf("second NTB: %d bytes, sequence % x", len(got), got[6:8])
	}
}

func TestTxNTB32Golden(t *testing.T) {
	m := capturedTx()
	m.f, m.ndpSize = &ntb32, 16+41*8
	got := build(t, m, stale(16384), arpReply)
	// By hand: NTH32 (16 bytes); NDP32 at 16 with room for 41 8-byte entries (to 360); the
	// datagram at ALIGN(360,4)+2 = 362 (0x16a); the NTB ends at 404 (0x194).
	want := []byte{'n', 'c', 'm', 'h', 0x10, 0x00, 0x00, 0x00, 0x94, 0x01, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00}
	want = append(want, 'n', 'c', 'm', '0', 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x6a, 0x01, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00)
	want = append(want, make([]byte, 362-len(want))...)
	want = append(want, arpReply...)
	if !bytes.Equal(got, want) {
		t.Errorf("NTB\n% x\nwant\n% x", got, want)
	}
}

func TestTxShortPacketByteWhenTheNTBIsAMultipleOf512(t *testing.T) {
	m := capturedTx()
	frame := make([]byte, 838) // 186 + 838 = 1024
	copy(frame, arpReply)
	got := build(t, m, stale(16384), frame)
	if len(got) != 1025 || got[1024] != 0x00 || got[8] != 0x01 || got[9] != 0x04 {
		t.Errorf("%d bytes, last %#x, wBlockLength % x; want 1025, 0, 01 04", len(got), got[len(got)-1], got[8:10])
	}
}

func TestTxPadsALongNTBToTheFullSize(t *testing.T) {
	m := capturedTx()
	buf := stale(16384)
	frame := make([]byte, 1514)
	copy(frame, arpReply)
	// Ten 1514-byte frames at 186, 1702, ..., 13830 end at 15344, above 14848.
	starts := []int{186, 1702, 3218, 4734, 6250, 7766, 9282, 10798, 12314, 13830}
	used := 0
	for i := range starts {
		n, flush, err := m.TxAppend(nil, buf, used, frame)
		if err != nil || flush {
			t.Fatalf("frame %d: %d, flush %v, %v", i, n, flush, err)
		}
		used = n
	}
	if used != 15344 {
		t.Fatalf("used %d, want 15344", used)
	}
	// An eleventh would start at 15346 and end past 16384.
	if n, flush, err := m.TxAppend(nil, buf, used, frame); !errors.Is(err, usbnic.ErrTxFull) || n != used || !flush {
		t.Fatalf("eleventh frame: %d, %v, %v; want ErrTxFull", n, flush, err)
	}
	n, _ := m.TxFinish(nil, buf, used)
	if n != 16384 || buf[8] != 0x00 || buf[9] != 0x40 {
		t.Errorf("%d bytes, wBlockLength % x; want 16384, 00 40", n, buf[8:10])
	}
	if !bytes.Equal(buf[15344:16384], make([]byte, 16384-15344)) {
		t.Error("padding is not zero")
	}
	for i, s := range starts {
		e := 12 + 8 + 4*i
		if got := int(le.Uint16(buf[e:])); got != s || le.Uint16(buf[e+2:]) != 1514 {
			t.Errorf("entry %d: index %d length %d, want %d 1514", i, got, le.Uint16(buf[e+2:]), s)
		}
	}
	if wl := le.Uint16(buf[16:]); wl != 8+4*11 {
		t.Errorf("NDP wLength %d, want 52", wl)
	}
}

func TestTxFlushesAtTheDatagramLimit(t *testing.T) {
	m := capturedTx()
	buf := stale(16384)
	frame := make([]byte, 64)
	used := 0
	for i := 1; i <= 40; i++ {
		n, flush, err := m.TxAppend(nil, buf, used, frame)
		if err != nil {
			t.Fatal(err)
		}
		if flush != (i == 40) {
			t.Fatalf("frame %d: flush %v", i, flush)
		}
		used = n
	}
	// 64-byte datagrams every 68 bytes from 186: the last ends at 186 + 39*68 + 64.
	if used != 2902 {
		t.Errorf("used %d, want 2902", used)
	}
}

func TestTxFlushesWhenNoFrameFitsAnyMore(t *testing.T) {
	m := capturedTx()
	buf := stale(16384)
	// A 1514-byte frame at 186, then one at 1702 ending at 16370: the next datagram would
	// start at 16374, and 14 bytes do not fit there.
	n, flush, err := m.TxAppend(nil, buf, 0, make([]byte, 1514))
	if err != nil || flush {
		t.Fatal(n, flush, err)
	}
	m.maxDatagram = 16184
	n, flush, err = m.TxAppend(nil, buf, n, make([]byte, 14668))
	if err != nil || !flush || n != 16370 {
		t.Errorf("%d, flush %v, %v; want 16370, true", n, flush, err)
	}
}

func TestTxAppendErrors(t *testing.T) {
	m := capturedTx()
	for _, tc := range []struct {
		name  string
		m     *ncm
		buf   []byte
		used  int
		frame []byte
		want  string
	}{
		{"shorter than a header", m, stale(16384), 0, arpReply[:13], "cdc_ncm: tx: 13-byte frame, want 14 to 1514 bytes"},
		{"longer than the datagram size", m, stale(16384), 0, make([]byte, 1515), "cdc_ncm: tx: 1515-byte frame, want 14 to 1514 bytes"},
		{"buffer smaller than the NTB", m, stale(2000), 0, arpReply, "cdc_ncm: tx: 2000-byte buffer is smaller than the 16384-byte NTB"},
		{"continuing an NTB never started", capturedTx(), stale(16384), 300, arpReply, "cdc_ncm: tx: 300 bytes in the buffer but no NTB was started"},
		// txMax 1698 (a device announcing dwNtbOutMaxSize 0): NTH, NDP room and the
		// alignment leave no room for a full-size frame, as in Linux.
		{"full frame in the smallest NTB", func() *ncm { s := capturedTx(); s.txMax, s.minTxPkt = 1698, 512; return s }(), stale(1698), 0, make([]byte, 1514),
			"cdc_ncm: tx: 1514-byte frame does not fit an empty 1698-byte NTB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := tc.m.TxAppend(nil, tc.buf, tc.used, tc.frame); err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTxFinishOfNothing(t *testing.T) {
	if n, zlp := capturedTx().TxFinish(nil, stale(16384), 0); n != 0 || zlp {
		t.Errorf("%d, %v", n, zlp)
	}
}

// TestTxRxRoundTripProperty builds NTBs from random frames and parses them back: the frames
// must come out as they went in, in order (the reference model is the list itself).
func TestTxRxRoundTripProperty(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for _, f := range []*format{&ntb16, &ntb32} {
		m := capturedTx()
		m.f = f
		m.ndpSize = f.ndpHdrLen + 41*f.dpeLen
		m.rxMax = m.txMax
		buf := stale(m.txMax)
		for round := 0; round < 200; round++ {
			var sent [][]byte
			used := 0
			for {
				fr := make([]byte, 14+rng.Intn(1514-14+1))
				rng.Read(fr)
				n, flush, err := m.TxAppend(nil, buf, used, fr)
				if errors.Is(err, usbnic.ErrTxFull) {
					break
				}
				if err != nil {
					t.Fatalf("seed %d %s round %d: %v", seed, f.name, round, err)
				}
				used = n
				sent = append(sent, fr)
				if flush || rng.Intn(8) == 0 {
					break
				}
			}
			n, _ := m.TxFinish(nil, buf, used)
			var got frames
			if err := m.RxFixup(nil, buf[:n], &got); err != nil {
				t.Fatalf("seed %d %s round %d: %v", seed, f.name, round, err)
			}
			if !reflect.DeepEqual(got.got, sent) {
				t.Fatalf("seed %d %s round %d: %d frames back, %d sent", seed, f.name, round, len(got.got), len(sent))
			}
		}
	}
}

func TestTxDoesNotAllocate(t *testing.T) {
	m := capturedTx()
	buf := stale(16384)
	frame := make([]byte, 64)
	allocs := testing.AllocsPerRun(1000, func() {
		used := 0
		for i := 0; i < 40; i++ {
			used, _, _ = m.TxAppend(nil, buf, used, frame)
		}
		m.TxFinish(nil, buf, used)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per NTB", allocs)
	}
}
