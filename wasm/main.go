//go:build js && wasm

// Command wasm is the webminiport page: it runs a session (package session) — a virtual adapter
// at once, or a USB adapter paired over WebUSB — and draws it, live, with package ui's arithmetic
// and web/render.js's command buffer. It also publishes window.webminiport, the console and test
// API (api.go; README.md, "Console API").
//
// Threads: everything runs on the browser's main thread. Event handlers only record what
// happened or start a goroutine (bring-ups take seconds); the render loop reads one Sample per
// animation frame and writes its changes into the command buffer; the receive path runs in the
// core's goroutines and takes turns with rendering through session.Gate, so it never waits for
// the DOM.
package main

import (
	"context"
	"time"

	"honnef.co/go/js/dom/v2"

	"webminiport/ndis/capture"
	"webminiport/usbnic/sim"
	"webminiport/wasm/session"
)

// gateBudget is how long the receive path may run between two animation frames at first (16.7 ms
// at 60 Hz): most of the frame, leaving the page a few milliseconds to draw and take input. The
// gate then adapts it to how long the page's frames really take.
const gateBudget = 11 * time.Millisecond

func main() {
	gate := session.NewGate(gateBudget, nil)
	nudgeWhenHidden(gate)
	s := session.New(session.Config{Ring: capture.NewRing(capture.RingConfig{}), Gate: gate})
	p := newPage(s, gate)
	p.installAPI()
	usb := p.setUpUSB()

	// The page is built: show it, then bring the adapter up behind it. A previously paired USB
	// adapter that is plugged in takes precedence over the virtual one.
	win := dom.GetWindow()
	win.Document().GetElementByID("loading").SetAttribute("hidden", "")
	win.Document().GetElementByID("app").RemoveAttribute("hidden")
	p.start()
	go func() {
		if usb != nil && usb.reconnect(context.Background()) {
			return
		}
		p.run("virtual adapter", func() error {
			return s.StartVirtual(context.Background(), sim.AX88179.Name, "idle")
		})
	}()
	// Returning from main would exit the Go program and kill every callback the page holds.
	select {}
}
