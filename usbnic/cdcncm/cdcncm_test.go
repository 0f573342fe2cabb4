package cdcncm

import (
	"context"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"webminiport/usbnic"
	"webminiport/usbnic/internal/usbfake"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// From data/usb/README.md, copied by hand: the f_ncm configuration descriptor and its
// GET_NTB_PARAMETERS answer (row 14).
const (
	ncmConfigHex = `09 02 5e 00 02 01 00 80 32 08 0b 00 02 02 0d 00 07 09 04 00 00 01 02 0d 00 04 05 24 00 10 01 05
24 06 00 01 0d 24 0f 05 00 00 00 00 ea 05 00 00 00 06 24 1a 00 01 11 07 05 85 03 10 00 09 09 04
01 00 00 0a 00 01 06 09 04 01 01 02 0a 00 01 06 07 05 81 02 00 02 00 07 05 02 02 00 02 00`
	ntbParamsHex = `1c 00 03 00 00 40 00 00 04 00 00 00 04 00 00 00 00 40 00 00 04 00 00 00 04 00 00 00`
)

var getNTBParams = usbfake.K(usbnic.Class, usbnic.NCMGetNTBParameters, 0, 0)

// gadget is the f_ncm function of the capture.
func gadget(t testing.TB) *usbfake.Device {
	return &usbfake.Device{
		LangIDs: []uint16{0x0409},
		Strings: map[uint8]string{5: "020000000002"},
		InData:  map[usbfake.Key][]byte{getNTBParams: unhex(t, ntbParamsHex)},
	}
}

func newDevice(t testing.TB, f *usbfake.Device, cfgBytes []byte) *usbnic.Device {
	t.Helper()
	cfg, err := usbnic.ParseConfig(cfgBytes)
	if err != nil {
		t.Fatal(err)
	}
	return &usbnic.Device{T: f, Config: cfg, Logf: t.Logf}
}

func bindWith(t testing.TB, drv *usbnic.Driver, f *usbfake.Device, cfg []byte) (*ncm, *usbnic.Device) {
	t.Helper()
	d := newDevice(t, f, cfg)
	m := drv.New().(*ncm)
	if err := m.Bind(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return m, d
}

func bound(t testing.TB) (*ncm, *usbnic.Device, *usbfake.Device) {
	t.Helper()
	f := gadget(t)
	m, d := bindWith(t, Driver, f, unhex(t, ncmConfigHex))
	return m, d, f
}

func TestBindFollowsTheCapturedCdcNcmSequence(t *testing.T) {
	m, d, f := bound(t)
	want := []string{
		"claim 0",
		"claim 1",
		"ctrl 01 0b 01 00 01 00 00 00", // README NCM row 12: SET_INTERFACE if 1 alt 1
		"ctrl 01 0b 00 00 01 00 00 00", // row 13: SET_INTERFACE if 1 alt 0
		"ctrl a1 80 00 00 00 00 1c 00", // row 14: GET_NTB_PARAMETERS
		"ctrl 21 8a 00 00 00 00 00 00", // row 15: SET_CRC_MODE 0
		"ctrl 21 84 00 00 00 00 00 00", // row 16: SET_NTB_FORMAT NTB16
		"ctrl 01 0b 01 00 01 00 00 00", // row 17: SET_INTERFACE if 1 alt 1
		"ctrl 80 06 00 03 00 00 ff 00", // row 6: language table (Linux read it at enumeration)
		"ctrl 80 06 05 03 09 04 ff 00", // row 18: iMACAddress
	}
	if got := f.Log(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests\n %q\nwant\n %q", got, want)
	}
	if d.MAC != [6]byte{2, 0, 0, 0, 0, 2} {
		t.Errorf("MAC % x", d.MAC)
	}
	if d.In.Address != 0x81 || d.Out.Address != 0x02 || !d.HasIntr || d.Intr.Address != 0x85 {
		t.Errorf("endpoints in %#x out %#x intr %v %#x", d.In.Address, d.Out.Address, d.HasIntr, d.Intr.Address)
	}
	// README: the receive size equals dwNtbInMaxSize (16384), so no SET_NTB_INPUT_SIZE.
	if d.RxBufferSize != 16384 || d.TxMaxTransfer != 16384 || d.HardMTU != 1514 {
		t.Errorf("RxBufferSize %d TxMaxTransfer %d HardMTU %d", d.RxBufferSize, d.TxMaxTransfer, d.HardMTU)
	}
	// 40 datagrams, NDP16 of 8 + 41*4 bytes, remainder (0-14)&3 = 2, min_tx_pkt 16384-3*512.
	if m.f != &ntb16 || m.txMaxDatagrams != 40 || m.ndpSize != 172 || m.ndpAlign != 4 || m.txModulus != 4 || m.txRemainder != 2 || m.minTxPkt != 14848 || m.rxMax != 16384 {
		t.Errorf("negotiated %+v", m)
	}
	if f.Alt(1) != 1 {
		t.Errorf("data interface in alternate %d", f.Alt(1))
	}
}

func TestSetRxModeWritesTheCapturedFilters(t *testing.T) {
	m, d, f := bound(t)
	ctx := context.Background()
	base := uint32(usbnic.PacketDirected | usbnic.PacketBroadcast | usbnic.PacketAllMulticast)
	for _, filter := range []uint32{base, base | usbnic.PacketPromiscuous, base} {
		if err := m.SetRxMode(ctx, d, filter, nil); err != nil {
			t.Fatal(err)
		}
	}
	// README rows 20/21, 23 and 24.
	want := []string{"ctrl 21 43 0e 00 00 00 00 00", "ctrl 21 43 0f 00 00 00 00 00", "ctrl 21 43 0e 00 00 00 00 00"}
	if got := f.Log()[10:]; !reflect.DeepEqual(got, want) {
		t.Errorf("requests\n %q\nwant\n %q", got, want)
	}
}

// ncmConfig is the captured configuration with the NCM functional descriptor's
// bmNetworkCapabilities replaced.
func ncmConfig(t testing.TB, caps byte) []byte {
	b := unhex(t, ncmConfigHex)
	b[54] = caps // the NCM descriptor is at offset 49; bmNetworkCapabilities is its byte 5
	return b
}

// params builds a GET_NTB_PARAMETERS answer from its fields, in the order of the NCM
// specification's table.
func params(formats uint16, inMax uint32, inDiv, inRem, inAlign uint16, outMax uint32, outDiv, outRem, outAlign, outMaxDgrams uint16) []byte {
	b := make([]byte, 28)
	le.PutUint16(b[0:], 28)
	le.PutUint16(b[2:], formats)
	le.PutUint32(b[4:], inMax)
	le.PutUint16(b[8:], inDiv)
	le.PutUint16(b[10:], inRem)
	le.PutUint16(b[12:], inAlign)
	le.PutUint32(b[16:], outMax)
	le.PutUint16(b[20:], outDiv)
	le.PutUint16(b[22:], outRem)
	le.PutUint16(b[24:], outAlign)
	le.PutUint16(b[26:], outMaxDgrams)
	return b
}

func TestBindNegotiation(t *testing.T) {
	type negotiated struct {
		rxMax, txMax, txMaxDatagrams, ndpSize, ndpAlign, txModulus, txRemainder, minTxPkt, maxDatagram int
		ntb32                                                                                          bool
	}
	for _, tc := range []struct {
		name   string
		caps   byte
		params []byte
		stall  []usbfake.Key
		in     map[usbfake.Key][]byte
		drv    *usbnic.Driver
		extra  []string // requests after the iMACAddress read
		want   negotiated
	}{
		{
			name: "large device input size is lowered to 16384", caps: 0x11,
			params: params(1, 65536, 4, 0, 4, 65536, 4, 0, 4, 0),
			extra:  []string{"ctrl 21 86 00 00 00 00 04 00 data 00 40 00 00"},
			// tx 16384 differs from 65536 and is a multiple of 512: one more byte.
			want: negotiated{16384, 16385, 40, 172, 4, 4, 2, 14849, 1514, false},
		},
		{
			name: "SET_NTB_INPUT_SIZE refused keeps the device's size", caps: 0x11,
			params: params(1, 32768, 4, 0, 4, 16384, 4, 0, 4, 0),
			stall:  []usbfake.Key{usbfake.K(usbnic.Class, usbnic.NCMSetNTBInputSize, 0, 0)},
			extra:  []string{"ctrl 21 86 00 00 00 00 04 00 data 00 40 00 00"},
			want:   negotiated{32768, 16384, 40, 172, 4, 4, 2, 14848, 1514, false},
		},
		{
			name: "small device sizes", caps: 0x00,
			params: params(1, 4096, 4, 0, 4, 4096, 4, 0, 4, 0),
			want:   negotiated{4096, 4096, 40, 172, 4, 4, 2, 2560, 1514, false},
		},
		{
			name: "input size below the NCM minimum is raised to 2048", caps: 0x00,
			params: params(1, 1024, 4, 0, 4, 4096, 4, 0, 4, 0),
			extra:  []string{"ctrl 21 86 00 00 00 00 04 00 data 00 08 00 00"},
			want:   negotiated{2048, 4096, 40, 172, 4, 4, 2, 2560, 1514, false},
		},
		{
			// min(16384, 0) clamped up to one datagram + NDP + NTH = 1514 + 172 + 12.
			name: "no output maximum: room for one datagram", caps: 0x00,
			params: params(1, 16384, 4, 0, 4, 0, 4, 0, 4, 0),
			want:   negotiated{16384, 1698, 40, 172, 4, 4, 2, 512, 1514, false},
		},
		{
			name: "datagram limit, divisor 16 with remainder 0", caps: 0x00,
			params: params(1, 16384, 4, 0, 4, 16384, 16, 0, 8, 16),
			// NDP 8 + 17*4; remainder (0-14)&15 = 2; NDP aligned to 8.
			want: negotiated{16384, 16384, 16, 76, 8, 16, 2, 14848, 1514, false},
		},
		{
			name: "nonsense alignment falls back to 4", caps: 0x00,
			params: params(1, 16384, 4, 0, 4, 16384, 6, 9, 2, 100),
			want:   negotiated{16384, 16384, 40, 172, 4, 4, 2, 14848, 1514, false},
		},
		{
			name: "remainder 2 of divisor 4 means the Ethernet payload at 0 mod 4", caps: 0x00,
			params: params(1, 16384, 4, 0, 4, 16384, 4, 2, 4, 0),
			want:   negotiated{16384, 16384, 40, 172, 4, 4, 0, 14848, 1514, false},
		},
		{
			name: "max datagram size differs: set ours", caps: 0x08,
			params: params(1, 16384, 4, 0, 4, 16384, 4, 0, 4, 0),
			in:     map[usbfake.Key][]byte{usbfake.K(usbnic.Class, usbnic.NCMGetMaxDatagramSize, 0, 0): {0xdc, 0x05}},
			extra:  []string{"ctrl a1 87 00 00 00 00 02 00", "ctrl 21 88 00 00 00 00 02 00 data ea 05"},
			want:   negotiated{16384, 16384, 40, 172, 4, 4, 2, 14848, 1514, false},
		},
		{
			name: "max datagram size agrees", caps: 0x08,
			params: params(1, 16384, 4, 0, 4, 16384, 4, 0, 4, 0),
			in:     map[usbfake.Key][]byte{usbfake.K(usbnic.Class, usbnic.NCMGetMaxDatagramSize, 0, 0): {0xea, 0x05}},
			extra:  []string{"ctrl a1 87 00 00 00 00 02 00"},
			want:   negotiated{16384, 16384, 40, 172, 4, 4, 2, 14848, 1514, false},
		},
		{
			name: "NTB32 preferred and offered", caps: 0x00, drv: DriverNTB32,
			params: params(3, 16384, 4, 0, 4, 16384, 4, 0, 4, 0),
			// NDP32: 16 + 41*8.
			want: negotiated{16384, 16384, 40, 344, 4, 4, 2, 14848, 1514, true},
		},
		{
			name: "NTB32 preferred but refused", caps: 0x00, drv: DriverNTB32,
			params: params(3, 16384, 4, 0, 4, 16384, 4, 0, 4, 0),
			stall:  []usbfake.Key{usbfake.K(usbnic.Class, usbnic.NCMSetNTBFormat, 1, 0)},
			want:   negotiated{16384, 16384, 40, 172, 4, 4, 2, 14848, 1514, false},
		},
		{
			name: "NTB32 preferred, only NTB16 offered", caps: 0x00, drv: DriverNTB32,
			params: params(1, 16384, 4, 0, 4, 16384, 4, 0, 4, 0),
			want:   negotiated{16384, 16384, 40, 172, 4, 4, 2, 14848, 1514, false},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := gadget(t)
			f.InData[getNTBParams] = tc.params
			for k, v := range tc.in {
				f.InData[k] = v
			}
			f.Stall = map[usbfake.Key]bool{}
			for _, k := range tc.stall {
				f.Stall[k] = true
			}
			drv := tc.drv
			if drv == nil {
				drv = Driver
			}
			m, d := bindWith(t, drv, f, ncmConfig(t, tc.caps))
			got := negotiated{m.rxMax, m.txMax, m.txMaxDatagrams, m.ndpSize, m.ndpAlign, m.txModulus, m.txRemainder, m.minTxPkt, m.maxDatagram, m.f == &ntb32}
			if got != tc.want {
				t.Errorf("negotiated %+v\nwant       %+v", got, tc.want)
			}
			if d.RxBufferSize != m.rxMax || d.TxMaxTransfer != m.txMax || d.HardMTU != m.maxDatagram {
				t.Errorf("device sizes %d %d %d", d.RxBufferSize, d.TxMaxTransfer, d.HardMTU)
			}
			log := f.Log()
			i := len(log) - 1
			for i >= 0 && log[i] != "ctrl 80 06 05 03 09 04 ff 00" {
				i--
			}
			if after := log[i+1:]; !reflect.DeepEqual(after, tc.extra) && !(len(after) == 0 && len(tc.extra) == 0) {
				t.Errorf("requests after the MAC read\n %q\nwant\n %q", after, tc.extra)
			}
		})
	}
}

func TestBindRequestsTheNTBFormatOnlyWhenNTB32IsOffered(t *testing.T) {
	for _, tc := range []struct {
		name    string
		drv     *usbnic.Driver
		formats uint16
		want    string // the SET_NTB_FORMAT request, or "" for none
	}{
		{"NTB16 only", Driver, 1, ""},
		{"both, NTB16 wanted", Driver, 3, "ctrl 21 84 00 00 00 00 00 00"},
		{"both, NTB32 wanted", DriverNTB32, 3, "ctrl 21 84 01 00 00 00 00 00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := gadget(t)
			f.InData[getNTBParams] = params(tc.formats, 16384, 4, 0, 4, 16384, 4, 0, 4, 0)
			bindWith(t, tc.drv, f, ncmConfig(t, 0))
			var got string
			for _, l := range f.Log() {
				if strings.HasPrefix(l, "ctrl 21 84") {
					got = l
				}
			}
			if got != tc.want {
				t.Errorf("SET_NTB_FORMAT %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBindFindsTheDataInterfaceThroughTheIADWithoutUnion(t *testing.T) {
	// The captured configuration with its Union descriptor turned into an unknown CDC
	// subtype (0x07): the IAD (interfaces 0-1) must name the data interface.
	b := ncmConfig(t, 0x11)
	b[33] = 0x07
	m, d := bindWith(t, Driver, gadget(t), b)
	if m.data != 1 || d.Out.Address != 0x02 {
		t.Errorf("data interface %d, out %#x", m.data, d.Out.Address)
	}
}

func TestBindErrors(t *testing.T) {
	noUnionNoIAD := ncmConfig(t, 0x11)
	noUnionNoIAD[33] = 0x07 // union → unknown subtype
	noUnionNoIAD[10] = 0x30 // IAD → an unknown descriptor type, skipped
	noEther := ncmConfig(t, 0x11)
	noEther[38] = 0x0e // ethernet → unknown subtype
	noNCM := ncmConfig(t, 0x11)
	noNCM[51] = 0x1b
	noIntr := ncmConfig(t, 0x11)
	noIntr[57] = 0x02 // endpoint 0x85 becomes bulk
	noCtrl := ncmConfig(t, 0x11)
	noCtrl[23] = 0x06 // subclass ECM
	for _, tc := range []struct {
		name    string
		cfg     []byte
		mutate  func(*usbfake.Device)
		want    string
		wantLog []string
	}{
		{"no NCM interface", noCtrl, nil, "cdc_ncm: configuration 1 has no CDC-NCM control interface (02/0d/00)", nil},
		{"no union, no IAD", noUnionNoIAD, nil, "cdc_ncm: interface 0: CDC Union missing and no IAD found", nil},
		{"no ethernet descriptor", noEther, nil, "cdc_ncm: interface 0 has no CDC Ethernet Networking descriptor", nil},
		{"no NCM descriptor", noNCM, nil, "cdc_ncm: interface 0 has no NCM functional descriptor", nil},
		{"GET_NTB_PARAMETERS stalls", ncmConfig(t, 0x11), func(f *usbfake.Device) { delete(f.InData, getNTBParams) },
			"cdc_ncm: usb: control IN GET_NTB_PARAMETERS (bmRequestType 0xa1 bRequest 0x80 wValue 0x0000 wIndex 0x0000 wLength 28): stalled",
			[]string{"claim 0", "claim 1", "ctrl 01 0b 01 00 01 00 00 00", "ctrl 01 0b 00 00 01 00 00 00", "ctrl a1 80 00 00 00 00 1c 00", "release 1", "release 0"}},
		{"GET_NTB_PARAMETERS short", ncmConfig(t, 0x11), func(f *usbfake.Device) { f.InData[getNTBParams] = f.InData[getNTBParams][:20] },
			"cdc_ncm: GET_NTB_PARAMETERS answered 20 bytes, want 28", nil},
		{"alternate 0 refused", ncmConfig(t, 0x11), func(f *usbfake.Device) {
			f.Stall = map[usbfake.Key]bool{usbfake.K(usbnic.Standard, usbnic.ReqSetInterface, 0, 1): true}
		}, "cdc_ncm: SET_INTERFACE interface 1 alternate 0: usbfake: SET_INTERFACE stalled", nil},
		{"no interrupt endpoint", noIntr, nil, "cdc_ncm: endpoints missing (bulk IN true, bulk OUT true, interrupt IN false)", nil},
		{"bad MAC string", ncmConfig(t, 0x11), func(f *usbfake.Device) { f.Strings[5] = "0200000000" },
			`cdc_ncm: MAC address: iMACAddress string "0200000000": 10 characters, want 12 hex digits`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := gadget(t)
			if tc.mutate != nil {
				tc.mutate(f)
			}
			d := newDevice(t, f, tc.cfg)
			err := Driver.New().Bind(context.Background(), d)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error\n %v\nwant\n %q", err, tc.want)
			}
			if tc.wantLog != nil && !reflect.DeepEqual(f.Log(), tc.wantLog) {
				t.Errorf("requests\n %q\nwant\n %q", f.Log(), tc.wantLog)
			}
			if f.Claimed(0) || f.Claimed(1) {
				t.Error("an interface stays claimed after the failed bind")
			}
		})
	}
}

func TestBindStopsWhenTheContextEnds(t *testing.T) {
	f := gadget(t)
	d := newDevice(t, f, unhex(t, ncmConfigHex))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Driver.New().Bind(ctx, d); err != context.Canceled {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if f.Claimed(0) || f.Claimed(1) {
		t.Error("interfaces stay claimed")
	}
}

func TestSetRxModeWithoutFilterCapabilityDoesNothing(t *testing.T) {
	f := gadget(t)
	m, d := bindWith(t, Driver, f, ncmConfig(t, 0x10))
	n := len(f.Log())
	if err := m.SetRxMode(context.Background(), d, usbnic.PacketPromiscuous, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.Log()) != n {
		t.Errorf("requests %q", f.Log()[n:])
	}
}

func TestUnbindReleasesBothInterfaces(t *testing.T) {
	m, d, f := bound(t)
	m.Unbind(context.Background(), d)
	if f.Claimed(0) || f.Claimed(1) {
		t.Error("interfaces still claimed")
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
		name   string
		linkUp bool // the core's view before the transfer
		in     []byte
		want   usbnic.StatusEvent
		err    string
	}{
		{"connected while down", false, connected, usbnic.StatusEvent{HasLink: true, LinkUp: true}, ""},
		{"connected while up is no news", true, connected, usbnic.StatusEvent{}, ""},
		{"disconnected while up", true, disconnected, usbnic.StatusEvent{HasLink: true}, ""},
		{"disconnected while down is no news", false, disconnected, usbnic.StatusEvent{}, ""},
		{"speed change", false, speedChange, speed, ""},
		{"downlink first", false, []byte{0xa1, 0x2a, 0, 0, 0, 0, 8, 0, 0x40, 0x42, 0x0f, 0x00, 0x80, 0x84, 0x1e, 0x00},
			usbnic.StatusEvent{HasSpeed: true, RxSpeed: 1000000, TxSpeed: 2000000}, ""},
		{"speed change header alone", false, speedChange[:8], usbnic.StatusEvent{}, ""},
		{"its rates in the next transfer", false, speedChange[8:], speed, ""},
		{"15-byte speed change", false, speedChange[:15], usbnic.StatusEvent{}, ""},
		{"rates after it", false, speedChange[8:], speed, ""},
		// cdc_ncm accepts a longer transfer (cdc_ether would not).
		{"20-byte speed change", false, append(append([]byte(nil), speedChange...), 1, 2, 3, 4), speed, ""},
		{"short", false, connected[:4], usbnic.StatusEvent{}, "cdc_ncm: CDC notification: 4 bytes, shorter than the 8-byte header"},
		{"response available", false, []byte{0xa1, 0x01, 0, 0, 0, 0, 0, 0}, usbnic.StatusEvent{}, "cdc_ncm: unexpected RESPONSE_AVAILABLE"},
	} {
		d.Link.Up = tc.linkUp
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
