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
// the page drawing it all. It reports received frames/s and Mb/s over 10 s, the p50 and p99 work
// of an animation frame in that time, and the live Go heap at two points of the flood (15 s and
// 45 s; 1 min and 5 min with WEBMINIPORT_BENCH_LONG=1). Each size runs once, whatever b.N.
func BenchmarkPagePipeline(b *testing.B) {
	for _, c := range []struct{ name, traffic string }{{"64B", "flood64"}, {"1514B", "flood1514"}} {
		b.Run(c.name, func(b *testing.B) { benchPipeline(b, c.traffic) })
	}
}

// benchRxNBLs is the receive pool of the benchmark: an AX88179 bulk-IN transfer holds up to
// about 300 frames of 64 bytes, and several are in flight.
const benchRxNBLs = 4096

type perfSample struct {
	Frames   int     `json:"frames"`
	P50      float64 `json:"p50"`
	P99      float64 `json:"p99"`
	Max      float64 `json:"max"`
	HeapLive float64 `json:"heapLive"`
	Sys      float64 `json:"sys"`
}

func rxCounts(st session.State) (frames, octets uint64) {
	s := st.Stats
	return s.InUcastPkts + s.InMulticastPkts + s.InBroadcastPkts, s.InOctets
}

func benchPipeline(b *testing.B, traffic string) {
	early, late := 15*time.Second, 45*time.Second
	earlyName, lateName := "heap-MB-15s", "heap-MB-45s"
	if os.Getenv("WEBMINIPORT_BENCH_LONG") == "1" {
		early, late = time.Minute, 5*time.Minute
		earlyName, lateName = "heap-MB-1min", "heap-MB-5min"
	}
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
	var p perfSample
	tb.eval("webminiportFake.perf(true)", &p)
	f0, o0 := rxCounts(tb.state())
	t0 := time.Now()
	time.Sleep(window)
	f1, o1 := rxCounts(tb.state())
	dt := time.Since(t0).Seconds()
	tb.eval("webminiportFake.perf(true)", &p)
	fps := float64(f1-f0) / dt
	mbps := float64(o1-o0) * 8 / dt / 1e6

	time.Sleep(time.Until(start.Add(early)))
	var pe perfSample
	tb.eval("webminiportFake.perf(false)", &pe)
	time.Sleep(time.Until(start.Add(late)))
	var pl perfSample
	tb.eval("webminiportFake.perf(false)", &pl)
	st := tb.state()

	b.ReportMetric(fps, "frames/s")
	b.ReportMetric(mbps, "Mb/s")
	b.ReportMetric(p.P50, "frame-p50-ms")
	b.ReportMetric(p.P99, "frame-p99-ms")
	b.ReportMetric(pe.HeapLive/1e6, earlyName)
	b.ReportMetric(pl.HeapLive/1e6, lateName)
	b.Logf("%s: %.0f frames/s, %.1f Mb/s; %d animation frames in %v: p50 %.2f ms, p99 %.2f ms, max %.2f ms; "+
		"live heap %.1f MB at %v, %.1f MB at %v (runtime holds %.0f MB); %d frames dropped for want of an NBL, %d RESOURCES indications",
		traffic, fps, mbps, p.Frames, window, p.P50, p.P99, p.Max, pe.HeapLive/1e6, early, pl.HeapLive/1e6, late,
		pl.Sys/1e6, st.Stats.RxNoBuffer, st.Capture.ResourcesIndications)
}
