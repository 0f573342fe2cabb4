package usbnic_test

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"webminiport/usbnic"
)

// unhex turns the README's "09 02 5e 00 ..." dumps into bytes.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The two configuration descriptors of data/usb/README.md, copied by hand from the README
// (f_ncm and f_ecm gadgets, records 42-43 of each capture).
const (
	ncmConfigHex = `09 02 5e 00 02 01 00 80 32 08 0b 00 02 02 0d 00 07 09 04 00 00 01 02 0d 00 04 05 24 00 10 01 05
24 06 00 01 0d 24 0f 05 00 00 00 00 ea 05 00 00 00 06 24 1a 00 01 11 07 05 85 03 10 00 09 09 04
01 00 00 0a 00 01 06 09 04 01 01 02 0a 00 01 06 07 05 81 02 00 02 00 07 05 02 02 00 02 00`
	ecmConfigHex = `09 02 58 00 02 01 00 80 32 08 0b 00 02 02 06 00 07 09 04 00 00 01 02 06 00 04 05 24 00 10 01 05
24 06 00 01 0d 24 0f 05 00 00 00 00 ea 05 00 00 00 07 05 85 03 10 00 09 09 04 01 00 00 0a 00 00
00 09 04 01 01 02 0a 00 00 06 07 05 81 02 00 02 00 07 05 02 02 00 02 00`
	gadgetDeviceHex = `12 01 00 02 00 00 00 40 6b 1d 04 01 00 01 01 02 03 01`
)

// The parsed forms, written from the README's description of the descriptors.
func ncmConfigWant() *usbnic.Config {
	return &usbnic.Config{
		Value: 1, Attributes: 0x80, MaxPower: 50,
		IADs: []usbnic.IAD{{FirstInterface: 0, InterfaceCount: 2, Class: 0x02, Subclass: 0x0d, Protocol: 0, IFunction: 7}},
		Interfaces: []usbnic.Interface{
			{Number: 0, Alternates: []usbnic.AltSetting{{
				Number: 0, Alternate: 0, Class: 0x02, Subclass: 0x0d, Protocol: 0, IInterface: 4,
				Endpoints: []usbnic.Endpoint{{Address: 0x85, Attributes: 3, MaxPacketSize: 16, Interval: 9}},
				CDC: usbnic.CDC{
					Header:   &usbnic.CDCHeader{BcdCDC: 0x0110},
					Union:    &usbnic.CDCUnion{Master: 0, Slaves: []uint8{1}},
					Ethernet: &usbnic.CDCEthernet{IMACAddress: 5, MaxSegmentSize: 1514},
					NCM:      &usbnic.CDCNCM{BcdNCMVersion: 0x0100, NetworkCapabilities: 0x11},
				},
			}}},
			{Number: 1, Alternates: []usbnic.AltSetting{
				{Number: 1, Alternate: 0, Class: 0x0a, Subclass: 0, Protocol: 1, IInterface: 6},
				{Number: 1, Alternate: 1, Class: 0x0a, Subclass: 0, Protocol: 1, IInterface: 6, Endpoints: []usbnic.Endpoint{
					{Address: 0x81, Attributes: 2, MaxPacketSize: 512},
					{Address: 0x02, Attributes: 2, MaxPacketSize: 512},
				}},
			}},
		},
	}
}

func ecmConfigWant() *usbnic.Config {
	return &usbnic.Config{
		Value: 1, Attributes: 0x80, MaxPower: 50,
		IADs: []usbnic.IAD{{FirstInterface: 0, InterfaceCount: 2, Class: 0x02, Subclass: 0x06, Protocol: 0, IFunction: 7}},
		Interfaces: []usbnic.Interface{
			{Number: 0, Alternates: []usbnic.AltSetting{{
				Number: 0, Alternate: 0, Class: 0x02, Subclass: 0x06, Protocol: 0, IInterface: 4,
				Endpoints: []usbnic.Endpoint{{Address: 0x85, Attributes: 3, MaxPacketSize: 16, Interval: 9}},
				CDC: usbnic.CDC{
					Header:   &usbnic.CDCHeader{BcdCDC: 0x0110},
					Union:    &usbnic.CDCUnion{Master: 0, Slaves: []uint8{1}},
					Ethernet: &usbnic.CDCEthernet{IMACAddress: 5, MaxSegmentSize: 1514},
				},
			}}},
			{Number: 1, Alternates: []usbnic.AltSetting{
				{Number: 1, Alternate: 0, Class: 0x0a, IInterface: 0},
				{Number: 1, Alternate: 1, Class: 0x0a, IInterface: 6, Endpoints: []usbnic.Endpoint{
					{Address: 0x81, Attributes: 2, MaxPacketSize: 512},
					{Address: 0x02, Attributes: 2, MaxPacketSize: 512},
				}},
			}},
		},
	}
}

func TestParseConfigReadsTheCapturedGadgetDescriptors(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		want *usbnic.Config
	}{
		{"ncm", ncmConfigHex, ncmConfigWant()},
		{"ecm", ecmConfigHex, ecmConfigWant()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := usbnic.ParseConfig(unhex(t, tc.hex))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parsed\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestParseDeviceDescReadsTheCapturedGadget(t *testing.T) {
	got, err := usbnic.ParseDeviceDesc(unhex(t, gadgetDeviceHex))
	if err != nil {
		t.Fatal(err)
	}
	want := usbnic.DeviceDesc{BcdUSB: 0x0200, MaxPacketSize0: 64, VendorID: 0x1d6b, ProductID: 0x0104, BcdDevice: 0x0100,
		IManufacturer: 1, IProduct: 2, ISerial: 3, NumConfigurations: 1}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseDeviceDescRejectsMalformed(t *testing.T) {
	good := unhex(t, gadgetDeviceHex)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "device descriptor: 0 bytes, want 18"},
		{"truncated", good[:17], "device descriptor: 17 bytes, want 18"},
		{"wrong type", edit(good, 1, 0x02), "device descriptor: configuration descriptor at offset 0: bDescriptorType 0x02, want 0x01"},
		{"bad bLength", edit(good, 0, 0x11), "device descriptor: device descriptor at offset 0: bLength 17, want 18"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := usbnic.ParseDeviceDesc(tc.b)
			checkDescriptorError(t, err, tc.want)
		})
	}
}

// edit returns a copy of b with b[i] = v.
func edit(b []byte, i int, v byte) []byte {
	c := append([]byte(nil), b...)
	c[i] = v
	return c
}

// config assembles a configuration descriptor set from descriptors (each with its own
// bLength), filling wTotalLength. It builds malformed inputs; the parsed results are never
// derived from it.
func config(numIfaces byte, descs ...[]byte) []byte {
	b := []byte{9, 2, 0, 0, numIfaces, 1, 0, 0x80, 50}
	for _, d := range descs {
		b = append(b, d...)
	}
	b[2], b[3] = byte(len(b)), byte(len(b)>>8)
	return b
}

func checkDescriptorError(t *testing.T, err error, want string) {
	t.Helper()
	var de *usbnic.DescriptorError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T), want a *DescriptorError %q", err, err, want)
	}
	if err.Error() != want {
		t.Errorf("error\n %q\nwant\n %q", err.Error(), want)
	}
}

func TestParseConfigRejectsMalformed(t *testing.T) {
	ncm := func() []byte { return unhex(t, ncmConfigHex) }
	// NCM descriptor offsets (README order): 0 configuration, 9 IAD, 17 interface 0,
	// 26 header, 31 union, 36 ethernet, 49 NCM, 55 endpoint 0x85, 62 interface 1 alt 0,
	// 71 interface 1 alt 1, 80 endpoint 0x81, 87 endpoint 0x02.
	commIface := []byte{9, 4, 0, 0, 0, 0x02, 0x06, 0, 0}
	dataIface := []byte{9, 4, 1, 0, 0, 0x0a, 0, 0, 0}
	header := []byte{5, 0x24, 0x00, 0x10, 0x01}
	union := []byte{5, 0x24, 0x06, 0, 1}
	ether := []byte{13, 0x24, 0x0f, 5, 0, 0, 0, 0, 0xea, 0x05, 0, 0, 0}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "config descriptor: 0 bytes, want at least 9"},
		{"shorter than the configuration descriptor", ncm()[:8], "config descriptor: 8 bytes, want at least 9"},
		{"truncated", ncm()[:91], "config descriptor: wTotalLength 94, but 91 bytes given"},
		{"trailing bytes", append(ncm(), 0), "config descriptor: wTotalLength 94, but 95 bytes given"},
		{"wrong type", edit(ncm(), 1, 0x04), "config descriptor: interface descriptor at offset 0: bDescriptorType 0x04, want 0x02"},
		{"configuration bLength", edit(ncm(), 0, 8), "config descriptor: configuration descriptor at offset 0: bLength 8, want 9"},
		{"endpoint bLength 5", edit(ncm(), 80, 5), "config descriptor: endpoint descriptor at offset 80: bLength 5, want 7"},
		{"bLength 0", edit(ncm(), 62, 0), "config descriptor: interface descriptor at offset 62: bLength 0, want at least 2"},
		{"bLength past the end", edit(ncm(), 87, 9), "config descriptor: endpoint descriptor at offset 87: bLength 9 runs past the end (7 bytes left)"},
		{"one byte left", config(0, []byte{1}), "config descriptor: descriptor at offset 9: 1 byte left, a descriptor needs at least 2"},
		{"interface bLength", edit(ncm(), 17, 8), "config descriptor: interface descriptor at offset 17: bLength 8, want 9"},
		{"IAD bLength", edit(ncm(), 9, 7), "config descriptor: interface association descriptor at offset 9: bLength 7, want 8"},
		{"IAD with no interfaces", edit(ncm(), 12, 0), "config descriptor: interface association descriptor at offset 9: bInterfaceCount 0"},
		{"IAD pointing nowhere", edit(ncm(), 12, 3), "config descriptor: interface association descriptor at offset 9: interfaces 0..2: interface 2 does not exist"},
		{"union slave pointing nowhere", edit(ncm(), 35, 3), "config descriptor: CDC Union descriptor at offset 31: interface 0: slave interface 3 does not exist"},
		{"union master pointing nowhere", edit(ncm(), 34, 7), "config descriptor: CDC Union descriptor at offset 31: interface 0: master interface 7 does not exist"},
		{"union too short", config(1, commIface, []byte{4, 0x24, 0x06, 0}), "config descriptor: CDC Union descriptor at offset 18: bLength 4, want at least 5"},
		{"header bLength", edit(ncm(), 26, 6), "config descriptor: CDC Header descriptor at offset 26: bLength 6, want 5"},
		{"ethernet bLength 12", edit(ncm(), 36, 12), "config descriptor: CDC Ethernet Networking descriptor at offset 36: bLength 12, want 13"},
		{"NCM bLength 5", edit(ncm(), 49, 5), "config descriptor: CDC NCM descriptor at offset 49: bLength 5, want 6"},
		{"class-specific without a subtype", config(1, commIface, []byte{2, 0x24}), "config descriptor: descriptor at offset 18: class-specific interface descriptor of 2 bytes has no subtype"},
		{"second header", config(2, commIface, header, header, union, ether, dataIface), "config descriptor: CDC Header descriptor at offset 23: second one on interface 0 alternate 0"},
		{"second ethernet", config(2, commIface, header, union, ether, ether, dataIface), "config descriptor: CDC Ethernet Networking descriptor at offset 41: second one on interface 0 alternate 0"},
		{"endpoint count too high", edit(ncm(), 75, 3), "config descriptor: interface descriptor at offset 71: interface 1 alternate 1: bNumEndpoints 3, but 2 endpoint descriptors follow"},
		{"endpoint count too low", edit(ncm(), 21, 0), "config descriptor: interface descriptor at offset 17: interface 0 alternate 0: bNumEndpoints 0, but 1 endpoint descriptors follow"},
		{"bNumInterfaces", edit(ncm(), 4, 3), "config descriptor: configuration descriptor at offset 0: bNumInterfaces 3, but 2 interfaces described"},
		{"alternate described twice", edit(ncm(), 74, 0), "config descriptor: interface descriptor at offset 71: interface 1 alternate setting 0 described twice"},
		{"endpoint before any interface", config(0, []byte{7, 5, 0x81, 2, 0, 2, 0}), "config descriptor: endpoint descriptor at offset 9: comes before any interface descriptor"},
		{"endpoint 0", edit(ncm(), 82, 0x80), "config descriptor: endpoint descriptor at offset 80: endpoint address 0x80: endpoint 0 is the control endpoint"},
		{"endpoint reserved bits", edit(ncm(), 82, 0x91), "config descriptor: endpoint descriptor at offset 80: endpoint address 0x91 has reserved bits set"},
		{"endpoint twice", edit(ncm(), 89, 0x81), "config descriptor: endpoint descriptor at offset 87: endpoint 0x81 described twice in interface 1 alternate 1"},
		{"device descriptor inside", config(0, unhex(t, gadgetDeviceHex)), "config descriptor: device descriptor at offset 9: not allowed inside a configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := usbnic.ParseConfig(tc.b)
			if cfg != nil {
				t.Errorf("got a configuration along with the error")
			}
			checkDescriptorError(t, err, tc.want)
		})
	}
}

func TestParseConfigSkipsWhatItDoesNotInterpret(t *testing.T) {
	// An audio control interface uses 0x24 descriptors with subtypes that collide with CDC's
	// (0x06 is an audio FEATURE_UNIT, not a Union); a SuperSpeed endpoint companion (0x30) and
	// a CDC descriptor before the first interface are skipped too.
	b := config(1,
		[]byte{5, 0x24, 0x06, 9, 9}, // before any interface
		[]byte{9, 4, 0, 0, 1, 0x01, 0x01, 0, 0},
		[]byte{7, 0x24, 0x06, 9, 9, 0, 0},
		[]byte{7, 5, 0x81, 3, 8, 0, 4},
		[]byte{6, 0x30, 0, 0, 8, 0},
	)
	got, err := usbnic.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	want := &usbnic.Config{Value: 1, Attributes: 0x80, MaxPower: 50, Interfaces: []usbnic.Interface{{Number: 0, Alternates: []usbnic.AltSetting{{
		Class: 1, Subclass: 1, Endpoints: []usbnic.Endpoint{{Address: 0x81, Attributes: 3, MaxPacketSize: 8, Interval: 4}},
	}}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseConfigKeepsTheFirstUnionLikeLinux(t *testing.T) {
	b := config(3,
		[]byte{9, 4, 0, 0, 0, 0x02, 0x06, 0, 0},
		[]byte{5, 0x24, 0x06, 0, 1},
		[]byte{5, 0x24, 0x06, 0, 2},
		[]byte{9, 4, 1, 0, 0, 0x0a, 0, 0, 0},
		[]byte{9, 4, 2, 0, 0, 0x0a, 0, 0, 0},
	)
	cfg, err := usbnic.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if u := cfg.Interfaces[0].Alternates[0].CDC.Union; u.Master != 0 || !reflect.DeepEqual(u.Slaves, []uint8{1}) {
		t.Errorf("union %+v, want master 0 slave 1", u)
	}
}

func TestParseConfigMasksWMaxPacketSizeToElevenBits(t *testing.T) {
	// High-bandwidth interrupt endpoints carry extra transactions in bits 11..12.
	b := config(1, []byte{9, 4, 0, 0, 1, 0xff, 0xff, 0, 0}, []byte{7, 5, 0x81, 3, 0x00, 0x14, 1})
	cfg, err := usbnic.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Interfaces[0].Alternates[0].Endpoints[0].MaxPacketSize; got != 0x400 {
		t.Errorf("MaxPacketSize %#x, want 0x400", got)
	}
}

func TestConfigLookups(t *testing.T) {
	cfg, err := usbnic.ParseConfig(unhex(t, ncmConfigHex))
	if err != nil {
		t.Fatal(err)
	}
	if i := cfg.FindInterface(0x02, 0x0d, 0); i == nil || i.Number != 0 {
		t.Errorf("FindInterface(02/0d/00) = %+v, want interface 0", i)
	}
	if i := cfg.FindInterface(0x02, 0x06, 0); i != nil {
		t.Errorf("FindInterface(02/06/00) = %+v, want nil", i)
	}
	if a := cfg.Interface(1).Alt(1); a == nil || len(a.Endpoints) != 2 {
		t.Errorf("interface 1 alt 1 = %+v", a)
	}
	if a := cfg.Interface(1).Alt(2); a != nil {
		t.Errorf("interface 1 alt 2 = %+v, want nil", a)
	}
	if cfg.Interface(2) != nil {
		t.Error("interface 2 exists")
	}
	if iad := cfg.IADFor(1); iad == nil || iad.FirstInterface != 0 {
		t.Errorf("IADFor(1) = %+v", iad)
	}
	if iad := cfg.IADFor(2); iad != nil {
		t.Errorf("IADFor(2) = %+v, want nil", iad)
	}
}

func TestParseStringDecodesUTF16(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"mac", []byte{26, 3, '0', 0, '2', 0, '0', 0, '0', 0, '0', 0, '0', 0, '0', 0, '0', 0, '0', 0, '0', 0, '0', 0, '2', 0}, "020000000002"},
		{"empty", []byte{2, 3}, ""},
		{"non-ASCII", []byte{6, 3, 0xe9, 0x00, 0xac, 0x20}, "é€"},
		{"surrogate pair", []byte{6, 3, 0x3d, 0xd8, 0x00, 0xde}, "😀"},
		{"odd bLength ignores the last byte", []byte{5, 3, 'A', 0, 'B'}, "A"},
		{"bytes after bLength ignored", []byte{4, 3, 'A', 0, 'B', 0}, "A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := usbnic.ParseString(tc.b)
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestParseStringRejectsMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"one byte", []byte{2}, "string descriptor: 1 bytes, want at least 2"},
		{"wrong type", []byte{4, 2, 'A', 0}, "string descriptor: configuration descriptor at offset 0: bDescriptorType 0x02, want 0x03"},
		{"bLength 1", []byte{1, 3}, "string descriptor: string descriptor at offset 0: bLength 1, want at least 2"},
		{"truncated", []byte{8, 3, 'A', 0}, "string descriptor: string descriptor at offset 0: bLength 8, but only 4 bytes received"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := usbnic.ParseString(tc.b)
			checkDescriptorError(t, err, tc.want)
		})
	}
}

func TestParseLangIDs(t *testing.T) {
	ids, err := usbnic.ParseLangIDs([]byte{6, 3, 0x09, 0x04, 0x07, 0x04})
	if err != nil || !reflect.DeepEqual(ids, []uint16{0x0409, 0x0407}) {
		t.Errorf("got %v, %v", ids, err)
	}
}
