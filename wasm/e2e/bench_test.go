//go:build !js

package e2e

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"webminiport/wasm/session"
)

// BenchmarkPagePipeline measures the whole pipeline in Chromium: a fake WebUSB adapter (the
// AX88179 model of usbnic/sim behind usbnic/webusb/fakeusb, so every transfer crosses the real
// JavaScript promise path) flooded with 64-byte or 1514-byte frames as fast as the page takes
// them → WebUSB transport → usbnic core and minidriver → NBL pool → capture protocol and ring →
// the page drawing it all. It reports received frames/s and Mb/s over 10 s and the p50 and p99
// work of an animation frame in that time: the page's own frame (the Sample, the drawing into
// the command buffer and web/render.js applying it), not Chromium's style, layout and paint
// after it, nor the receive path the frame's tick lets run. The 64-byte flood then goes on to 5 minutes and
// reports the live Go heap after 1 and after 5 minutes of it, which must not grow (the target
// asks for a flat heap over 5 minutes at line rate); WEBMINIPORT_BENCH_HEAP=short measures it
// at 15 s and 45 s instead, and =off not at all. Each size runs once, whatever b.N.
//
// WEBMINIPORT_BENCH_CPUPROFILE=1 also records Chromium's CPU profile of the page over the
// measurement window, writes it to .cache/cpuprofile/page-<traffic>.cpuprofile and logs the
// functions and packages that took the time (the profiler slows the page down a little).
func BenchmarkPagePipeline(b *testing.B) {
	heap := []heapPoint{{time.Minute, "heap-MB-1min"}, {5 * time.Minute, "heap-MB-5min"}}
	switch os.Getenv("WEBMINIPORT_BENCH_HEAP") {
	case "short":
		heap = []heapPoint{{15 * time.Second, "heap-MB-15s"}, {45 * time.Second, "heap-MB-45s"}}
	case "off":
		heap = nil
	}
	for _, c := range []struct {
		name, traffic string
		heap          []heapPoint
	}{{"64B", "flood64", heap}, {"1514B", "flood1514", nil}} {
		b.Run(c.name, func(b *testing.B) { benchPipeline(b, c.traffic, c.heap) })
	}
}

// heapPoint is a time into the flood at which the benchmark reports the live heap as metric.
type heapPoint struct {
	at     time.Duration
	metric string
}

// benchRxNBLs is the receive pool of the benchmark: an AX88179 bulk-IN transfer holds up to
// about 300 frames of 64 bytes, and several are in flight.
const benchRxNBLs = 4096

type perfSample struct {
	Frames int     `json:"frames"`
	P50    float64 `json:"p50"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
	// IntervalP50 and IntervalP99 are the time between animation frames; Budget the median time
	// the receive path was let run after a frame.
	IntervalP50 float64 `json:"intervalP50"`
	IntervalP99 float64 `json:"intervalP99"`
	Budget      float64 `json:"budget"`
	HeapLive    float64 `json:"heapLive"`
	Sys         float64 `json:"sys"`
}

func rxCounts(st session.State) (frames, octets uint64) {
	s := st.Stats
	return s.InUcastPkts + s.InMulticastPkts + s.InBroadcastPkts, s.InOctets
}

func benchPipeline(b *testing.B, traffic string, heap []heapPoint) {
	const warmup, window = 3 * time.Second, 10 * time.Second

	tb := openPage(b, mode{name: "bench"}, "fake", "?fakeusb=AX88179&granted=1&traffic="+traffic)
	tb.waitState(20*time.Second, "the fake adapter did not come up", func(s session.State) bool {
		return running(s) && s.Source == "usb"
	})
	// A receive pool big enough for several full bulk-IN transfers of 64-byte frames, so the
	// pipeline is measured rather than the drops of a small pool; applied as the page applies it.
	tb.run("pool size", chromedp.SetValue("#ctl-poolsize", strconv.Itoa(benchRxNBLs), chromedp.ByQuery))
	tb.click("#ctl-apply")
	tb.waitState(20*time.Second, "the adapter did not come back with the bigger pool", func(s session.State) bool {
		return running(s) && len(s.Pools) > 0 && rxPool(s).Capacity == benchRxNBLs
	})
	start := time.Now()
	time.Sleep(warmup)
	profile := os.Getenv("WEBMINIPORT_BENCH_CPUPROFILE") == "1"
	var p perfSample
	tb.eval("webminiportFake.perf(true)", &p)
	if profile {
		tb.startProfile()
	}
	f0, o0 := rxCounts(tb.state())
	t0 := time.Now()
	time.Sleep(window)
	f1, o1 := rxCounts(tb.state())
	dt := time.Since(t0).Seconds()
	if profile {
		b.Logf("%s profile:\n%s", traffic, tb.stopProfile("page-"+traffic).report(30))
	}
	tb.eval("webminiportFake.perf(true)", &p)
	fps := float64(f1-f0) / dt
	mbps := float64(o1-o0) * 8 / dt / 1e6
	b.ReportMetric(fps, "frames/s")
	b.ReportMetric(mbps, "Mb/s")
	b.ReportMetric(p.P50, "frame-p50-ms")
	b.ReportMetric(p.P99, "frame-p99-ms")
	b.Logf("%s: %.0f frames/s, %.1f Mb/s; %d animation frames in %v: work p50 %.2f ms, p99 %.2f ms, max %.2f ms; "+
		"interval p50 %.1f ms, p99 %.1f ms; receive budget %.1f ms",
		traffic, fps, mbps, p.Frames, window, p.P50, p.P99, p.Max, p.IntervalP50, p.IntervalP99, p.Budget)

	for _, h := range heap {
		time.Sleep(time.Until(start.Add(h.at)))
		var ph perfSample
		tb.eval("webminiportFake.perf(false)", &ph)
		b.ReportMetric(ph.HeapLive/1e6, h.metric)
		b.Logf("%s: live heap %.1f MB after %v of flood (the runtime holds %.0f MB)", traffic, ph.HeapLive/1e6, h.at, ph.Sys/1e6)
	}
	st := tb.state()
	b.Logf("%s: %d frames dropped for want of an NBL, %d RESOURCES indications", traffic, st.Stats.RxNoBuffer, st.Capture.ResourcesIndications)
}
