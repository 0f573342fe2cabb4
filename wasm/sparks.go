//go:build js && wasm

package main

import (
	"bytes"
	"syscall/js"
	"time"

	"webminiport/wasm/session"
	"webminiport/wasm/ui"
)

// sparkKind says which colour a sparkline takes.
type sparkKind uint8

const (
	sparkRX sparkKind = iota
	sparkTX
	sparkUSB
)

// spark is one sparkline tile: a label, the current value and the last 30 s.
type spark struct {
	label    string
	unit     string
	kind     sparkKind
	canvas   js.Value
	canvasID ui.ID
	valueID  ui.ID
	maxID    ui.ID
	series   *ui.Series
	w, h     float64 // device pixels
}

// sparkPanel is the "Throughput" panel: RX/TX frames/s and Mb/s, USB transfers in flight and
// frames per transfer, sampled four times a second.
type sparkPanel struct {
	p      *page
	sparks []*spark
	meters [4]ui.Meter // RX frames, TX frames, RX bits, TX bits
	lastRx struct{ frames, transfers uint64 }
	colour [3]ui.RGBA
	pts    []float32
	start  time.Time
}

func newSparkPanel(p *page) *sparkPanel {
	sp := &sparkPanel{p: p, pts: make([]float32, 0, 2*sparkSamples), start: time.Now()}
	box := p.byID("sparks")
	for _, d := range []struct {
		label, unit string
		kind        sparkKind
	}{
		{"RX frames/s", "fps", sparkRX}, {"TX frames/s", "fps", sparkTX},
		{"RX throughput", "b/s", sparkRX}, {"TX throughput", "b/s", sparkTX},
		{"USB IN transfers in flight", "", sparkUSB}, {"Frames per IN transfer", "", sparkUSB},
	} {
		s := &spark{label: d.label, unit: d.unit, kind: d.kind, series: ui.NewSeries(sparkSamples)}
		tile := p.doc.CreateElement("div")
		tile.SetAttribute("class", "spark")
		k := p.doc.CreateElement("div")
		k.SetAttribute("class", "k")
		k.SetTextContent(d.label)
		line := p.doc.CreateElement("div")
		line.SetAttribute("class", "line")
		v := p.doc.CreateElement("span")
		v.SetAttribute("class", "v")
		v.SetTextContent("0")
		maxEl := p.doc.CreateElement("span")
		maxEl.SetAttribute("class", "scale")
		line.AppendChild(v)
		line.AppendChild(maxEl)
		c := p.doc.CreateElement("canvas")
		c.SetAttribute("aria-label", d.label+" over the last 30 seconds")
		c.SetAttribute("role", "img")
		tile.AppendChild(k)
		tile.AppendChild(line)
		tile.AppendChild(c)
		box.Call("appendChild", tile.Underlying())
		s.canvas = c.Underlying()
		s.canvasID = p.r.register(s.canvas)
		s.valueID = p.r.register(v.Underlying())
		s.maxID = p.r.register(maxEl.Underlying())
		sp.sparks = append(sp.sparks, s)
	}
	sp.readColours(js.Global().Call("getComputedStyle", js.Global().Get("document").Get("documentElement")))
	return sp
}

// readColours takes the line colours from the stylesheet.
func (sp *sparkPanel) readColours(style js.Value) {
	for i, name := range []string{"--spark-rx", "--spark-tx", "--spark-usb"} {
		c, err := ui.ParseColor(style.Call("getPropertyValue", name).String())
		if err != nil {
			c = ui.RGBA{R: 100, G: 100, B: 100, A: 255}
		}
		sp.colour[i] = c
	}
}

// relayout sizes the canvases to their boxes.
func (sp *sparkPanel) relayout() {
	for _, s := range sp.sparks {
		s.w = float64(int(s.canvas.Get("clientWidth").Float() * sp.p.dpr))
		s.h = float64(int(s.canvas.Get("clientHeight").Float() * sp.p.dpr))
		sp.p.r.canvas(s.canvasID, int(s.w), int(s.h))
		sp.drawOne(s)
	}
}

// sample takes one sample of every series and redraws the lines.
func (sp *sparkPanel) sample(now time.Time, smp *session.Sample) {
	t := now.Sub(sp.start).Seconds()
	st := &smp.Stats
	rxFrames := st.InUcastPkts + st.InMulticastPkts + st.InBroadcastPkts
	txFrames := st.OutUcastPkts + st.OutMulticastPkts + st.OutBroadcastPkts
	vals := [6]float64{
		sp.meters[0].Sample(t, rxFrames),
		sp.meters[1].Sample(t, txFrames),
		8 * sp.meters[2].Sample(t, st.InOctets),
		8 * sp.meters[3].Sample(t, st.OutOctets),
		float64(smp.NIC.RxInFlight),
	}
	// Frames per transfer over this interval, not since the start: it follows the load.
	df, dt := smp.NIC.RxFrames-sp.lastRx.frames, smp.NIC.RxTransfers-sp.lastRx.transfers
	if smp.NIC.RxFrames < sp.lastRx.frames || smp.NIC.RxTransfers < sp.lastRx.transfers {
		df, dt = 0, 0 // a new adapter counts from zero
	}
	if dt > 0 {
		vals[5] = float64(df) / float64(dt)
	}
	sp.lastRx.frames, sp.lastRx.transfers = smp.NIC.RxFrames, smp.NIC.RxTransfers
	for i, s := range sp.sparks {
		s.series.Push(vals[i])
		sp.drawOne(s)
	}
}

// drawOne draws one sparkline and its numbers.
func (sp *sparkPanel) drawOne(s *spark) {
	p, o := sp.p, sp.p.ops
	top := ui.NiceCeil(s.series.Max())
	last := s.series.Last()
	if s.unit == "" {
		b := ui.AppendSI(p.buf[:0], last, "")
		o.Text(s.valueID, bytes.TrimRight(b, " ")) // AppendSI puts a space before the (empty) unit
	} else {
		o.Text(s.valueID, ui.AppendSI(p.buf[:0], last, s.unit))
	}
	b := append(p.buf[:0], "of "...)
	o.Text(s.maxID, ui.AppendSI(b, top, s.unit))
	if s.w <= 0 || s.h <= 0 {
		return
	}
	stroke := sp.colour[s.kind]
	fill := stroke
	fill.A = 48
	o.Clear(s.canvasID)
	sp.pts = s.series.Points(sp.pts, s.w, s.h, 1.5*p.dpr, top)
	o.Path(s.canvasID, stroke, fill, float32(1.5*p.dpr), sp.pts)
}
