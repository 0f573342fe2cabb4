//go:build js && wasm

package fakeusb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
	"webminiport/usbnic/webusb"
	"webminiport/usbnic/webusb/fakeusb"
)

var bg = context.Background()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newFake(t testing.TB) *fakeusb.USB {
	t.Helper()
	u, err := fakeusb.New()
	must(t, err)
	t.Cleanup(u.Close)
	return u
}

// call calls obj.method(args...) and awaits the promise.
func call(t testing.TB, obj safejs.Value, method string, args ...any) (safejs.Value, error) {
	t.Helper()
	p, err := obj.Call(method, args...)
	must(t, err)
	return webusb.Await(bg, p)
}

// wantReject checks that err is a DOMError (or TypeError) with this name and message.
func wantReject(t testing.TB, err error, name, message string) {
	t.Helper()
	var de *webusb.DOMError
	if !errors.As(err, &de) || de.Name != name || de.Message != message {
		t.Fatalf("got %v, want %s: %s", err, name, message)
	}
}

func options(t testing.TB, filters ...map[string]any) safejs.Value {
	t.Helper()
	list := make([]any, len(filters))
	for i, f := range filters {
		list[i] = f
	}
	v, err := safejs.ValueOf(map[string]any{"filters": list})
	must(t, err)
	return v
}

func prop(t testing.TB, v safejs.Value, path ...any) safejs.Value {
	t.Helper()
	var err error
	for _, p := range path {
		switch p := p.(type) {
		case string:
			v, err = v.Get(p)
		case int:
			v, err = v.Index(p)
		}
		must(t, err)
	}
	return v
}

func intOf(t testing.TB, v safejs.Value) int {
	t.Helper()
	n, err := v.Int()
	must(t, err)
	return n
}

func strOf(t testing.TB, v safejs.Value) string {
	t.Helper()
	s, err := v.String()
	must(t, err)
	return s
}

func TestRequestDeviceNeedsUserActivation(t *testing.T) {
	u := newFake(t)
	_, err := u.Plug(sim.New(sim.AX88179, nil))
	must(t, err)
	_, err = call(t, u.JS(), "requestDevice", options(t))
	wantReject(t, err, "SecurityError", fakeusb.MsgUserGesture)
	if len(u.Requests()) != 0 {
		t.Error("a refused request was recorded")
	}
	u.SetActivation(func() bool { return true })
	dev, err := call(t, u.JS(), "requestDevice", options(t))
	must(t, err)
	if got := intOf(t, prop(t, dev, "productId")); got != 0x1790 {
		t.Errorf("productId %#x", got)
	}
}

func TestRequestDeviceRefusesFiltersChromiumRefuses(t *testing.T) {
	u := newFake(t)
	u.SetActivation(func() bool { return true })
	tests := []struct {
		filter map[string]any
		msg    string
	}{
		{map[string]any{"productId": 0x1790}, "A filter containing a productId must also contain a vendorId."},
		{map[string]any{"subclassCode": 6}, "A filter containing a subclassCode must also contain a classCode."},
		{map[string]any{"classCode": 2, "protocolCode": 0}, "A filter containing a protocolCode must also contain a subclassCode."},
	}
	for _, tc := range tests {
		_, err := call(t, u.JS(), "requestDevice", options(t, tc.filter))
		wantReject(t, err, "TypeError", tc.msg)
	}
}

func TestRequestDeviceOffersOnlyMatchingDevices(t *testing.T) {
	u := newFake(t)
	u.SetActivation(func() bool { return true })
	ax179, err := u.Plug(sim.New(sim.AX88179, nil))
	must(t, err)
	ax179a, err := u.Plug(sim.New(sim.AX88179A, nil)) // CDC-NCM in its second configuration
	must(t, err)
	ncm, err := u.Plug(sim.New(sim.CDCNCM, nil))
	must(t, err)
	var offered []*fakeusb.Device
	u.SetChooser(func(c []*fakeusb.Device) *fakeusb.Device { offered = c; return nil })

	tests := []struct {
		name   string
		filter map[string]any
		want   []*fakeusb.Device
	}{
		{"VID:PID", map[string]any{"vendorId": 0x0b95, "productId": 0x1790}, []*fakeusb.Device{ax179, ax179a}},
		{"vendor only", map[string]any{"vendorId": 0x1d6b}, []*fakeusb.Device{ncm}},
		{"NCM class in any configuration", map[string]any{"classCode": 2, "subclassCode": 0x0d, "protocolCode": 0}, []*fakeusb.Device{ax179a, ncm}},
		{"no match", map[string]any{"vendorId": 0x1234}, nil},
	}
	for _, tc := range tests {
		offered = nil
		_, err := call(t, u.JS(), "requestDevice", options(t, tc.filter))
		wantReject(t, err, "NotFoundError", fakeusb.MsgNoDeviceSelected)
		if len(offered) != len(tc.want) {
			t.Errorf("%s: offered %d devices, want %d", tc.name, len(offered), len(tc.want))
			continue
		}
		for i := range offered {
			if offered[i] != tc.want[i] {
				t.Errorf("%s: candidate %d is not the expected device", tc.name, i)
			}
		}
	}
}

func TestGetDevicesReturnsGrantedDevicesOnly(t *testing.T) {
	u := newFake(t)
	granted, err := u.Plug(sim.New(sim.CDCECM, nil), fakeusb.WithPermission())
	must(t, err)
	other, err := u.Plug(sim.New(sim.CDCNCM, nil))
	must(t, err)
	list, err := call(t, u.JS(), "getDevices")
	must(t, err)
	if n, _ := list.Length(); n != 1 || !prop(t, list, 0).Equal(granted.JS()) {
		t.Fatalf("getDevices gave %d devices, want the granted one", n)
	}
	other.Grant()
	list, err = call(t, u.JS(), "getDevices")
	must(t, err)
	if n, _ := list.Length(); n != 2 {
		t.Fatalf("getDevices gave %d devices after Grant, want 2", n)
	}
	// forget() revokes.
	_, err = call(t, granted.JS(), "forget")
	must(t, err)
	list, err = call(t, u.JS(), "getDevices")
	must(t, err)
	if n, _ := list.Length(); n != 1 {
		t.Fatalf("getDevices gave %d devices after forget, want 1", n)
	}
}

func TestDeviceObjectHasTheWebUSBShape(t *testing.T) {
	u := newFake(t)
	d, err := u.Plug(sim.New(sim.CDCECM, nil, sim.WithSpeed(usbnic.SpeedHigh)), fakeusb.WithStrings("Linux", "Gadget", "0123"))
	must(t, err)
	o := d.JS()
	for _, tc := range []struct {
		path []any
		want int
	}{
		{[]any{"vendorId"}, 0x1d6b},
		{[]any{"productId"}, 0x0104},
		{[]any{"usbVersionMajor"}, 2},
		{[]any{"configurations", 0, "configurationValue"}, 1},
		{[]any{"configurations", 0, "interfaces", 1, "interfaceNumber"}, 1},
		{[]any{"configurations", 0, "interfaces", 0, "alternates", 0, "interfaceClass"}, 0x02},
		{[]any{"configurations", 0, "interfaces", 0, "alternates", 0, "interfaceSubclass"}, 0x06},
		{[]any{"configurations", 0, "interfaces", 1, "alternates", 1, "alternateSetting"}, 1},
		{[]any{"configurations", 0, "interfaces", 1, "alternates", 1, "endpoints", 0, "endpointNumber"}, 1},
		{[]any{"configurations", 0, "interfaces", 1, "alternates", 1, "endpoints", 0, "packetSize"}, 512},
	} {
		if got := intOf(t, prop(t, o, tc.path...)); got != tc.want {
			t.Errorf("%v = %d, want %d", tc.path, got, tc.want)
		}
	}
	ep := prop(t, o, "configurations", 0, "interfaces", 1, "alternates", 1, "endpoints", 0)
	if strOf(t, prop(t, ep, "direction")) != "in" || strOf(t, prop(t, ep, "type")) != "bulk" {
		t.Errorf("endpoint 1 of data alternate 1 is not a bulk IN endpoint")
	}
	if !prop(t, o, "configuration").Equal(prop(t, o, "configurations", 0)) {
		t.Error("configuration is not the object in configurations")
	}
	if strOf(t, prop(t, o, "productName")) != "Gadget" || strOf(t, prop(t, o, "serialNumber")) != "0123" {
		t.Error("strings not set")
	}
	if b, _ := prop(t, o, "opened").Bool(); b {
		t.Error("opened before open()")
	}
	_, err = call(t, o, "open")
	must(t, err)
	_, err = call(t, o, "claimInterface", 1)
	must(t, err)
	if b, _ := prop(t, o, "opened").Bool(); !b {
		t.Error("not opened after open()")
	}
	if b, _ := prop(t, o, "configuration", "interfaces", 1, "claimed").Bool(); !b {
		t.Error("interface 1 not claimed after claimInterface(1)")
	}
}

func TestTransferResultsAreChromiumObjects(t *testing.T) {
	u := newFake(t)
	q := sim.NewQueue(4)
	d, err := u.Plug(sim.New(sim.CDCECM, q))
	must(t, err)
	o := d.JS()
	for _, step := range [][]any{{"open"}, {"claimInterface", 0}, {"claimInterface", 1}, {"selectAlternateInterface", 1, 1}} {
		_, err := call(t, o, step[0].(string), step[1:]...)
		must(t, err)
	}
	frame := make([]byte, 60)
	for i := range frame[:6] {
		frame[i] = 0xff
	}
	q.Push(frame)
	r, err := call(t, o, "transferIn", 1, 2048)
	must(t, err)
	for _, tc := range []struct {
		v    safejs.Value
		ctor string
	}{{r, "USBInTransferResult"}, {prop(t, r, "data"), "DataView"}} {
		c, err := safejs.Global().Get(tc.ctor)
		must(t, err)
		if ok, err := tc.v.InstanceOf(c); err != nil || !ok {
			t.Errorf("not a %s", tc.ctor)
		}
	}
	if strOf(t, prop(t, r, "status")) != "ok" || intOf(t, prop(t, r, "data", "byteLength")) != 60 {
		t.Errorf("result status/length wrong")
	}
	u8, err := safejs.Global().Get("Uint8Array")
	must(t, err)
	out, err := u8.New(60)
	must(t, err)
	_, err = safejs.CopyBytesToJS(out, frame)
	must(t, err)
	w, err := call(t, o, "transferOut", 2, out)
	must(t, err)
	c, _ := safejs.Global().Get("USBOutTransferResult")
	if ok, _ := w.InstanceOf(c); !ok || intOf(t, prop(t, w, "bytesWritten")) != 60 {
		t.Error("transferOut did not give a USBOutTransferResult of 60 bytes")
	}
}

func TestChromiumChecksComeFirst(t *testing.T) {
	u := newFake(t)
	d, err := u.Plug(sim.New(sim.CDCECM, nil))
	must(t, err)
	o := d.JS()
	_, err = call(t, o, "claimInterface", 0)
	wantReject(t, err, "InvalidStateError", fakeusb.MsgOpenRequired)

	// A state change while another is in progress: both calls made before either settles.
	p1, err := o.Call("open")
	must(t, err)
	p2, err := o.Call("claimInterface", 0)
	must(t, err)
	_, err = webusb.Await(bg, p2)
	wantReject(t, err, "InvalidStateError", fakeusb.MsgDeviceChange)
	_, err = webusb.Await(bg, p1)
	must(t, err)

	_, err = call(t, o, "claimInterface", 5)
	wantReject(t, err, "NotFoundError", fakeusb.MsgInterfaceNotFound)
	_, err = call(t, o, "transferIn", 1, 64)
	wantReject(t, err, "NotFoundError", "The specified endpoint is not part of a claimed and selected alternate interface.")
	_, err = call(t, o, "selectAlternateInterface", 1, 1)
	wantReject(t, err, "InvalidStateError", fakeusb.MsgNotClaimed)
}

func TestReleaseAbortsQueuedTransfers(t *testing.T) {
	u := newFake(t)
	d, err := u.Plug(sim.New(sim.CDCECM, sim.NewQueue(4)))
	must(t, err)
	o := d.JS()
	for _, step := range [][]any{{"open"}, {"claimInterface", 0}, {"claimInterface", 1}, {"selectAlternateInterface", 1, 1}} {
		_, err := call(t, o, step[0].(string), step[1:]...)
		must(t, err)
	}
	var ps []safejs.Value
	for i := 0; i < 3; i++ {
		p, err := o.Call("transferIn", 1, 2048)
		must(t, err)
		ps = append(ps, p)
	}
	_, err = call(t, o, "releaseInterface", 1)
	must(t, err)
	for _, p := range ps {
		_, err := webusb.Await(bg, p)
		wantReject(t, err, "AbortError", fakeusb.MsgTransferCancelled)
	}
	if d.Pending() != 0 {
		t.Errorf("%d calls pending", d.Pending())
	}
}

func TestUnplugRejectsPendingCallsAndAnnouncesIt(t *testing.T) {
	u := newFake(t)
	sd := sim.New(sim.CDCECM, sim.NewQueue(4))
	d, err := u.Plug(sd, fakeusb.WithPermission())
	must(t, err)
	o := d.JS()
	for _, step := range [][]any{{"open"}, {"claimInterface", 0}, {"claimInterface", 1}, {"selectAlternateInterface", 1, 1}} {
		_, err := call(t, o, step[0].(string), step[1:]...)
		must(t, err)
	}
	var events []string
	listener, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		typ, _ := args[0].Get("type")
		s, _ := typ.String()
		dev, _ := args[0].Get("device")
		if dev.Equal(o) {
			events = append(events, s)
		}
		return nil
	})
	must(t, err)
	defer listener.Release()
	_, err = u.JS().Call("addEventListener", "disconnect", listener)
	must(t, err)

	p, err := o.Call("transferIn", 1, 2048)
	must(t, err)
	d.Unplug()
	_, err = webusb.Await(bg, p)
	wantReject(t, err, "NotFoundError", fakeusb.MsgDisconnected)
	if len(events) != 1 || events[0] != "disconnect" {
		t.Errorf("events %v, want one disconnect", events)
	}
	_, err = call(t, o, "open")
	wantReject(t, err, "NotFoundError", fakeusb.MsgDisconnected)
	if len(u.Devices()) != 0 {
		t.Error("still listed after the unplug")
	}
	_, _ = u.JS().Call("removeEventListener", "disconnect", listener)
}
