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

// frameTimes keeps the last animation frames, for webminiportFake.perf().
var frameTimes struct {
	mu     sync.Mutex
	frames [4096]frameTime
	n      int // frames recorded since the last reset
	head   int
	last   time.Time // the start of the frame before
}

// frameTime is one animation frame: the work of the page's frame() (the command buffer applied
// included; Chromium's style, layout and paint after it are not), the interval since the frame
// before began, and the receive path's budget after it.
type frameTime struct{ work, interval, budget float64 }

func init() {
	frameObserver = func(start time.Time, work, budget time.Duration) {
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		frameTimes.mu.Lock()
		f := &frameTimes.frames[frameTimes.head]
		f.work, f.budget, f.interval = ms(work), ms(budget), 0
		if !frameTimes.last.IsZero() {
			f.interval = ms(start.Sub(frameTimes.last))
		}
		frameTimes.last = start
		frameTimes.head = (frameTimes.head + 1) % len(frameTimes.frames)
		frameTimes.n++
		frameTimes.mu.Unlock()
	}
}

// perf is webminiportFake.perf(reset): for the animation frames since the last reset (at most the
// last 4096), the p50, p99 and max of their work in milliseconds, the p50 and p99 of the interval
// between them and the median budget of the receive path; and the Go heap: live bytes after
// collecting and the memory the runtime holds.
func perf(_ js.Value, args []js.Value) any {
	frameTimes.mu.Lock()
	n := min(frameTimes.n, len(frameTimes.frames))
	work := make([]float64, 0, n)
	interval := make([]float64, 0, n)
	budget := make([]float64, 0, n)
	for i := range n {
		f := frameTimes.frames[(frameTimes.head-1-i+2*len(frameTimes.frames))%len(frameTimes.frames)]
		work = append(work, f.work)
		budget = append(budget, f.budget)
		if f.interval > 0 {
			interval = append(interval, f.interval)
		}
	}
	count := frameTimes.n
	if len(args) > 0 && args[0].Truthy() {
		frameTimes.n = 0
	}
	frameTimes.mu.Unlock()
	q := func(v []float64, f float64) float64 {
		if len(v) == 0 {
			return 0
		}
		slices.Sort(v)
		return v[min(int(f*float64(len(v))), len(v)-1)]
	}
	// Two collections: objects with finalizers (every js.Value that holds an object has one) live
	// through the first and are freed by the second.
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return map[string]any{"frames": count, "p50": q(work, 0.50), "p99": q(work, 0.99), "max": q(work, 1),
		"intervalP50": q(interval, 0.50), "intervalP99": q(interval, 0.99), "budget": q(budget, 0.5),
		"heapLive": float64(m.HeapAlloc), "sys": float64(m.Sys)}
}
