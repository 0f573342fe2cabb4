package ax88179

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"webminiport/usbnic"
)

func rFIFO(v ...byte) ctrl {
	return ctrl{RequestType: 0xc0, Request: 0x81, Value: 0x8c, Index: 0, Length: 4, Data: v}
}

// eeeCheck is ax88179_chk_eee on a PHY that negotiated 1000 full with autonegotiation and
// reports EEE 100TX+1000T everywhere: gset's MII reads, then the three MMD reads.
var eeeCheck = []ctrl{
	rPHY(0x00, 0x1140), rPHY(0x01, 0x796d), rPHY(0x09, 0x0200), rPHY(0x0a, 0x0800),
	rPHY(0x04, 0x01e1), rPHY(0x05, 0xc1e1),
	wPHY(0x0d, 0x0003), wPHY(0x0e, 0x0014), wPHY(0x0d, 0x4003), rPHY(0x0e, 0x0006),
	wPHY(0x0d, 0x0007), wPHY(0x0e, 0x003d), wPHY(0x0d, 0x4007), rPHY(0x0e, 0x0006),
	wPHY(0x0d, 0x0007), wPHY(0x0e, 0x003c), wPHY(0x0d, 0x4007), rPHY(0x0e, 0x0006),
}

func eeePHY(f *fakeDevice) {
	f.phy(0x00, 0x1140)
	f.phy(0x01, 0x796d)
	f.phy(0x09, 0x0200)
	f.phy(0x0a, 0x0800)
	f.phy(0x04, 0x01e1)
	f.phy(0x05, 0xc1e1)
	f.phy(0x0e, 0x0006)
}

func TestLinkResetPicksBulkInRowAndMediumModeForEachSpeed(t *testing.T) {
	const (
		ss, hs, fs = 0x04, 0x02, 0x00
	)
	for _, tc := range []struct {
		name    string
		physr   uint16
		linkSts uint8
		row     []byte // RX_BULKIN_QCTRL as §1.5 lists it
		rxBuf   int
		mode    uint16
		speed   uint64
		full    bool
	}{
		{"1000 full on SuperSpeed", 0xa400, ss, []byte{0x07, 0x4f, 0x00, 0x12, 0xff}, 20480, 0x013b, 1e9, true},
		{"1000 full on high speed", 0xa400, hs, []byte{0x07, 0x20, 0x03, 0x16, 0xff}, 24576, 0x013b, 1e9, true},
		{"1000 full on full speed", 0xa400, fs, []byte{0x07, 0xcc, 0x4c, 0x18, 0x08}, 26624, 0x013b, 1e9, true},
		{"100 half on SuperSpeed", 0x4400, ss, []byte{0x07, 0xae, 0x07, 0x18, 0xff}, 26624, 0x0330, 1e8, false},
		{"100 half on high speed", 0x4400, hs, []byte{0x07, 0xae, 0x07, 0x18, 0xff}, 26624, 0x0330, 1e8, false},
		{"100 half on full speed", 0x4400, fs, []byte{0x07, 0xcc, 0x4c, 0x18, 0x08}, 26624, 0x0330, 1e8, false},
		{"10 full on SuperSpeed", 0x2400, ss, []byte{0x07, 0xcc, 0x4c, 0x18, 0x08}, 26624, 0x0132, 1e7, true},
		{"10 full on high speed", 0x2400, hs, []byte{0x07, 0xcc, 0x4c, 0x18, 0x08}, 26624, 0x0132, 1e7, true},
		{"10 full on full speed", 0x2400, fs, []byte{0x07, 0xcc, 0x4c, 0x18, 0x08}, 26624, 0x0132, 1e7, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(usbnic.SpeedUnknown)
			f.answer(0x81, 0x8c, 0, []byte{0, 0, 0, 0x40}, []byte{0, 0, 0, 0}) // busy once
			f.mac(0x02, []byte{tc.linkSts})
			f.phy(0x11, tc.physr)
			eeePHY(f)
			var slept []time.Duration
			m := testDriver(f, &slept)
			m.rxctl = 0x0288 // as set_rx_mode left it
			d := newDevice(t, f, nil)
			if err := m.LinkReset(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			checkLog(t, f.log, seq(
				[]ctrl{
					wMAC(0x0b, 0x00, 0x00), wMAC(0x0b, 0x88, 0x02), rFIFO(0x00, 0x00, 0x00, 0x40),
					wMAC(0x0b, 0x00, 0x00), wMAC(0x0b, 0x88, 0x02), rFIFO(0x00, 0x00, 0x00, 0x00),
					rMAC(0x02, tc.linkSts), rPHY(0x11, tc.physr),
					wMAC(0x2e, tc.row...),
					wMAC(0x22, byte(tc.mode), byte(tc.mode>>8)),
				},
				eeeCheck))
			if d.RxBufferSize != tc.rxBuf {
				t.Errorf("rx buffer %d, want %d", d.RxBufferSize, tc.rxBuf)
			}
			if want := (usbnic.LinkState{Up: true, Speed: tc.speed, FullDuplex: tc.full}); d.Link != want {
				t.Errorf("link %+v, want %+v", d.Link, want)
			}
			if !m.carrier.Load() || !m.eeeActive {
				t.Errorf("carrier %v eee %v", m.carrier.Load(), m.eeeActive)
			}
			if want := busSpeed(tc.linkSts); d.Speed != want {
				t.Errorf("bus speed %v, want %v", d.Speed, want)
			}
		})
	}
}

func TestLinkResetWithJumboHardMTUSetsJumboEnable(t *testing.T) {
	f := newFake(usbnic.SpeedSuper)
	f.answer(0x81, 0x8c, 0, []byte{0, 0, 0, 0})
	f.mac(0x02, []byte{0x04})
	f.phy(0x11, 0xa400)
	eeePHY(f)
	var slept []time.Duration
	d := newDevice(t, f, nil)
	d.HardMTU = 4088 + 14
	if err := testDriver(f, &slept).LinkReset(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	// 0x013b | JUMBO_EN 0x8040
	checkLog(t, f.log[6:7], []ctrl{wMAC(0x22, 0x7b, 0x81)})
}

func TestLinkResetStopsWhenPHYReportsNoLink(t *testing.T) {
	f := newFake(usbnic.SpeedSuper)
	f.answer(0x81, 0x8c, 0, []byte{0, 0, 0, 0})
	f.mac(0x02, []byte{0x04})
	f.phy(0x11, 0x0000)
	var slept []time.Duration
	m := testDriver(f, &slept)
	m.carrier.Store(true)
	d := newDevice(t, f, nil)
	d.Link = usbnic.LinkState{Up: true, Speed: 1e9}
	if err := m.LinkReset(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	checkLog(t, f.log, []ctrl{
		wMAC(0x0b, 0x00, 0x00), wMAC(0x0b, 0x00, 0x00), rFIFO(0, 0, 0, 0),
		rMAC(0x02, 0x04), rPHY(0x11, 0x0000),
	})
	if d.Link.Up || m.carrier.Load() {
		t.Errorf("link %+v carrier %v after PHY said no link", d.Link, m.carrier.Load())
	}
}

func TestLinkResetGivesUpWhenTxFIFOStaysBusy(t *testing.T) {
	f := newFake(usbnic.SpeedSuper)
	f.answer(0x81, 0x8c, 0, []byte{0, 0, 0, 0x40})
	var slept []time.Duration
	m := testDriver(f, &slept)
	m.carrier.Store(true)
	err := m.LinkReset(context.Background(), newDevice(t, f, nil))
	if err == nil || !strings.Contains(err.Error(), "TX FIFO still busy") {
		t.Fatalf("err = %v", err)
	}
	// Three requests per poll at 1 ms each: the poll that ends past 100 ms is the 34th.
	if len(f.log) != 34*3 {
		t.Errorf("%d requests, want %d", len(f.log), 34*3)
	}
	if m.carrier.Load() {
		t.Error("carrier left on after a failed link reset")
	}
}

func TestLinkResetTreatsRefusedFIFOReadAsIdle(t *testing.T) {
	f := newFake(usbnic.SpeedSuper)
	f.mac(0x02, []byte{0x04})
	f.phy(0x11, 0x0000)
	var slept []time.Duration
	if err := testDriver(f, &slept).LinkReset(context.Background(), newDevice(t, f, nil)); err != nil {
		t.Fatal(err)
	}
	checkLog(t, f.log[:4], []ctrl{
		wMAC(0x0b, 0x00, 0x00), wMAC(0x0b, 0x00, 0x00), rStall(0x81, 0x8c, 0, 4), rMAC(0x02, 0x04),
	})
}

func TestLinkResetPassesTransportFailureOn(t *testing.T) {
	f := &failingDevice{fakeDevice: newFake(usbnic.SpeedSuper), failAfter: 1}
	var slept []time.Duration
	err := testDriver(f.fakeDevice, &slept).LinkReset(context.Background(), newDevice(t, f, nil))
	if !errors.Is(err, usbnic.ErrDisconnected) {
		t.Fatalf("err = %v", err)
	}
}

func TestStatus(t *testing.T) {
	m := New()
	d := &usbnic.Device{}
	steps := []struct {
		name string
		data []byte
		want usbnic.StatusEvent
	}{
		{"link up reported and needs a link reset", []byte{0x00, 0x00, 0x01, 0x00, 0, 0, 0, 0},
			usbnic.StatusEvent{HasLink: true, LinkUp: true, NeedReset: true}},
		{"same link again is no event", []byte{0xff, 0xff, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff}, usbnic.StatusEvent{}},
		{"longer transfer still parses", []byte{0x00, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0xaa, 0xbb}, usbnic.StatusEvent{}},
		{"only bit 16 counts: link down", []byte{0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff},
			usbnic.StatusEvent{HasLink: true, LinkUp: false}},
		{"intdata2 is ignored", []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, usbnic.StatusEvent{}},
	}
	for _, s := range steps {
		got, err := m.Status(d, s.data)
		if err != nil || got != s.want {
			t.Fatalf("%s: got %+v, %v; want %+v", s.name, got, err, s.want)
		}
	}
}

func TestStatusRejectsShortTransfer(t *testing.T) {
	m := New()
	for n := range 8 {
		ev, err := m.Status(&usbnic.Device{}, make([]byte, n))
		var se *StatusError
		if !errors.As(err, &se) || se.Len != n || ev != (usbnic.StatusEvent{}) {
			t.Fatalf("%d bytes: %+v, %v", n, ev, err)
		}
	}
}

func TestStatusAfterFailedLinkResetReportsLinkUpAgain(t *testing.T) {
	m := New()
	up := []byte{0, 0, 1, 0, 0, 0, 0, 0}
	if ev, _ := m.Status(nil, up); !ev.NeedReset {
		t.Fatal("first link up not reported")
	}
	m.carrier.Store(false) // what a link reset that found no link does
	if ev, _ := m.Status(nil, up); !ev.NeedReset {
		t.Fatal("link up not reported again after the link reset dropped the carrier")
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
		// A fresh driver has no carrier: only a link-up is news.
		if err != nil || ev.HasLink != up || ev.LinkUp != up || ev.NeedReset != up || ev.HasSpeed {
			t.Fatalf("% x: %+v, %v", data, ev, err)
		}
	})
}
