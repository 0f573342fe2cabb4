package cdcncm

import (
	"bytes"
	"reflect"
	"testing"
)

// arpReply is the ARP reply of the capture's first one-datagram NTB, written out by hand:
// 02:00:00:00:00:01 (192.168.78.1) tells 02:00:00:00:00:02 (192.168.78.2).
var arpReply = []byte{
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0, 0xa8, 0x4e, 0x01,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0xc0, 0xa8, 0x4e, 0x02,
}

// ntbOneARP is the 72-byte NTB16 the README describes ("a one-ARP-reply NTB is 72 bytes, with
// the datagram at 12+42 and the NDP at 56"), laid out by hand from the NCM specification in
// f_ncm's style: NTH, datagram, pad to 4, NDP at the end.
func ntbOneARP() []byte {
	b := []byte{
		'N', 'C', 'M', 'H', // dwSignature
		0x0c, 0x00, // wHeaderLength 12
		0x00, 0x00, // wSequence
		0x48, 0x00, // wBlockLength 72
		0x38, 0x00, // wNdpIndex 56
	}
	b = append(b, arpReply...) // offset 12..54
	b = append(b, 0x00, 0x00)  // pad to 56
	b = append(b,
		'N', 'C', 'M', '0', // NDP16 dwSignature
		0x10, 0x00, // wLength 16
		0x00, 0x00, // wNextNdpIndex
		0x0c, 0x00, 0x2a, 0x00, // datagram at 12, 42 bytes
		0x00, 0x00, 0x00, 0x00, // terminator
	)
	return b
}

// ntbTwoFrames has two datagrams: arpReply at 12 and a 20-byte frame at 56, the NDP at 76.
var frame20 = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5, 1, 2, 3, 4, 5, 6}

func ntbTwoFrames() []byte {
	b := []byte{'N', 'C', 'M', 'H', 0x0c, 0x00, 0x00, 0x00, 0x60, 0x00, 0x4c, 0x00} // length 96, NDP at 76
	b = append(b, arpReply...)
	b = append(b, 0x00, 0x00)
	b = append(b, frame20...) // 56..76
	b = append(b,
		'N', 'C', 'M', '0', 0x14, 0x00, 0x00, 0x00, // wLength 20
		0x0c, 0x00, 0x2a, 0x00, // 12, 42
		0x38, 0x00, 0x14, 0x00, // 56, 20
		0x00, 0x00, 0x00, 0x00,
	)
	return b
}

// ntb32OneARP is the same ARP reply in an NTB32, by hand: NTH32 (16 bytes), the datagram at
// 16, pad to 60, NDP32 (16-byte header, two 8-byte entries) at 60, 92 bytes in all.
func ntb32OneARP() []byte {
	b := []byte{
		'n', 'c', 'm', 'h',
		0x10, 0x00, // wHeaderLength 16
		0x00, 0x00, // wSequence
		0x5c, 0x00, 0x00, 0x00, // dwBlockLength 92
		0x3c, 0x00, 0x00, 0x00, // dwNdpIndex 60
	}
	b = append(b, arpReply...) // 16..58
	b = append(b, 0x00, 0x00)
	b = append(b,
		'n', 'c', 'm', '0',
		0x20, 0x00, // wLength 32
		0x00, 0x00, // wReserved6
		0x00, 0x00, 0x00, 0x00, // dwNextNdpIndex
		0x00, 0x00, 0x00, 0x00, // dwReserved12
		0x10, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, // datagram at 16, 42 bytes
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // terminator
	)
	return b
}

// patch returns a copy of b with the bytes at off replaced.
func patch(b []byte, off int, v ...byte) []byte {
	c := append([]byte(nil), b...)
	copy(c[off:], v)
	return c
}

// frames collects what RxFixup delivers.
type frames struct{ got [][]byte }

func (s *frames) Frame(b []byte) { s.got = append(s.got, append([]byte(nil), b...)) }

// counter counts frames without keeping them.
type counter struct{ n, bytes int }

func (c *counter) Frame(b []byte) { c.n++; c.bytes += len(b) }

func TestRxNTB16(t *testing.T) {
	one, two := ntbOneARP(), ntbTwoFrames()
	// An NDP whose next pointer leads back to itself: Linux follows 50 links, so 51 passes.
	loop := patch(one, 62, 0x38, 0x00)
	loopWant := make([][]byte, 51)
	for i := range loopWant {
		loopWant[i] = arpReply
	}
	// Two NDPs: the first (at 56) skips to a second appended at 72 holding the same datagram.
	chained := append(patch(one, 62, 0x48, 0x00), 'N', 'C', 'M', '0', 0x10, 0, 0, 0, 0x0c, 0, 0x2a, 0, 0, 0, 0, 0)
	for _, tc := range []struct {
		name  string
		rxMax int
		in    []byte
		want  [][]byte
		err   string
	}{
		{"one ARP reply", 16384, one, [][]byte{arpReply}, ""},
		{"two datagrams", 16384, two, [][]byte{arpReply, frame20}, ""},
		{"chained NDPs", 16384, chained, [][]byte{arpReply, arpReply}, ""},
		{"entries after a null first entry are ignored", 16384, patch(two, 84, 0, 0, 0, 0), nil, "cdc_ncm: rx: NDP16 at offset 76 has no datagrams"},
		{"null second entry ends the table", 16384, patch(two, 88, 0, 0), [][]byte{arpReply}, ""},
		{"wSequence and wHeaderLength are not checked", 16384, patch(one, 4, 0x99, 0x00, 0x34, 0x12), [][]byte{arpReply}, ""},
		{"wBlockLength is not compared with the transfer", 16384, patch(one, 8, 0x00, 0x40), [][]byte{arpReply}, ""},
		// Linux check 1: NTH16 + NDP16 must fit.
		{"shorter than NTH and NDP", 16384, one[:19], nil, "cdc_ncm: rx: 19-byte transfer is shorter than NTH and NDP16 headers (20 bytes)"},
		// 2: NTH signature.
		{"bad NTH signature", 16384, patch(one, 0, 'n', 'c', 'm', 'h'), nil, "cdc_ncm: rx: NTH signature 0x686d636e, want 0x484d434e (NCMH, NTB16)"},
		// 3: wBlockLength above the negotiated size.
		{"block length above rx size", 16384, patch(one, 8, 0x01, 0x40), nil, "cdc_ncm: rx: block length 16385 exceeds the 16384-byte NTB input size"},
		// 6: NDP header inside the transfer.
		{"NDP past the end", 16384, patch(one, 10, 0x41, 0x00), nil, "cdc_ncm: rx: NDP16 at offset 65 runs past the end of the 72-byte NTB"},
		{"NDP index far away", 16384, patch(one, 10, 0xff, 0xff), nil, "cdc_ncm: rx: NDP16 at offset 65535 runs past the end of the 72-byte NTB"},
		// 7: wLength at least 16.
		{"NDP wLength below 16", 16384, patch(one, 60, 0x0c, 0x00), nil, "cdc_ncm: rx: NDP16 at offset 56: wLength 12, want at least 16"},
		// 8: the entries wLength announces must fit.
		{"NDP entries past the end", 16384, patch(one, 60, 0x20, 0x00), nil, "cdc_ncm: rx: NDP16 at offset 56: wLength 32 (5 datagram entries) runs past the end of the 72-byte NTB"},
		// 9: NCM1 (CRC) is not accepted; the NDP is skipped.
		{"NDP with CRC signature", 16384, patch(one, 59, '1'), nil, "cdc_ncm: rx: NDP16 at offset 56: signature 0x314d434e, want 0x304d434e (NCM0, no CRC); skipped"},
		{"skipped NDP, next one still read", 16384, patch(chained, 59, '1'), [][]byte{arpReply}, "cdc_ncm: rx: NDP16 at offset 56: signature 0x314d434e, want 0x304d434e (NCM0, no CRC); skipped"},
		// 10: a null first entry.
		{"empty NDP", 16384, patch(one, 64, 0, 0), nil, "cdc_ncm: rx: NDP16 at offset 56 has no datagrams"},
		{"zero length first entry", 16384, patch(one, 66, 0, 0), nil, "cdc_ncm: rx: NDP16 at offset 56 has no datagrams"},
		// 11: datagram bounds.
		{"index beyond the transfer", 16384, patch(one, 64, 0x49, 0x00), nil, "cdc_ncm: rx: NDP16 at offset 56, datagram 0: index 73 is beyond the 72-byte NTB"},
		{"length past the end", 16384, patch(one, 66, 0x3d, 0x00), nil, "cdc_ncm: rx: NDP16 at offset 56, datagram 0: length 61 at index 12 runs past the end of the 72-byte NTB"},
		{"length above rx size", 40, patch(one, 8, 0x00, 0x00), nil, "cdc_ncm: rx: NDP16 at offset 56, datagram 0: length 42 exceeds the 40-byte NTB input size"},
		{"shorter than an Ethernet header", 16384, patch(one, 66, 0x0d, 0x00), nil, "cdc_ncm: rx: NDP16 at offset 56, datagram 0: length 13 is shorter than an Ethernet header (14)"},
		{"bad second datagram keeps the first", 16384, patch(two, 90, 0x0d, 0x00), [][]byte{arpReply}, "cdc_ncm: rx: NDP16 at offset 76, datagram 1: length 13 is shorter than an Ethernet header (14)"},
		// 13: at most 50 NDPs followed after the first.
		{"NDP loop", 16384, loop, loopWant, "cdc_ncm: rx: more than 51 chained NDPs; the rest ignored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &ncm{f: &ntb16, rxMax: tc.rxMax}
			var s frames
			err := m.RxFixup(nil, tc.in, &s)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("error\n %v\nwant\n %q", err, tc.err)
				}
			} else if err != nil {
				t.Error(err)
			}
			if !reflect.DeepEqual(s.got, tc.want) {
				t.Errorf("%d frames %x\nwant %d %x", len(s.got), s.got, len(tc.want), tc.want)
			}
		})
	}
}

func TestRxNTB32(t *testing.T) {
	one := ntb32OneARP()
	for _, tc := range []struct {
		name string
		in   []byte
		want [][]byte
		err  string
	}{
		{"one ARP reply", one, [][]byte{arpReply}, ""},
		{"shorter than NTH32 and NDP32", one[:31], nil, "cdc_ncm: rx: 31-byte transfer is shorter than NTH and NDP32 headers (32 bytes)"},
		{"NTB16 signature", patch(one, 0, 'N', 'C', 'M', 'H'), nil, "cdc_ncm: rx: NTH signature 0x484d434e, want 0x686d636e (ncmh, NTB32)"},
		{"block length above rx size", patch(one, 8, 0x01, 0x40, 0x00, 0x00), nil, "cdc_ncm: rx: block length 16385 exceeds the 16384-byte NTB input size"},
		{"32-bit NDP index past the end", patch(one, 12, 0x00, 0x00, 0x00, 0x80), nil, "cdc_ncm: rx: NDP32 at offset 2147483648 runs past the end of the 92-byte NTB"},
		{"wLength below 32", patch(one, 64, 0x18, 0x00), nil, "cdc_ncm: rx: NDP32 at offset 60: wLength 24, want at least 32"},
		// The 2025 fix: the entries are checked from the NDP's offset, not from 0.
		{"entries past the end", patch(one, 64, 0x30, 0x00), nil, "cdc_ncm: rx: NDP32 at offset 60: wLength 48 (3 datagram entries) runs past the end of the 92-byte NTB"},
		{"ncm1 signature", patch(one, 63, '1'), nil, "cdc_ncm: rx: NDP32 at offset 60: signature 0x316d636e, want 0x306d636e (ncm0, no CRC); skipped"},
		{"32-bit index beyond", patch(one, 76, 0x00, 0x00, 0x00, 0x01), nil, "cdc_ncm: rx: NDP32 at offset 60, datagram 0: index 16777216 is beyond the 92-byte NTB"},
		{"32-bit length that would wrap", patch(one, 80, 0xff, 0xff, 0xff, 0xff), nil, "cdc_ncm: rx: NDP32 at offset 60, datagram 0: length 4294967295 at index 16 runs past the end of the 92-byte NTB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &ncm{f: &ntb32, rxMax: 16384}
			var s frames
			err := m.RxFixup(nil, tc.in, &s)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("error\n %v\nwant\n %q", err, tc.err)
				}
			} else if err != nil {
				t.Error(err)
			}
			if !reflect.DeepEqual(s.got, tc.want) {
				t.Errorf("frames %x, want %x", s.got, tc.want)
			}
		})
	}
}

func TestRxFixupDoesNotAllocate(t *testing.T) {
	m := &ncm{f: &ntb16, rxMax: 16384}
	ntb := ntbTwoFrames()
	var c counter
	if a := testing.AllocsPerRun(1000, func() { _ = m.RxFixup(nil, ntb, &c) }); a != 0 {
		t.Errorf("%v allocations per NTB", a)
	}
}

// fullNTB16 builds a 16 KiB NTB16 in f_ncm's layout (datagrams from offset 12, 4-aligned, the
// NDP at the end) holding as many frames of size frameLen as fit. Test input only.
func fullNTB16(frameLen int) ([]byte, int) {
	const size = 16384
	stride := (frameLen + 3) &^ 3
	n := (size - 12 - 8 - 4) / (stride + 4) // each datagram costs its bytes and a 4-byte entry
	ndp := 12 + n*stride
	b := make([]byte, ndp+8+4*(n+1))
	copy(b, []byte{'N', 'C', 'M', 'H', 12, 0})
	le.PutUint16(b[8:], uint16(len(b)))
	le.PutUint16(b[10:], uint16(ndp))
	copy(b[ndp:], []byte{'N', 'C', 'M', '0'})
	le.PutUint16(b[ndp+4:], uint16(8+4*(n+1)))
	for i := 0; i < n; i++ {
		off := 12 + i*stride
		copy(b[off:], bytes.Repeat([]byte{byte(i)}, frameLen))
		le.PutUint16(b[ndp+8+4*i:], uint16(off))
		le.PutUint16(b[ndp+10+4*i:], uint16(frameLen))
	}
	return b, n
}

func TestFullNTBDeliversEveryFrame(t *testing.T) {
	ntb, n := fullNTB16(64)
	m := &ncm{f: &ntb16, rxMax: 16384}
	var c counter
	if err := m.RxFixup(nil, ntb, &c); err != nil || c.n != n || n != 240 {
		t.Errorf("%d of %d frames (want 240), %v", c.n, n, err)
	}
}

// BenchmarkNCMRxFixup splits 16 KiB NTBs full of 64-byte frames (240 per NTB).
func BenchmarkNCMRxFixup(b *testing.B) {
	ntb, n := fullNTB16(64)
	m := &ncm{f: &ntb16, rxMax: 16384}
	var c counter
	b.ReportAllocs()
	b.SetBytes(int64(len(ntb)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.RxFixup(nil, ntb, &c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "frames/s")
	if c.n != b.N*n {
		b.Fatalf("%d frames, want %d", c.n, b.N*n)
	}
}
