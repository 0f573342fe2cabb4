//go:build js && wasm

package main

import (
	"fmt"
	"strconv"
	"syscall/js"

	"webminiport/ndis"
	"webminiport/pool"
	"webminiport/wasm/session"
	"webminiport/wasm/ui"
)

// mapMaxHeight bounds an NBL map in CSS pixels: a 256-NBL pool gets big cells, 65535 NBLs
// still fit.
const mapMaxHeight = 150

// numOwners is how many owner values ndis defines (pool.OwnerPool .. ndis.OwnerSendInFlight).
const numOwners = 11

// counter is one labelled number of a pool card.
type counter struct {
	id   ui.ID
	row  ui.ID
	name string
}

// poolCard is one pool: its NDIS parameters, counters and NBL map.
type poolCard struct {
	view      ndis.PoolView
	root      js.Value
	canvas    js.Value
	canvasID  ui.ID
	pixels    js.Value
	painter   *ui.MapPainter
	owners    []byte
	counters  []counter
	ownerIDs  [numOwners]ui.ID
	ownerRows [numOwners]ui.ID
}

// poolPanel is the "NBL pools" panel: a card per pool of the adapter, the hover tooltip and the
// nbl view.
type poolPanel struct {
	p         *page
	gen       uint64
	cards     []*poolCard
	container js.Value
	tip       js.Value
	dialog    js.Value
	bodyID    ui.ID
	selCard   int // the card and slot of the open nbl view, -1 when closed
	selSlot   int
	html      []byte
}

func newPoolPanel(p *page) *poolPanel {
	pp := &poolPanel{p: p, container: p.byID("pool-cards"), tip: p.byID("nbl-tip"), dialog: p.byID("nbl-view"),
		selCard: -1}
	pp.bodyID = p.reg("nbl-body")
	p.onClick("nbl-close", func() { pp.dialog.Call("close") })
	pp.dialog.Call("addEventListener", "close", js.FuncOf(func(js.Value, []js.Value) any {
		if pp.selCard >= 0 && pp.selCard < len(pp.cards) {
			pp.cards[pp.selCard].painter.Mark(-1)
		}
		pp.selCard = -1
		return nil
	}))
	return pp
}

// sameCards reports whether views describe the pools the cards show.
func (pp *poolPanel) sameCards(views []ndis.PoolView) bool {
	if len(views) != len(pp.cards) {
		return false
	}
	for i, v := range views {
		c := pp.cards[i].view
		if v.Handle != c.Handle || v.Name != c.Name || v.Stats.Capacity != c.Stats.Capacity {
			return false
		}
	}
	return true
}

// rebuild makes the cards for the pools of generation gen, keeping them when the pools are the
// same ones.
func (pp *poolPanel) rebuild(gen uint64) {
	pp.gen = gen
	views := pp.p.s.Pools(gen)
	if pp.sameCards(views) {
		return
	}
	if pp.selCard >= 0 {
		pp.dialog.Call("close")
	}
	pp.container.Set("textContent", "")
	pp.cards = pp.cards[:0]
	if len(views) == 0 {
		hint := pp.p.doc.CreateElement("p")
		hint.SetAttribute("class", "hint")
		hint.SetTextContent("No pool: the adapter is not initialized.")
		pp.container.Call("appendChild", hint.Underlying())
	}
	for i, v := range views {
		pp.cards = append(pp.cards, pp.newCard(i, v))
	}
	pp.relayout()
}

func (pp *poolPanel) newCard(i int, v ndis.PoolView) *poolCard {
	p := pp.p
	doc := p.doc
	c := &poolCard{view: v}
	el := func(tag, class, text string) js.Value {
		e := doc.CreateElement(tag)
		if class != "" {
			e.SetAttribute("class", class)
		}
		if text != "" {
			e.SetTextContent(text)
		}
		return e.Underlying()
	}
	c.root = el("div", "pool-card", "")
	c.root.Get("dataset").Set("pool", i)
	h := el("h3", "", v.Name)
	h.Call("appendChild", el("span", "tag", fmt.Sprintf("Tag %s · %s · handle %#x", v.Tag, v.Component, v.Handle)))
	c.root.Call("appendChild", h)
	params := fmt.Sprintf("%s · %s", v.AllocatedBy, v.Shape)
	if v.Flags != "" {
		params += " · " + v.Flags
	}
	params += fmt.Sprintf(" · context %d · data %d B", v.ContextSize, v.DataSize)
	c.root.Call("appendChild", el("div", "pool-params", params))

	grid := el("div", "counters", "")
	// Short labels, with what each counts in the tooltip.
	names := [][2]string{{"Capacity", "NBLs in the pool's arena"},
		{"Allocated", "NBLs allocated from the pool (a miniport's free list counts as allocated)"},
		{"Free", "NBLs free in the pool itself"}, {"High-water", "the most NBLs ever allocated at once"},
		{"Failures", "allocations that found the pool empty"}, {"Misuses", "misuse the pool detected"}}
	if v.Component == ndis.ComponentMiniport {
		names = append(names, [2]string{"At protocol", "receive NBLs indicated and not yet returned"},
			[2]string{"RESOURCES", "indications made with NDIS_RECEIVE_FLAGS_RESOURCES (the free list ran low)"},
			[2]string{"Drops", "frames dropped because the free list was empty (OID_GEN_RCV_NO_BUFFER)"})
	} else {
		names = append(names, [2]string{"In flight", "sends the miniport has not completed"},
			[2]string{"Sent OK", "sends completed with NDIS_STATUS_SUCCESS"},
			[2]string{"Send failed", "sends completed with another status"})
	}
	for _, nt := range names {
		n := nt[0]
		row := el("div", "counter", "")
		row.Set("title", nt[1])
		row.Call("appendChild", el("span", "k", n))
		val := el("span", "v", "0")
		row.Call("appendChild", val)
		grid.Call("appendChild", row)
		c.counters = append(c.counters, counter{id: p.r.register(val), row: p.r.register(row), name: n})
	}
	c.root.Call("appendChild", grid)

	owners := el("div", "owners", "")
	for o := range numOwners {
		span := el("span", "", "")
		span.Set("title", ndis.OwnerName(pool.Owner(o)))
		span.Call("appendChild", el("span", "swatch "+ui.OwnerClass(pool.Owner(o)), ""))
		n := el("span", "", "")
		span.Call("appendChild", n)
		span.Call("appendChild", doc.CreateTextNode(" "+ndis.OwnerName(pool.Owner(o))).Underlying())
		owners.Call("appendChild", span)
		c.ownerIDs[o] = p.r.register(n)
		c.ownerRows[o] = p.r.register(span)
	}
	c.root.Call("appendChild", owners)

	c.canvas = el("canvas", "map", "")
	c.canvas.Set("role", "img")
	c.canvas.Call("setAttribute", "aria-label", "NBL map of "+v.Name+": one cell per NBL, coloured by owner")
	c.root.Call("appendChild", c.canvas)
	c.canvasID = p.r.register(c.canvas)
	c.painter = ui.NewMapPainter(&p.palette, p.mark)
	c.owners = make([]byte, v.Stats.Capacity)
	pp.container.Call("appendChild", c.root)

	card := i
	c.canvas.Call("addEventListener", "mousemove", js.FuncOf(func(_ js.Value, args []js.Value) any {
		pp.hover(card, args[0])
		return nil
	}))
	c.canvas.Call("addEventListener", "mouseleave", js.FuncOf(func(js.Value, []js.Value) any {
		pp.tip.Set("hidden", true)
		return nil
	}))
	c.canvas.Call("addEventListener", "click", js.FuncOf(func(_ js.Value, args []js.Value) any {
		ev := args[0]
		if slot := c.painter.Layout().Index(ev.Get("offsetX").Float(), ev.Get("offsetY").Float()); slot >= 0 {
			pp.open(card, slot)
		}
		return nil
	}))
	return c
}

// relayout sizes every map to its card's width.
func (pp *poolPanel) relayout() {
	for _, c := range pp.cards {
		width := c.root.Get("clientWidth").Float() - 18 // the card's padding and border
		l := ui.LayoutMap(c.view.Stats.Capacity, width, mapMaxHeight, pp.p.dpr)
		c.painter.SetLayout(l)
		c.pixels = pp.p.r.image(c.canvasID, l.Width, l.Height)
		pp.p.ops.StylePx(c.canvasID, "width", float32(float64(l.Width)/l.DPR))
		pp.p.ops.StylePx(c.canvasID, "height", float32(float64(l.Height)/l.DPR))
	}
}

// invalidate repaints every map (after a theme change).
func (pp *poolPanel) invalidate() {
	for _, c := range pp.cards {
		c.painter.SetMark(pp.p.mark)
		c.painter.Invalidate()
	}
}

// draw brings the cards up to date with the sample: counters, owner counts and maps.
func (pp *poolPanel) draw(smp *session.Sample) {
	p, o := pp.p, pp.p.ops
	for i, c := range pp.cards {
		if i >= smp.NumPools {
			break
		}
		st := &smp.Pools[i]
		vals := [...]uint64{uint64(st.Capacity), uint64(st.Allocated), uint64(st.Free), uint64(st.HighWater),
			st.Failures, st.Misuses, 0, 0, 0}
		if c.view.Component == ndis.ComponentMiniport {
			vals[6], vals[7], vals[8] = uint64(smp.Outstanding), smp.Capture.ResourcesIndications, smp.Stats.RxNoBuffer
		} else {
			vals[6], vals[7], vals[8] = uint64(smp.SendsPending), smp.Capture.SendOK, smp.Capture.SendFailed
		}
		for k, ctr := range c.counters {
			o.Text(ctr.id, ui.AppendCount(p.buf[:0], vals[k]))
		}
		if c.view.Component == ndis.ComponentMiniport {
			o.Flag(c.counters[7].row, ui.FlagWarn, vals[7] > 0)
			o.Flag(c.counters[8].row, ui.FlagBad, vals[8] > 0)
		} else {
			o.Flag(c.counters[8].row, ui.FlagBad, vals[8] > 0)
		}
		o.Flag(c.counters[4].row, ui.FlagWarn, st.Failures > 0)
		o.Flag(c.counters[5].row, ui.FlagBad, st.Misuses > 0)
		for k := range numOwners {
			n := st.PerOwner[k]
			o.Text(c.ownerIDs[k], ui.AppendCount(p.buf[:0], uint64(n)))
			o.Flag(c.ownerRows[k], ui.FlagHidden, n == 0)
		}
		n := p.s.CopyOwners(pp.gen, i, c.owners)
		if c.painter.Paint(c.owners[:n]) && c.pixels.Truthy() {
			js.CopyBytesToJS(c.pixels, c.painter.Pixels())
			o.Image(c.canvasID)
		}
	}
}

// hover shows the tooltip for the NBL under the pointer.
func (pp *poolPanel) hover(card int, ev js.Value) {
	c := pp.cards[card]
	slot := c.painter.Layout().Index(ev.Get("offsetX").Float(), ev.Get("offsetY").Float())
	if slot < 0 || slot >= len(c.owners) {
		pp.tip.Set("hidden", true)
		return
	}
	owner := pool.Owner(c.owners[slot])
	text := c.view.Name + " · slot " + strconv.Itoa(slot) + "\n"
	if h := pp.p.s.PoolSlot(pp.gen, card, slot); h != 0 {
		text += h.String() + "\n"
	}
	text += ndis.OwnerName(owner) + " (" + ndis.OwnerComponent(owner, c.view.Component).String() + ")\nclick for the nbl view"
	pp.tip.Set("textContent", text)
	style := pp.tip.Get("style")
	style.Call("setProperty", "left", strconv.Itoa(ev.Get("clientX").Int()+14)+"px")
	style.Call("setProperty", "top", strconv.Itoa(ev.Get("clientY").Int()+14)+"px")
	pp.tip.Set("hidden", false)
}

// open shows the nbl view of one slot.
func (pp *poolPanel) open(card, slot int) {
	if pp.selCard >= 0 && pp.selCard < len(pp.cards) {
		pp.cards[pp.selCard].painter.Mark(-1)
	}
	pp.selCard, pp.selSlot = card, slot
	pp.cards[card].painter.Mark(slot)
	pp.tip.Set("hidden", true)
	pp.refresh()
	if !pp.dialog.Get("open").Bool() {
		pp.dialog.Call("showModal")
	}
}

// refresh re-renders the open nbl view: its owner and history change while it is open.
func (pp *poolPanel) refresh() {
	if pp.selCard < 0 || pp.selCard >= len(pp.cards) {
		return
	}
	p := pp.p
	c := pp.cards[pp.selCard]
	title := fmt.Sprintf("nbl · %s slot %d", c.view.Name, pp.selSlot)
	d, err := p.s.NBL(pp.gen, pp.selCard, pp.selSlot)
	pp.html = pp.html[:0]
	if err != nil {
		pp.html = append(pp.html, `<p class="hint">`...)
		pp.html = ui.AppendEscaped(pp.html, err.Error())
		pp.html = append(pp.html, "</p>"...)
	} else {
		title = "nbl " + d.View.NBL.String()[4:] + " -log"
		pp.html = ui.AppendNBLHTML(pp.html, d.View, d.Index, d.Owner, d.Frame, d.Summary, d.History, p.s.Start())
	}
	p.byID("nbl-title").Set("textContent", title)
	p.ops.HTML(pp.bodyID, pp.html)
}
