//go:build js && wasm

package main

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"syscall/js"
	"time"

	"honnef.co/go/js/dom/v2"

	"webminiport/ndis/capture"
	"webminiport/wasm/session"
	"webminiport/wasm/ui"
)

const (
	// overscan rows are drawn above and below the viewport so fast scrolling shows no blanks.
	overscan = 6
	// filterScanPerFrame bounds the frames the display filter looks at in one animation frame:
	// a filter over a full ring (half a million small frames) completes over a few seconds
	// while the page stays smooth.
	filterScanPerFrame = 4000
	numCols            = 7
	// followEvery is how often the table redraws while it follows the newest frames and nothing
	// else (scrolling, a selection, a filter, a resize) asks for a redraw. Under a flood every
	// row changes in every animation frame, faster than anyone reads; restyling a whole table of
	// new text 60 times a second cost Chromium's layout, paint and commit more main-thread time
	// than everything else on the page together, time the receive path then did not get. Ten
	// redraws a second still look live.
	followEvery = 100 * time.Millisecond
)

// rowSlot is one row element of the virtual table, reused for whichever frame scrolls into it.
type rowSlot struct {
	el    js.Value
	id    ui.ID
	cells [numCols]ui.ID
	num   uint64  // the frame it shows; 0 for none
	y     float32 // its translateY
	shown bool
}

// frameTable is the "Frames" panel and the selected frame's layer tree and hex dump.
type frameTable struct {
	p        *page
	ring     *capture.Ring
	scroll   js.Value
	scrollID ui.ID
	spacerID ui.ID
	countID  ui.ID
	filterEl js.Value
	filterID ui.ID
	errID    ui.ID
	followID ui.ID

	rows      []*rowSlot
	rowH      float64
	viewH     float64
	scrollTop float64
	setTop    float64 // the scrollTop the page set last, to tell the user's scrolling apart
	follow    bool
	height    float32
	drawn     time.Time // the last redraw
	dirty     bool      // something other than new frames changed what the table shows

	filter  *capture.Filter
	index   *ui.FrameIndex
	scanned uint64 // the newest frame number the filter has looked at

	dec      *capture.Decoder
	sum      capture.Summary
	frameBuf []byte
	selected uint64

	treeID, hexID ui.ID
	tree          js.Value
	detail        []byte // a copy of the selected frame
	flat          []ui.TreeNode
	html          []byte
	fieldEl       js.Value
}

func newFrameTable(p *page) *frameTable {
	t := &frameTable{p: p, ring: p.s.Ring(), scroll: p.byID("frames-scroll"), filterEl: p.byID("filter"),
		follow: true, dec: capture.NewDecoder(), frameBuf: make([]byte, 0, 2048),
		index: ui.NewFrameIndex(capture.DefaultRingFrames), tree: p.byID("tree")}
	t.scrollID = p.reg("frames-scroll")
	t.spacerID = p.reg("frames-spacer")
	t.countID = p.reg("frames-count")
	t.filterID = p.reg("filter")
	t.errID = p.reg("filter-error")
	t.followID = p.reg("follow")
	t.treeID = p.reg("tree")
	t.hexID = p.reg("hex")

	t.scroll.Call("addEventListener", "scroll", js.FuncOf(func(js.Value, []js.Value) any {
		t.scrollTop = t.scroll.Get("scrollTop").Float()
		if t.follow && t.scrollTop < t.setTop-2 {
			t.follow = false // the user scrolled up: stop following
		}
		if math.Abs(t.scrollTop-t.setTop) > 1 {
			t.dirty = true // not the scrolling the table did itself while following
		}
		return nil
	}))
	p.doc.GetElementByID("frames-scroll").AddEventListener("click", false, func(ev dom.Event) {
		row := ev.Underlying().Get("target").Call("closest", ".trow")
		if !row.Truthy() {
			return
		}
		slot, err := strconv.Atoi(row.Get("dataset").Get("slot").String())
		if err == nil && slot < len(t.rows) && t.rows[slot].num != 0 {
			t.follow = false
			t.selectFrame(t.rows[slot].num)
		}
	})
	p.doc.GetElementByID("frames-scroll").AddEventListener("keydown", false, func(ev dom.Event) {
		if k := ui.KeyFromName(ev.(*dom.KeyboardEvent).Key()); k != 0 {
			ev.PreventDefault()
			t.key(k)
		}
	})
	p.doc.GetElementByID("follow").AddEventListener("change", false, func(dom.Event) {
		t.follow = p.byID("follow").Get("checked").Bool()
		t.dirty = true
	})
	p.doc.GetElementByID("filter").AddEventListener("input", false, func(dom.Event) {
		t.setFilter(t.filterEl.Get("value").String())
	})
	p.doc.GetElementByID("tree").AddEventListener("click", false, func(ev dom.Event) {
		line := ev.Underlying().Get("target").Call("closest", "[data-i]")
		if !line.Truthy() {
			return
		}
		if i, err := strconv.Atoi(line.Get("dataset").Get("i").String()); err == nil {
			t.selectField(i, line)
		}
	})
	return t
}

// measure reads the row height and the viewport from the layout.
func (t *frameTable) measure() {
	probe := t.p.doc.CreateElement("div").Underlying()
	probe.Set("className", "trow")
	probe.Set("textContent", "0")
	t.scroll.Call("appendChild", probe)
	t.rowH = probe.Get("offsetHeight").Float()
	t.scroll.Call("removeChild", probe)
	if t.rowH <= 0 {
		t.rowH = 20
	}
	t.viewH = t.scroll.Get("clientHeight").Float()
	t.dirty = true
	t.ensureRows(int(t.viewH/t.rowH) + 2 + 2*overscan)
}

// ensureRows makes at least n row elements. Rows are kept for the life of the page; only a
// taller viewport makes more.
func (t *frameTable) ensureRows(n int) {
	if n <= len(t.rows) {
		return
	}
	for len(t.rows) < n {
		el := t.p.doc.CreateElement("div").Underlying()
		el.Set("className", "trow")
		el.Set("role", "row")
		el.Get("dataset").Set("slot", len(t.rows))
		el.Set("hidden", true)
		s := &rowSlot{el: el}
		for c := range numCols {
			cell := t.p.doc.CreateElement("span").Underlying()
			cell.Set("role", "gridcell")
			if c == 5 {
				cell.Set("className", "num")
			}
			el.Call("appendChild", cell)
			s.cells[c] = t.p.r.register(cell)
		}
		t.scroll.Call("appendChild", el)
		s.id = t.p.r.register(el)
		t.rows = append(t.rows, s)
	}
	// The slot a row index maps to changes with the number of slots: redraw them all.
	t.resetRows()
}

// setFilter compiles a display filter; an error is shown at its position and the previous
// filter stays in force.
func (t *frameTable) setFilter(expr string) {
	o := t.p.ops
	if strings.TrimSpace(expr) == "" {
		t.filter = nil
		o.Flag(t.errID, ui.FlagHidden, true)
		o.Flag(t.filterID, ui.FlagBad, false)
		t.resetRows()
		return
	}
	f, err := capture.Compile(expr)
	if err != nil {
		msg := err.Error()
		var fe *capture.FilterError
		if errors.As(err, &fe) {
			msg = expr + "\n" + strings.Repeat(" ", fe.Pos) + "^ " + fe.Msg
		}
		o.TextString(t.errID, msg)
		o.Flag(t.errID, ui.FlagHidden, false)
		o.Flag(t.filterID, ui.FlagBad, true)
		return
	}
	o.Flag(t.errID, ui.FlagHidden, true)
	o.Flag(t.filterID, ui.FlagBad, false)
	t.filter = f
	t.index.Clear()
	t.scanned = 0
	t.resetRows()
}

// resetRows makes the next animation frame redraw every row.
func (t *frameTable) resetRows() {
	for _, s := range t.rows {
		s.num = 0
	}
	t.dirty = true
}

// total returns the number of rows and the ring's first frame number.
func (t *frameTable) total(st *capture.RingStats) int {
	if t.filter != nil {
		return t.index.Len()
	}
	if st.Held == 0 {
		return 0
	}
	return int(st.Last - st.First + 1)
}

// frameAt returns the frame number of row i.
func (t *frameTable) frameAt(st *capture.RingStats, i int) uint64 {
	if t.filter != nil {
		return t.index.At(i)
	}
	return st.First + uint64(i)
}

// rowOf returns the row of frame num, or -1 when it is not in the table.
func (t *frameTable) rowOf(st *capture.RingStats, num uint64) int {
	if num == 0 {
		return -1
	}
	if t.filter != nil {
		i, ok := t.index.Search(num)
		if !ok {
			return -1
		}
		return i
	}
	if st.Held == 0 || num < st.First || num > st.Last {
		return -1
	}
	return int(num - st.First)
}

// scan runs the display filter over frames recorded since the last frame, up to the per-frame
// budget, and drops the numbers of evicted frames.
func (t *frameTable) scan(st *capture.RingStats) {
	if t.filter == nil || st.Held == 0 {
		return
	}
	t.index.DropBefore(st.First)
	from := max(t.scanned+1, st.First)
	if from > st.Last {
		return
	}
	to := min(st.Last, from+filterScanPerFrame-1)
	for f := range t.ring.Frames(from, to, t.frameBuf[:0]) {
		if t.filter.Match(f.Data) {
			t.index.Append(f.Number)
		}
		t.frameBuf = f.Data[:0]
	}
	t.scanned = to
}

// draw updates the table for the animation frame at now: the display filter's scan every
// frame, the rows when something asks for it or, while following a busy ring, every followEvery.
func (t *frameTable) draw(smp *session.Sample, now time.Time) {
	o, p := t.p.ops, t.p
	st := &smp.Ring
	t.scan(st)
	if t.follow && !t.dirty && now.Sub(t.drawn) < followEvery {
		return
	}
	t.drawn, t.dirty = now, false
	total := t.total(st)
	// Following, the table sits at the bottom and only scrolls when it redraws: the overscan
	// rows above the viewport would never be seen.
	over := overscan
	if t.follow {
		over = 0
	}
	w := ui.VisibleRows(t.scrollTop, t.viewH, t.rowH, total, over)
	if h := float32(w.Height); h != t.height {
		t.height = h
		o.StylePx(t.spacerID, "height", h)
	}
	if t.follow && total > 0 {
		bottom := w.Height - t.viewH
		if bottom > 0 && (t.scrollTop != bottom || t.setTop != bottom) {
			t.scrollTop, t.setTop = bottom, bottom
			o.ScrollTop(t.scrollID, float32(bottom))
			w = ui.VisibleRows(t.scrollTop, t.viewH, t.rowH, total, over)
		}
	}
	o.Flag(t.followID, ui.FlagChecked, t.follow)
	t.ensureRows(w.Count)
	for _, s := range t.rows {
		s.shown = false
	}
	start := p.s.Start()
	for k := 0; k < w.Count; k++ {
		i := w.First + k
		s := t.rows[i%len(t.rows)]
		s.shown = true
		num := t.frameAt(st, i)
		if num != s.num {
			s.num = num
			t.fill(s, num, start)
		}
		y := float32(w.Offset + float64(k)*t.rowH)
		if y != s.y {
			s.y = y
			o.TranslateY(s.id, y)
		}
		o.Flag(s.id, ui.FlagSelected, num == t.selected)
	}
	for _, s := range t.rows {
		o.Flag(s.id, ui.FlagHidden, !s.shown)
	}

	b := p.buf[:0]
	if t.filter != nil {
		b = ui.AppendCount(b, uint64(t.index.Len()))
		b = append(b, " of "...)
	}
	b = ui.AppendCount(b, uint64(st.Held))
	b = append(b, " frames"...)
	if t.filter != nil && t.scanned < st.Last {
		b = append(b, " · filtering, "...)
		b = ui.AppendCount(b, st.Last-max(t.scanned, st.First-1))
		b = append(b, " to go"...)
	}
	if st.Evicted > 0 {
		b = append(b, " · "...)
		b = ui.AppendCount(b, st.Evicted)
		b = append(b, " evicted"...)
	}
	o.Text(t.countID, b)
}

// fill writes frame num into row s.
func (t *frameTable) fill(s *rowSlot, num uint64, start time.Time) {
	o := t.p.ops
	f, ok := t.ring.Frame(num, t.frameBuf[:0])
	if !ok {
		for _, c := range s.cells {
			o.TextString(c, "")
		}
		return
	}
	t.frameBuf = f.Data[:0]
	t.dec.Summarize(f.Data, f.OrigLen, &t.sum)
	b := t.p.buf[:0]
	o.Text(s.cells[0], strconv.AppendUint(b, num, 10))
	o.Text(s.cells[1], ui.AppendSeconds(b, f.Time.Sub(start)))
	o.Text(s.cells[2], t.sum.Source())
	o.Text(s.cells[3], t.sum.Destination())
	proto := t.sum.Protocol.String()
	o.TextString(s.cells[4], proto)
	o.Text(s.cells[5], strconv.AppendInt(b, int64(f.OrigLen), 10))
	o.Text(s.cells[6], t.sum.Info())
	o.Attr(s.id, "data-p", proto)
	o.Flag(s.id, ui.FlagBad, t.sum.Malformed)
}

// key moves the selection with the keyboard.
func (t *frameTable) key(k ui.Key) {
	var smp session.Sample
	t.p.s.Sample(&smp)
	st := &smp.Ring
	total := t.total(st)
	page := int(t.viewH / t.rowH)
	i := ui.Move(t.rowOf(st, t.selected), k, page, total)
	if i < 0 {
		return
	}
	t.follow = k == ui.KeyEnd
	t.selectFrame(t.frameAt(st, i))
	top := ui.ScrollFor(i, t.scrollTop, t.viewH, t.rowH, total)
	if top != t.scrollTop {
		t.scrollTop, t.setTop = top, top
		t.p.ops.ScrollTop(t.scrollID, float32(top))
	}
}

// selectFrame shows frame num's layer tree and hex dump.
func (t *frameTable) selectFrame(num uint64) {
	t.selected = num
	t.dirty = true
	o := t.p.ops
	f, ok := t.ring.Frame(num, nil)
	if !ok {
		o.HTML(t.treeID, []byte(`<p class="hint">That frame has left the capture ring.</p>`))
		o.HTML(t.hexID, nil)
		return
	}
	t.detail = f.Data
	t.flat = ui.FlattenTree(t.flat, t.dec.Dissect(f.Data))
	t.html = append(t.html[:0], `<div class="frame-title">Frame `...)
	t.html = strconv.AppendUint(t.html, num, 10)
	t.html = append(t.html, ": "...)
	t.html = strconv.AppendInt(t.html, int64(f.OrigLen), 10)
	t.html = append(t.html, " bytes on the wire, "...)
	t.html = strconv.AppendInt(t.html, int64(len(f.Data)), 10)
	t.html = append(t.html, " captured</div>"...)
	t.html = ui.AppendTreeHTML(t.html, t.flat)
	o.HTML(t.treeID, t.html)
	t.fieldEl = js.Undefined()
	o.HTML(t.hexID, ui.AppendHexHTML(t.html[:0], t.detail, 0, 0))
}

// selectField highlights line i of the layer tree and its bytes in the hex dump.
func (t *frameTable) selectField(i int, el js.Value) {
	if i < 0 || i >= len(t.flat) {
		return
	}
	if t.fieldEl.Truthy() {
		t.fieldEl.Get("classList").Call("remove", "selected")
	}
	el.Get("classList").Call("add", "selected")
	t.fieldEl = el
	n := t.flat[i]
	t.html = ui.AppendHexHTML(t.html[:0], t.detail, n.Offset, n.Length)
	t.p.ops.HTML(t.hexID, t.html)
}
