//go:build js && wasm

package webusb

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
	"webminiport/usbnic/webusb/fakeusb"
)

var bg = context.Background()

// patience bounds every wait for something that must happen; it only ends a failing test.
const patience = 10 * time.Second

// fixture is a fake navigator.usb and the USB under test on it.
type fixture struct {
	fake *fakeusb.USB
	usb  *USB
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	fake, err := fakeusb.New()
	if err != nil {
		t.Fatal(err)
	}
	u, err := New(fake.JS())
	if err != nil {
		fake.Close()
		t.Fatal(err)
	}
	u.SetPlatform(PlatformLinux)
	t.Cleanup(func() {
		if err := u.Close(); err != nil {
			t.Error(err)
		}
		fake.Close()
	})
	return &fixture{fake: fake, usb: u}
}

// plug attaches tr as a granted device and returns both sides.
func (f *fixture) plug(t testing.TB, tr usbnic.Transport, opts ...fakeusb.DeviceOption) (*fakeusb.Device, *Device) {
	t.Helper()
	fd, err := f.fake.Plug(tr, append([]fakeusb.DeviceOption{fakeusb.WithPermission()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.usb.deviceFor(fd.JS())
	if err != nil {
		t.Fatal(err)
	}
	return fd, d
}

// plugSim plugs a new sim device of model m with wire w.
func (f *fixture) plugSim(t testing.TB, m *sim.Model, w sim.Wire, opts ...sim.Option) (*sim.Device, *fakeusb.Device, *Device) {
	t.Helper()
	sd := sim.New(m, w, opts...)
	fd, d := f.plug(t, sd, fakeusb.WithStrings("webminiport", m.Description, ""))
	return sd, fd, d
}

// ecmUp plugs a CDC-ECM gadget and brings its data interface up through the transport: open,
// claim both interfaces, data alternate 1 (bulk IN 0x81, OUT 0x02; notifications on 0x85).
func (f *fixture) ecmUp(t testing.TB, q *sim.Queue) (*sim.Device, *fakeusb.Device, *Device) {
	t.Helper()
	sd, fd, d := f.plugSim(t, sim.CDCECM, q)
	must(t, d.Open(bg))
	must(t, d.ClaimInterface(bg, 0))
	must(t, d.ClaimInterface(bg, 1))
	must(t, d.SelectAlternate(bg, 1, 1))
	return sd, fd, d
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor yields until cond holds (other goroutines and the JS event loop run meanwhile).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		// A timer, not Gosched: JS promise jobs run only when Go yields to the event loop.
		time.Sleep(time.Millisecond)
	}
}

// broadcast is a 60-byte broadcast frame tagged with b, which every receive filter accepts.
func broadcast(b byte) []byte {
	f := make([]byte, 60)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5})
	for i := 14; i < len(f); i++ {
		f[i] = b
	}
	return f
}

// settleJS lets pending promise jobs run.
func settleJS(t testing.TB) {
	t.Helper()
	p, err := promiseResolve(safejs.Undefined())
	must(t, err)
	_, err = Await(bg, p)
	must(t, err)
	runtime.Gosched()
}

// platformError returns err as a *PlatformError or fails.
func platformError(t testing.TB, err error) *PlatformError {
	t.Helper()
	var pe *PlatformError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *PlatformError", err, err)
	}
	return pe
}
