package cdcncm

import (
	"bytes"
	_ "embed"
	"fmt"
	"reflect"
	"testing"

	"webminiport/usbnic"
	"webminiport/usbnic/internal/usbmon"
)

// ncm-linux.pcap from data/usb: f_ncm gadget <-> cdc_ncm, high speed.
//
//go:embed testdata/ncm-linux.pcap
var ncmCapture []byte

func captureRecords(t *testing.T) []usbmon.Record {
	t.Helper()
	recs, err := usbmon.Read(ncmCapture)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestCaptureBulkINThroughRxFixup(t *testing.T) {
	// Every NTB f_ncm sent, in capture order. The host lowers its NTB input size to 4096 in
	// phase 10 (README row 22); the check against the input size follows it.
	m := &ncm{f: &ntb16, rxMax: 16384}
	var c counter
	ntbs, maxAfter := 0, 0
	for _, r := range captureRecords(t) {
		if r.XferType == usbmon.XferControl && r.Type == 'S' && r.DevNum == 2 && r.Setup[0] == 0x21 && r.Setup[1] == usbnic.NCMSetNTBInputSize {
			m.rxMax = int(le.Uint32(r.Data))
			continue
		}
		if r.XferType != usbmon.XferBulk || r.EP != 0x81 || r.Type != 'C' || r.DevNum != 2 || r.Status != 0 || len(r.Data) == 0 {
			continue
		}
		if err := m.RxFixup(nil, r.Data, &c); err != nil {
			t.Fatalf("NTB %d: %v", ntbs, err)
		}
		ntbs++
		if m.rxMax == 4096 {
			maxAfter = max(maxAfter, len(r.Data))
		}
	}
	// README: IN 68 NTBs, 422 datagrams; after SET_NTB_INPUT_SIZE the largest is 3992 bytes.
	if ntbs != 68 || c.n != 422 || m.rxMax != 4096 || maxAfter != 3992 {
		t.Errorf("%d NTBs, %d datagrams, rx size %d, largest after %d; want 68, 422, 4096, 3992", ntbs, c.n, m.rxMax, maxAfter)
	}
}

func TestCaptureBulkOUTThroughRxFixup(t *testing.T) {
	// cdc_ncm's own NTBs, read as the device reads them.
	m := &ncm{f: &ntb16, rxMax: 16384}
	var c counter
	out := usbmon.BulkOut(captureRecords(t), 2, 0x02)
	for i, ntb := range out {
		if err := m.RxFixup(nil, ntb, &c); err != nil {
			t.Fatalf("NTB %d: %v", i, err)
		}
	}
	if len(out) != 60 || c.n != 362 {
		t.Errorf("%d NTBs, %d datagrams; want 60, 362", len(out), c.n)
	}
}

func TestCaptureBulkOUTIsWhatTxBuilds(t *testing.T) {
	// Rebuild each of cdc_ncm's 60 NTBs from its datagrams with the parameters cdc_ncm
	// negotiated: the bytes must be Linux's, sequence numbers, NDP room and padding included.
	out := usbmon.BulkOut(captureRecords(t), 2, 0x02)
	m := capturedTx()
	buf := stale(16384)
	for i, want := range out {
		var dg frames
		if err := (&ncm{f: &ntb16, rxMax: 16384}).RxFixup(nil, want, &dg); err != nil {
			t.Fatal(err)
		}
		used := 0
		for k, fr := range dg.got {
			n, flush, err := m.TxAppend(nil, buf, used, fr)
			if err != nil {
				t.Fatalf("NTB %d frame %d: %v", i, k, err)
			}
			// Linux sent at 40 datagrams; otherwise its timer did.
			if flush != (k == 39) {
				t.Fatalf("NTB %d frame %d: flush %v", i, k, flush)
			}
			used = n
		}
		n, _ := m.TxFinish(nil, buf, used)
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("NTB %d (%d datagrams): built %d bytes, capture has %d\n% x\nwant\n% x", i, len(dg.got), n, len(want), buf[:min(n, 200)], want[:min(len(want), 200)])
		}
	}
}

func TestCaptureNotificationsGiveTheLinkHistory(t *testing.T) {
	m := &ncm{}
	d := &usbnic.Device{}
	var got []string
	for _, n := range usbmon.CompletedIn(captureRecords(t), 2, 0x85, usbmon.XferInterrupt) {
		ev, err := m.Status(d, n)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ev.HasLink:
			got = append(got, fmt.Sprintf("link %v", ev.LinkUp))
			d.Link.Up = ev.LinkUp
		case ev.HasSpeed:
			got = append(got, fmt.Sprintf("speed %d/%d", ev.RxSpeed, ev.TxSpeed))
		}
	}
	// README NCM table: SPEED_CHANGE then NETWORK_CONNECTION, four times. The first
	// "disconnected" matches the state the link starts in and is not passed on.
	want := []string{
		"speed 425984000/425984000",
		"speed 425984000/425984000", "link true",
		"speed 425984000/425984000", "link false",
		"speed 425984000/425984000", "link true",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events\n %q\nwant\n %q", got, want)
	}
}
