package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"webminiport/usbnic"
)

var gadgetHostMAC = [6]byte{0x02, 0, 0, 0, 0, 0x02}

// Notifications as captured (data/usb/README.md).
const (
	notifyDisconnected = "a1 00 00 00 00 00 00 00"
	notifyConnected    = "a1 00 01 00 00 00 00 00"
	notifySpeedHS      = "a1 2a 00 00 00 00 08 00 00 00 64 19 00 00 64 19"
)

func classOut(t testing.TB, d *Device, req uint8, value uint16, data []byte) usbnic.Status {
	t.Helper()
	st, err := d.ControlOut(bg, classSetup(req, value, 0), data)
	if err != nil {
		t.Fatalf("class OUT %#02x: %v", req, err)
	}
	return st
}

func classIn(t testing.TB, d *Device, req uint8, n int) ([]byte, usbnic.Status) {
	t.Helper()
	buf := make([]byte, n)
	got, st, err := d.ControlIn(bg, classSetup(req, 0, 0), buf)
	if err != nil {
		t.Fatalf("class IN %#02x: %v", req, err)
	}
	return buf[:got], st
}

// cdcStart brings a gadget up as cdc_ether/cdc_ncm do: claim both interfaces, data alt 1.
func cdcStart(t testing.TB, m *Model, w Wire, opts ...Option) *Device {
	t.Helper()
	d := plug(t, m, w, opts...)
	if err := d.SelectAlternate(bg, 1, 1); err != nil {
		t.Fatal(err)
	}
	return d
}

func notifications(t testing.TB, d *Device, ep uint8, n int) []string {
	t.Helper()
	var got []string
	for i := 0; i < n; i++ {
		b, _ := in(t, d, ep, 16)
		got = append(got, fmt.Sprintf("% x", b))
	}
	return got
}

// f_ecm sends NETWORK_CONNECTION first, then SPEED_CHANGE; the first one (queued at
// SET_CONFIGURATION, data alt 0) says disconnected.
func TestECMNotifiesConnectionThenSpeed(t *testing.T) {
	d := cdcStart(t, CDCECM, nil)
	got := notifications(t, d, 0x85, 3)
	want := []string{notifyDisconnected, notifyConnected, notifySpeedHS}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("notification %d = %s, want %s", i, got[i], want[i])
		}
	}
	d.SetCable(false)
	if got := notifications(t, d, 0x85, 2); got[0] != notifyDisconnected || got[1] != notifySpeedHS {
		t.Errorf("after unplug: %v", got)
	}
	nothingIn(t, d, 0x85)
}

// f_ncm sends SPEED_CHANGE first, then NETWORK_CONNECTION.
func TestNCMNotifiesSpeedThenConnection(t *testing.T) {
	d := cdcStart(t, CDCNCM, nil)
	got := notifications(t, d, 0x85, 3)
	want := []string{notifySpeedHS, notifySpeedHS, notifyConnected}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("notification %d = %s, want %s", i, got[i], want[i])
		}
	}
	d.SetCable(false)
	if got := notifications(t, d, 0x85, 2); got[0] != notifySpeedHS || got[1] != notifyDisconnected {
		t.Errorf("after unplug: %v", got)
	}
	// SuperSpeed announces f_ncm's SuperSpeed rate, 851968000 = 0x32c80000.
	ss := cdcStart(t, CDCNCM, nil, WithSpeed(usbnic.SpeedSuper))
	if b, _ := in(t, ss, 0x85, 16); !bytes.Equal(b[8:], hx(t, "00 00 c8 32 00 00 c8 32")) {
		t.Errorf("SuperSpeed rate % x", b[8:])
	}
}

// One frame per transfer, no header; u_ether's filter: unicast always passes, broadcast needs
// BROADCAST, other multicast needs ALL_MULTICAST, PROMISCUOUS passes all.
func TestECMDeliversOneFramePerTransferThroughTheFilter(t *testing.T) {
	mc := [6]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}
	dsts := [][6]byte{gadgetHostMAC, {0x02, 9, 9, 9, 9, 9}, broadcast, mc}
	for _, tc := range []struct {
		filter uint16
		want   []bool
	}{
		{0x0c, []bool{true, true, true, false}}, // DIRECTED|BROADCAST, as cdc_ether sets at bind
		{0x0e, []bool{true, true, true, true}},  // + ALL_MULTICAST
		{0x04, []bool{true, true, false, false}},
		{0x01, []bool{true, true, true, true}},
	} {
		q := NewQueue(8)
		d := cdcStart(t, CDCECM, q)
		if st := classOut(t, d, 0x43, tc.filter, nil); st != usbnic.StatusOK {
			t.Fatalf("SET_ETHERNET_PACKET_FILTER %#04x: %v", tc.filter, st)
		}
		for i, dst := range dsts {
			q.Push(frame(dst, 60+i, byte(i)))
		}
		var got [4]bool
		for {
			ctx, cancel := contextTimeout(30 * time.Millisecond)
			buf := make([]byte, 1514)
			n, st, err := d.TransferIn(ctx, 0x81, buf)
			cancel()
			if err != nil {
				break
			}
			i := n - 60
			if st != usbnic.StatusOK || i < 0 || i > 3 || !bytes.Equal(buf[:n], frame(dsts[i], n, byte(i))) {
				t.Fatalf("filter %#04x: unexpected transfer of %d bytes", tc.filter, n)
			}
			got[i] = true
		}
		for i := range dsts {
			if got[i] != tc.want[i] {
				t.Errorf("filter %#04x, destination % x: received %v", tc.filter, dsts[i], got[i])
			}
		}
	}
}

func TestECMTransmitsOneFramePerTransfer(t *testing.T) {
	q := NewQueue(8)
	d := cdcStart(t, CDCECM, q)
	f := frame(peerMAC, 42, 0)
	out(t, d, 0x02, f)
	f512 := frame(peerMAC, 512, 1)
	out(t, d, 0x02, append(f512, 0)) // usbnet's extra byte after a multiple of wMaxPacketSize
	out(t, d, 0x02, f[:10])
	got := sent(t, q)
	if len(got) != 2 || !bytes.Equal(got[0], f) || len(got[1]) != 513 {
		t.Errorf("wire got %d frames", len(got))
	}
	if s := d.Stats(); s.TxErrors != 1 || !strings.Contains(s.LastTxError, "10-byte transfer") {
		t.Errorf("stats %+v", s)
	}
	// A frame longer than the host's buffer overruns it.
	q.Push(frame(gadgetHostMAC, 1514, 0))
	if got, st := in(t, d, 0x81, 1000); st != usbnic.StatusBabble || len(got) != 1000 {
		t.Errorf("%d bytes, %v", len(got), st)
	}
}

// GET_NTB_PARAMETERS answers the 28 bytes of the capture (row 14); shorter wLength gets a
// prefix, zero wLength a stall.
func TestNCMNTBParametersAreTheCapturedBytes(t *testing.T) {
	d := cdcStart(t, CDCNCM, nil)
	want := hx(t, "1c 00 03 00 00 40 00 00 04 00 00 00 04 00 00 00 00 40 00 00 04 00 00 00 04 00 00 00")
	if got, st := classIn(t, d, 0x80, 28); st != usbnic.StatusOK || !bytes.Equal(got, want) {
		t.Errorf("GET_NTB_PARAMETERS % x, %v", got, st)
	}
	if got, _ := classIn(t, d, 0x80, 8); !bytes.Equal(got, want[:8]) {
		t.Errorf("wLength 8: % x", got)
	}
	if got, _ := classIn(t, d, 0x80, 64); !bytes.Equal(got, want) {
		t.Errorf("wLength 64: % x", got)
	}
	if _, st := classIn(t, d, 0x80, 0); st != usbnic.StatusStall {
		t.Errorf("wLength 0: %v", st)
	}
	// The bind sequence of rows 15 and 16, then GETs that read them back.
	if classOut(t, d, 0x8a, 0, nil) != usbnic.StatusOK || classOut(t, d, 0x84, 0, nil) != usbnic.StatusOK {
		t.Error("SET_CRC_MODE / SET_NTB_FORMAT refused")
	}
	if got, _ := classIn(t, d, 0x85, 4); !bytes.Equal(got, hx(t, "00 40 00 00")) {
		t.Errorf("GET_NTB_INPUT_SIZE % x", got)
	}
	if classOut(t, d, 0x84, 2, nil) != usbnic.StatusStall || classOut(t, d, 0x8a, 2, nil) != usbnic.StatusStall {
		t.Error("bad format or CRC mode accepted")
	}
	if classOut(t, d, 0x87, 0, nil) != usbnic.StatusStall {
		t.Error("SET_MAX_DATAGRAM_SIZE accepted though bmNetworkCapabilities lacks it")
	}
}

// parseNTB16 reads an IN NTB by §4.2, independently of the model, and returns its datagrams and
// where they start.
func parseNTB16(t *testing.T, b []byte) (frames [][]byte, offsets []int) {
	t.Helper()
	if string(b[:4]) != "NCMH" || binary.LittleEndian.Uint16(b[4:]) != 12 {
		t.Fatalf("NTH % x", b[:12])
	}
	if bl := int(binary.LittleEndian.Uint16(b[8:])); bl != len(b) {
		t.Fatalf("wBlockLength %d, transfer %d", bl, len(b))
	}
	ndp := int(binary.LittleEndian.Uint16(b[10:]))
	if string(b[ndp:ndp+4]) != "NCM0" || binary.LittleEndian.Uint16(b[ndp+6:]) != 0 {
		t.Fatalf("NDP % x", b[ndp:ndp+8])
	}
	wl := int(binary.LittleEndian.Uint16(b[ndp+4:]))
	for e := ndp + 8; e+4 <= ndp+wl; e += 4 {
		idx, l := int(binary.LittleEndian.Uint16(b[e:])), int(binary.LittleEndian.Uint16(b[e+2:]))
		if idx == 0 {
			if e != ndp+wl-4 {
				t.Fatalf("zero entry at %d is not the last of wLength %d", e, wl)
			}
			break
		}
		frames = append(frames, b[idx:idx+l])
		offsets = append(offsets, idx)
	}
	return frames, offsets
}

// Three frames (42, 60, 61 bytes) make one NTB laid out as f_ncm does, computed by hand:
// datagrams at 12, 56 (54 aligned to 4), 116; NDP after them at 180 (177 aligned), wLength
// 8 + 4×4 = 24, so wBlockLength 204.
func TestNCMBuildsNTBsLikeFNCM(t *testing.T) {
	q := NewQueue(64)
	d := cdcStart(t, CDCNCM, q)
	fs := [][]byte{frame(gadgetHostMAC, 42, 1), frame(gadgetHostMAC, 60, 2), frame(broadcast, 61, 3)}
	for _, f := range fs {
		q.Push(f)
	}
	got, st := in(t, d, 0x81, 16384)
	if st != usbnic.StatusOK {
		t.Fatal(st)
	}
	want := hx(t, "4e 43 4d 48 0c 00 00 00 cc 00 b4 00")
	if !bytes.Equal(got[:12], want) {
		t.Errorf("NTH % x, want % x", got[:12], want)
	}
	wantNDP := hx(t, "4e 43 4d 30 18 00 00 00  0c 00 2a 00  38 00 3c 00  74 00 3d 00  00 00 00 00")
	if len(got) != 204 || !bytes.Equal(got[180:], wantNDP) {
		t.Fatalf("%d bytes, NDP % x", len(got), got[min(180, len(got)):])
	}
	frames, _ := parseNTB16(t, got)
	for i := range fs {
		if !bytes.Equal(frames[i], fs[i]) {
			t.Errorf("datagram %d differs", i)
		}
	}
	if pad := got[54:56]; !bytes.Equal(pad, []byte{0, 0}) {
		t.Errorf("alignment padding % x", pad)
	}
}

// At most 31 datagrams per NTB (TX_MAX_NUM_DPE 32 with the terminator).
func TestNCMPutsAtMost31DatagramsInAnNTB(t *testing.T) {
	q := NewQueue(64)
	d := cdcStart(t, CDCNCM, q)
	for i := 0; i < 40; i++ {
		q.Push(frame(gadgetHostMAC, 60, byte(i)))
	}
	a, _ := in(t, d, 0x81, 16384)
	b, _ := in(t, d, 0x81, 16384)
	fa, _ := parseNTB16(t, a)
	fb, _ := parseNTB16(t, b)
	if len(fa) != 31 || len(fb) != 9 {
		t.Errorf("NTBs of %d and %d datagrams, want 31 and 9", len(fa), len(fb))
	}
	if fb[0][14] != 31+14 {
		t.Errorf("second NTB starts with frame %d", fb[0][14]-14)
	}
}

// SET_NTB_INPUT_SIZE 4096 (row 22: 21 86 00 00 00 00 04 00, data 00 10 00 00) limits the NTBs:
// two 1514-byte frames fit (12 + 1514 → 1528 + 1514 = 3042, plus NDP 20 = 3064), a third does
// not. Sizes outside [2048, 16384] stall.
func TestNCMNTBInputSizeLimitsTheNTB(t *testing.T) {
	q := NewQueue(64)
	d := cdcStart(t, CDCNCM, q)
	if st := classOut(t, d, 0x86, 0, hx(t, "00 10 00 00")); st != usbnic.StatusOK {
		t.Fatal(st)
	}
	for i := 0; i < 3; i++ {
		q.Push(frame(gadgetHostMAC, 1514, byte(i)))
	}
	a, _ := in(t, d, 0x81, 4096)
	fa, offs := parseNTB16(t, a)
	if len(a) != 3064 || len(fa) != 2 || offs[1] != 1528 {
		t.Errorf("NTB of %d bytes with %d datagrams at %v", len(a), len(fa), offs)
	}
	for _, size := range []string{"ff 07 00 00", "01 40 00 00"} {
		if st := classOut(t, d, 0x86, 0, hx(t, size)); st != usbnic.StatusStall {
			t.Errorf("input size % s accepted", size)
		}
	}
}

// NTB32 and CRC mode: "ncmh" NTH of 16 bytes, "ncm1" NDP32, CRC-32 after each datagram.
func TestNCMBuildsNTB32WithCRC(t *testing.T) {
	q := NewQueue(8)
	d := plug(t, CDCNCM, q)
	classOut(t, d, 0x84, 1, nil)
	classOut(t, d, 0x8a, 1, nil)
	if err := d.SelectAlternate(bg, 1, 1); err != nil {
		t.Fatal(err)
	}
	// Leaving alt 1 would reset the format; entering it from alt 0 keeps it.
	if got, _ := classIn(t, d, 0x83, 2); !bytes.Equal(got, []byte{1, 0}) {
		t.Fatalf("GET_NTB_FORMAT % x", got)
	}
	f := frame(gadgetHostMAC, 60, 7)
	q.Push(f)
	got, _ := in(t, d, 0x81, 16384)
	// NTH32 16 bytes, datagram 64 bytes (60 + CRC) at 16, NDP32 at 80: 16 + 2×8 = 32 bytes.
	want := hx(t, "6e 63 6d 68 10 00 00 00 70 00 00 00 50 00 00 00")
	if !bytes.Equal(got[:16], want) || len(got) != 112 {
		t.Fatalf("NTH32 % x, %d bytes", got[:16], len(got))
	}
	ndp := hx(t, "6e 63 6d 31 20 00 00 00 00 00 00 00 00 00 00 00  10 00 00 00 40 00 00 00  00 00 00 00 00 00 00 00")
	if !bytes.Equal(got[80:], ndp) {
		t.Errorf("NDP32 % x", got[80:])
	}
	if !bytes.Equal(got[16:76], f) || binary.LittleEndian.Uint32(got[76:]) != crc32.ChecksumIEEE(f) {
		t.Error("datagram or CRC differs")
	}
	// Leaving alt 1 resets the function to NTB16 without CRC.
	if err := d.SelectAlternate(bg, 1, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := classIn(t, d, 0x83, 2); !bytes.Equal(got, []byte{0, 0}) {
		t.Errorf("format after alt 0: % x", got)
	}
}

// ntb16 builds an OUT NTB the way cdc_ncm does: NTH, NDP right after it, datagrams after that.
func ntb16Out(frames ...[]byte) []byte {
	ndpLen := 8 + 4*(len(frames)+1)
	b := make([]byte, 12+ndpLen)
	copy(b, "NCMH")
	binary.LittleEndian.PutUint16(b[4:], 12)
	binary.LittleEndian.PutUint16(b[10:], 12)
	copy(b[12:], "NCM0")
	binary.LittleEndian.PutUint16(b[16:], uint16(ndpLen))
	for i, f := range frames {
		for len(b)%4 != 2 {
			b = append(b, 0)
		}
		binary.LittleEndian.PutUint16(b[20+4*i:], uint16(len(b)))
		binary.LittleEndian.PutUint16(b[22+4*i:], uint16(len(f)))
		b = append(b, f...)
	}
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

func TestNCMParsesOutNTBs(t *testing.T) {
	q := NewQueue(16)
	d := cdcStart(t, CDCNCM, q)
	f1, f2 := frame(peerMAC, 42, 1), frame(peerMAC, 98, 2)
	good := ntb16Out(f1, f2)
	out(t, d, 0x02, good)
	out(t, d, 0x02, append(append([]byte(nil), good...), 0)) // one zero pad byte
	if got := sent(t, q); len(got) != 4 || !bytes.Equal(got[0], f1) || !bytes.Equal(got[1], f2) {
		t.Fatalf("wire got %d frames", len(got))
	}
	edit := func(off int, v ...byte) []byte {
		b := append([]byte(nil), good...)
		copy(b[off:], v)
		return b
	}
	for _, tc := range []struct {
		name, err string
		data      []byte
	}{
		{"short", "shorter than the 12-byte NTH", good[:10]},
		{"NTH signature", "NTH signature", edit(0, 'X')},
		{"header length", "wHeaderLength 16", edit(4, 16)},
		{"block beyond transfer", "exceeds the", edit(8, 0xff, 0x01)},
		{"block beyond max", "dwNtbOutMaxSize", edit(8, 0x01, 0x40)},
		{"NDP index misaligned", "NDP index 13", edit(10, 13)},
		{"NDP signature (CRC)", "signature 0x314d434e", edit(15, '1')},
		{"NDP length short", "wLength 12", edit(16, 12)},
		{"NDP length unaligned", "wLength 22", edit(16, 22)},
		{"datagram beyond block", "outside the NTB", edit(22, 0xff)},
		{"datagram runt", "length 10", edit(26, 10)},
		{"datagram index in NTH", "outside the NTB", edit(20, 4)},
		{"garbage after NTB", "NTB at offset", append(append([]byte(nil), good...), 1, 2, 3)},
		{"NDP loop", "NDPs", edit(18, 12)},
	} {
		before := d.Stats().TxErrors
		out(t, d, 0x02, tc.data)
		s := d.Stats()
		if s.TxErrors != before+1 || !strings.Contains(s.LastTxError, tc.err) {
			t.Errorf("%s: errors %d→%d, last %q", tc.name, before, s.TxErrors, s.LastTxError)
		}
	}
	// A bad NTB delivers none of its datagrams, not even those before the error.
	if got := sent(t, q); len(got) != 0 {
		t.Errorf("malformed NTBs put %d frames on the wire", len(got))
	}
}

// Class requests need the control interface claimed; f_ncm wants wIndex to be it exactly.
func TestNCMClassRequestsNeedTheClaimedControlInterface(t *testing.T) {
	d := New(CDCNCM, nil)
	if err := d.Open(bg); err != nil {
		t.Fatal(err)
	}
	_, _, err := d.ControlIn(bg, classSetup(0x80, 0, 0), make([]byte, 28))
	if !errors.Is(err, ErrInvalidState) {
		t.Errorf("unclaimed: %v, want ErrInvalidState", err)
	}
	claimAll(t, d)
	_, st, err := d.ControlIn(bg, classSetup(0x80, 0, 1), make([]byte, 28))
	if err != nil || st != usbnic.StatusStall {
		t.Errorf("to the data interface: %v %v, want a stall", st, err)
	}
}

// The AX88179A's CDC configurations run the same functions on the ASIX endpoints; switching
// to the vendor configuration needs every interface released first.
func TestAX88179ASwitchesToTheVendorConfiguration(t *testing.T) {
	q := NewQueue(8)
	d := plug(t, AX88179A, q, WithSpeed(usbnic.SpeedSuper))
	if err := d.SelectConfiguration(bg, 1); !errors.Is(err, ErrInvalidState) {
		t.Errorf("with interfaces claimed: %v", err)
	}
	for _, i := range []uint8{0, 1} {
		if err := d.ReleaseInterface(bg, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.SelectConfiguration(bg, 1); err != nil {
		t.Fatal(err)
	}
	claimAll(t, d)
	if got := macRead(t, d, 0x02, 1); got[0] != 0x04 {
		t.Errorf("PHYSICAL_LINK_STATUS %#02x", got[0])
	}
	// Back in configuration 3 (ECM): frames one per transfer on 0x82.
	if err := d.ReleaseInterface(bg, 0); err != nil {
		t.Fatal(err)
	}
	if err := d.SelectConfiguration(bg, 3); err != nil {
		t.Fatal(err)
	}
	claimAll(t, d)
	if err := d.SelectAlternate(bg, 1, 1); err != nil {
		t.Fatal(err)
	}
	mac := d.MAC()
	q.Push(frame(mac, 60, 0))
	if got, _ := in(t, d, 0x82, 1514); len(got) != 60 {
		t.Errorf("ECM frame of %d bytes", len(got))
	}
	if s := getString(t, d, 5); s != "000EC68179A1" {
		t.Errorf("iMACAddress %q", s)
	}
}

func getString(t *testing.T, d *Device, idx uint8) string {
	b := make([]byte, 255)
	n, _, err := d.ControlIn(bg, usbnic.Setup{Type: usbnic.Standard, Request: 0x06, Value: 0x0300 | uint16(idx), Index: 0x0409}, b)
	if err != nil {
		t.Fatal(err)
	}
	var s []byte
	for i := 2; i+1 < n; i += 2 {
		s = append(s, b[i])
	}
	return string(s)
}
