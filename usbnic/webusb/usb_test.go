//go:build js && wasm

package webusb

import (
	"errors"
	"reflect"
	"testing"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic"
	"webminiport/usbnic/drivers"
	"webminiport/usbnic/sim"
	"webminiport/usbnic/webusb/fakeusb"
)

// newButton makes a <button> in the document.
func newButton(t testing.TB) safejs.Value {
	t.Helper()
	doc, err := safejs.Global().Get("document")
	must(t, err)
	b, err := doc.Call("createElement", "button")
	must(t, err)
	return b
}

type pick struct {
	d   *Device
	err error
}

func click(t testing.TB, button safejs.Value) {
	t.Helper()
	if _, err := button.Call("click"); err != nil {
		t.Fatal(err)
	}
}

func TestPairButtonCallsRequestDeviceInsideTheClick(t *testing.T) {
	f := newFixture(t)
	sd := sim.New(sim.AX88179, nil)
	fd, err := f.fake.Plug(sd) // not granted yet: only the chooser can give it
	must(t, err)

	picks := make(chan pick, 1)
	button := newButton(t)
	pb, err := f.usb.BindPairButton(button, func(d *Device, err error) { picks <- pick{d, err} })
	must(t, err)
	defer pb.Close()

	click(t, button)
	p := <-picks
	if p.err != nil {
		t.Fatalf("pairing failed: %v", p.err)
	}
	if !p.d.js.Equal(fd.JS()) {
		t.Fatal("paired a different device")
	}
	// Now granted: getDevices returns the same *Device.
	devs, err := f.usb.Devices(bg)
	must(t, err)
	if len(devs) != 1 || devs[0] != p.d {
		t.Fatalf("Devices() = %v, want the paired device", devs)
	}
}

func TestRequestDeviceOutsideAClickIsRefused(t *testing.T) {
	// What BindPairButton prevents: a requestDevice after the click's dispatch has ended (after
	// an await) has no user activation, and Chromium (and the fake) refuse it.
	f := newFixture(t)
	_, err := f.fake.Plug(sim.New(sim.AX88179, nil))
	must(t, err)
	p, err := f.fake.JS().Call("requestDevice", f.usb.requestOptions)
	must(t, err)
	_, err = Await(bg, p)
	var de *DOMError
	if !errors.As(err, &de) || de.Name != "SecurityError" || de.Message != fakeusb.MsgUserGesture {
		t.Fatalf("got %v, want SecurityError %q", err, fakeusb.MsgUserGesture)
	}
}

func TestPairButtonReportsAClosedChooser(t *testing.T) {
	f := newFixture(t)
	_, err := f.fake.Plug(sim.New(sim.AX88179, nil))
	must(t, err)
	f.fake.SetChooser(func([]*fakeusb.Device) *fakeusb.Device { return nil })
	picks := make(chan pick, 1)
	button := newButton(t)
	pb, err := f.usb.BindPairButton(button, func(d *Device, err error) { picks <- pick{d, err} })
	must(t, err)
	defer pb.Close()
	click(t, button)
	p := <-picks
	if p.d != nil || !errors.Is(p.err, ErrNoDeviceSelected) {
		t.Fatalf("got %v, %v; want ErrNoDeviceSelected", p.d, p.err)
	}
	var de *DOMError
	if !errors.As(p.err, &de) || de.Name != "NotFoundError" {
		t.Errorf("the DOMError is lost: %v", p.err)
	}
}

func TestPairButtonCloseRemovesTheListener(t *testing.T) {
	f := newFixture(t)
	base := liveFuncs.Load()
	button := newButton(t)
	pb, err := f.usb.BindPairButton(button, func(*Device, error) { t.Error("called after Close") })
	must(t, err)
	if got := liveFuncs.Load() - base; got != 1 {
		t.Fatalf("BindPairButton holds %d js.Funcs, want 1", got)
	}
	must(t, pb.Close())
	must(t, pb.Close())
	if got := liveFuncs.Load() - base; got != 0 {
		t.Fatalf("%d js.Funcs left after Close", got)
	}
	// The click dispatch is synchronous: a listener still there would call requestDevice now.
	click(t, button)
	if n := len(f.fake.Requests()); n != 0 {
		t.Fatalf("requestDevice called %d times after Close", n)
	}
}

func TestRequestDeviceFiltersCoverEveryMatchTableRow(t *testing.T) {
	f := newFixture(t)
	button := newButton(t)
	picks := make(chan pick, 1)
	pb, err := f.usb.BindPairButton(button, func(d *Device, err error) { picks <- pick{d, err} })
	must(t, err)
	defer pb.Close()
	click(t, button)
	<-picks // no device plugged: the chooser is empty

	reqs := f.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requestDevice calls, want 1", len(reqs))
	}
	got := reqs[0]
	if want := drivers.WebUSBFilters(); !reflect.DeepEqual(got, want) {
		t.Errorf("requestDevice got %d filters, want the match table's %d", len(got), len(want))
	}
	covered := func(id usbnic.ID) bool {
		for _, fl := range got {
			if id.VendorID != 0 {
				if fl.VendorID != nil && *fl.VendorID == id.VendorID && fl.ProductID != nil && *fl.ProductID == id.ProductID && fl.ClassCode == nil {
					return true
				}
				continue
			}
			if fl.VendorID == nil && fl.ClassCode != nil && *fl.ClassCode == id.Class &&
				fl.SubclassCode != nil && *fl.SubclassCode == id.Subclass && fl.ProtocolCode != nil && *fl.ProtocolCode == id.Protocol {
				return true
			}
		}
		return false
	}
	for _, id := range drivers.IDs {
		if !covered(id) {
			t.Errorf("no filter offers %04x:%04x class %02x/%02x/%02x (%s)", id.VendorID, id.ProductID, id.Class, id.Subclass, id.Protocol, id.Product)
		}
	}
}

func TestEveryModelIsOfferedByTheChooser(t *testing.T) {
	for _, m := range sim.Models {
		t.Run(m.Name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.fake.Plug(sim.New(m, nil))
			must(t, err)
			var offered int
			f.fake.SetChooser(func(c []*fakeusb.Device) *fakeusb.Device {
				offered = len(c)
				return nil
			})
			button := newButton(t)
			picks := make(chan pick, 1)
			pb, err := f.usb.BindPairButton(button, func(d *Device, err error) { picks <- pick{d, err} })
			must(t, err)
			defer pb.Close()
			click(t, button)
			<-picks
			if offered != 1 {
				t.Errorf("the chooser offered %d devices, want the %s", offered, m.Name)
			}
		})
	}
}

func TestDevicesReturnsOnlyGrantedAdaptersAsTheSameDevice(t *testing.T) {
	f := newFixture(t)
	granted, err := f.fake.Plug(sim.New(sim.CDCNCM, nil), fakeusb.WithPermission())
	must(t, err)
	_, err = f.fake.Plug(sim.New(sim.AX88772, nil))
	must(t, err)
	first, err := f.usb.Devices(bg)
	must(t, err)
	second, err := f.usb.Devices(bg)
	must(t, err)
	if len(first) != 1 || !first[0].js.Equal(granted.JS()) {
		t.Fatalf("Devices() = %d devices, want the granted one", len(first))
	}
	if second[0] != first[0] {
		t.Error("a second Devices() made a new *Device for the same USBDevice")
	}
}

func TestWatchReportsPlugAndUnplug(t *testing.T) {
	f := newFixture(t)
	var plugged, unplugged []*Device
	w := f.usb.Watch(func(d *Device) { plugged = append(plugged, d) }, func(d *Device) {
		select {
		case <-d.Disconnected():
		default:
			t.Error("Disconnected() still open in onDisconnect")
		}
		unplugged = append(unplugged, d)
	})
	sd := sim.New(sim.AX88772B, nil)
	fd, err := f.fake.Plug(sd, fakeusb.WithPermission())
	must(t, err)
	// The connect event is dispatched during Plug.
	if len(plugged) != 1 || !plugged[0].js.Equal(fd.JS()) {
		t.Fatalf("onConnect saw %d devices, want the one plugged", len(plugged))
	}
	sd.RemoveNow()
	waitFor(t, "the disconnect event", func() bool { return len(unplugged) == 1 })
	if unplugged[0] != plugged[0] {
		t.Error("onDisconnect got a different *Device than onConnect")
	}
	// Not granted: no events, as in Chromium.
	_, err = f.fake.Plug(sim.New(sim.AX88772B, nil))
	must(t, err)
	w.Close()
	_, err = f.fake.Plug(sim.New(sim.AX88179, nil), fakeusb.WithPermission())
	must(t, err)
	if len(plugged) != 1 {
		t.Errorf("onConnect called %d times, want 1 (ungranted device, then after Close)", len(plugged))
	}
}

func TestNewAndCloseReleaseTheirFuncs(t *testing.T) {
	fake, err := fakeusb.New()
	must(t, err)
	defer fake.Close()
	base := liveFuncs.Load()
	u, err := New(fake.JS())
	must(t, err)
	if got := liveFuncs.Load() - base; got != 2 {
		t.Errorf("New holds %d js.Funcs, want 2 (connect and disconnect listeners)", got)
	}
	must(t, u.Close())
	must(t, u.Close())
	if got := liveFuncs.Load() - base; got != 0 {
		t.Errorf("%d js.Funcs left after Close", got)
	}
}

func TestNewRefusesAnObjectThatIsNotUSB(t *testing.T) {
	obj, err := safejs.ValueOf(map[string]any{})
	must(t, err)
	if _, err := New(obj); err == nil {
		t.Fatal("New accepted an empty object")
	}
}
