//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"honnef.co/go/js/dom/v2"

	"webminiport/ndis"
	"webminiport/pool"
	"webminiport/usbnic"
	"webminiport/usbnic/webusb"
	"webminiport/wasm/session"
	"webminiport/wasm/ui"
)

// Refresh periods of the parts of the page that change slowly or cost more than a frame should.
const (
	adapterEvery = 500 * time.Millisecond // the adapter bar (session.Adapter allocates)
	sparkEvery   = 250 * time.Millisecond // one sparkline sample
	viewsEvery   = 250 * time.Millisecond // pendingnbls, nbllog, reports
	sparkSamples = 120                    // 30 s of history
	logRows      = 40
	pendingRows  = 64
)

// page is everything on screen and the state the render loop keeps between frames.
type page struct {
	s    *session.Session
	gate *session.Gate
	r    *renderer
	ops  *ui.Ops
	doc  dom.Document
	win  dom.Window

	buf []byte // formatting scratch, reused every frame
	smp session.Sample

	adapter     session.Adapter
	slow        []slowPart // see frame
	lastReports uint64

	busy    atomic.Int32 // control operations in flight: the buttons wait
	refresh atomic.Bool  // an operation ended: redraw the adapter bar at the next frame
	errMu   sync.Mutex
	opErr   string // the last failed operation, until the next one succeeds
	sendMsg string // the outcome of the last send or file open

	// adapter bar
	adName, adVIDPID, adDriver, adMAC, adLink, adUSB, adIP, adState, adError ui.ID
	btnPause, btnRestart, btnHalt, btnInit, btnPair, pairReason              ui.ID
	btnHold, btnRelease, btnApply, btnARP, btnPing, btnDHCP, btnSavePcap     ui.ID
	btnSavePcapng, policyHint, sendResult, modelSel, profileSel, btnOpen     ui.ID
	modelEl, profileEl                                                       js.Value
	pendSummary, pending, logSummary, nbllog, repSummary, reports            ui.ID
	thrNote                                                                  ui.ID

	pools  *poolPanel
	sparks *sparkPanel
	table  *frameTable

	palette [256]ui.RGBA
	mark    ui.RGBA
	raf     js.Func
	rafCall js.Value
	perfNow js.Value // performance.now, on the clock of the animation frames' timestamps
	dpr     float64
}

// byID returns the element with the given id; a missing one is a bug in index.html.
func (p *page) byID(id string) js.Value {
	el := p.doc.GetElementByID(id)
	if el == nil {
		panic("index.html has no element #" + id)
	}
	return el.Underlying()
}

// reg registers the element with the given id with the renderer.
func (p *page) reg(id string) ui.ID { return p.r.register(p.byID(id)) }

func newPage(s *session.Session, gate *session.Gate) *page {
	win := dom.GetWindow()
	p := &page{s: s, gate: gate, win: win, doc: win.Document(), r: newRenderer(), buf: make([]byte, 0, 256)}
	p.ops = p.r.ops
	p.dpr = js.Global().Get("devicePixelRatio").Float()

	for _, f := range []struct {
		dst *ui.ID
		id  string
	}{
		{&p.adName, "ad-name"}, {&p.adVIDPID, "ad-vidpid"}, {&p.adDriver, "ad-driver"}, {&p.adMAC, "ad-mac"},
		{&p.adLink, "ad-link"}, {&p.adUSB, "ad-usb"}, {&p.adIP, "ad-ip"}, {&p.adState, "ad-state"},
		{&p.adError, "ad-error"}, {&p.btnPause, "btn-pause"}, {&p.btnRestart, "btn-restart"},
		{&p.btnHalt, "btn-halt"}, {&p.btnInit, "btn-init"}, {&p.btnPair, "pair"}, {&p.pairReason, "pair-reason"},
		{&p.btnHold, "ctl-hold-go"}, {&p.btnRelease, "ctl-release"}, {&p.btnApply, "ctl-apply"},
		{&p.btnARP, "send-arp"}, {&p.btnPing, "send-ping"}, {&p.btnDHCP, "send-dhcp"},
		{&p.btnSavePcap, "save-pcap"}, {&p.btnSavePcapng, "save-pcapng"}, {&p.policyHint, "ctl-policy"},
		{&p.sendResult, "send-result"}, {&p.modelSel, "model"}, {&p.profileSel, "profile"},
		{&p.btnOpen, "open-pcap"}, {&p.pendSummary, "pend-summary"}, {&p.pending, "pending"},
		{&p.logSummary, "log-summary"}, {&p.nbllog, "nbllog"}, {&p.repSummary, "rep-summary"},
		{&p.reports, "reports"}, {&p.thrNote, "thr-note"},
	} {
		*f.dst = p.reg(f.id)
	}
	p.modelEl, p.profileEl = p.byID("model"), p.byID("profile")
	p.readTheme()
	p.buildPickers()
	p.buildLegend()
	p.pools = newPoolPanel(p)
	p.sparks = newSparkPanel(p)
	p.table = newFrameTable(p)
	p.slow = []slowPart{
		{every: adapterEvery, draw: func(time.Time) {
			p.adapter = p.s.Adapter()
			p.drawAdapterInfo()
		}},
		{every: sparkEvery, draw: func(now time.Time) { p.sparks.sample(now, &p.smp) }},
		{every: viewsEvery, draw: func(time.Time) { p.drawPending() }},
		{every: viewsEvery, draw: func(time.Time) { p.drawLog() }},
		{every: viewsEvery, draw: func(time.Time) { p.drawReports() }},
	}
	p.bindControls()
	p.bindDrop()
	return p
}

// start begins the render loop and the listeners that follow the window.
func (p *page) start() {
	p.raf = js.FuncOf(func(_ js.Value, args []js.Value) any {
		// The timestamp requestAnimationFrame passes is the display frame's time (ms).
		p.frame(time.Duration(args[0].Float() * float64(time.Millisecond)))
		p.rafCall.Invoke(p.raf)
		return nil
	})
	p.rafCall = js.Global().Get("requestAnimationFrame")
	perf := js.Global().Get("performance")
	p.perfNow = perf.Get("now").Call("bind", perf)
	p.win.AddEventListener("resize", false, func(dom.Event) { p.resized() })
	mq := js.Global().Call("matchMedia", "(prefers-color-scheme: dark)")
	mq.Call("addEventListener", "change", js.FuncOf(func(js.Value, []js.Value) any {
		p.readTheme()
		p.pools.invalidate()
		return nil
	}))
	p.resized()
	p.rafCall.Invoke(p.raf)
}

// resized re-measures everything whose size comes from the layout.
func (p *page) resized() {
	p.dpr = js.Global().Get("devicePixelRatio").Float()
	p.pools.relayout()
	p.sparks.relayout()
	p.table.measure()
}

// readTheme reads the owner colours and the mark colour from the CSS custom properties, so the
// canvases follow the light or dark theme the stylesheet picked.
func (p *page) readTheme() {
	style := js.Global().Call("getComputedStyle", js.Global().Get("document").Get("documentElement"))
	grey := ui.RGBA{R: 128, G: 128, B: 128, A: 255}
	for i := range p.palette {
		p.palette[i] = grey
	}
	for o := 0; o < 11; o++ {
		if c, err := ui.ParseColor(style.Call("getPropertyValue", "--owner-"+strconv.Itoa(o)).String()); err == nil {
			p.palette[o] = c
		}
	}
	if c, err := ui.ParseColor(style.Call("getPropertyValue", "--owner-mark").String()); err == nil {
		p.mark = c
	}
	if p.sparks != nil {
		p.sparks.readColours(style)
	}
}

func (p *page) buildPickers() {
	for _, m := range session.ModelNames() {
		opt := p.doc.CreateElement("option")
		opt.SetAttribute("value", m)
		opt.SetTextContent(m)
		p.modelEl.Call("appendChild", opt.Underlying())
	}
	for _, pr := range session.Profiles {
		opt := p.doc.CreateElement("option")
		opt.SetAttribute("value", pr.Name)
		opt.SetTextContent(pr.Label)
		p.profileEl.Call("appendChild", opt.Underlying())
	}
	replay := p.doc.CreateElement("option")
	replay.SetAttribute("value", "replay")
	replay.SetAttribute("disabled", "")
	replay.SetTextContent("Capture replay")
	p.profileEl.Call("appendChild", replay.Underlying())
}

func (p *page) buildLegend() {
	legend := p.byID("legend")
	for o := 0; o < 11; o++ {
		li := p.doc.CreateElement("li")
		sw := p.doc.CreateElement("span")
		sw.SetAttribute("class", "swatch o"+strconv.Itoa(o))
		li.AppendChild(sw)
		li.AppendChild(p.doc.CreateTextNode(ndis.OwnerName(pool.Owner(o))))
		legend.Call("appendChild", li.Underlying())
	}
}

// ---- operations -------------------------------------------------------------------------------

// run performs a control operation on its own goroutine (it may take seconds; the page keeps
// drawing), with the buttons disabled meanwhile, and shows its error in the adapter bar.
func (p *page) run(what string, fn func() error) {
	p.busy.Add(1)
	go func() {
		defer p.busy.Add(-1)
		err := fn()
		p.errMu.Lock()
		p.opErr = ""
		if err != nil {
			p.opErr = what + ": " + describeError(err)
		}
		p.errMu.Unlock()
		p.refresh.Store(true)
	}()
}

// describeError words an error for the adapter bar: a WebUSB platform error gets its fix on a
// line of its own.
func describeError(err error) string {
	var pe *webusb.PlatformError
	if errors.As(err, &pe) {
		s := pe.Summary
		if pe.Fix != "" {
			s += "\nFix: " + pe.Fix
		}
		return s
	}
	// A platform error that reached the page as the core's log line of a failed initialize.
	var be *session.BringUpError
	if errors.As(err, &be) {
		cause, fix, ok := strings.Cut(be.Cause, ". Fix: ")
		if ok {
			return cause + "\nFix: " + fix
		}
		return be.Cause
	}
	return err.Error()
}

func (p *page) onClick(id string, fn func()) {
	p.doc.GetElementByID(id).AddEventListener("click", false, func(dom.Event) { fn() })
}

func (p *page) inputInt(id string, def int) int {
	v, err := strconv.Atoi(strings.TrimSpace(p.byID(id).Get("value").String()))
	if err != nil {
		return def
	}
	return v
}

func (p *page) bindControls() {
	p.onClick("btn-pause", func() { p.run("pause", p.s.Pause) })
	p.onClick("btn-restart", func() { p.run("restart", p.s.Restart) })
	p.onClick("btn-halt", func() { p.run("halt", func() error { return p.s.Halt(context.Background()) }) })
	p.onClick("btn-init", func() { p.run("initialize", func() error { return p.s.Initialize(context.Background()) }) })

	set := p.s.Settings()
	p.byID("ctl-poolsize").Set("value", set.RxNBLs)
	if set.RxTransfers > 0 {
		p.byID("ctl-inflight").Set("value", set.RxTransfers)
	}
	p.doc.GetElementByID("ctl-delay").AddEventListener("change", false, func(dom.Event) {
		ms := p.inputInt("ctl-delay", 0)
		p.run("return delay", func() error { return p.s.SetReturnDelay(time.Duration(ms) * time.Millisecond) })
	})
	p.onClick("ctl-hold-go", func() {
		n := p.inputInt("ctl-hold", 0)
		p.run("hold", func() error { return p.s.Hold(n) })
	})
	p.onClick("ctl-release", func() { p.run("release", p.s.Release) })
	p.onClick("ctl-apply", func() {
		nbls, xfers := p.inputInt("ctl-poolsize", session.DefaultRxNBLs), p.inputInt("ctl-inflight", 0)
		p.run("halt → initialize", func() error { return p.s.Reconfigure(context.Background(), nbls, xfers) })
	})
	for _, kind := range []string{"arp", "ping", "dhcp"} {
		p.onClick("send-"+kind, func() { p.send(kind) })
	}
	p.onClick("save-pcap", func() { p.save("pcap") })
	p.onClick("save-pcapng", func() { p.save("pcapng") })

	p.doc.GetElementByID("model").AddEventListener("change", false, func(dom.Event) {
		model, profile := p.modelEl.Get("value").String(), p.profileEl.Get("value").String()
		if profile == "replay" {
			profile = "idle"
		}
		p.run("virtual adapter", func() error { return p.s.StartVirtual(context.Background(), model, profile) })
	})
	p.doc.GetElementByID("profile").AddEventListener("change", false, func(dom.Event) {
		model, profile := p.modelEl.Get("value").String(), p.profileEl.Get("value").String()
		p.run("traffic", func() error {
			if p.s.Adapter().Source == session.SourceVirtual {
				return p.s.SetProfile(profile)
			}
			return p.s.StartVirtual(context.Background(), model, profile)
		})
	})
	fileInput := p.byID("pcap-file")
	p.onClick("open-pcap", func() { fileInput.Call("click") })
	p.doc.GetElementByID("pcap-file").AddEventListener("change", false, func(dom.Event) {
		files := fileInput.Get("files")
		if files.Length() == 0 {
			return
		}
		p.openFile(files.Index(0))
		fileInput.Set("value", "")
	})
}

// send sends a test frame from the station, to the target the page names or the router.
func (p *page) send(kind string) {
	var o session.SendOptions
	if t := strings.TrimSpace(p.byID("send-target").Get("value").String()); t != "" {
		a, err := netip.ParseAddr(t)
		if err != nil {
			p.setSendMsg("target " + strconv.Quote(t) + " is not an IPv4 address")
			return
		}
		o.Target = a
	}
	go func() {
		msg := kind + " sent"
		if err := p.s.Send(kind, o); err != nil {
			msg = err.Error()
		}
		p.setSendMsg(msg)
	}()
}

// setSendMsg shows the outcome of a send or a file open under the send buttons.
func (p *page) setSendMsg(msg string) {
	p.errMu.Lock()
	p.sendMsg = msg
	p.errMu.Unlock()
	p.refresh.Store(true)
}

// save exports the ring and hands the file to the browser as a download.
func (p *page) save(format string) {
	p.run("save "+format, func() error {
		b, err := p.s.Export(format)
		if err != nil {
			return err
		}
		u8 := js.Global().Get("Uint8Array").New(len(b))
		js.CopyBytesToJS(u8, b)
		blob := js.Global().Get("Blob").New([]any{u8}, map[string]any{"type": "application/octet-stream"})
		url := js.Global().Get("URL").Call("createObjectURL", blob)
		a := p.doc.CreateElement("a").Underlying()
		a.Set("href", url)
		a.Set("download", "webminiport-"+time.Now().UTC().Format("20060102-150405")+"."+format)
		a.Call("click")
		// The download has started once click returns; the URL is let go a little later.
		var revoke js.Func
		revoke = js.FuncOf(func(js.Value, []js.Value) any {
			js.Global().Get("URL").Call("revokeObjectURL", url)
			revoke.Release()
			return nil
		})
		js.Global().Call("setTimeout", revoke, 10_000)
		return nil
	})
}

// openFile replays a File (from the picker or a drop) through the virtual adapter.
func (p *page) openFile(file js.Value) {
	name := file.Get("name").String()
	p.run("open "+name, func() error {
		buf, err := await(file.Call("arrayBuffer"))
		if err != nil {
			return err
		}
		u8 := js.Global().Get("Uint8Array").New(buf)
		b := make([]byte, u8.Length())
		js.CopyBytesToGo(b, u8)
		n, err := p.s.Replay(context.Background(), b)
		if err != nil {
			return err
		}
		p.setSendMsg(fmt.Sprintf("replaying %d frames of %s", n, name))
		return nil
	})
}

// bindDrop accepts a capture file dropped anywhere on the page.
func (p *page) bindDrop() {
	drop := p.byID("drop")
	hasFiles := func(ev dom.Event) bool {
		types := ev.Underlying().Get("dataTransfer").Get("types")
		return types.Truthy() && types.Call("includes", "Files").Bool()
	}
	p.win.AddEventListener("dragover", false, func(ev dom.Event) {
		if hasFiles(ev) {
			ev.PreventDefault()
			drop.Set("hidden", false)
		}
	})
	p.win.AddEventListener("dragleave", false, func(ev dom.Event) {
		if !ev.Underlying().Get("relatedTarget").Truthy() {
			drop.Set("hidden", true)
		}
	})
	p.win.AddEventListener("drop", false, func(ev dom.Event) {
		drop.Set("hidden", true)
		files := ev.Underlying().Get("dataTransfer").Get("files")
		if files.Length() == 0 {
			return
		}
		ev.PreventDefault()
		p.openFile(files.Index(0))
	})
}

// await waits for a promise on a goroutine (never from a JS callback: that would block the
// event loop the promise needs).
func await(promise js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	fail = js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "rejected"
		if len(args) > 0 {
			msg = js.Global().Get("String").Invoke(args[0]).String()
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	promise.Call("then", ok, fail)
	r := <-ch
	ok.Release()
	fail.Release()
	return r.v, r.err
}

// frameObserver, when set, is told when each animation frame's work began, how long it took and
// the receive path's budget after it. Only the page built for tests sets it (fakeusb.go), to
// measure the render loop under load.
var frameObserver func(start time.Time, work, budget time.Duration)

// ---- the render loop --------------------------------------------------------------------------

// slowPart is a part of the page that changes slowly and costs more than a frame's share (the
// adapter bar, the sparklines, the !ndiskd views): it is drawn every so often, and never in the
// same animation frame as another slow part, so that their costs do not pile up in one frame.
type slowPart struct {
	every time.Duration
	next  time.Time
	draw  func(now time.Time)
}

// frame draws the animation frame of display time at: one Sample, the changes it brings into
// the command buffer, one batch to JavaScript. Then the receive path gets its next turn.
func (p *page) frame(at time.Duration) {
	now := time.Now()
	if frameObserver != nil {
		defer func() { frameObserver(now, time.Since(now), p.gate.Budget()) }()
	}
	p.s.Sample(&p.smp)
	if p.smp.Gen != p.pools.gen {
		p.pools.rebuild(p.smp.Gen)
	}
	if p.refresh.Swap(false) {
		p.slow[0].next = time.Time{} // an operation ended: the adapter bar at once
	}
	p.drawState()
	p.pools.draw(&p.smp)
	p.table.draw(&p.smp, now)
	// The most overdue slow part, if any is due.
	var due *slowPart
	for i := range p.slow {
		if sp := &p.slow[i]; !now.Before(sp.next) && (due == nil || sp.next.Before(due.next)) {
			due = sp
		}
	}
	if due != nil {
		due.next = now.Add(due.every)
		due.draw(now)
	}
	p.r.flush()
	p.gate.Tick(at, time.Duration(p.perfNow.Invoke().Float()*float64(time.Millisecond))-at)
}

// drawState is the part of the adapter bar that follows every frame: the NDIS state and what
// the buttons allow in it.
func (p *page) drawState() {
	o, smp := p.ops, &p.smp
	st := "—"
	if smp.HasAdapter {
		st = smp.State.String()
	} else if p.busy.Load() > 0 {
		st = "Initializing"
	}
	o.TextString(p.adState, st)
	o.Flag(p.adState, ui.FlagActive, smp.HasAdapter && smp.State == ndis.Running)
	o.Flag(p.adState, ui.FlagWarn, smp.HasAdapter && (smp.State == ndis.Pausing || smp.State == ndis.Paused ||
		smp.State == ndis.Restarting || smp.State == ndis.Initializing))
	o.Flag(p.adState, ui.FlagBad, smp.HasAdapter && smp.State == ndis.Halted)
	busy := p.busy.Load() > 0
	running := smp.HasAdapter && smp.State == ndis.Running
	o.Flag(p.btnPause, ui.FlagDisabled, busy || !running)
	o.Flag(p.btnRestart, ui.FlagDisabled, busy || !smp.HasAdapter || smp.State != ndis.Paused)
	o.Flag(p.btnHalt, ui.FlagDisabled, busy || !smp.HasAdapter || (smp.State != ndis.Running && smp.State != ndis.Paused))
	o.Flag(p.btnInit, ui.FlagDisabled, busy || smp.Source == session.SourceNone || (smp.HasAdapter && smp.State != ndis.Halted))
	for _, id := range []ui.ID{p.btnARP, p.btnPing, p.btnDHCP} {
		o.Flag(id, ui.FlagDisabled, !running)
	}
	for _, id := range []ui.ID{p.btnApply, p.btnHold, p.btnRelease} {
		o.Flag(id, ui.FlagDisabled, busy)
	}
	o.Flag(p.modelSel, ui.FlagDisabled, busy)
	o.Flag(p.profileSel, ui.FlagDisabled, busy || smp.Source != session.SourceVirtual)
	o.Flag(p.btnOpen, ui.FlagDisabled, busy)
}

// drawAdapterInfo fills the adapter bar from the session's description of the adapter.
func (p *page) drawAdapterInfo() {
	a, o := &p.adapter, p.ops
	name := a.Label
	switch a.Source {
	case session.SourceVirtual:
		name += " (virtual)"
	case session.SourceNone:
		name = "—"
	}
	o.TextString(p.adName, name)
	if a.Source == session.SourceVirtual {
		p.modelEl.Set("value", a.Model)
		p.profileEl.Set("value", a.Profile)
	}
	i := &a.Info
	if a.Initialized {
		o.TextString(p.adVIDPID, fmt.Sprintf("%04x:%04x", i.VendorID, i.ProductID))
		o.TextString(p.adDriver, a.Driver)
		o.TextString(p.adMAC, usbnic.MACString(i.MAC))
		link := "down"
		if i.Link.MediaConnect == ndis.MediaConnectConnected {
			link = "up " + string(ui.AppendSI(p.buf[:0], float64(i.Link.XmitSpeed), "b/s"))
			if i.Link.Duplex == ndis.DuplexFull {
				link += " full"
			}
		}
		if i.Removed {
			link = "adapter removed"
		}
		o.TextString(p.adLink, link)
		o.Flag(p.adLink, ui.FlagBad, i.Link.MediaConnect != ndis.MediaConnectConnected)
		o.TextString(p.adUSB, fmt.Sprintf("%s · %d × %s IN", i.BusSpeed, i.RxTransfers,
			ui.AppendBytes(nil, uint64(i.RxBufferSize))))
	} else {
		for _, id := range []ui.ID{p.adVIDPID, p.adDriver, p.adMAC, p.adLink, p.adUSB} {
			o.TextString(id, "—")
		}
		o.Flag(p.adLink, ui.FlagBad, false)
	}
	ip := a.Station.Phase.String()
	if a.Station.IP.IsValid() {
		ip = fmt.Sprintf("%v/%d", a.Station.IP, a.Station.PrefixBits)
	} else if a.Station.Phase == 0 {
		ip = "—"
	} else {
		ip = "DHCP " + ip + "…"
	}
	o.TextString(p.adIP, ip)

	p.errMu.Lock()
	msg, sendMsg := p.opErr, p.sendMsg
	p.errMu.Unlock()
	o.TextString(p.sendResult, sendMsg)
	if msg == "" {
		msg = a.Err
	}
	o.TextString(p.adError, msg)
	o.Flag(p.adError, ui.FlagHidden, msg == "")

	s := a.Settings
	hint := "returns every NBL at once"
	switch {
	case s.Hold > 0:
		hint = fmt.Sprintf("holds up to %d NBLs (%d held now)", s.Hold, p.smp.Capture.Held)
	case s.Delay > 0:
		hint = "returns each indication after " + string(ui.AppendDuration(nil, s.Delay))
	}
	o.TextString(p.policyHint, "Capture driver "+hint+".")
	note := ""
	if p.smp.HasWire && p.smp.Wire.Missed > 0 {
		note = "the virtual wire has missed " + string(ui.AppendCount(nil, p.smp.Wire.Missed)) + " frames the host was too slow to take"
	}
	o.TextString(p.thrNote, note)
}

// drawPending refreshes the pendingnbls view.
func (p *page) drawPending() {
	o := p.ops
	pv := p.s.Pending()
	html := ui.AppendPendingHTML(nil, pv, pendingRows)
	o.HTML(p.pending, html)
	b := ui.AppendCount(p.buf[:0], uint64(len(pv.Pending)))
	b = append(b, " pending of "...)
	b = ui.AppendCount(b, uint64(pv.Total))
	b = append(b, " allocated · "...)
	b = ui.AppendCount(b, uint64(pv.Pools))
	b = append(b, " pools"...)
	o.Text(p.pendSummary, b)
}

// drawLog refreshes the nbllog tail.
func (p *page) drawLog() {
	o := p.ops
	entries := p.s.Log(logRows)
	o.HTML(p.nbllog, ui.AppendLogHTML(nil, entries, p.s.Start()))
	b := append(p.buf[:0], "last "...)
	b = ui.AppendCount(b, uint64(len(entries)))
	b = append(b, " events, newest first"...)
	o.Text(p.logSummary, b)
}

// drawReports refreshes the reports and an open nbl view.
func (p *page) drawReports() {
	o := p.ops
	if n := p.smp.ReportCount; n != p.lastReports || n == 0 {
		p.lastReports = n
		o.HTML(p.reports, ui.AppendReportsHTML(nil, p.s.Reports(), 20))
		b := ui.AppendCount(p.buf[:0], n)
		b = append(b, " raised"...)
		o.Text(p.repSummary, b)
	}
	p.pools.refresh()
}
