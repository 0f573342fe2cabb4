package sim

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"webminiport/usbnic"
)

var ax772BMAC = [6]byte{0x00, 0x0E, 0xC6, 0x87, 0x72, 0x03}

// mii772 reads a PHY register the way §2.2 says: SET_SW_MII, poll STATMNGSTS for HOST_EN,
// READ_MII_REG, SET_HW_MII.
func mii772(t testing.TB, d *Device, reg uint16) uint16 {
	t.Helper()
	vendorOut(t, d, 0x06, 0, 0, nil)
	if s := vendorIn(t, d, 0x09, 0, 0, 1); s[0]&0x01 == 0 {
		t.Fatalf("HOST_EN not set: %#02x", s[0])
	}
	v := binary.LittleEndian.Uint16(vendorIn(t, d, 0x07, 0x10, reg, 2))
	vendorOut(t, d, 0x0A, 0, 0, nil)
	return v
}

// ax772Start is the AX88772A/B reset of §2.3, then RX on, and waits for the link interrupt.
func ax772Start(t testing.TB, d *Device) {
	t.Helper()
	vendorOut(t, d, 0x1F, 0x0080, 0, nil) // WRITE_GPIOS RSE
	vendorOut(t, d, 0x22, 0x0011, 0, nil) // SW_PHY_SELECT embedded|SSEN
	vendorOut(t, d, 0x20, 0x0060, 0, nil) // IPPD|IPRL
	vendorOut(t, d, 0x20, 0x0020, 0, nil) // IPRL
	vendorOut(t, d, 0x20, 0x0000, 0, nil)
	vendorOut(t, d, 0x20, 0x0020, 0, nil)
	vendorOut(t, d, 0x12, 0x001D, 0x0012, nil) // WRITE_IPG0
	vendorOut(t, d, 0x10, 0x0088, 0, nil)      // RX_CTL SO|AB
	vendorOut(t, d, 0x1B, 0x0336, 0, nil)      // MEDIUM FD|RFC|TFC|PS|AC|RE
	if got, _ := in(t, d, 0x81, 8); !bytes.Equal(got, []byte{0, 0, 1, 0, 0, 0, 0, 0}) {
		t.Fatalf("link interrupt % x", got)
	}
}

func TestAX88772MDIONeedsTheSoftwareHandshake(t *testing.T) {
	for _, tc := range []struct {
		m    *Model
		chip byte
		id   uint32
	}{{AX88772, 0x00, 0x003b1861}, {AX88772A, 0x10, 0x003b1861}, {AX88772B, 0x20, 0x003b1881}} {
		d := plug(t, tc.m, nil)
		if st := vendorInStatus(d, 0x07, 0x10, 0x02, 2); st != usbnic.StatusStall {
			t.Errorf("%s: READ_MII before SET_SW_MII: %v, want stall", tc.m.Name, st)
		}
		if s := vendorIn(t, d, 0x09, 0, 0, 1); s[0] != tc.chip {
			t.Errorf("%s: STATMNGSTS %#02x, want chip code %#02x", tc.m.Name, s[0], tc.chip)
		}
		if got := vendorIn(t, d, 0x19, 0, 0, 2); got[1] != 0x10 {
			t.Errorf("%s: READ_PHY_ID % x: internal PHY not at 0x10", tc.m.Name, got)
		}
		if id := uint32(mii772(t, d, 2))<<16 | uint32(mii772(t, d, 3)); id != tc.id {
			t.Errorf("%s: PHY ID %#08x, want %#08x", tc.m.Name, id, tc.id)
		}
		if s := vendorIn(t, d, 0x09, 0, 0, 1); s[0] != tc.chip {
			t.Errorf("%s: STATMNGSTS after SET_HW_MII %#02x", tc.m.Name, s[0])
		}
	}
}

func TestAX88772RegistersKeepWhatIsWritten(t *testing.T) {
	d := plug(t, AX88772B, nil)
	vendorOut(t, d, 0x10, 0x0088, 0, nil)
	vendorOut(t, d, 0x1B, 0x0336, 0, nil)
	vendorOut(t, d, 0x12, 0x001D, 0x0012, nil)
	vendorOut(t, d, 0x14, 0, 0, []byte{0x02, 1, 2, 3, 4, 5})
	vendorOut(t, d, 0x1D, 0x0004, 0, nil)
	vendorOut(t, d, 0x1F, 0x00B0, 0, nil)
	vendorOut(t, d, 0x2A, 0x8000, 0x8001, nil)
	for _, tc := range []struct {
		req  uint8
		n    int
		want []byte
	}{
		{0x0F, 2, []byte{0x88, 0x00}},
		{0x1A, 2, []byte{0x36, 0x03}},
		{0x11, 3, []byte{0x1D, 0x00, 0x12}},
		{0x13, 6, []byte{0x02, 1, 2, 3, 4, 5}},
		{0x1C, 1, []byte{0x04}},
		{0x1E, 1, []byte{0xB0}},
	} {
		if got := vendorIn(t, d, tc.req, 0, 0, tc.n); !bytes.Equal(got, tc.want) {
			t.Errorf("request %#02x = % x, want % x", tc.req, got, tc.want)
		}
	}
	if st := vendorOutStatus(New(AX88772A, nil), 0x2A, 0x8000, 0x8001, nil); st == usbnic.StatusOK {
		t.Error("QCTCTRL accepted by an AX88772A") // the device is not open: any failure will do
	}
	a := plug(t, AX88772A, nil)
	if st := vendorOutStatus(a, 0x2A, 0x8000, 0x8001, nil); st != usbnic.StatusStall {
		t.Errorf("QCTCTRL on AX88772A: %v, want stall", st)
	}
	if st := vendorOutStatus(a, 0x14, 0, 0, []byte{1, 2, 3}); st != usbnic.StatusStall {
		t.Errorf("3-byte WRITE_NODE_ID: %v, want stall", st)
	}
}

// The AX88772B keeps its MAC in EEPROM words 4..6 (§2.3); EEPROM writes need WRITE_ENABLE.
func TestAX88772BMACIsInEEPROMWords4To6(t *testing.T) {
	d := plug(t, AX88772B, nil)
	var mac []byte
	for w := uint16(4); w <= 6; w++ {
		mac = append(mac, vendorIn(t, d, 0x0B, w, 0, 2)...)
	}
	if !bytes.Equal(mac, ax772BMAC[:]) {
		t.Errorf("EEPROM MAC % x, want % x", mac, ax772BMAC)
	}
	if got := vendorIn(t, d, 0x13, 0, 0, 6); !bytes.Equal(got, ax772BMAC[:]) {
		t.Errorf("NODE_ID % x", got)
	}
	vendorOut(t, d, 0x0C, 0x20, 0xBEEF, nil)
	if got := vendorIn(t, d, 0x0B, 0x20, 0, 2); !bytes.Equal(got, []byte{0xFF, 0xFF}) {
		t.Errorf("write without WRITE_ENABLE landed: % x", got)
	}
	vendorOut(t, d, 0x0D, 0, 0, nil)
	vendorOut(t, d, 0x0C, 0x20, 0xBEEF, nil)
	vendorOut(t, d, 0x0E, 0, 0, nil)
	if got := vendorIn(t, d, 0x0B, 0x20, 0, 2); !bytes.Equal(got, []byte{0xEF, 0xBE}) {
		t.Errorf("EEPROM word 0x20 = % x", got)
	}
}

// parse772Stream splits an RX byte stream into frames by §2.5: LE32 header with the length in
// bits 0..10 and its complement in bits 16..26, the frame, a pad byte after odd lengths.
func parse772Stream(t *testing.T, s []byte) [][]byte {
	t.Helper()
	var fs [][]byte
	for off := 0; off < len(s); {
		h := binary.LittleEndian.Uint32(s[off:])
		l := int(h & 0x7FF)
		if int((^h>>16)&0x7FF) != l {
			t.Fatalf("header %#08x at %d: complement mismatch", h, off)
		}
		fs = append(fs, s[off+4:off+4+l])
		off += 4 + (l+1)&^1
	}
	return fs
}

// Records are cut into transfers wherever the 2048-byte burst ends. With frames of 1514 and
// 524 bytes the records are 1518 and 528 bytes, so the third record's header starts at 2046 and
// is split 2+2 across the first two transfers. Headers written by hand: 1514 = 0x05EA →
// ea 05 15 fa; 524 = 0x020C → 0c 02 f3 fd; 61 = 0x003D → 3d 00 c2 ff and one pad byte.
func TestAX88772RxRecordsSpanTransfers(t *testing.T) {
	q := NewQueue(8)
	d := plug(t, AX88772B, q, WithLinkDelay(time.Millisecond))
	ax772Start(t, d)
	fs := [][]byte{frame(ax772BMAC, 1514, 1), frame(ax772BMAC, 524, 2), frame(broadcast, 61, 3), frame(ax772BMAC, 100, 4)}
	for _, f := range fs {
		q.Push(f)
	}
	first, st := in(t, d, 0x82, 2048)
	if st != usbnic.StatusOK || len(first) != 2048 {
		t.Fatalf("first transfer %d bytes, %v", len(first), st)
	}
	if !bytes.Equal(first[:4], hx(t, "ea 05 15 fa")) || !bytes.Equal(first[1518:1522], hx(t, "0c 02 f3 fd")) {
		t.Errorf("headers % x, % x", first[:4], first[1518:1522])
	}
	if !bytes.Equal(first[2046:], hx(t, "3d 00")) {
		t.Errorf("first half of the split header: % x", first[2046:])
	}
	second, _ := in(t, d, 0x82, 2048)
	if !bytes.Equal(second[:2], hx(t, "c2 ff")) || second[2+61] != 0 {
		t.Errorf("second half % x, pad %#02x", second[:2], second[2+61])
	}
	got := parse772Stream(t, append(first, second...))
	if len(got) != len(fs) {
		t.Fatalf("%d frames in the stream, want %d", len(got), len(fs))
	}
	for i := range fs {
		if !bytes.Equal(got[i], fs[i]) {
			t.Errorf("frame %d differs", i)
		}
	}
	if s := d.Stats(); s.RxFrames != 4 || s.RxMulticast != 1 {
		t.Errorf("stats %+v", s)
	}
}

// A host buffer that is not a whole number of 512-byte packets, smaller than what the chip
// sends, is overrun: babble, and the rest of the packet is lost.
func TestAX88772RxOverrunIsBabble(t *testing.T) {
	q := NewQueue(4)
	d := plug(t, AX88772B, q, WithLinkDelay(time.Millisecond))
	ax772Start(t, d)
	q.Push(frame(ax772BMAC, 1514, 0))
	if got, st := in(t, d, 0x82, 1000); st != usbnic.StatusBabble || len(got) != 1000 {
		t.Errorf("%d bytes, %v", len(got), st)
	}
	// 1024 of the 1518 bytes were sent; the next transfer starts inside the frame.
	if got, _ := in(t, d, 0x82, 2048); len(got) != 1518-1024 {
		t.Errorf("rest: %d bytes", len(got))
	}
	if s := d.Stats(); s.RxDropped != 1 || s.RxFrames != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestAX88772TxRecords(t *testing.T) {
	q := NewQueue(8)
	d := plug(t, AX88772B, q, WithLinkDelay(time.Millisecond))
	ax772Start(t, d)
	f60 := frame(peerMAC, 60, 0)
	f508 := frame(peerMAC, 508, 1) // 508 + 4 = 512: Linux appends 00 00 ff ff
	out(t, d, 0x03, append(hx(t, "3c 00 c3 ff"), f60...))
	out(t, d, 0x03, append(append(hx(t, "fc 01 03 fe"), f508...), hx(t, "00 00 ff ff")...))
	got := sent(t, q)
	if len(got) != 2 || !bytes.Equal(got[0], f60) || !bytes.Equal(got[1], f508) {
		t.Fatalf("wire got %d frames", len(got))
	}
	for _, tc := range []struct {
		name, err string
		data      []byte
	}{
		{"complement mismatch", "does not match its complement", append(hx(t, "3c 00 c2 ff"), f60...)},
		{"length beyond data", "exceeds the 60 bytes", append(hx(t, "3d 00 c2 ff"), f60...)},
		{"runt", "outside [14, 1518]", append(hx(t, "0a 00 f5 ff"), f60[:10]...)},
		{"truncated header", "shorter than a record header", append(append(hx(t, "3c 00 c3 ff"), f60...), 0x01, 0x02)},
	} {
		before := d.Stats().TxErrors
		out(t, d, 0x03, tc.data)
		s := d.Stats()
		if s.TxErrors != before+1 || !strings.Contains(s.LastTxError, tc.err) {
			t.Errorf("%s: errors %d→%d, last %q", tc.name, before, s.TxErrors, s.LastTxError)
		}
	}
}

func TestAX88772LinkInterruptAndFilter(t *testing.T) {
	q := NewQueue(8)
	d := plug(t, AX88772, q, WithLinkDelay(time.Millisecond))
	ax772Start(t, d)
	mac := vendorIn(t, d, 0x13, 0, 0, 6)
	q.Push(frame([6]byte{0x02, 9, 9, 9, 9, 9}, 60, 1)) // someone else's: filtered
	q.Push(frame([6]byte(mac), 60, 2))
	got, _ := in(t, d, 0x82, 2048)
	if fs := parse772Stream(t, got); len(fs) != 1 || fs[0][14] != 2+14 {
		t.Errorf("received %d frames", len(fs))
	}
	d.SetCable(false)
	if got, _ := in(t, d, 0x81, 8); !bytes.Equal(got, make([]byte, 8)) {
		t.Errorf("link-down interrupt % x", got)
	}
	if s := d.Stats(); s.RxFiltered != 1 {
		t.Errorf("stats %+v", s)
	}
}
