//go:build js && wasm

package main

import (
	"syscall/js"

	"webminiport/wasm/session"
)

// nudgeWhenHidden keeps receive going while the tab is hidden. A hidden tab gets no animation
// frames, so the gate would never open again and the adapter would stop receiving as soon as
// the user looked at another tab. While hidden, a submission that has to wait posts a message
// to the page itself, and its delivery nudges the gate: the browser delivers it after the tasks
// already queued (input, promise callbacks, timers), so the page still answers, and unlike a
// timer a message is not throttled in a background tab. Becoming hidden nudges once, for a
// submission already waiting for an animation frame that will not come.
func nudgeWhenHidden(gate *session.Gate) {
	doc := js.Global().Get("document")
	channel := js.Global().Get("MessageChannel").New()
	port := channel.Get("port2")
	// Both functions live as long as the page.
	channel.Get("port1").Set("onmessage", js.FuncOf(func(js.Value, []js.Value) any {
		gate.Nudge()
		return nil
	}))
	doc.Call("addEventListener", "visibilitychange", js.FuncOf(func(js.Value, []js.Value) any {
		if doc.Get("hidden").Bool() {
			gate.Nudge()
		}
		return nil
	}))
	gate.OnWait(func() {
		if doc.Get("hidden").Bool() {
			port.Call("postMessage", 0)
		}
	})
}
