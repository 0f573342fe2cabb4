package cdcecm

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"webminiport/usbnic"
	"webminiport/usbnic/internal/usbfake"
	"webminiport/usbnic/internal/usbmon"
)

// ecm-linux.pcap from data/usb: f_ecm gadget <-> cdc_ether, high speed.
//
//go:embed testdata/ecm-linux.pcap
var ecmCapture []byte

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The f_ecm configuration descriptor of data/usb/README.md, copied by hand.
const ecmConfigHex = `09 02 58 00 02 01 00 80 32 08 0b 00 02 02 06 00 07 09 04 00 00 01 02 06 00 04 05 24 00 10 01 05
24 06 00 01 0d 24 0f 05 00 00 00 00 ea 05 00 00 00 07 05 85 03 10 00 09 09 04 01 00 00 0a 00 00
00 09 04 01 01 02 0a 00 00 06 07 05 81 02 00 02 00 07 05 02 02 00 02 00`

func gadget() *usbfake.Device {
	return &usbfake.Device{LangIDs: []uint16{0x0409}, Strings: map[uint8]string{5: "020000000002"}}
}

func newDevice(t testing.TB, f *usbfake.Device, cfgBytes []byte) *usbnic.Device {
	t.Helper()
	cfg, err := usbnic.ParseConfig(cfgBytes)
	if err != nil {
		t.Fatal(err)
	}
	return &usbnic.Device{T: f, Config: cfg, Logf: t.Logf}
}

func bound(t testing.TB) (*ecm, *usbnic.Device, *usbfake.Device) {
	t.Helper()
	f := gadget()
	d := newDevice(t, f, unhex(t, ecmConfigHex))
	m := Driver.New().(*ecm)
	if err := m.Bind(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return m, d, f
}

func TestBindFollowsTheCapturedCdcEtherSequence(t *testing.T) {
	m, d, f := bound(t)
	want := []string{
		"claim 0", // WebUSB: class requests need the control interface claimed
		"claim 1",
		"ctrl 01 0b 01 00 01 00 00 00", // README ECM row 12: SET_INTERFACE if 1 alt 1
		"ctrl 21 43 0c 00 00 00 00 00", // row 13: SET_ETHERNET_PACKET_FILTER DIRECTED|BROADCAST
		"ctrl 80 06 00 03 00 00 ff 00", // row 6: the language table (Linux's core read it at enumeration)
		"ctrl 80 06 05 03 09 04 ff 00", // row 14: GET_DESCRIPTOR string 5 (iMACAddress)
	}
	if got := f.Log(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests\n %q\nwant\n %q", got, want)
	}
	if d.MAC != [6]byte{2, 0, 0, 0, 0, 2} || d.PermanentMAC != d.MAC {
		t.Errorf("MAC % x", d.MAC)
	}
	if d.In.Address != 0x81 || d.Out.Address != 0x02 || !d.HasIntr || d.Intr.Address != 0x85 {
		t.Errorf("endpoints in %#x out %#x intr %v %#x", d.In.Address, d.Out.Address, d.HasIntr, d.Intr.Address)
	}
	if d.HardMTU != 1514 || d.RxBufferSize != 1514 || d.TxMaxTransfer != 1515 {
		t.Errorf("HardMTU %d RxBufferSize %d TxMaxTransfer %d", d.HardMTU, d.RxBufferSize, d.TxMaxTransfer)
	}
	if f.Alt(1) != 1 || m.control != 0 || m.data != 1 {
		t.Errorf("data alt %d, control %d data %d", f.Alt(1), m.control, m.data)
	}
}

func TestSetRxModeWritesTheCapturedFilters(t *testing.T) {
	m, d, f := bound(t)
	ctx := context.Background()
	base := uint32(usbnic.PacketDirected | usbnic.PacketBroadcast | usbnic.PacketMulticast)
	mc := [][6]byte{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}}
	for _, step := range []struct {
		filter uint32
		mc     [][6]byte
	}{
		{base, mc},                            // README row 16: 0x000e once a multicast group is joined
		{base | usbnic.PacketPromiscuous, mc}, // row 18: 0x000f
		{base, mc},                            // row 19: 0x000e
		{usbnic.PacketDirected, nil},          // only directed: 0x0004
		{usbnic.PacketAllMulticast, nil},      // 0x0002
		{usbnic.PacketBroadcast, [][6]byte{}}, // 0x0008
	} {
		if err := m.SetRxMode(ctx, d, step.filter, step.mc); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"ctrl 21 43 0e 00 00 00 00 00",
		"ctrl 21 43 0f 00 00 00 00 00",
		"ctrl 21 43 0e 00 00 00 00 00",
		"ctrl 21 43 04 00 00 00 00 00",
		"ctrl 21 43 02 00 00 00 00 00",
		"ctrl 21 43 08 00 00 00 00 00",
	}
	if got := f.Log()[6:]; !reflect.DeepEqual(got, want) {
		t.Errorf("requests\n %q\nwant\n %q", got, want)
	}
}

func TestSetRxModeReportsAStall(t *testing.T) {
	m, d, f := bound(t)
	f.Stall = map[usbfake.Key]bool{usbfake.K(usbnic.Class, usbnic.CDCSetEthernetPacketFilter, 0x0f, 0): true}
	err := m.SetRxMode(context.Background(), d, usbnic.PacketDirected|usbnic.PacketBroadcast|usbnic.PacketAllMulticast|usbnic.PacketPromiscuous, nil)
	want := "cdc_ether: usb: control OUT SET_ETHERNET_PACKET_FILTER (bmRequestType 0x21 bRequest 0x43 wValue 0x000f wIndex 0x0000 wLength 0): stalled"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// ecmConfig assembles a two-interface ECM configuration from its parts, for the bind error
// cases.
func ecmConfig(ctrlExtra [][]byte, ctrlEPs [][]byte, dataClass byte) []byte {
	descs := [][]byte{{9, 4, 0, 0, byte(len(ctrlEPs)), 0x02, 0x06, 0, 0}}
	descs = append(descs, ctrlExtra...)
	descs = append(descs, ctrlEPs...)
	descs = append(descs,
		[]byte{9, 4, 1, 0, 0, dataClass, 0, 0, 0},
		[]byte{9, 4, 1, 1, 2, dataClass, 0, 0, 0},
		[]byte{7, 5, 0x81, 2, 0, 2, 0},
		[]byte{7, 5, 0x02, 2, 0, 2, 0},
	)
	b := []byte{9, 2, 0, 0, 2, 1, 0, 0x80, 50}
	for _, d := range descs {
		b = append(b, d...)
	}
	b[2], b[3] = byte(len(b)), byte(len(b)>>8)
	return b
}

var (
	header   = []byte{5, 0x24, 0x00, 0x10, 0x01}
	union01  = []byte{5, 0x24, 0x06, 0, 1}
	ether    = []byte{13, 0x24, 0x0f, 5, 0, 0, 0, 0, 0xea, 0x05, 0, 0, 0}
	notifyEP = []byte{7, 5, 0x85, 3, 16, 0, 9}
)

func TestBindErrors(t *testing.T) {
	noECM := []byte{9, 2, 18, 0, 1, 1, 0, 0x80, 50, 9, 4, 0, 0, 0, 0xff, 0xff, 0, 0}
	for _, tc := range []struct {
		name    string
		cfg     []byte
		f       *usbfake.Device
		want    string
		wantLog []string
	}{
		{"no ECM interface", noECM, gadget(), "cdc_ether: configuration 1 has no CDC-ECM control interface (02/06/00)", nil},
		{"no union", ecmConfig([][]byte{header, ether}, [][]byte{notifyEP}, 0x0a), gadget(), "cdc_ether: interface 0 has no CDC Union descriptor", nil},
		{"no header", ecmConfig([][]byte{union01, ether}, [][]byte{notifyEP}, 0x0a), gadget(), "cdc_ether: interface 0 has no CDC Header descriptor", nil},
		{"no ethernet", ecmConfig([][]byte{header, union01}, [][]byte{notifyEP}, 0x0a), gadget(), "cdc_ether: interface 0 has no CDC Ethernet Networking descriptor", nil},
		{"data interface not CDC Data", ecmConfig([][]byte{header, union01, ether}, [][]byte{notifyEP}, 0xff), gadget(), "cdc_ether: data interface 1 has class 0xff, want 0x0a (CDC Data)", nil},
		{"bogus union", ecmConfig([][]byte{header, {6, 0x24, 0x06, 1, 1, 1}, ether}, [][]byte{notifyEP}, 0x0a), gadget(), "cdc_ether: bogus CDC Union on interface 0: master 1, slave 1", nil},
		{"MAC string missing", unhex(t, ecmConfigHex), &usbfake.Device{LangIDs: []uint16{0x0409}},
			"cdc_ether: MAC address: reading string descriptor 5: usb: control IN GET_DESCRIPTOR string descriptor 5 (bmRequestType 0x80 bRequest 0x06 wValue 0x0305 wIndex 0x0409 wLength 255): stalled",
			[]string{"claim 0", "claim 1", "ctrl 01 0b 01 00 01 00 00 00", "ctrl 21 43 0c 00 00 00 00 00", "ctrl 80 06 00 03 00 00 ff 00", "ctrl 80 06 05 03 09 04 ff 00", "release 1", "release 0"}},
		{"MAC string not 12 hex digits", unhex(t, ecmConfigHex), &usbfake.Device{LangIDs: []uint16{0x0409}, Strings: map[uint8]string{5: "02:00:00:00:00:02"}},
			`cdc_ether: MAC address: iMACAddress string "02:00:00:00:00:02": 17 characters, want 12 hex digits`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDevice(t, tc.f, tc.cfg)
			err := Driver.New().Bind(context.Background(), d)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error\n %v\nwant\n %q", err, tc.want)
			}
			if tc.wantLog != nil && !reflect.DeepEqual(tc.f.Log(), tc.wantLog) {
				t.Errorf("requests\n %q\nwant\n %q", tc.f.Log(), tc.wantLog)
			}
			if tc.f.Claimed(0) || tc.f.Claimed(1) {
				t.Error("an interface stays claimed after the failed bind")
			}
		})
	}
}

func TestBindSwapsAnAmbitUnion(t *testing.T) {
	// The Ambit cable modem names the data interface as master and the control as slave.
	f := gadget()
	d := newDevice(t, f, ecmConfig([][]byte{header, {5, 0x24, 0x06, 1, 0}, ether}, [][]byte{notifyEP}, 0x0a))
	m := Driver.New().(*ecm)
	if err := m.Bind(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if m.control != 0 || m.data != 1 || d.Out.Address != 0x02 {
		t.Errorf("control %d data %d out %#x", m.control, m.data, d.Out.Address)
	}
}

func TestBindStatusEndpointRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		eps  [][]byte
		want bool
	}{
		{"interrupt IN", [][]byte{notifyEP}, true},
		{"none", nil, false},
		{"bInterval 0", [][]byte{{7, 5, 0x85, 3, 16, 0, 0}}, false},
		{"wMaxPacketSize below 8", [][]byte{{7, 5, 0x85, 3, 4, 0, 9}}, false},
		{"bulk, not interrupt", [][]byte{{7, 5, 0x85, 2, 64, 0, 0}}, false},
		{"interrupt OUT", [][]byte{{7, 5, 0x05, 3, 16, 0, 9}}, false},
		{"two endpoints", [][]byte{notifyEP, {7, 5, 0x86, 3, 16, 0, 9}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDevice(t, gadget(), ecmConfig([][]byte{header, union01, ether}, tc.eps, 0x0a))
			if err := Driver.New().Bind(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			if d.HasIntr != tc.want || (tc.want && d.Intr.Address != 0x85) {
				t.Errorf("HasIntr %v intr %#x, want %v", d.HasIntr, d.Intr.Address, tc.want)
			}
		})
	}
}

func TestBindUsesWMaxSegmentSize(t *testing.T) {
	for _, tc := range []struct {
		seg  uint16
		want int
	}{{1514, 1514}, {1518, 1518}, {0, 1514}} {
		e := append([]byte(nil), ether...)
		e[8], e[9] = byte(tc.seg), byte(tc.seg>>8)
		d := newDevice(t, gadget(), ecmConfig([][]byte{header, union01, e}, [][]byte{notifyEP}, 0x0a))
		if err := Driver.New().Bind(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		if d.HardMTU != tc.want || d.RxBufferSize != tc.want || d.TxMaxTransfer != tc.want+1 {
			t.Errorf("wMaxSegmentSize %d: HardMTU %d RxBufferSize %d TxMaxTransfer %d", tc.seg, d.HardMTU, d.RxBufferSize, d.TxMaxTransfer)
		}
	}
}

func TestUnbindReleasesBothInterfaces(t *testing.T) {
	m, d, f := bound(t)
	m.Unbind(context.Background(), d)
	if f.Claimed(0) || f.Claimed(1) {
		t.Error("interfaces still claimed")
	}
}

// frames collects what RxFixup delivers.
type frames struct{ got [][]byte }

func (s *frames) Frame(b []byte) { s.got = append(s.got, append([]byte(nil), b...)) }

// counter counts frames without keeping them.
type counter struct{ n, bytes int }

func (c *counter) Frame(b []byte) { c.n++; c.bytes += len(b) }

// arpRequest is the first frame of the capture's arping (record 179), written out by hand:
// broadcast, from 02:00:00:00:00:02, ARP who-has 192.168.78.1 tell 192.168.78.2.
var arpRequest = []byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 192, 168, 78, 2,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 192, 168, 78, 1,
}

func TestRxFixupOneFramePerTransfer(t *testing.T) {
	m, d, _ := bound(t)
	for _, tc := range []struct {
		name string
		in   []byte
		want [][]byte
		err  string
	}{
		{"arp request", arpRequest, [][]byte{arpRequest}, ""},
		{"header only", arpRequest[:14], [][]byte{arpRequest[:14]}, ""},
		{"full segment", bytes.Repeat([]byte{0xab}, 1514), [][]byte{bytes.Repeat([]byte{0xab}, 1514)}, ""},
		{"shorter than a header", arpRequest[:13], nil, "cdc_ether: rx: 13-byte transfer is shorter than an Ethernet header (14)"},
		{"empty", nil, nil, "cdc_ether: rx: 0-byte transfer is shorter than an Ethernet header (14)"},
		{"longer than wMaxSegmentSize", make([]byte, 1515), nil, "cdc_ether: rx: 1515-byte transfer is longer than the 1514-byte wMaxSegmentSize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s frames
			err := m.RxFixup(d, tc.in, &s)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("error %v, want %q", err, tc.err)
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

func TestTxFramingAndTheShortPacketRule(t *testing.T) {
	m, d, _ := bound(t) // bulk OUT wMaxPacketSize 512
	frame := func(n int) []byte {
		b := make([]byte, n)
		copy(b, arpRequest)
		for i := len(arpRequest); i < n; i++ {
			b[i] = byte(i)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte
	}{
		{"arp request goes out unchanged", arpRequest, arpRequest},
		{"511 bytes: already ends short", frame(511), frame(511)},
		{"512 bytes: one zero byte appended", frame(512), append(frame(512), 0x00)},
		{"1024 bytes: one zero byte appended", frame(1024), append(frame(1024), 0x00)},
		{"1514 bytes", frame(1514), frame(1514)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := bytes.Repeat([]byte{0xee}, d.TxMaxTransfer) // stale bytes from an earlier frame
			n, flush, err := m.TxAppend(d, buf, 0, tc.in)
			if err != nil || !flush || n != len(tc.in) {
				t.Fatalf("TxAppend = %d, %v, %v", n, flush, err)
			}
			n, zlp := m.TxFinish(d, buf, n)
			if zlp || !bytes.Equal(buf[:n], tc.want) {
				t.Errorf("TxFinish = %d bytes, zlp %v; tail % x, want %d bytes", n, zlp, buf[max(0, n-4):n], len(tc.want))
			}
		})
	}
}

func TestTxFinishSendsAZLPWhenThereIsNoRoomForThePadByte(t *testing.T) {
	m, d, _ := bound(t)
	buf := make([]byte, 512)
	n, _, err := m.TxAppend(d, buf, 0, make([]byte, 512))
	if err != nil {
		t.Fatal(err)
	}
	if n, zlp := m.TxFinish(d, buf, n); n != 512 || !zlp {
		t.Errorf("TxFinish = %d, %v; want 512, true", n, zlp)
	}
}

func TestTxAppendErrors(t *testing.T) {
	m, d, _ := bound(t)
	buf := make([]byte, d.TxMaxTransfer)
	if _, _, err := m.TxAppend(d, buf, 42, arpRequest); !errors.Is(err, usbnic.ErrTxFull) {
		t.Errorf("second frame: %v, want ErrTxFull", err)
	}
	for _, tc := range []struct {
		frame []byte
		buf   []byte
		want  string
	}{
		{arpRequest[:13], buf, "cdc_ether: tx: 13-byte frame is shorter than an Ethernet header (14)"},
		{make([]byte, 1515), make([]byte, 2000), "cdc_ether: tx: 1515-byte frame is longer than the 1514-byte wMaxSegmentSize"},
		{arpRequest, make([]byte, 20), "cdc_ether: tx: 42-byte frame does not fit the 20-byte transfer buffer"},
	} {
		if _, _, err := m.TxAppend(d, tc.buf, 0, tc.frame); err == nil || err.Error() != tc.want {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// The notifications of the capture, from the README table.
var (
	connected    = []byte{0xa1, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00}
	disconnected = []byte{0xa1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
	speedChange  = []byte{0xa1, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x64, 0x19, 0x00, 0x00, 0x64, 0x19}
)

func TestStatusNotifications(t *testing.T) {
	m, d, _ := bound(t)
	speed := usbnic.StatusEvent{HasSpeed: true, RxSpeed: 425984000, TxSpeed: 425984000}
	for _, tc := range []struct {
		name string
		in   []byte
		want usbnic.StatusEvent
		err  string
	}{
		{"connected", connected, usbnic.StatusEvent{HasLink: true, LinkUp: true}, ""},
		{"disconnected", disconnected, usbnic.StatusEvent{HasLink: true}, ""},
		{"speed change", speedChange, speed, ""},
		{"downlink first", []byte{0xa1, 0x2a, 0, 0, 0, 0, 8, 0, 0x40, 0x42, 0x0f, 0x00, 0x80, 0x84, 0x1e, 0x00},
			usbnic.StatusEvent{HasSpeed: true, RxSpeed: 1000000, TxSpeed: 2000000}, ""},
		{"speed change header alone", speedChange[:8], usbnic.StatusEvent{}, ""},
		{"its rates in the next transfer", speedChange[8:], speed, ""},
		// cdc_ether takes the rates from the next transfer whenever the length is not 16.
		{"speed change of 12 bytes", speedChange[:12], usbnic.StatusEvent{}, ""},
		{"rates after it", speedChange[8:], speed, ""},
		{"short transfer", connected[:7], usbnic.StatusEvent{}, "cdc_ether: CDC notification: 7 bytes, shorter than the 8-byte header"},
		{"response available", []byte{0xa1, 0x01, 0, 0, 0, 0, 0, 0}, usbnic.StatusEvent{}, "cdc_ether: unexpected RESPONSE_AVAILABLE"},
		{"unknown", []byte{0xa1, 0x20, 0, 0, 0, 0, 0, 0}, usbnic.StatusEvent{}, "cdc_ether: unexpected notification 0x20"},
	} {
		got, err := m.Status(d, tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestCaptureBulkINFramesAllPass(t *testing.T) {
	recs, err := usbmon.Read(ecmCapture)
	if err != nil {
		t.Fatal(err)
	}
	m, d, _ := bound(t)
	in := usbmon.CompletedIn(recs, 2, 0x81, usbmon.XferBulk)
	var s counter
	for i, tr := range in {
		if err := m.RxFixup(d, tr, &s); err != nil {
			t.Fatalf("transfer %d: %v", i, err)
		}
	}
	// README: bulk IN, 354 completions with data, 100324 bytes, one frame each.
	if len(in) != 354 || s.n != 354 || s.bytes != 100324 {
		t.Errorf("%d transfers, %d frames, %d bytes; want 354, 354, 100324", len(in), s.n, s.bytes)
	}
}

func TestCaptureBulkOUTIsWhatTxBuilds(t *testing.T) {
	// cdc_ether's 354 OUT transfers are the frames themselves (none is a multiple of 512 bytes).
	// Building each one with TxAppend/TxFinish must give the same bytes.
	recs, err := usbmon.Read(ecmCapture)
	if err != nil {
		t.Fatal(err)
	}
	m, d, _ := bound(t)
	out := usbmon.BulkOut(recs, 2, 0x02)
	if len(out) != 354 {
		t.Fatalf("%d OUT transfers, want 354", len(out))
	}
	buf := make([]byte, d.TxMaxTransfer)
	total := 0
	for i, tr := range out {
		n, _, err := m.TxAppend(d, buf, 0, tr)
		if err != nil {
			t.Fatalf("transfer %d: %v", i, err)
		}
		n, zlp := m.TxFinish(d, buf, n)
		if zlp || !bytes.Equal(buf[:n], tr) {
			t.Fatalf("transfer %d: built %d bytes (zlp %v), capture has %d", i, n, zlp, len(tr))
		}
		total += n
	}
	if total != 100324 {
		t.Errorf("%d bytes, want 100324", total)
	}
}

func TestCaptureNotificationsGiveTheLinkHistory(t *testing.T) {
	recs, err := usbmon.Read(ecmCapture)
	if err != nil {
		t.Fatal(err)
	}
	m, d, _ := bound(t)
	var got []string
	for _, n := range usbmon.CompletedIn(recs, 2, 0x85, usbmon.XferInterrupt) {
		ev, err := m.Status(d, n)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ev.HasLink:
			got = append(got, fmt.Sprintf("link %v", ev.LinkUp))
		case ev.HasSpeed:
			got = append(got, fmt.Sprintf("speed %d/%d", ev.RxSpeed, ev.TxSpeed))
		}
	}
	// README ECM notification table: f_ecm sends NETWORK_CONNECTION first, then SPEED_CHANGE.
	want := []string{
		"link false", "speed 425984000/425984000", "link true", "speed 425984000/425984000",
		"link false", "speed 425984000/425984000", "link true", "speed 425984000/425984000",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events\n %q\nwant\n %q", got, want)
	}
}

func TestDatapathDoesNotAllocate(t *testing.T) {
	m, d, _ := bound(t)
	var s counter
	buf := make([]byte, d.TxMaxTransfer)
	frame := make([]byte, 512)
	copy(frame, arpRequest)
	allocs := testing.AllocsPerRun(1000, func() {
		_ = m.RxFixup(d, arpRequest, &s)
		n, _, _ := m.TxAppend(d, buf, 0, frame)
		m.TxFinish(d, buf, n)
		_, _ = m.Status(d, connected)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
}
