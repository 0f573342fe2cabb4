// Package ui is the page's drawing arithmetic, free of the DOM so that it builds and tests natively:
// a command buffer of DOM updates that the page hands to JavaScript once per animation frame,
// the NBL map painted into an RGBA pixel buffer, the virtual frame table's window, sparkline
// series and rates, number formatting, and the HTML of the layer tree and hex dump.
//
// Nothing here allocates per animation frame once its buffers have reached their working size:
// text goes into the command buffer as bytes, pixels into one reused buffer, and the caches that
// suppress unchanged updates reuse their slices.
package ui

import (
	"encoding/binary"
	"math"
)

// ID names a DOM element registered with the page's renderer (web/render.js). IDs are small and
// dense: the renderer keeps its elements in an array, and Ops keeps its change caches by ID.
type ID uint16

// Opcodes of the command buffer. web/render.js decodes the same numbers; keep both in step.
const (
	opText       = 1  // id, u32 len, bytes: element.textContent
	opHTML       = 2  // id, u32 len, bytes: element.innerHTML
	opFlag       = 3  // id, flag u8, on u8
	opTranslateY = 4  // id, f32: element.style.transform = translateY(px)
	opImage      = 6  // id: put the canvas's pixel buffer (filled with CopyBytesToJS) at 0,0
	opClear      = 7  // id: clear the whole canvas
	opPath       = 8  // id, u32 stroke RGBA, u32 fill RGBA, f32 width, u16 n, n×(f32 x, f32 y)
	opScrollTop  = 9  // id, f32: element.scrollTop
	opAttr       = 10 // id, u8 len, name, u16 len, value: element.setAttribute
	opStylePx    = 12 // id, u8 len, property, f32: element.style.setProperty(property, v+"px")
)

// Flag is a boolean property of an element that the renderer knows how to set.
type Flag uint8

// Flags. Each is one bit of the per-element cache, so at most 32.
const (
	FlagHidden   Flag = iota // the hidden attribute
	FlagDisabled             // the disabled property of a control
	FlagSelected             // class "selected" and aria-selected
	FlagChecked              // the checked property of a checkbox
	FlagActive               // class "active" (a lit indicator, a pressed toggle)
	FlagWarn                 // class "warn" (a counter that signals trouble)
	FlagBad                  // class "bad" (an error state)
	numFlags
)

// headerLen is the length word at the front of the buffer: the renderer reads how many bytes of
// commands follow from it, so that applying a batch is one call without arguments.
const headerLen = 4

// Ops is a command buffer of DOM updates. Text, flag and attribute updates that would not change
// what the element shows are dropped, so the renderer only touches what changed.
//
// When the buffer is full it is handed to Flush and started again, so no update is lost; the
// buffer itself never grows. Ops is not safe for concurrent use: the render loop owns it.
type Ops struct {
	buf   []byte
	flush func(batch []byte)

	text  [][]byte // last text or HTML set, by ID
	known []bool   // text[id] is valid
	flags []uint32 // FlagX bit set, by ID
	fknow []uint32 // which bits of flags are known
}

// NewOps returns a command buffer of size bytes (at least 64 KiB is sensible) whose full batches
// go to flush. flush receives the whole buffer, header included, and must not keep it.
func NewOps(size int, flush func(batch []byte)) *Ops {
	size = max(size, 1024)
	o := &Ops{buf: make([]byte, headerLen, size), flush: flush}
	return o
}

// Len returns the number of command bytes waiting.
func (o *Ops) Len() int { return len(o.buf) - headerLen }

// Finish writes the length header and returns the batch (nil when nothing is waiting). The caller
// copies it to the renderer and calls Reset.
func (o *Ops) Finish() []byte {
	if o.Len() == 0 {
		return nil
	}
	binary.LittleEndian.PutUint32(o.buf, uint32(o.Len()))
	return o.buf
}

// Reset empties the buffer; the change caches stay.
func (o *Ops) Reset() { o.buf = o.buf[:headerLen] }

// reserve makes room for n more bytes, flushing first when they do not fit.
func (o *Ops) reserve(n int) {
	if len(o.buf)+n <= cap(o.buf) {
		return
	}
	if o.Len() > 0 {
		o.flush(o.Finish())
		o.Reset()
	}
	if headerLen+n > cap(o.buf) {
		// One command larger than the whole buffer: grow once to fit it. Only HTML of a
		// huge frame's hex dump could get here, and that is a user action, not a frame.
		o.buf = append(make([]byte, 0, headerLen+n), o.buf[:headerLen]...)
	}
}

func (o *Ops) u8(v uint8)   { o.buf = append(o.buf, v) }
func (o *Ops) u16(v uint16) { o.buf = binary.LittleEndian.AppendUint16(o.buf, v) }
func (o *Ops) u32(v uint32) { o.buf = binary.LittleEndian.AppendUint32(o.buf, v) }
func (o *Ops) f32(v float32) {
	o.buf = binary.LittleEndian.AppendUint32(o.buf, math.Float32bits(v))
}
func (o *Ops) head(op uint8, id ID) { o.u8(op); o.u16(uint16(id)) }

// changed reports whether text differs from what id shows, and remembers it.
func (o *Ops) changed(id ID, text []byte) bool {
	for int(id) >= len(o.text) {
		o.text = append(o.text, nil)
		o.known = append(o.known, false)
	}
	if o.known[id] && string(o.text[id]) == string(text) {
		return false
	}
	o.text[id] = append(o.text[id][:0], text...)
	o.known[id] = true
	return true
}

func (o *Ops) changedString(id ID, text string) bool {
	for int(id) >= len(o.text) {
		o.text = append(o.text, nil)
		o.known = append(o.known, false)
	}
	if o.known[id] && string(o.text[id]) == text {
		return false
	}
	o.text[id] = append(o.text[id][:0], text...)
	o.known[id] = true
	return true
}

// Text sets id's text content to text, if it differs from what was set last.
func (o *Ops) Text(id ID, text []byte) {
	if !o.changed(id, text) {
		return
	}
	o.reserve(7 + len(text))
	o.head(opText, id)
	o.u32(uint32(len(text)))
	o.buf = append(o.buf, text...)
}

// TextString is Text for a string.
func (o *Ops) TextString(id ID, text string) {
	if !o.changedString(id, text) {
		return
	}
	o.reserve(7 + len(text))
	o.head(opText, id)
	o.u32(uint32(len(text)))
	o.buf = append(o.buf, text...)
}

// HTML sets id's inner HTML, if it differs from what was set last. The HTML must come from this
// package's builders (which escape every text they embed), never from outside input.
func (o *Ops) HTML(id ID, html []byte) {
	if !o.changed(id, html) {
		return
	}
	o.reserve(7 + len(html))
	o.head(opHTML, id)
	o.u32(uint32(len(html)))
	o.buf = append(o.buf, html...)
}

// Flag turns flag f of id on or off, if that changes it.
func (o *Ops) Flag(id ID, f Flag, on bool) {
	for int(id) >= len(o.flags) {
		o.flags = append(o.flags, 0)
		o.fknow = append(o.fknow, 0)
	}
	bit := uint32(1) << f
	if o.fknow[id]&bit != 0 && (o.flags[id]&bit != 0) == on {
		return
	}
	o.fknow[id] |= bit
	if on {
		o.flags[id] |= bit
	} else {
		o.flags[id] &^= bit
	}
	o.reserve(5)
	o.head(opFlag, id)
	o.u8(uint8(f))
	if on {
		o.u8(1)
	} else {
		o.u8(0)
	}
}

// TranslateY moves id by y CSS pixels vertically (a row of the virtual table).
func (o *Ops) TranslateY(id ID, y float32) {
	o.reserve(7)
	o.head(opTranslateY, id)
	o.f32(y)
}

// StylePx sets one CSS length property of id to px CSS pixels (a height, a position).
func (o *Ops) StylePx(id ID, property string, px float32) {
	o.reserve(8 + len(property))
	o.head(opStylePx, id)
	o.u8(uint8(len(property)))
	o.buf = append(o.buf, property...)
	o.f32(px)
}

// Attr sets attribute name of id to value. It is not cached: use it for rare changes.
func (o *Ops) Attr(id ID, name, value string) {
	o.reserve(6 + len(name) + len(value))
	o.head(opAttr, id)
	o.u8(uint8(len(name)))
	o.buf = append(o.buf, name...)
	o.u16(uint16(len(value)))
	o.buf = append(o.buf, value...)
}

// Image puts canvas id's pixel buffer, which the page filled just before, onto the canvas.
func (o *Ops) Image(id ID) {
	o.reserve(3)
	o.head(opImage, id)
}

// Clear clears canvas id.
func (o *Ops) Clear(id ID) {
	o.reserve(3)
	o.head(opClear, id)
}

// Path draws a polyline through pts (x0, y0, x1, y1, ... in device pixels) on canvas id, stroked
// with stroke at width; with a fill colour that is not transparent, the area between the line and
// the canvas bottom is filled first.
func (o *Ops) Path(id ID, stroke, fill RGBA, width float32, pts []float32) {
	n := len(pts) / 2
	n = min(n, math.MaxUint16)
	o.reserve(17 + 8*n)
	o.head(opPath, id)
	o.u32(stroke.u32())
	o.u32(fill.u32())
	o.f32(width)
	o.u16(uint16(n))
	for _, v := range pts[:2*n] {
		o.f32(v)
	}
}

// ScrollTop scrolls id to y CSS pixels.
func (o *Ops) ScrollTop(id ID, y float32) {
	o.reserve(7)
	o.head(opScrollTop, id)
	o.f32(y)
}
