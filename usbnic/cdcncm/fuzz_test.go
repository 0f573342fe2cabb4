package cdcncm

import (
	"testing"

	"webminiport/usbnic"
)

// Seeds in testdata/fuzz: the hand-written NTBs of rx_test.go and one input per Linux check of
// specs/usbnic.md §4.5 (too short, signatures, block length, NDP offset, NDP wLength, NDP
// entries, CRC signature, empty NDP, datagram index, length, size, runt, NDP loop).

func fuzzRx(t *testing.T, f *format, b []byte) {
	m := &ncm{f: f, rxMax: 16384}
	var s frames
	err := m.RxFixup(nil, b, &s)
	for _, fr := range s.got {
		if len(fr) < ethHeaderLen || len(fr) > m.rxMax || len(fr) > len(b) {
			t.Fatalf("delivered a %d-byte frame from a %d-byte NTB", len(fr), len(b))
		}
	}
	if err == nil && len(b) < f.nthLen+f.ndpHdrLen {
		t.Fatalf("accepted a %d-byte NTB", len(b))
	}
	// A frame can only come from a well-formed header chain: at most 51 NDPs of at most
	// (len(b)-hdr)/dpe entries each.
	if limit := 51 * len(b) / f.dpeLen; len(s.got) > limit {
		t.Fatalf("%d frames from %d bytes", len(s.got), len(b))
	}
}

func FuzzRxNTB16(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRx(t, &ntb16, b) })
}

func FuzzRxNTB32(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRx(t, &ntb32, b) })
}

// FuzzStatus feeds two interrupt transfers in a row, so a split CONNECTION_SPEED_CHANGE can
// pair with whatever follows; linkUp is the core's link state before them.
func FuzzStatus(f *testing.F) {
	f.Fuzz(func(t *testing.T, linkUp bool, first, second []byte) {
		m := &ncm{}
		d := &usbnic.Device{Link: usbnic.LinkState{Up: linkUp}}
		for _, tr := range [][]byte{first, second} {
			ev, err := m.Status(d, tr)
			if err != nil && ev != (usbnic.StatusEvent{}) {
				t.Fatalf("event %+v along with error %v", ev, err)
			}
			if ev.HasLink && ev.LinkUp == d.Link.Up {
				t.Fatalf("link event %+v repeats the state", ev)
			}
			if ev.HasLink {
				d.Link.Up = ev.LinkUp
			}
		}
	})
}
