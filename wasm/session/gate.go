package session

import (
	"context"
	"sync"
	"time"

	"webminiport/usbnic"
)

// Gate shares the browser's one thread between the receive path and the page's rendering.
//
// A Go program compiled to WebAssembly runs on the page's main thread and gives it back to the
// browser only when every goroutine is blocked. Under a flood the bulk-IN goroutines are never
// all blocked, so without a gate the page would stop drawing and stop taking input. The page calls
// Tick after each animation frame; between two ticks the receive path may run for Budget, after
// which each new bulk-IN transfer waits for the next tick. The receive path itself never waits
// for the DOM: a transfer in flight completes and is indicated whatever the page is doing; only
// the next submission waits its turn, as a USB host controller's schedule would make it.
//
// Natively (tests, tools) there is no gate: Session works without one.
type Gate struct {
	budget time.Duration
	clock  func() time.Time

	mu     sync.Mutex
	opened time.Time     // the last Tick
	open   chan struct{} // closed at the next Tick
	waits  uint64        // submissions that had to wait
}

// NewGate returns a gate that lets the receive path run for budget after each Tick. clock is
// time.Now when nil.
func NewGate(budget time.Duration, clock func() time.Time) *Gate {
	if clock == nil {
		clock = time.Now
	}
	return &Gate{budget: budget, clock: clock, open: make(chan struct{}), opened: clock()}
}

// Tick starts a new budget and lets every waiting submission go.
func (g *Gate) Tick() {
	g.mu.Lock()
	g.opened = g.clock()
	close(g.open)
	g.open = make(chan struct{})
	g.mu.Unlock()
}

// Wait returns at once while the budget since the last Tick lasts, and otherwise when the next
// Tick comes or ctx is done.
func (g *Gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	if g.clock().Sub(g.opened) < g.budget {
		g.mu.Unlock()
		return nil
	}
	ch := g.open
	g.waits++
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Waits returns how many submissions had to wait for a Tick.
func (g *Gate) Waits() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waits
}

// gatedTransport is a transport whose bulk-IN submissions pass the gate first: the core calls
// WaitSubmit before each receive transfer (usbnic.SubmitPacer). Interrupt transfers (link
// notifications) and everything else go straight through.
type gatedTransport struct {
	usbnic.Transport
	gate *Gate
}

// WaitSubmit implements usbnic.SubmitPacer.
func (t gatedTransport) WaitSubmit(ctx context.Context) error { return t.gate.Wait(ctx) }

// gated wraps t with g, or returns t when g is nil.
func gated(t usbnic.Transport, g *Gate) usbnic.Transport {
	if g == nil {
		return t
	}
	return gatedTransport{Transport: t, gate: g}
}
