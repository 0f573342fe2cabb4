//go:build linux

package main

import (
	"io"
	"strings"
	"testing"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
	"webminiport/usbnic/sim/wire"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-model", "AX88772B", "-mac", "00:0e:c6:87:72:99", "-gateway-mac", "02:77:00:00:01:01", "-config", "1", "-trace"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.model != sim.AX88772B || o.mac != [6]byte{0x00, 0x0e, 0xc6, 0x87, 0x72, 0x99} || !o.macSet ||
		o.gateway != (wire.MAC{0x02, 0x77, 0, 0, 1, 1}) || o.config != 1 || !o.trace || o.name != "webminiport-ffs" {
		t.Errorf("options %+v", o)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", "RTL8153"}, "unknown model"},
		{[]string{"-mac", "00:11"}, "-mac"},
		{[]string{"-gateway-mac", "01:00:5e:00:00:01"}, "unicast"},
		{[]string{"-config", "300"}, "-config 300"},
		{[]string{"-name", "a/b"}, "plain name"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		if _, err := parseFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}

// The speeds as the kernel's usb_speed_string spells them in current_speed.
func TestParseSpeed(t *testing.T) {
	for in, want := range map[string]usbnic.Speed{
		"full-speed\n": usbnic.SpeedFull, "high-speed\n": usbnic.SpeedHigh,
		"super-speed\n": usbnic.SpeedSuper, "super-speed-plus\n": usbnic.SpeedSuper,
	} {
		if got, err := parseSpeed(in); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseSpeed("UNKNOWN\n"); err == nil {
		t.Error("UNKNOWN parsed")
	}
}
