//go:build js && wasm

package main

import (
	"syscall/js"

	"webminiport/wasm/ui"
)

// opsBufferSize is the command buffer: a frame of the busiest page (a full table of rows, every
// counter, six sparklines) takes about 40 KB; the hex dump of a jumbo frame is the largest single
// command and still fits.
const opsBufferSize = 256 << 10

// renderer is the Go side of web/render.js: elements are registered once and then changed only
// through the command buffer, which goes to JavaScript in one copy and one call per batch.
type renderer struct {
	api    js.Value // globalThis.webminiportRender
	apply  js.Value
	jsBuf  js.Value // the Uint8Array the batches are copied into
	jsSize int
	ops    *ui.Ops
}

func newRenderer() *renderer {
	r := &renderer{api: js.Global().Get("webminiportRender")}
	r.apply = r.api.Get("apply")
	r.jsSize = opsBufferSize
	r.jsBuf = r.api.Call("buffer", r.jsSize)
	r.ops = ui.NewOps(opsBufferSize, r.send)
	return r
}

// register adds an element and returns its ID.
func (r *renderer) register(el js.Value) ui.ID {
	return ui.ID(r.api.Call("register", el).Int())
}

// send copies one batch to JavaScript and applies it.
func (r *renderer) send(batch []byte) {
	if len(batch) > r.jsSize {
		// One command larger than the buffer (ui.Ops grew for it): grow the JS side too.
		r.jsSize = len(batch)
		r.jsBuf = r.api.Call("buffer", r.jsSize)
	}
	js.CopyBytesToJS(r.jsBuf, batch)
	r.apply.Invoke()
}

// flush applies what the buffer holds.
func (r *renderer) flush() {
	if b := r.ops.Finish(); b != nil {
		r.send(b)
	}
	r.ops.Reset()
}

// image sizes canvas id to w×h device pixels and returns the pixel array Go fills.
func (r *renderer) image(id ui.ID, w, h int) js.Value {
	return r.api.Call("image", int(id), w, h)
}

// canvas sizes canvas id to w×h device pixels for drawing commands.
func (r *renderer) canvas(id ui.ID, w, h int) {
	r.api.Call("canvas", int(id), w, h)
}
