package sim

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"webminiport/usbnic"
)

// AX88179 requests, written here from §1.2 rather than taken from the model.
func macRead(t testing.TB, d *Device, reg uint16, n int) []byte {
	return vendorIn(t, d, 0x01, reg, uint16(n), n)
}

func macWrite(t testing.TB, d *Device, reg uint16, data ...byte) {
	vendorOut(t, d, 0x01, reg, uint16(len(data)), data)
}

func phyRead(t testing.TB, d *Device, reg uint16) uint16 {
	return binary.LittleEndian.Uint16(vendorIn(t, d, 0x02, 0x03, reg, 2))
}

func phyWrite(t testing.TB, d *Device, reg, v uint16) {
	vendorOut(t, d, 0x02, 0x03, reg, []byte{byte(v), byte(v >> 8)})
}

var ax179MAC = [6]byte{0x00, 0x0E, 0xC6, 0x81, 0x79, 0x01}

// ax179Start brings an AX88179 to "receiving": PHY power cycle, RX_CTL START|AB|IPE, MEDIUM
// RECEIVE_EN|TXFLOW|RXFLOW|FULL_DUPLEX|GIGAMODE, then waits for the link-up interrupt.
func ax179Start(t testing.TB, d *Device) {
	t.Helper()
	macWrite(t, d, 0x26, 0x00, 0x00)
	macWrite(t, d, 0x26, 0x20, 0x00)
	macWrite(t, d, 0x0B, 0x88, 0x02)
	macWrite(t, d, 0x22, 0x33, 0x01)
	// On a slow machine the link may come up before the PHY power cycle above takes it down
	// again, so a link-down status can come first; the link-up one must follow.
	for i := 0; ; i++ {
		got, _ := in(t, d, 0x81, 8)
		if bytes.Equal(got, []byte{0, 0, 1, 0, 0, 0, 0, 0}) {
			return
		}
		if i == 2 || !bytes.Equal(got, make([]byte, 8)) {
			t.Fatalf("link-up interrupt: % x", got)
		}
	}
}

func TestAX88179RegistersAtPowerOn(t *testing.T) {
	for _, tc := range []struct {
		speed usbnic.Speed
		usb   byte
	}{{usbnic.SpeedSuper, 0x04}, {usbnic.SpeedHigh, 0x02}, {usbnic.SpeedFull, 0x00}} {
		d := plug(t, AX88179, nil, WithSpeed(tc.speed))
		if got := macRead(t, d, 0x02, 1); got[0] != tc.usb {
			t.Errorf("%v: PHYSICAL_LINK_STATUS %#02x, want %#02x", tc.speed, got[0], tc.usb)
		}
		if got := macRead(t, d, 0x03, 1); got[0] != 0x04 {
			t.Errorf("GENERAL_STATUS %#02x, want 0x04 (UA2)", got[0])
		}
		if got := macRead(t, d, 0x10, 6); !bytes.Equal(got, ax179MAC[:]) {
			t.Errorf("NODE_ID % x", got)
		}
		if got := macRead(t, d, 0x2E, 5); !bytes.Equal(got, []byte{0x07, 0x4F, 0x00, 0x12, 0xFF}) {
			t.Errorf("RX_BULKIN_QCTRL % x", got)
		}
	}
}

func TestAX88179RegistersKeepWhatIsWritten(t *testing.T) {
	d := plug(t, AX88179, nil)
	macWrite(t, d, 0x10, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55)
	macWrite(t, d, 0x0B, 0xAA, 0x03)
	macWrite(t, d, 0x16, 1, 2, 3, 4, 5, 6, 7, 8)
	macWrite(t, d, 0x02, 0xFF) // read-only: stays the USB speed
	for _, tc := range []struct {
		reg  uint16
		want []byte
	}{
		{0x10, []byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}},
		{0x0B, []byte{0xAA, 0x03}},
		{0x16, []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{0x02, []byte{0x02}},
	} {
		if got := macRead(t, d, tc.reg, len(tc.want)); !bytes.Equal(got, tc.want) {
			t.Errorf("register %#02x = % x, want % x", tc.reg, got, tc.want)
		}
	}
	// AX_RELOAD_EEPROM_EFUSE puts the permanent address back.
	vendorOut(t, d, 0x06, 0, 0, nil)
	if got := macRead(t, d, 0x10, 6); !bytes.Equal(got, ax179MAC[:]) {
		t.Errorf("NODE_ID after reload % x", got)
	}
}

func TestAX88179StallsMalformedRequests(t *testing.T) {
	d := plug(t, AX88179, nil)
	for _, tc := range []struct {
		name       string
		req        uint8
		value, idx uint16
		n          int
	}{
		{"MAC wIndex differs from wLength", 0x01, 0x10, 6, 2},
		{"MAC past register 0xFF", 0x01, 0xFE, 4, 4},
		{"PHY register 32", 0x02, 0x03, 0x20, 2},
		{"EEPROM wIndex not 1", 0x04, 0x43, 2, 2},
		{"TX FIFO at another wValue", 0x81, 0x8D, 0, 4},
		{"unknown request", 0x42, 0, 0, 2},
	} {
		if st := vendorInStatus(d, tc.req, tc.value, tc.idx, tc.n); st != usbnic.StatusStall {
			t.Errorf("%s: %v, want stall", tc.name, st)
		}
	}
	// Class requests are not the AX88179's.
	if _, st, _ := d.ControlIn(bg, classSetup(0x80, 0, 0), make([]byte, 28)); st != usbnic.StatusStall {
		t.Errorf("class request: %v", st)
	}
}

// EEPROM words are reachable both with AX_ACCESS_EEPROM and through the SROM registers
// (0x07 address, 0x0A command 0x04 = read, 0x08/0x09 data), as Linux's LED setup reads them.
func TestAX88179EEPROMThroughBothPaths(t *testing.T) {
	d := plug(t, AX88179, nil)
	if got := vendorIn(t, d, 0x04, 0x43, 1, 2); !bytes.Equal(got, []byte{0xFF, 0xFF}) {
		t.Errorf("blank word 0x43 = % x", got)
	}
	vendorOut(t, d, 0x04, 0x42, 1, []byte{0x34, 0x92})
	macWrite(t, d, 0x07, 0x42)
	macWrite(t, d, 0x0A, 0x04)
	if got := macRead(t, d, 0x0A, 1); got[0]&0x10 != 0 {
		t.Errorf("SROM still busy: %#02x", got[0])
	}
	if got := macRead(t, d, 0x08, 2); !bytes.Equal(got, []byte{0x34, 0x92}) {
		t.Errorf("SROM data % x", got)
	}
	if got := vendorIn(t, d, 0x05, 0, 64, 64); len(got) != 64 || got[0] != 0xFF {
		t.Errorf("eFuse: %d bytes, first %#02x", len(got), got[0])
	}
}

func TestAX88179PHYNegotiatesAndReportsLinkChanges(t *testing.T) {
	for _, tc := range []struct {
		partner int
		physr   uint16
	}{
		{1000, 0x8000 | 0x2000 | 0x0400},
		{100, 0x4000 | 0x2000 | 0x0400},
		{10, 0x2000 | 0x0400},
	} {
		d := plug(t, AX88179, nil, WithPartner(tc.partner), WithLinkDelay(5*time.Millisecond))
		if id := uint32(phyRead(t, d, 2))<<16 | uint32(phyRead(t, d, 3)); id == 0 || id == 0xFFFFFFFF {
			t.Errorf("PHY ID %#08x", id)
		}
		if got := vendorIn(t, d, 0x02, 0x05, 0x01, 2); !bytes.Equal(got, []byte{0xFF, 0xFF}) {
			t.Errorf("MDIO address 5 answered % x", got)
		}
		ax179Start(t, d)
		if got := phyRead(t, d, 0x11); got != tc.physr {
			t.Errorf("partner %d: PHYSR %#04x, want %#04x", tc.partner, got, tc.physr)
		}
		if got := phyRead(t, d, 1); got&0x0024 != 0x0024 {
			t.Errorf("BMSR %#04x: link and autoneg-complete bits missing", got)
		}
		d.SetCable(false)
		if got, _ := in(t, d, 0x81, 8); !bytes.Equal(got, make([]byte, 8)) {
			t.Errorf("link-down interrupt % x", got)
		}
		if got := phyRead(t, d, 1); got&0x0004 != 0 {
			t.Errorf("BMSR %#04x after unplug: link bit set", got)
		}
		if got := phyRead(t, d, 0x11); got != 0 {
			t.Errorf("PHYSR %#04x after unplug", got)
		}
		d.SetCable(true)
		if got, _ := in(t, d, 0x81, 8); !bytes.Equal(got, []byte{0, 0, 1, 0, 0, 0, 0, 0}) {
			t.Errorf("link-up interrupt after replug % x", got)
		}
	}
}

// Restarting autonegotiation through BMCR drops the link and brings it back after the delay;
// the BMSR link bit stays low on the first read after a drop (latched low).
func TestAX88179BMCRRestartDropsTheLink(t *testing.T) {
	d := plug(t, AX88179, nil, WithLinkDelay(5*time.Millisecond))
	ax179Start(t, d)
	bmcr := phyRead(t, d, 0)
	if bmcr&0x1000 == 0 {
		t.Fatalf("BMCR %#04x: autoneg not enabled", bmcr)
	}
	phyWrite(t, d, 0, bmcr|0x0200)
	if got := phyRead(t, d, 0); got&0x0200 != 0 {
		t.Errorf("BMCR restart bit did not self-clear: %#04x", got)
	}
	if got, _ := in(t, d, 0x81, 8); got[2] != 0 {
		t.Errorf("interrupt after restart % x, want link down", got)
	}
	if got, _ := in(t, d, 0x81, 8); got[2] != 1 {
		t.Errorf("interrupt after autoneg % x, want link up", got)
	}
	phyRead(t, d, 1) // clear the latch
	if got := phyRead(t, d, 1); got&0x0004 == 0 {
		t.Errorf("BMSR %#04x: link bit not set once up", got)
	}
}

func TestAX88179PHYPagesAndMMDAreSeparateRegisters(t *testing.T) {
	d := plug(t, AX88179, nil)
	phyWrite(t, d, 0x1F, 0x0007) // extension pages
	phyWrite(t, d, 0x1E, 0x002C)
	phyWrite(t, d, 0x1A, 0x1234)
	phyWrite(t, d, 0x1F, 0x0000)
	if got := phyRead(t, d, 0x1A); got == 0x1234 {
		t.Error("page 0 register 0x1A shows the extension page's value")
	}
	phyWrite(t, d, 0x1F, 0x0007)
	phyWrite(t, d, 0x1E, 0x002C)
	if got := phyRead(t, d, 0x1A); got != 0x1234 {
		t.Errorf("extension page 0x2C register 0x1A = %#04x", got)
	}
	phyWrite(t, d, 0x1F, 0x0000)
	// Clause-45 indirect: devad 7, register 0x3C (EEE advertisement).
	phyWrite(t, d, 0x0D, 0x0007)
	phyWrite(t, d, 0x0E, 0x003C)
	phyWrite(t, d, 0x0D, 0x4007)
	phyWrite(t, d, 0x0E, 0x0006)
	phyWrite(t, d, 0x0D, 0x0007)
	phyWrite(t, d, 0x0E, 0x003C)
	phyWrite(t, d, 0x0D, 0x4007)
	if got := phyRead(t, d, 0x0E); got != 0x0006 {
		t.Errorf("MMD 7.0x3C = %#04x", got)
	}
}

// After each link-up the TX FIFO poll of link_reset (request 0x81, wValue 0x8C) finds bit 30
// set once, then clear.
func TestAX88179TxFIFOBusyOncePerLinkUp(t *testing.T) {
	d := plug(t, AX88179, nil, WithLinkDelay(time.Millisecond))
	ax179Start(t, d)
	if got := vendorIn(t, d, 0x81, 0x8C, 0, 4); !bytes.Equal(got, []byte{0, 0, 0, 0x40}) {
		t.Errorf("first poll % x", got)
	}
	if got := vendorIn(t, d, 0x81, 0x8C, 0, 4); !bytes.Equal(got, []byte{0, 0, 0, 0}) {
		t.Errorf("second poll % x", got)
	}
}

// Three frames become one transfer with the §1.8 layout. Offsets and trailer computed by hand:
// 60-byte frame: pkt_len 62, padded 64, at 0; 61: pkt_len 63, padded 64, at 64; 100: pkt_len 102,
// padded 104, at 128; metadata at hdr_off 232 (entry, dummy ×3), padding2 at 256, rx_hdr at 260
// = pkt_cnt 6 | 232<<16.
func TestAX88179RxAggregatesWithTheTrailerFormat(t *testing.T) {
	q := NewQueue(16)
	d := plug(t, AX88179, q, WithLinkDelay(time.Millisecond))
	ax179Start(t, d)
	fs := [][]byte{frame(ax179MAC, 60, 1), frame(broadcast, 61, 2), frame(ax179MAC, 100, 3)}
	for _, f := range fs {
		q.Push(f)
	}
	got, st := in(t, d, 0x82, 20480)
	if st != usbnic.StatusOK || len(got) != 264 {
		t.Fatalf("transfer of %d bytes, %v; want 264", len(got), st)
	}
	for i, off := range []int{0, 64, 128} {
		if got[off] != 0 || got[off+1] != 0 {
			t.Errorf("packet %d pseudo header % x", i, got[off:off+2])
		}
		if !bytes.Equal(got[off+2:off+2+len(fs[i])], fs[i]) {
			t.Errorf("packet %d differs", i)
		}
	}
	if pad := got[2+60 : 64]; !bytes.Equal(pad, make([]byte, len(pad))) {
		t.Errorf("padding after packet 0: % x", pad)
	}
	trailer := hx(t, `00 00 3e 00 00 00 00 80  00 00 3f 00 00 00 00 80  00 00 66 00 00 00 00 80
		00 00 00 00  06 00 e8 00`)
	if !bytes.Equal(got[232:], trailer) {
		t.Errorf("metadata and trailer\n got % x\nwant % x", got[232:], trailer)
	}
	s := d.Stats()
	if s.RxFrames != 3 || s.RxBytes != 221 || s.RxMulticast != 1 {
		t.Errorf("stats %+v", s)
	}
}

// A single frame is held until the aggregation timer (RX_BULKIN_QCTRL bytes 1..2, µs) runs out.
func TestAX88179RxWaitsForTheAggregationTimer(t *testing.T) {
	q := NewQueue(4)
	d := plug(t, AX88179, q, WithLinkDelay(time.Millisecond))
	ax179Start(t, d)
	macWrite(t, d, 0x2E, 0x07, 0x20, 0x4E, 0x12, 0xFF) // 20000 µs
	q.Push(frame(ax179MAC, 60, 0))
	start := time.Now()
	got, _ := in(t, d, 0x82, 20480)
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("delivered after %v, before the 20 ms timer", waited)
	}
	if len(got) != 64+16 {
		t.Errorf("transfer of %d bytes", len(got))
	}
}

// The size byte of RX_BULKIN_QCTRL bounds the whole transfer: with 2 KiB, 1500-byte frames
// (1504 padded, 1520 with metadata and trailer) travel one per transfer; a host buffer smaller
// than an aggregate is overrun (babble).
func TestAX88179RxHonoursTheAggregationSize(t *testing.T) {
	q := NewQueue(8)
	d := plug(t, AX88179, q, WithLinkDelay(time.Millisecond))
	ax179Start(t, d)
	macWrite(t, d, 0x2E, 0x07, 0x00, 0x00, 0x02, 0xFF)
	for i := 0; i < 3; i++ {
		q.Push(frame(ax179MAC, 1500, byte(i)))
	}
	for i := 0; i < 2; i++ {
		got, st := in(t, d, 0x82, 4096)
		if st != usbnic.StatusOK || len(got) != 1520 || binary.LittleEndian.Uint32(got[len(got)-4:]) != 2|1504<<16 {
			t.Errorf("transfer %d: %d bytes, %v, rx_hdr % x", i, len(got), st, got[len(got)-4:])
		}
	}
	if got, st := in(t, d, 0x82, 512); st != usbnic.StatusBabble || len(got) != 512 {
		t.Errorf("into a 512-byte buffer: %d bytes, %v; want babble", len(got), st)
	}
	if s := d.Stats(); s.RxFrames != 2 || s.RxDropped != 1 {
		t.Errorf("stats %+v", s)
	}
}

// Nothing is received until RX_CTL START and MEDIUM RECEIVE_EN are both set (and the link is
// up); what arrived before is dropped, not delivered late.
func TestAX88179RxDropsUntilStartAndReceiveEnable(t *testing.T) {
	q := NewQueue(8)
	d := plug(t, AX88179, q, WithLinkDelay(time.Millisecond))
	macWrite(t, d, 0x0B, 0x88, 0x02) // START|AB|IPE, medium still 0
	if got, _ := in(t, d, 0x81, 8); got[2] != 1 {
		t.Fatalf("link interrupt % x", got)
	}
	q.Push(frame(ax179MAC, 60, 1))
	nothingIn(t, d, 0x82)
	macWrite(t, d, 0x22, 0x00, 0x01) // RECEIVE_EN
	q.Push(frame(ax179MAC, 60, 2))
	got, _ := in(t, d, 0x82, 20480)
	if binary.LittleEndian.Uint32(got[len(got)-4:])&0xFFFF != 2 || got[2+14] != 2+14 {
		t.Errorf("got % x", got)
	}
	if s := d.Stats(); s.RxDropped != 1 || s.RxFrames != 1 {
		t.Errorf("stats %+v", s)
	}
}

// etherCRCHashBit is the multicast hash bit of §1.3, computed bit by bit: reflected CRC-32
// (poly 0xEDB88320, init 0xFFFFFFFF, no final inversion), bit-reversed, top six bits.
func etherCRCHashBit(addr [6]byte) uint {
	crc := uint32(0xFFFFFFFF)
	for _, b := range addr {
		for i := 0; i < 8; i++ {
			bit := (crc ^ uint32(b>>i)) & 1
			crc >>= 1
			if bit != 0 {
				crc ^= 0xEDB88320
			}
		}
	}
	var rev uint32
	for i := 0; i < 32; i++ {
		rev |= (crc >> i & 1) << (31 - i)
	}
	return uint(rev >> 26)
}

func TestAX88179RxFilterFollowsRXCTL(t *testing.T) {
	mcIn := [6]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}
	mcOut := [6]byte{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}
	if etherCRCHashBit(mcIn) == etherCRCHashBit(mcOut) {
		t.Fatal("test addresses share a hash bit")
	}
	other := [6]byte{0x02, 0x99, 0x99, 0x99, 0x99, 0x99}
	dsts := [][6]byte{ax179MAC, other, broadcast, mcIn, mcOut}
	for _, tc := range []struct {
		name  string
		rxCtl uint16
		want  []bool // per dsts
	}{
		{"directed only", 0x0080, []bool{true, false, false, false, false}},
		{"broadcast", 0x0088, []bool{true, false, true, false, false}},
		{"multicast hash", 0x0098, []bool{true, false, true, true, false}},
		{"all multicast", 0x008A, []bool{true, false, true, true, true}},
		{"promiscuous", 0x0081, []bool{true, true, true, true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQueue(8)
			d := plug(t, AX88179, q, WithLinkDelay(time.Millisecond))
			ax179Start(t, d)
			var table [8]byte
			b := etherCRCHashBit(mcIn)
			table[b>>3] |= 1 << (b & 7)
			macWrite(t, d, 0x16, table[:]...)
			macWrite(t, d, 0x0B, byte(tc.rxCtl), byte(tc.rxCtl>>8))
			macWrite(t, d, 0x2E, 0x07, 0x00, 0x00, 0x00, 0xFF) // size 0: one frame per transfer
			for i, dst := range dsts {
				q.Push(frame(dst, 60, byte(i)))
			}
			var got []bool
			for range tc.want {
				got = append(got, false)
			}
			for {
				ctx, cancel := contextTimeout(30 * time.Millisecond)
				buf := make([]byte, 4096)
				n, _, err := d.TransferIn(ctx, 0x82, buf)
				cancel()
				if err != nil {
					break
				}
				got[buf[2+14]-14] = true // payload starts at seq+14
				_ = n
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("destination % x: received %v, want %v", dsts[i], got[i], tc.want[i])
				}
			}
		})
	}
}

// The TX header of §1.9, hand-built: LE32 length, LE32 flags, frame; one extra zero byte is
// accepted only where usbnet appends it (header + frame a multiple of wMaxPacketSize, flagged).
func TestAX88179TxParsesTheHeader(t *testing.T) {
	q := NewQueue(8)
	d := plug(t, AX88179, q, WithLinkDelay(time.Millisecond))
	ax179Start(t, d)
	f60 := frame(peerMAC, 60, 0)
	out(t, d, 0x03, append(hx(t, "3c 00 00 00 00 00 00 00"), f60...))
	f504 := frame(peerMAC, 504, 1) // 504 + 8 = 512: one zero byte follows
	out(t, d, 0x03, append(append(hx(t, "f8 01 00 00 00 80 00 80"), f504...), 0))
	got := sent(t, q)
	if len(got) != 2 || !bytes.Equal(got[0], f60) || !bytes.Equal(got[1], f504) {
		t.Fatalf("wire got %d frames", len(got))
	}
	for _, tc := range []struct {
		name, err string
		data      []byte
	}{
		{"short header", "shorter than the 8-byte header", hx(t, "3c 00 00 00 00 00")},
		{"length beyond data", "exceeds the 60 bytes", append(hx(t, "3d 00 00 00 00 00 00 00"), f60...)},
		{"runt", "shorter than an Ethernet header", append(hx(t, "0a 00 00 00 00 00 00 00"), f60[:10]...)},
		{"trailing bytes", "2 bytes after", append(append(hx(t, "3c 00 00 00 00 00 00 00"), f60...), 0, 0)},
		{"pad byte where none belongs", "1 bytes after", append(append(hx(t, "3c 00 00 00 00 00 00 00"), f60...), 0)},
		{"TSO", "TSO", append(hx(t, "3c 00 00 00 a8 05 00 00"), f60...)},
		{"too long", "frame limit", append(hx(t, "00 06 00 00 00 00 00 00"), make([]byte, 1536)...)},
	} {
		before := d.Stats().TxErrors
		out(t, d, 0x03, tc.data)
		s := d.Stats()
		if s.TxErrors != before+1 || !strings.Contains(s.LastTxError, tc.err) {
			t.Errorf("%s: errors %d→%d, last %q", tc.name, before, s.TxErrors, s.LastTxError)
		}
	}
	if got := sent(t, q); len(got) != 0 {
		t.Errorf("malformed transfers put %d frames on the wire", len(got))
	}
	if s := d.Stats(); s.TxFrames != 2 || s.TxBytes != 564 {
		t.Errorf("stats %+v", s)
	}
}

// Without link, well-formed frames are dropped and counted.
func TestAX88179TxWithoutLinkIsDropped(t *testing.T) {
	q := NewQueue(4)
	d := plug(t, AX88179, q, WithCable(false))
	out(t, d, 0x03, append(hx(t, "3c 00 00 00 00 00 00 00"), frame(peerMAC, 60, 0)...))
	if s := d.Stats(); s.TxDropped != 1 || s.TxFrames != 0 {
		t.Errorf("stats %+v", s)
	}
}
