package ffs

import (
	"strings"
	"testing"

	"webminiport/usbnic"
)

// Events as struct usb_functionfs_event lays them out: the 8-byte setup packet (zero for
// everything but SETUP), the type byte, three bytes of padding.
func TestParseEvents(t *testing.T) {
	b := hx(t, `
		00 00 00 00 00 00 00 00  00  00 00 00  # BIND
		00 00 00 00 00 00 00 00  02  00 00 00  # ENABLE
		c0 01 10 00 06 00 06 00  04  00 00 00  # SETUP: vendor IN to the device, bRequest 1, wValue 0x10, wIndex 6, wLength 6
		21 20 00 00 01 00 07 00  04  00 00 00  # SETUP: class OUT to interface 1, 7 bytes
	`)
	evs, err := ParseEvents(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Type: EventBind},
		{Type: EventEnable},
		{Type: EventSetup, Setup: Setup{RequestType: 0xc0, Request: 0x01, Value: 0x10, Index: 6, Length: 6}},
		{Type: EventSetup, Setup: Setup{RequestType: 0x21, Request: 0x20, Value: 0, Index: 1, Length: 7}},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d", len(evs), len(want))
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, evs[i], want[i])
		}
	}
	if !evs[2].Setup.In() || evs[3].Setup.In() {
		t.Error("direction bit misread")
	}
	got := evs[2].Setup.Usbnic()
	if wantU := (usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToDevice, Request: 1, Value: 0x10, Index: 6}); got != wantU {
		t.Errorf("usbnic setup %+v, want %+v", got, wantU)
	}
	if got := evs[3].Setup.Usbnic(); got.Type != usbnic.Class || got.Recipient != usbnic.ToInterface {
		t.Errorf("usbnic setup %+v, want class to interface", got)
	}
}

func TestParseEventsRejectsBadReads(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"partial event", "00 00 00 00 00 00 00 00 00 00 00", "11 bytes"},
		{"unknown type", "00 00 00 00 00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00 07 00 00 00", "offset 12 has unknown type 7"},
	} {
		if _, err := ParseEvents(hx(t, tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

func TestEventTypeNames(t *testing.T) {
	if EventSuspend.String() != "suspend" || EventType(9).String() != "event(9)" {
		t.Errorf("names: %v %v", EventSuspend, EventType(9))
	}
}

func FuzzParseEvents(f *testing.F) {
	f.Add(hx(f, "c0 01 10 00 06 00 06 00 04 00 00 00"))
	f.Add(hx(f, "00 00 00 00 00 00 00 00 02 00 00 00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := ParseEvents(b)
		if err != nil {
			return
		}
		if len(evs)*EventSize != len(b) {
			t.Fatalf("%d events from %d bytes", len(evs), len(b))
		}
		for i, ev := range evs {
			if ev.Type != EventSetup && ev.Setup != (Setup{}) {
				t.Fatalf("event %d (%v) carries a setup packet", i, ev.Type)
			}
		}
	})
}
