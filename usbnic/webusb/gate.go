//go:build js && wasm

package webusb

import (
	"context"
	"sync"
)

// gate keeps apart the calls Chromium refuses to overlap on one device. While open, close,
// selectConfiguration, claimInterface, releaseInterface, selectAlternateInterface or reset is in
// progress, Chromium rejects the others and every control transfer with InvalidStateError ("An
// operation that changes the device state is in progress.", "An operation that changes
// interface state is in progress."). So state changes pass one at a time and exclude control
// transfers; control transfers may overlap each other. Bulk and interrupt transfers never pass
// the gate: Chromium runs them beside state changes, and close, release and reset must be able to
// abort them.
type gate struct {
	mu      sync.Mutex
	readers int  // control transfers inside
	writer  bool // a state change inside
	opened  chan struct{}
}

// enter waits until the call may go (exclusive: a state change) or ctx is done or gone closes.
func (g *gate) enter(ctx context.Context, gone <-chan struct{}, exclusive bool) error {
	for {
		g.mu.Lock()
		if !g.writer && (!exclusive || g.readers == 0) {
			if exclusive {
				g.writer = true
			} else {
				g.readers++
			}
			g.mu.Unlock()
			return nil
		}
		if g.opened == nil {
			g.opened = make(chan struct{})
		}
		opened := g.opened
		g.mu.Unlock()
		select {
		case <-opened:
		case <-ctx.Done():
			return ctx.Err()
		case <-gone:
			return errGone
		}
	}
}

// leave lets the next calls in.
func (g *gate) leave(exclusive bool) {
	g.mu.Lock()
	if exclusive {
		g.writer = false
	} else {
		g.readers--
	}
	if g.opened != nil {
		close(g.opened)
		g.opened = nil
	}
	g.mu.Unlock()
}
