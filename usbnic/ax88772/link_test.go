package ax88772

import (
	"context"
	"errors"
	"testing"
	"time"

	"webminiport/usbnic"
)

func TestLinkResetResolvesSpeedDuplexPauseIntoMediumMode(t *testing.T) {
	const (
		bmsrLatched = 0x7809 // link bit latched low since the last read
		bmsrUp      = 0x782d // link up, autonegotiation complete
		bmsrNoAN    = 0x780d // link up, negotiation not complete
	)
	for _, tc := range []struct {
		name     string
		bmsr     uint16
		bmcr     uint16
		adv, lpa int // -1: not read
		mode     uint16
		link     usbnic.LinkState
	}{
		{"100 full, both pause", bmsrUp, 0x3100, 0x05e1, 0xc5e1, 0x0336, usbnic.LinkState{Up: true, Speed: 1e8, FullDuplex: true}},
		{"100 full, no pause", bmsrUp, 0x3100, 0x01e1, 0xc1e1, 0x0306, usbnic.LinkState{Up: true, Speed: 1e8, FullDuplex: true}},
		{"100 half", bmsrUp, 0x3100, 0x01e1, 0x00a1, 0x0304, usbnic.LinkState{Up: true, Speed: 1e8}},
		{"10 full", bmsrUp, 0x3100, 0x0061, 0x0061, 0x0106, usbnic.LinkState{Up: true, Speed: 1e7, FullDuplex: true}},
		{"10 half when nothing better is common", bmsrUp, 0x3100, 0x01e1, 0x0001, 0x0104, usbnic.LinkState{Up: true, Speed: 1e7}},
		{"asymmetric: we only receive pause", bmsrUp, 0x3100, 0x0de1, 0x09e1, 0x0316, usbnic.LinkState{Up: true, Speed: 1e8, FullDuplex: true}},
		{"asymmetric: we only send pause", bmsrUp, 0x3100, 0x09e1, 0x0de1, 0x0326, usbnic.LinkState{Up: true, Speed: 1e8, FullDuplex: true}},
		{"no pause on half duplex", bmsrUp, 0x3100, 0x04a1, 0x04a1, 0x0304, usbnic.LinkState{Up: true, Speed: 1e8}},
		{"forced 100 full without autonegotiation", bmsrUp, 0x2100, -1, -1, 0x0306, usbnic.LinkState{Up: true, Speed: 1e8, FullDuplex: true}},
		{"forced 10 half", bmsrUp, 0x0000, -1, -1, 0x0104, usbnic.LinkState{Up: true, Speed: 1e7}},
		{"negotiation not complete: partner unknown", bmsrNoAN, 0x3100, 0x05e1, -1, 0x0104, usbnic.LinkState{Up: true, Speed: 1e7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(usbnic.SpeedHigh)
			f.read(0x09, []byte{0x01})
			f.phy(0x10, 0x01, bmsrLatched, tc.bmsr)
			f.phy(0x10, 0x00, tc.bmcr)
			want := seq(mdioR(0x10, 0x01, bmsrLatched), mdioR(0x10, 0x01, tc.bmsr), mdioR(0x10, 0x00, tc.bmcr))
			if tc.adv >= 0 {
				f.phy(0x10, 0x04, uint16(tc.adv))
				want = append(want, mdioR(0x10, 0x04, uint16(tc.adv))...)
			}
			if tc.lpa >= 0 {
				f.phy(0x10, 0x05, uint16(tc.lpa))
				want = append(want, mdioR(0x10, 0x05, uint16(tc.lpa))...)
			}
			want = append(want, w(0x1b, tc.mode, 0))
			var slept []time.Duration
			m := testDriver(&slept)
			m.phy = 0x10
			d := newDevice(t, f, nil)
			if err := m.LinkReset(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			checkLog(t, f.log, want)
			if d.Link != tc.link || !m.carrier.Load() {
				t.Errorf("link %+v carrier %v, want %+v", d.Link, m.carrier.Load(), tc.link)
			}
		})
	}
}

func TestLinkResetWithLinkDownWritesNothing(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	f.read(0x09, []byte{0x01})
	f.phy(0x10, 0x01, 0x7809)
	var slept []time.Duration
	m := testDriver(&slept)
	m.phy = 0x10
	m.carrier.Store(true)
	d := newDevice(t, f, nil)
	d.Link.Up = true
	if err := m.LinkReset(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	checkLog(t, f.log, seq(mdioR(0x10, 0x01, 0x7809), mdioR(0x10, 0x01, 0x7809)))
	if d.Link.Up || m.carrier.Load() {
		t.Errorf("link %+v carrier %v", d.Link, m.carrier.Load())
	}
}

func TestStatus(t *testing.T) {
	m := New()
	for _, s := range []struct {
		name string
		data []byte
		want usbnic.StatusEvent
	}{
		{"link up needs a link reset", []byte{0, 0, 0x01, 0, 0, 0, 0, 0}, usbnic.StatusEvent{HasLink: true, LinkUp: true, NeedReset: true}},
		{"same link is no event", []byte{0xff, 0xff, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff}, usbnic.StatusEvent{}},
		{"only bit 0 of byte 2 counts", []byte{0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}, usbnic.StatusEvent{HasLink: true}},
		{"longer transfer parses", []byte{0, 0, 0x01, 0, 0, 0, 0, 0, 0x99}, usbnic.StatusEvent{HasLink: true, LinkUp: true, NeedReset: true}},
	} {
		got, err := m.Status(nil, s.data)
		if err != nil || got != s.want {
			t.Fatalf("%s: %+v, %v; want %+v", s.name, got, err, s.want)
		}
	}
	for n := range 8 {
		ev, err := m.Status(nil, make([]byte, n))
		var se *StatusError
		if !errors.As(err, &se) || se.Len != n || ev != (usbnic.StatusEvent{}) {
			t.Fatalf("%d bytes: %+v, %v", n, ev, err)
		}
	}
}

func FuzzStatus(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := New().Status(nil, data)
		if len(data) < 8 {
			if err == nil {
				t.Fatalf("%d-byte transfer accepted", len(data))
			}
			return
		}
		up := data[2]&1 != 0
		if err != nil || ev.HasLink != up || ev.LinkUp != up || ev.NeedReset != up || ev.HasSpeed {
			t.Fatalf("% x: %+v, %v", data, ev, err)
		}
	})
}
