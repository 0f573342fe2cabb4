package usbnic_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"webminiport/usbnic"
	"webminiport/usbnic/internal/usbfake"
)

func TestReadCmdReturnsShortReadsAsIs(t *testing.T) {
	s := usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToDevice, Request: 0x01, Value: 0x10, Index: 6}
	f := &usbfake.Device{InData: map[usbfake.Key][]byte{usbfake.K(usbnic.Vendor, 0x01, 0x10, 6): {1, 2, 3}}}
	d := &usbnic.Device{T: f}
	buf := make([]byte, 6)
	n, err := d.ReadCmd(context.Background(), s, buf)
	if err != nil || n != 3 || !reflect.DeepEqual(buf[:3], []byte{1, 2, 3}) {
		t.Errorf("ReadCmd = %d, %v, buf % x", n, err, buf)
	}
	if got, want := f.Log(), []string{"ctrl c0 01 10 00 06 00 06 00"}; !reflect.DeepEqual(got, want) {
		t.Errorf("log %q, want %q", got, want)
	}
}

func TestControlStallNamesTheRequest(t *testing.T) {
	ctx := context.Background()
	f := &usbfake.Device{Stall: map[usbfake.Key]bool{
		usbfake.K(usbnic.Class, usbnic.NCMGetNTBParameters, 0, 0):          true,
		usbfake.K(usbnic.Class, usbnic.CDCSetEthernetPacketFilter, 0xc, 0): true,
		usbfake.K(usbnic.Vendor, 0x01, 0x22, 2):                            true,
	}}
	d := &usbnic.Device{T: f}
	_, err := d.ReadCmd(ctx, usbnic.Setup{Type: usbnic.Class, Recipient: usbnic.ToInterface, Request: usbnic.NCMGetNTBParameters}, make([]byte, 28))
	checkRequestError(t, err, "usb: control IN GET_NTB_PARAMETERS (bmRequestType 0xa1 bRequest 0x80 wValue 0x0000 wIndex 0x0000 wLength 28): stalled")
	err = d.WriteCmd(ctx, usbnic.Setup{Type: usbnic.Class, Recipient: usbnic.ToInterface, Request: usbnic.CDCSetEthernetPacketFilter, Value: 0x0c}, nil)
	checkRequestError(t, err, "usb: control OUT SET_ETHERNET_PACKET_FILTER (bmRequestType 0x21 bRequest 0x43 wValue 0x000c wIndex 0x0000 wLength 0): stalled")
	err = d.WriteCmd(ctx, usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToDevice, Request: 0x01, Value: 0x22, Index: 2}, []byte{0x33, 0x01})
	checkRequestError(t, err, "usb: control OUT vendor request 0x01 (bmRequestType 0x40 bRequest 0x01 wValue 0x0022 wIndex 0x0002 wLength 2): stalled")
}

func checkRequestError(t *testing.T, err error, want string) {
	t.Helper()
	var re *usbnic.RequestError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T), want a *RequestError", err, err)
	}
	if err.Error() != want {
		t.Errorf("error\n %q\nwant\n %q", err.Error(), want)
	}
}

// failing is a transport whose control transfers end in a given status or error.
type failing struct {
	usbfake.Device
	status usbnic.Status
	err    error
}

func (f *failing) ControlIn(ctx context.Context, s usbnic.Setup, buf []byte) (int, usbnic.Status, error) {
	return 0, f.status, f.err
}

func (f *failing) ControlOut(ctx context.Context, s usbnic.Setup, data []byte) (usbnic.Status, error) {
	return f.status, f.err
}

func TestControlBabbleAndTransportErrors(t *testing.T) {
	ctx := context.Background()
	s := usbnic.Setup{Type: usbnic.Standard, Recipient: usbnic.ToDevice, Request: usbnic.ReqGetDescriptor, Value: 0x0305, Index: 0x0409}
	d := &usbnic.Device{T: &failing{status: usbnic.StatusBabble}}
	_, err := d.ReadCmd(ctx, s, make([]byte, 255))
	checkRequestError(t, err, "usb: control IN GET_DESCRIPTOR string descriptor 5 (bmRequestType 0x80 bRequest 0x06 wValue 0x0305 wIndex 0x0409 wLength 255): babble")

	d = &usbnic.Device{T: &failing{err: usbnic.ErrDisconnected}}
	err = d.WriteCmd(ctx, usbnic.Setup{Type: usbnic.Standard, Recipient: usbnic.ToInterface, Request: usbnic.ReqSetInterface, Value: 1, Index: 1}, nil)
	checkRequestError(t, err, "usb: control OUT SET_INTERFACE (bmRequestType 0x01 bRequest 0x0b wValue 0x0001 wIndex 0x0001 wLength 0): usb: device disconnected")
	if !errors.Is(err, usbnic.ErrDisconnected) {
		t.Errorf("%v does not wrap ErrDisconnected", err)
	}
}

func TestGetEndpointsPicksTheFirstAltWithBothBulkEndpoints(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		hex      string
		iface    uint8
		noSetInt bool
		wantLog  []string
		in, out  uint8
		intr     uint8 // 0: none
	}{
		// cdc_ether: data interface, alt 1 selected (README ECM row 12).
		{"ecm data interface", ecmConfigHex, 1, false, []string{"ctrl 01 0b 01 00 01 00 00 00"}, 0x81, 0x02, 0},
		// Alt 1 is selected even with FLAG_NO_SETINT.
		{"no-setint still selects alt 1", ncmConfigHex, 1, true, []string{"ctrl 01 0b 01 00 01 00 00 00"}, 0x81, 0x02, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := usbnic.ParseConfig(unhex(t, tc.hex))
			if err != nil {
				t.Fatal(err)
			}
			f := &usbfake.Device{}
			d := &usbnic.Device{T: f, Config: cfg}
			if err := d.GetEndpoints(ctx, tc.iface, tc.noSetInt); err != nil {
				t.Fatal(err)
			}
			if d.In.Address != tc.in || d.Out.Address != tc.out || d.HasIntr != (tc.intr != 0) || d.Intr.Address != tc.intr {
				t.Errorf("in %#x out %#x intr %v %#x", d.In.Address, d.Out.Address, d.HasIntr, d.Intr.Address)
			}
			if got := f.Log(); !reflect.DeepEqual(got, tc.wantLog) {
				t.Errorf("log %q, want %q", got, tc.wantLog)
			}
		})
	}
}

func TestGetEndpointsVendorInterface(t *testing.T) {
	// One vendor interface with interrupt IN first, then bulk IN/OUT, as the ASIX chips have.
	// A zero-size bulk endpoint is skipped; alt 0 is still selected without FLAG_NO_SETINT.
	b := config(1,
		[]byte{9, 4, 0, 0, 4, 0xff, 0xff, 0, 0},
		[]byte{7, 5, 0x81, 3, 8, 0, 11},
		[]byte{7, 5, 0x82, 2, 0, 0, 0},
		[]byte{7, 5, 0x83, 2, 0, 4, 0},
		[]byte{7, 5, 0x04, 2, 0, 4, 0},
	)
	cfg, err := usbnic.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		noSetInt bool
		log      []string
	}{
		{false, []string{"ctrl 01 0b 00 00 00 00 00 00"}},
		{true, nil},
	} {
		f := &usbfake.Device{}
		d := &usbnic.Device{T: f, Config: cfg}
		if err := d.GetEndpoints(context.Background(), 0, tc.noSetInt); err != nil {
			t.Fatal(err)
		}
		want := usbnic.Endpoint{Address: 0x83, Attributes: 2, MaxPacketSize: 1024}
		if d.In != want || d.Out.Address != 0x04 || !d.HasIntr || d.Intr.Address != 0x81 {
			t.Errorf("noSetInt %v: in %+v out %+v intr %v %+v", tc.noSetInt, d.In, d.Out, d.HasIntr, d.Intr)
		}
		if got := f.Log(); !reflect.DeepEqual(got, tc.log) {
			t.Errorf("noSetInt %v: log %q, want %q", tc.noSetInt, got, tc.log)
		}
	}
}

func TestGetEndpointsErrors(t *testing.T) {
	cfg, err := usbnic.ParseConfig(unhex(t, ecmConfigHex))
	if err != nil {
		t.Fatal(err)
	}
	d := &usbnic.Device{T: &usbfake.Device{}, Config: cfg}
	for _, tc := range []struct {
		iface uint8
		want  string
	}{
		{0, "usbnic: interface 0 has no alternate setting with both a bulk IN and a bulk OUT endpoint"},
		{4, "usbnic: configuration 1 has no interface 4"},
	} {
		if err := d.GetEndpoints(context.Background(), tc.iface, false); err == nil || err.Error() != tc.want {
			t.Errorf("interface %d: %v, want %q", tc.iface, err, tc.want)
		}
	}
}

func TestSpeedInference(t *testing.T) {
	for _, tc := range []struct {
		transport usbnic.Speed
		out, in   uint16
		want      usbnic.Speed
	}{
		{usbnic.SpeedUnknown, 1024, 1024, usbnic.SpeedSuper},
		{usbnic.SpeedUnknown, 512, 512, usbnic.SpeedHigh},
		{usbnic.SpeedUnknown, 64, 64, usbnic.SpeedFull},
		{usbnic.SpeedUnknown, 8, 8, usbnic.SpeedFull},
		{usbnic.SpeedUnknown, 0, 512, usbnic.SpeedHigh},
		{usbnic.SpeedUnknown, 0, 0, usbnic.SpeedUnknown},
		{usbnic.SpeedHigh, 1024, 1024, usbnic.SpeedHigh}, // the transport knows better
	} {
		d := &usbnic.Device{T: &usbfake.Device{BusSpeed: tc.transport}, Out: usbnic.Endpoint{MaxPacketSize: tc.out}, In: usbnic.Endpoint{MaxPacketSize: tc.in}}
		d.UpdateSpeed()
		if d.Speed != tc.want {
			t.Errorf("transport %v out %d in %d: %v, want %v", tc.transport, tc.out, tc.in, d.Speed, tc.want)
		}
	}
}

func TestQueueLengthsMatchTheUsbnetTable(t *testing.T) {
	// Rows of specs/usbnic.md §5.4 (RX), and tx = 91080 / transfer size.
	for _, tc := range []struct {
		name           string
		speed          usbnic.Speed
		rxBuf, txMax   int
		hardMTU        int
		wantRx, wantTx int
	}{
		{"ecm high", usbnic.SpeedHigh, 1514, 1515, 1514, 60, 60},
		{"ecm super", usbnic.SpeedSuper, 1514, 1515, 1514, 300, 300},
		{"ax88772 high", usbnic.SpeedHigh, 2048, 0, 1514, 44, 60},
		{"ax88179 super", usbnic.SpeedSuper, 20480, 0, 1514, 22, 300},
		{"ax88179 high", usbnic.SpeedHigh, 24576, 0, 1514, 3, 60},
		{"ncm high", usbnic.SpeedHigh, 16384, 16384, 1514, 5, 5},
		{"ncm super", usbnic.SpeedSuper, 16384, 16384, 1514, 27, 27},
		{"full speed", usbnic.SpeedFull, 1514, 1515, 1514, 4, 4},
		{"unknown speed", usbnic.SpeedUnknown, 1514, 1515, 1514, 4, 4},
		{"sizes unset", usbnic.SpeedHigh, 0, 0, 0, 4, 4},
		{"huge buffer still one", usbnic.SpeedHigh, 1 << 20, 1 << 20, 1514, 1, 1},
	} {
		d := &usbnic.Device{Speed: tc.speed, RxBufferSize: tc.rxBuf, TxMaxTransfer: tc.txMax, HardMTU: tc.hardMTU}
		rx, tx := d.QueueLengths()
		if rx != tc.wantRx || tx != tc.wantTx {
			t.Errorf("%s: rx %d tx %d, want %d %d", tc.name, rx, tx, tc.wantRx, tc.wantTx)
		}
	}
}

func TestParseMACString(t *testing.T) {
	for _, tc := range []struct {
		s       string
		want    [6]byte
		wantErr string
	}{
		{"020000000002", [6]byte{2, 0, 0, 0, 0, 2}, ""},
		{"0123456789AB", [6]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab}, ""},
		{"0123456789ab", [6]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab}, ""},
		{"02000000002", [6]byte{}, `iMACAddress string "02000000002": 11 characters, want 12 hex digits`},
		{"0200000000020", [6]byte{}, `iMACAddress string "0200000000020": 13 characters, want 12 hex digits`},
		{"02:00:00:00:", [6]byte{}, `iMACAddress string "02:00:00:00:": character 2 (':') is not a hex digit`},
		{"02000000000g", [6]byte{}, `iMACAddress string "02000000000g": character 11 ('g') is not a hex digit`},
	} {
		got, err := usbnic.ParseMACString(tc.s)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q: %v, want %q", tc.s, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: % x, %v", tc.s, got, err)
		}
	}
}

func TestGetEthernetAddrReadsLanguageThenString(t *testing.T) {
	f := &usbfake.Device{LangIDs: []uint16{0x0409}, Strings: map[uint8]string{5: "020000000002"}}
	d := &usbnic.Device{T: f}
	if err := d.GetEthernetAddr(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	want := [6]byte{2, 0, 0, 0, 0, 2}
	if d.MAC != want || d.PermanentMAC != want {
		t.Errorf("MAC % x permanent % x", d.MAC, d.PermanentMAC)
	}
	// README rows 6 and 18: string 0 with wLength 255, then string 5 in language 0x0409.
	if got, wantLog := f.Log(), []string{"ctrl 80 06 00 03 00 00 ff 00", "ctrl 80 06 05 03 09 04 ff 00"}; !reflect.DeepEqual(got, wantLog) {
		t.Errorf("log %q, want %q", got, wantLog)
	}
}

func TestGetEthernetAddrErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		f    *usbfake.Device
		idx  uint8
		want string
	}{
		{"no string index", &usbfake.Device{}, 0, "usbnic: CDC Ethernet descriptor has no iMACAddress string"},
		{"language table stalls", &usbfake.Device{}, 5,
			"reading string descriptor 0 (language IDs): usb: control IN GET_DESCRIPTOR string descriptor 0 (bmRequestType 0x80 bRequest 0x06 wValue 0x0300 wIndex 0x0000 wLength 255): stalled"},
		{"string stalls", &usbfake.Device{LangIDs: []uint16{0x0409}}, 5,
			"reading string descriptor 5: usb: control IN GET_DESCRIPTOR string descriptor 5 (bmRequestType 0x80 bRequest 0x06 wValue 0x0305 wIndex 0x0409 wLength 255): stalled"},
		{"string not a MAC", &usbfake.Device{LangIDs: []uint16{0x0409}, Strings: map[uint8]string{5: "hello"}}, 5,
			`iMACAddress string "hello": 5 characters, want 12 hex digits`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &usbnic.Device{T: tc.f}
			if err := d.GetEthernetAddr(ctx, tc.idx); err == nil || err.Error() != tc.want {
				t.Errorf("error\n %v\nwant\n %q", err, tc.want)
			}
		})
	}
}

func TestReadLangIDUsesTheFirstLanguage(t *testing.T) {
	f := &usbfake.Device{LangIDs: []uint16{0x0407, 0x0409}}
	if id, err := usbnic.ReadLangID(context.Background(), f); err != nil || id != 0x0407 {
		t.Errorf("ReadLangID = %#x, %v, want 0x0407", id, err)
	}
}

func TestReadLangIDFallsBackToEnglishOnAMalformedTable(t *testing.T) {
	// Linux uses 0x0409 when string 0 is shorter than 4 bytes.
	if id, err := usbnic.ReadLangID(context.Background(), &shortLang{}); err != nil || id != usbnic.LangIDEnglishUS {
		t.Errorf("ReadLangID = %#x, %v, want 0x0409", id, err)
	}
}

// shortLang answers string descriptor 0 with just its 2-byte header.
type shortLang struct{ usbfake.Device }

func (s *shortLang) ControlIn(ctx context.Context, st usbnic.Setup, buf []byte) (int, usbnic.Status, error) {
	return copy(buf, []byte{2, 3}), usbnic.StatusOK, nil
}

func TestReadStringRefusesIndexZero(t *testing.T) {
	_, err := usbnic.ReadString(context.Background(), &usbfake.Device{}, 0, 0x0409)
	if err == nil || err.Error() != "string descriptor index 0 is the language table, not a string" {
		t.Errorf("got %v", err)
	}
}
