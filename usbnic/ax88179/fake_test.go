package ax88179

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
// answers stalls. OUT requests always succeed. Its clock advances 1 ms per control request, so
// polling loops time out after a known number of requests.
type fakeDevice struct {
	speed   usbnic.Speed
	answers map[key][][]byte
	log     []ctrl
	events  []string
	now     time.Time
}

func newFake(speed usbnic.Speed) *fakeDevice {
	return &fakeDevice{speed: speed, answers: map[key][][]byte{}, now: time.Unix(1000, 0)}
}

// answer queues IN answers for a vendor request.
func (f *fakeDevice) answer(req uint8, value, index uint16, data ...[]byte) {
	f.answers[key{req, value, index}] = append(f.answers[key{req, value, index}], data...)
}

// mac, phy and eeprom queue answers in the spec's addressing (§1.2).
func (f *fakeDevice) mac(reg uint16, data ...[]byte) {
	f.answer(reqAccessMAC, reg, uint16(len(data[0])), data...)
}
func (f *fakeDevice) phy(reg uint16, vals ...uint16) {
	for _, v := range vals {
		f.answer(reqAccessPHY, 3, reg, []byte{byte(v), byte(v >> 8)})
	}
}
func (f *fakeDevice) eeprom(word uint16, v uint16) {
	f.answer(reqAccessEEPROM, word, 1, []byte{byte(v), byte(v >> 8)})
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
	f.now = f.now.Add(time.Millisecond)
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
	f.now = f.now.Add(time.Millisecond)
	f.log = append(f.log, ctrl{RequestType: s.RequestTypeByte(false), Request: s.Request, Value: s.Value, Index: s.Index,
		Length: uint16(len(data)), Data: append([]byte(nil), data...)})
	return usbnic.StatusOK, nil
}

// Expected requests, written in the spec's terms (§1.2): MAC registers are 0x01 with the byte
// count in wIndex and wLength, PHY registers 0x02 at PHY 3, EEPROM words 0x04 with wIndex 1.
func wMAC(reg uint16, data ...byte) ctrl {
	return ctrl{RequestType: 0x40, Request: 0x01, Value: reg, Index: uint16(len(data)), Length: uint16(len(data)), Data: data}
}
func rMAC(reg uint16, answer ...byte) ctrl {
	return ctrl{RequestType: 0xc0, Request: 0x01, Value: reg, Index: uint16(len(answer)), Length: uint16(len(answer)), Data: answer}
}

// rStall is an IN request of n bytes the device stalled.
func rStall(req uint8, value, index, n uint16) ctrl {
	return ctrl{RequestType: 0xc0, Request: req, Value: value, Index: index, Length: n}
}
func wPHY(reg uint16, v uint16) ctrl {
	return ctrl{RequestType: 0x40, Request: 0x02, Value: 3, Index: reg, Length: 2, Data: []byte{byte(v), byte(v >> 8)}}
}
func rPHY(reg uint16, v uint16) ctrl {
	return ctrl{RequestType: 0xc0, Request: 0x02, Value: 3, Index: reg, Length: 2, Data: []byte{byte(v), byte(v >> 8)}}
}
func rEEPROM(word uint16, v uint16) ctrl {
	return ctrl{RequestType: 0xc0, Request: 0x04, Value: word, Index: 1, Length: 2, Data: []byte{byte(v), byte(v >> 8)}}
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

// vendorConfig is the AX88179's configuration: one vendor interface with bulk IN 0x81,
// bulk OUT 0x02 and interrupt IN 0x83 (SuperSpeed packet sizes).
func vendorConfig(maxPacket uint16) *usbnic.Config {
	return &usbnic.Config{Value: 1, Interfaces: []usbnic.Interface{{
		Number: 0,
		Alternates: []usbnic.AltSetting{{
			Class: 0xff, Subclass: 0xff, Protocol: 0x00,
			Endpoints: []usbnic.Endpoint{
				{Address: 0x81, Attributes: usbnic.EndpointBulk, MaxPacketSize: maxPacket},
				{Address: 0x02, Attributes: usbnic.EndpointBulk, MaxPacketSize: maxPacket},
				{Address: 0x83, Attributes: usbnic.EndpointInterrupt, MaxPacketSize: 16, Interval: 11},
			},
		}},
	}}}
}

func newDevice(t testing.TB, f usbnic.Transport, cfg *usbnic.Config) *usbnic.Device {
	return &usbnic.Device{T: f, Config: cfg, Logf: func(format string, args ...any) { t.Logf(format, args...) }}
}

// testDriver returns a minidriver whose sleeps are recorded instead of waited and whose clock
// is the fake device's.
func testDriver(f *fakeDevice, slept *[]time.Duration) *Minidriver {
	return &Minidriver{
		Sleep: func(_ context.Context, d time.Duration) error { *slept = append(*slept, d); return nil },
		Now:   func() time.Time { return f.now },
	}
}
