package ax88772

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"webminiport/usbnic"
)

// ctrl is one control request as it crossed the wire: the setup packet and the data stage
// (OUT data, or what the device answered to an IN).
type ctrl struct {
	RequestType uint8
	Request     uint8
	Value       uint16
	Index       uint16
	Length      uint16
	Data        []byte
	anyData     bool // expectation only: data is checked elsewhere (a random MAC)
}

func (c ctrl) String() string {
	return fmt.Sprintf("%02x %02x value=%04x index=%04x len=%d data=% x", c.RequestType, c.Request, c.Value, c.Index, c.Length, c.Data)
}

type key struct {
	req          uint8
	value, index uint16
}

// fakeDevice is a Transport that records every control request and answers IN requests from
// a map: the answers for a key are given in turn and the last one repeats; a key without
// answers stalls. OUT requests always succeed.
type fakeDevice struct {
	speed   usbnic.Speed
	answers map[key][][]byte
	log     []ctrl
	events  []string
}

func newFake(speed usbnic.Speed) *fakeDevice {
	return &fakeDevice{speed: speed, answers: map[key][][]byte{}}
}

// answer queues IN answers for a vendor request.
func (f *fakeDevice) answer(req uint8, value, index uint16, data ...[]byte) {
	f.answers[key{req, value, index}] = append(f.answers[key{req, value, index}], data...)
}

// read queues answers for an IN request without wValue/wIndex.
func (f *fakeDevice) read(req uint8, data ...[]byte) { f.answer(req, 0, 0, data...) }

// phy queues PHY register answers for READ_MII_REG at PHY addr.
func (f *fakeDevice) phy(addr uint8, reg uint16, vals ...uint16) {
	for _, v := range vals {
		f.answer(cmdReadMII, uint16(addr), reg, []byte{byte(v), byte(v >> 8)})
	}
}

func (f *fakeDevice) DeviceDescriptor() []byte                              { return nil }
func (f *fakeDevice) ConfigDescriptor(context.Context, int) ([]byte, error) { return nil, nil }
func (f *fakeDevice) Speed() usbnic.Speed                                   { return f.speed }
func (f *fakeDevice) Open(context.Context) error                            { return nil }
func (f *fakeDevice) Close(context.Context) error                           { return nil }
func (f *fakeDevice) Reset(context.Context) error                           { return nil }
func (f *fakeDevice) SelectConfiguration(context.Context, uint8) error      { return nil }
func (f *fakeDevice) Configuration() uint8                                  { return 1 }
func (f *fakeDevice) ClearHalt(context.Context, uint8) error                { return nil }
func (f *fakeDevice) Disconnected() <-chan struct{}                         { return nil }
func (f *fakeDevice) TransferIn(context.Context, uint8, []byte) (int, usbnic.Status, error) {
	return 0, usbnic.StatusStall, nil
}
func (f *fakeDevice) TransferOut(context.Context, uint8, []byte) (int, usbnic.Status, error) {
	return 0, usbnic.StatusStall, nil
}

func (f *fakeDevice) ClaimInterface(_ context.Context, i uint8) error {
	f.events = append(f.events, fmt.Sprintf("claim %d", i))
	return nil
}
func (f *fakeDevice) ReleaseInterface(_ context.Context, i uint8) error {
	f.events = append(f.events, fmt.Sprintf("release %d", i))
	return nil
}
func (f *fakeDevice) SelectAlternate(_ context.Context, i, alt uint8) error {
	f.events = append(f.events, fmt.Sprintf("altsetting %d.%d", i, alt))
	return nil
}

func (f *fakeDevice) ControlIn(_ context.Context, s usbnic.Setup, buf []byte) (int, usbnic.Status, error) {
	c := ctrl{RequestType: s.RequestTypeByte(true), Request: s.Request, Value: s.Value, Index: s.Index, Length: uint16(len(buf))}
	k := key{s.Request, s.Value, s.Index}
	q := f.answers[k]
	if len(q) == 0 {
		f.log = append(f.log, c)
		return 0, usbnic.StatusStall, nil
	}
	n := copy(buf, q[0])
	if len(q) > 1 {
		f.answers[k] = q[1:]
	}
	c.Data = append([]byte(nil), buf[:n]...)
	f.log = append(f.log, c)
	return n, usbnic.StatusOK, nil
}

func (f *fakeDevice) ControlOut(_ context.Context, s usbnic.Setup, data []byte) (usbnic.Status, error) {
	f.log = append(f.log, ctrl{RequestType: s.RequestTypeByte(false), Request: s.Request, Value: s.Value, Index: s.Index,
		Length: uint16(len(data)), Data: append([]byte(nil), data...)})
	return usbnic.StatusOK, nil
}

// Expected requests, written in the spec's terms (§2.2): reads are 0xC0, writes 0x40, and most
// writes carry their value in wValue with no data stage.
func w(req uint8, value, index uint16, data ...byte) ctrl {
	return ctrl{RequestType: 0x40, Request: req, Value: value, Index: index, Length: uint16(len(data)), Data: data}
}
func r(req uint8, value, index uint16, answer ...byte) ctrl {
	return ctrl{RequestType: 0xc0, Request: req, Value: value, Index: index, Length: uint16(len(answer)), Data: answer}
}

// rStall is an IN request of n bytes the device stalled.
func rStall(req uint8, value, index, n uint16) ctrl {
	return ctrl{RequestType: 0xc0, Request: req, Value: value, Index: index, Length: n}
}

// mdioR and mdioW are the software-MDIO procedure of §2.2 when the chip grants the bus at the
// first try: SET_SW_MII, STATMNGSTS with HOST_EN, the MII access, SET_HW_MII.
func mdioR(phy uint8, reg, v uint16) []ctrl {
	return []ctrl{w(0x06, 0, 0), r(0x09, 0, 0, 0x01), r(0x07, uint16(phy), reg, byte(v), byte(v>>8)), w(0x0a, 0, 0)}
}
func mdioW(phy uint8, reg, v uint16) []ctrl {
	return []ctrl{w(0x06, 0, 0), r(0x09, 0, 0, 0x01), w(0x08, uint16(phy), reg, byte(v), byte(v>>8)), w(0x0a, 0, 0)}
}

// checkLog compares the recorded requests with the expected ones and reports the first
// difference with some context.
func checkLog(t *testing.T, got, want []ctrl) {
	t.Helper()
	for i := 0; i < len(got) || i < len(want); i++ {
		if i >= len(got) {
			t.Fatalf("request %d missing: want %v\n%s", i, want[i], around(got, i))
		}
		if i >= len(want) {
			t.Fatalf("unexpected request %d: %v\n%s", i, got[i], around(got, i))
		}
		g, w := got[i], want[i]
		same := g.RequestType == w.RequestType && g.Request == w.Request && g.Value == w.Value &&
			g.Index == w.Index && g.Length == w.Length && (w.anyData || bytes.Equal(g.Data, w.Data))
		if !same {
			t.Fatalf("request %d:\n got %v\nwant %v\n%s", i, g, w, around(got, i))
		}
	}
}

func around(log []ctrl, i int) string {
	var b strings.Builder
	for j := max(0, i-4); j < min(len(log), i+3); j++ {
		fmt.Fprintf(&b, "  %3d %v\n", j, log[j])
	}
	return b.String()
}

// asixConfig is an AX88772's configuration: one vendor interface with interrupt IN 0x81,
// bulk IN 0x82 and bulk OUT 0x03 (high-speed packet sizes).
func asixConfig() *usbnic.Config {
	return &usbnic.Config{Value: 1, Interfaces: []usbnic.Interface{{
		Number: 0,
		Alternates: []usbnic.AltSetting{{
			Class: 0xff, Subclass: 0xff, Protocol: 0x00,
			Endpoints: []usbnic.Endpoint{
				{Address: 0x81, Attributes: usbnic.EndpointInterrupt, MaxPacketSize: 8, Interval: 11},
				{Address: 0x82, Attributes: usbnic.EndpointBulk, MaxPacketSize: 512},
				{Address: 0x03, Attributes: usbnic.EndpointBulk, MaxPacketSize: 512},
			},
		}},
	}}}
}

func newDevice(t testing.TB, f usbnic.Transport, cfg *usbnic.Config) *usbnic.Device {
	return &usbnic.Device{T: f, Config: cfg, Logf: func(format string, args ...any) { t.Logf(format, args...) }}
}

// testDriver returns a minidriver whose sleeps are recorded instead of waited.
func testDriver(slept *[]time.Duration) *Minidriver {
	m := New()
	m.Sleep = func(_ context.Context, d time.Duration) error { *slept = append(*slept, d); return nil }
	return m
}
