package ffs

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
)

// hx decodes hex bytes written with spaces, newlines and # comments.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	var clean []string
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		clean = append(clean, strings.Fields(line)...)
	}
	b, err := hex.DecodeString(strings.Join(clean, ""))
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

// The golden blobs are written from functionfs.h's layout and lsusb of the real chips (the
// model's documented endpoints), not from the code under test.
func TestDescribeAX88179(t *testing.T) {
	l, err := Describe(sim.AX88179, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := hx(t, `
		03 00 00 00  84 00 00 00  47 00 00 00  # magic v2, length 132, flags FS|HS|SS|ALL_CTRL_RECIP
		04 00 00 00  04 00 00 00  07 00 00 00  # fs_count, hs_count, ss_count
		# full speed: the vendor interface (string 1 of the function), interrupt IN 8 bytes every
		# 128 frames, bulk IN and OUT of 64 bytes
		09 04 00 00 03 ff ff 00 01
		07 05 81 03 08 00 80
		07 05 82 02 40 00 00
		07 05 03 02 40 00 00
		# high speed: bInterval 11 (2^10 microframes), 512-byte bulk packets
		09 04 00 00 03 ff ff 00 01
		07 05 81 03 08 00 0b
		07 05 82 02 00 02 00
		07 05 03 02 00 02 00
		# SuperSpeed: 1024-byte bulk packets, each endpoint with its companion (bMaxBurst 3 IN,
		# 15 OUT; the interrupt endpoint moves 8 bytes per interval)
		09 04 00 00 03 ff ff 00 01
		07 05 81 03 08 00 0b  06 30 00 00 08 00
		07 05 82 02 00 04 00  06 30 03 00 00 00
		07 05 03 02 00 04 00  06 30 0f 00 00 00
	`)
	if !bytes.Equal(l.Descriptors, want) {
		t.Errorf("descriptors\n got % x\nwant % x", l.Descriptors, want)
	}
	wantStrings := hx(t, `
		02 00 00 00  24 00 00 00  01 00 00 00  01 00 00 00  # magic, length 36, one string, one language
		09 04  4e 65 74 77 6f 72 6b 5f 49 6e 74 65 72 66 61 63 65 00  # 0x0409 "Network_Interface"
	`)
	if !bytes.Equal(l.Strings, wantStrings) {
		t.Errorf("strings\n got % x\nwant % x", l.Strings, wantStrings)
	}
	wantEps := []Endpoint{{0x81, usbnic.EndpointInterrupt}, {0x82, usbnic.EndpointBulk}, {0x03, usbnic.EndpointBulk}}
	if !sameEndpoints(l.Endpoints, wantEps) {
		t.Errorf("endpoints %+v, want %+v", l.Endpoints, wantEps)
	}
	wantDev := Device{VendorID: 0x0b95, ProductID: 0x1790, BCDDevice: 0x0100, Class: 0xFF, SubClass: 0xFF,
		Manufacturer: "ASIX Elec. Corp.", Product: "AX88179", SerialNumber: "00000EC6817901",
		Configuration: 1, Attributes: 0xA0, MaxPowerMA: 248, MaxSpeed: "super-speed"}
	if l.Device != wantDev {
		t.Errorf("device %+v\nwant %+v", l.Device, wantDev)
	}
}

func TestDescribeAX88772HasNoSuperSpeedListAndNoStrings(t *testing.T) {
	l, err := Describe(sim.AX88772, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := hx(t, `
		03 00 00 00  50 00 00 00  43 00 00 00  # magic v2, length 80, flags FS|HS|ALL_CTRL_RECIP
		04 00 00 00  04 00 00 00
		09 04 00 00 03 ff ff 00 00
		07 05 81 03 08 00 80
		07 05 82 02 40 00 00
		07 05 03 02 40 00 00
		09 04 00 00 03 ff ff 00 00
		07 05 81 03 08 00 0b
		07 05 82 02 00 02 00
		07 05 03 02 00 02 00
	`)
	if !bytes.Equal(l.Descriptors, want) {
		t.Errorf("descriptors\n got % x\nwant % x", l.Descriptors, want)
	}
	// No strings: both counts 0, the 16-byte header alone (f_fs takes str_count 0 with
	// lang_count 0, and ep0 writes need 16 bytes at least).
	if want := hx(t, "02 00 00 00 10 00 00 00 00 00 00 00 00 00 00 00"); !bytes.Equal(l.Strings, want) {
		t.Errorf("strings % x, want % x", l.Strings, want)
	}
	if l.Device.MaxSpeed != "high-speed" || l.Device.MaxPowerMA != 200 || l.Device.ProductID != 0x7720 {
		t.Errorf("device %+v", l.Device)
	}
}

func TestDescribeRefusesWhatFunctionFSCannotCarry(t *testing.T) {
	for _, tc := range []struct {
		m    *sim.Model
		cfg  uint8
		want string
	}{
		{sim.CDCECM, 0, "type 0x24"},
		{sim.CDCNCM, 0, "type 0x24"},
		{sim.AX88179A, 2, "type 0x24"},
		{sim.AX88179, 2, "no configuration with value 2"},
	} {
		if _, err := Describe(tc.m, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s configuration %d: %v, want an error saying %q", tc.m.Name, tc.cfg, err, tc.want)
		}
	}
}

func TestDescribeAX88179AVendorConfiguration(t *testing.T) {
	l, err := Describe(sim.AX88179A, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Endpoints) != 4 || l.Device.Configuration != 1 || l.Device.BCDDevice != 0x0200 {
		t.Errorf("layout %+v", l)
	}
}

func TestFunctionDescriptorsReportsMalformedInput(t *testing.T) {
	g := sim.NewGadget(sim.AX88179, nil, usbnic.SpeedHigh)
	for _, tc := range []struct {
		name, cfg, want string
	}{
		{"short", "09 02", "malformed"},
		{"wTotalLength wrong", "09 02 20 00 01 01 00 a0 7c", "malformed"},
		{"bLength past the end", "09 02 0c 00 01 01 00 a0 7c 07 05 81", "bLength 7 with 3 bytes left"},
		{"bLength 0", "09 02 0b 00 01 01 00 a0 7c 00 04", "bLength 0"},
		{"isochronous endpoint", "09 02 10 00 01 01 00 a0 7c 07 05 81 01 08 00 01", "transfer type 1"},
		{"string the model lacks", "09 02 12 00 01 01 00 a0 7c 09 04 00 00 00 ff ff 00 09", "string 9"},
		{"no endpoints", "09 02 12 00 01 01 00 a0 7c 09 04 00 00 00 ff ff 00 00", "no endpoints"},
		{"device descriptor inside", "09 02 0d 00 01 01 00 a0 7c 04 01 00 00", "type 0x01"},
	} {
		_, _, _, err := functionDescriptors(hx(t, tc.cfg), g, &stringTable{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// ASIX adapters report "00" and their MAC in hex as iSerialNumber, so the gadget's serial
// follows -mac.
func TestDescribeSerialFollowsTheMAC(t *testing.T) {
	l, err := Describe(sim.AX88179, 0, sim.WithMAC([6]byte{0x00, 0x0e, 0xc6, 0x81, 0x79, 0x11}))
	if err != nil {
		t.Fatal(err)
	}
	if l.Device.SerialNumber != "00000EC6817911" {
		t.Errorf("serial %q, want 00000EC6817911", l.Device.SerialNumber)
	}
}
