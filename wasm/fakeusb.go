//go:build js && wasm && fakeusb

package main

import (
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall/js"
	"time"

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
	// &traffic=flood64 or flood1514 floods the fake adapter as fast as the page takes frames,
	// for the pipeline benchmark; the default is idle chatter.
	switch q.Get("traffic") {
	case "flood64":
		err = w.Flood(60, 0)
	case "flood1514":
		err = w.Flood(wire.MaxFrameLen, 0)
	default:
		w.Idle()
	}
	if err != nil {
		return nil, err
	}
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
	ctl.Set("perf", js.FuncOf(perf))
	js.Global().Set("webminiportFake", ctl)
	return webusb.New(fake.JS())
}

// frameTimes keeps the work time of the last animation frames, for webminiportFake.perf().
var frameTimes struct {
	mu   sync.Mutex
	ms   [4096]float64
	n    int // frames recorded since the last reset
	head int
}

func init() {
	frameObserver = func(d time.Duration) {
		frameTimes.mu.Lock()
		frameTimes.ms[frameTimes.head] = float64(d) / float64(time.Millisecond)
		frameTimes.head = (frameTimes.head + 1) % len(frameTimes.ms)
		frameTimes.n++
		frameTimes.mu.Unlock()
	}
}

// perf is webminiportFake.perf(reset): the work time of the animation frames since the last
// reset (at most the last 4096) as p50, p99 and max in milliseconds, and the Go heap: live bytes
// after collecting and the memory the runtime holds.
func perf(_ js.Value, args []js.Value) any {
	frameTimes.mu.Lock()
	n := min(frameTimes.n, len(frameTimes.ms))
	ms := make([]float64, 0, n)
	for i := range n {
		ms = append(ms, frameTimes.ms[(frameTimes.head-1-i+2*len(frameTimes.ms))%len(frameTimes.ms)])
	}
	count := frameTimes.n
	if len(args) > 0 && args[0].Truthy() {
		frameTimes.n = 0
	}
	frameTimes.mu.Unlock()
	slices.Sort(ms)
	q := func(f float64) float64 {
		if len(ms) == 0 {
			return 0
		}
		return ms[min(int(f*float64(len(ms))), len(ms)-1)]
	}
	// Two collections: objects with finalizers (every js.Value that holds an object has one) live
	// through the first and are freed by the second.
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return map[string]any{"frames": count, "p50": q(0.50), "p99": q(0.99), "max": q(1),
		"heapLive": float64(m.HeapAlloc), "sys": float64(m.Sys)}
}
