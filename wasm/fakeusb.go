//go:build js && wasm && fakeusb

package main

import (
	"fmt"
	"net/url"
	"strings"
	"syscall/js"

	"webminiport/usbnic/sim"
	"webminiport/usbnic/sim/wire"
	"webminiport/usbnic/webusb"
	"webminiport/usbnic/webusb/fakeusb"
)

// A page built with -tags fakeusb (the end-to-end tests build it so; the shipped page never is)
// honours ?fakeusb=MODEL: navigator.usb is replaced by usbnic/webusb/fakeusb with one virtual
// adapter of that model plugged in, so the pairing path — the button, requestDevice with user
// activation, the WebUSB transport, unplug and replug — runs in a browser without USB devices.
// With &granted=1 the adapter counts as paired before, so the page reconnects it at start
// (getDevices); with &fail=claimInterface its first claimInterface is refused as Chrome on Linux
// refuses it while a kernel driver holds the interface. window.webminiportFake.unplug() and .replug() pull it out and plug it back.
func navigatorUSB() (*webusb.USB, error) {
	q, _ := url.ParseQuery(strings.TrimPrefix(js.Global().Get("location").Get("search").String(), "?"))
	model := q.Get("fakeusb")
	if model == "" {
		return webusb.Navigator()
	}
	m, ok := sim.ModelByName(model)
	if !ok {
		return nil, fmt.Errorf("fakeusb: no virtual model %q", model)
	}
	fake, err := fakeusb.New()
	if err != nil {
		return nil, err
	}
	w, err := wire.New(wire.Config{})
	if err != nil {
		return nil, err
	}
	w.Idle()
	var opts []fakeusb.DeviceOption
	opts = append(opts, fakeusb.WithStrings("webminiport", "Fake "+m.Name, "0001"))
	if q.Get("granted") == "1" {
		opts = append(opts, fakeusb.WithPermission())
	}
	dev := sim.New(m, w)
	plugged, err := fake.Plug(dev, opts...)
	if err != nil {
		return nil, err
	}
	if q.Get("fail") == "claimInterface" {
		plugged.FailNext("claimInterface", "NetworkError", fakeusb.MsgClaimFailed)
	}
	ctl := js.Global().Get("Object").New()
	ctl.Set("unplug", js.FuncOf(func(js.Value, []js.Value) any {
		plugged.Unplug()
		return nil
	}))
	ctl.Set("replug", js.FuncOf(func(js.Value, []js.Value) any {
		dev = dev.Replug()
		go func() {
			p, err := fake.Plug(dev, append(opts, fakeusb.WithPermission())...)
			if err == nil {
				plugged = p
			}
		}()
		return nil
	}))
	js.Global().Set("webminiportFake", ctl)
	return webusb.New(fake.JS())
}
