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
// Tick after each animation frame; from the frame's time the receive path may run for the
// budget, after which each new bulk-IN transfer waits for the next tick. The receive path itself never
// waits for the DOM: a transfer in flight completes and is indicated whatever the page is doing;
// only the next submission waits its turn, as a USB host controller's schedule would make it.
//
// The budget adapts to the frames: the receive path should have all of the thread the page does
// not need, and what the page needs (its own work, then Chromium's style, layout, paint and
// commit) changes with what is on screen. Each Tick carries the animation frame's time (the
// requestAnimationFrame timestamp, which Chromium aligns to the display's frames); the shortest
// interval between recent frames is the display's frame period. A frame that comes half a period
// or more after the one before was late: the receive path kept the thread too long, and the
// budget shrinks by a quarter. A frame on time grows it by a 64th of the period. So the budget
// settles just under the point where frames start to come late, between a quarter of the period
// and the period.
//
// Natively (tests, tools) there is no gate: Session works without one.
type Gate struct {
	clock func() time.Time

	mu        sync.Mutex
	budget    time.Duration
	opened    time.Time     // the last Tick
	open      chan struct{} // closed at the next Tick
	waits     uint64        // submissions that had to wait
	frame     time.Duration // the frame time of the last Tick
	framed    bool          // frame is set
	intervals [64]time.Duration
	ticks     int    // Ticks so far
	onWait    func() // asks for a Nudge (OnWait)
	asked     bool   // onWait ran since the last Tick or Nudge
}

// maxPeriod bounds the frame period the gate assumes: frames that never come faster than this (a
// page so busy that no frame is on time) must not teach the gate that the display is slow, or
// the budget would grow with every late frame. 20 ms is a 50 Hz display.
const maxPeriod = 20 * time.Millisecond

// NewGate returns a gate that lets the receive path run for budget after each Tick to begin
// with, and then adapts the budget to the frames. clock is time.Now when nil.
func NewGate(budget time.Duration, clock func() time.Time) *Gate {
	if clock == nil {
		clock = time.Now
	}
	return &Gate{budget: budget, clock: clock, open: make(chan struct{}), opened: clock()}
}

// Tick starts a new budget and lets every waiting submission go. frame is the time of the
// animation frame that just ended (any origin: only the intervals between ticks matter), and
// since how long ago that time was: the budget counts from the frame's time, not from the Tick,
// so a frame that started late, or whose drawing took long, leaves the receive path less of
// the period rather than pushing the next frame late too.
func (g *Gate) Tick(frame, since time.Duration) {
	g.mu.Lock()
	if g.framed {
		g.adapt(frame - g.frame)
	}
	g.frame, g.framed = frame, true
	g.opened = g.clock().Add(-max(since, 0))
	g.release()
	g.mu.Unlock()
}

// Nudge starts a budget and lets every waiting submission go, as Tick does, without an animation
// frame: the budget stays as the frames set it. It keeps receive going in a hidden tab, which
// gets no animation frames (OnWait).
func (g *Gate) Nudge() {
	g.mu.Lock()
	g.opened = g.clock()
	g.release()
	g.mu.Unlock()
}

// release lets the waiters go. Called with g.mu held.
func (g *Gate) release() {
	close(g.open)
	g.open = make(chan struct{})
	g.asked = false
}

// adapt sets the budget from the interval between the last two frames. Called with g.mu held.
func (g *Gate) adapt(interval time.Duration) {
	g.intervals[g.ticks%len(g.intervals)] = interval
	g.ticks++
	period := maxPeriod
	for _, iv := range g.intervals[:min(g.ticks, len(g.intervals))] {
		period = min(period, iv)
	}
	if period <= 0 {
		return // a clock that did not move
	}
	if interval > period+period/2 {
		g.budget = max(g.budget*3/4, period/4)
	} else {
		g.budget = min(g.budget+period/64, period)
	}
}

// Budget returns how long the receive path may run after a Tick now.
func (g *Gate) Budget() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.budget
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
	ask := g.onWait != nil && !g.asked
	g.asked = g.asked || ask
	onWait := g.onWait
	g.mu.Unlock()
	if ask {
		onWait()
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// OnWait sets fn to run when a submission starts waiting and nothing has asked for a Nudge since
// the last Tick or Nudge. The page uses it to nudge the gate itself where no animation frame will
// come (a hidden tab). fn must not block; it runs on the waiting goroutine.
func (g *Gate) OnWait(fn func()) {
	g.mu.Lock()
	g.onWait = fn
	g.mu.Unlock()
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
