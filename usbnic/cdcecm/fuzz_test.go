package cdcecm

import (
	"bytes"
	"testing"

	"webminiport/usbnic"
)

// Seeds in testdata/fuzz: one transfer per rule of RxFixup and Status (Linux's checks plus
// the wMaxSegmentSize bound), and the captured notifications.

func FuzzRxFixup(f *testing.F) {
	m, d, _ := bound(f)
	f.Fuzz(func(t *testing.T, transfer []byte) {
		var s frames
		err := m.RxFixup(d, transfer, &s)
		ok := len(transfer) >= ethHeaderLen && len(transfer) <= m.hardMTU
		if (err == nil) != ok {
			t.Fatalf("%d bytes: error %v", len(transfer), err)
		}
		if ok && (len(s.got) != 1 || !bytes.Equal(s.got[0], transfer)) {
			t.Fatalf("delivered %d frames", len(s.got))
		}
		if !ok && len(s.got) != 0 {
			t.Fatalf("delivered a frame from a bad transfer")
		}
	})
}

// FuzzStatus feeds two interrupt transfers in a row, so a split CONNECTION_SPEED_CHANGE can
// pair with whatever follows.
func FuzzStatus(f *testing.F) {
	f.Fuzz(func(t *testing.T, first, second []byte) {
		m, d, _ := bound(t)
		for _, tr := range [][]byte{first, second} {
			ev, err := m.Status(d, tr)
			if err != nil && ev != (usbnic.StatusEvent{}) {
				t.Fatalf("event %+v along with error %v", ev, err)
			}
			if ev.HasLink && ev.HasSpeed {
				t.Fatalf("one transfer gave link and speed: %+v", ev)
			}
		}
	})
}
