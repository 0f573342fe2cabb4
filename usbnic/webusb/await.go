//go:build js && wasm

package webusb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hack-pad/safejs"
)

// Waiting for a promise without a js.Func per wait.
//
// A promise is awaited by attaching callbacks with then(). Making two js.Funcs per wait would
// cost a FuncOf and a Release each time, and a wait abandoned on ctx could not release them until
// the promise settled (JS would call a released function), which for a bulk-IN transfer on an
// idle link is never. Instead the dispatcher owns two js.Funcs for the life of the program,
// settled(i, value) and rejected(i, reason), and each waiting slot i owns the two JS functions
// settled.bind(null, i) and rejected.bind(null, i), made once when the slot is created. A wait is
// one call: promise.then(okᵢ, failᵢ).
//
// A wait abandoned on ctx (or because the device went away) parks its slot: the slot stays bound
// to the promise, so its late settlement finds it, frees it and drops the value. Nothing else is
// done with a late settlement, so it cannot write into a buffer the caller has taken back.
// WebUSB settles every pending transfer when the device is closed, reset or unplugged, so parked
// slots come back.

// liveFuncs counts the js.Funcs this package holds (made minus released). Tests read it to prove
// that nothing leaks.
var liveFuncs atomic.Int64

// newFunc is safejs.FuncOf, counted.
func newFunc(fn func(this safejs.Value, args []safejs.Value) any) (safejs.Func, error) {
	f, err := safejs.FuncOf(fn)
	if err != nil {
		return f, err
	}
	liveFuncs.Add(1)
	return f, nil
}

// releaseFunc is Func.Release, counted. Callers release each func exactly once.
func releaseFunc(f safejs.Func) {
	f.Release()
	liveFuncs.Add(-1)
}

type slotState uint8

const (
	slotFree      slotState = iota
	slotWaiting             // then() attached, waiter blocked
	slotSettled             // the promise settled; done holds one token for the waiter
	slotAbandoned           // the waiter left; the settlement frees the slot
)

// slot is one wait. index, onOK, onFail and done never change; the rest is guarded by
// dispatcher.mu.
type slot struct {
	index        int
	onOK, onFail safejs.Value // settled.bind(null, index), rejected.bind(null, index)
	done         chan struct{}

	state slotState
	ok    bool         // fulfilled (true) or rejected
	value safejs.Value // the fulfilment value or the rejection reason
}

type dispatcher struct {
	settled, rejected safejs.Func

	mu     sync.Mutex
	slots  []*slot // by index
	free   []*slot
	parked int // abandoned slots waiting for their promise
}

var (
	dispOnce sync.Once
	disp     *dispatcher
	dispErr  error
)

// theDispatcher returns the dispatcher, making it on first use.
func theDispatcher() (*dispatcher, error) {
	dispOnce.Do(func() {
		d := &dispatcher{}
		var err error
		if d.settled, err = newFunc(func(_ safejs.Value, args []safejs.Value) any {
			d.settle(args, true)
			return nil
		}); err != nil {
			dispErr = fmt.Errorf("webusb: making the promise callback: %w", err)
			return
		}
		if d.rejected, err = newFunc(func(_ safejs.Value, args []safejs.Value) any {
			d.settle(args, false)
			return nil
		}); err != nil {
			releaseFunc(d.settled)
			dispErr = fmt.Errorf("webusb: making the promise callback: %w", err)
			return
		}
		disp = d
	})
	return disp, dispErr
}

// settle is the body of both callbacks: args are (slot index, value).
func (d *dispatcher) settle(args []safejs.Value, ok bool) {
	if len(args) == 0 {
		return
	}
	i, err := args[0].Int()
	if err != nil {
		return
	}
	v := safejs.Undefined()
	if len(args) > 1 {
		v = args[1]
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if i < 0 || i >= len(d.slots) {
		return
	}
	s := d.slots[i]
	switch s.state {
	case slotWaiting:
		s.state, s.ok, s.value = slotSettled, ok, v
		s.done <- struct{}{} // capacity 1, empty while waiting
	case slotAbandoned:
		d.parked--
		d.putLocked(s)
	}
}

// get takes a free slot, making one (and its two bound functions) when none is free.
func (d *dispatcher) get() (*slot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.free); n > 0 {
		s := d.free[n-1]
		d.free = d.free[:n-1]
		s.state = slotWaiting
		return s, nil
	}
	i := len(d.slots)
	onOK, err := d.settled.Value().Call("bind", safejs.Null(), i)
	if err != nil {
		return nil, fmt.Errorf("webusb: binding a promise callback: %w", err)
	}
	onFail, err := d.rejected.Value().Call("bind", safejs.Null(), i)
	if err != nil {
		return nil, fmt.Errorf("webusb: binding a promise callback: %w", err)
	}
	s := &slot{index: i, onOK: onOK, onFail: onFail, done: make(chan struct{}, 1), state: slotWaiting}
	d.slots = append(d.slots, s)
	return s, nil
}

func (d *dispatcher) putLocked(s *slot) {
	s.state, s.ok, s.value = slotFree, false, safejs.Undefined()
	d.free = append(d.free, s)
}

// errGone is what wait returns when the device's gone channel closed first; callers turn it
// into their disconnect error.
var errGone = errors.New("webusb: device gone")

// wait attaches the slot's callbacks to promise p and blocks until p settles, ctx is done or
// gone is closed (gone may be nil). It returns the fulfilment value with ok true, or the
// rejection reason with ok false; err is ctx.Err(), errGone, or a failure to call then().
func (d *dispatcher) wait(ctx context.Context, gone <-chan struct{}, p safejs.Value) (v safejs.Value, ok bool, err error) {
	s, err := d.get()
	if err != nil {
		return safejs.Undefined(), false, err
	}
	if _, err := p.Call("then", s.onOK, s.onFail); err != nil {
		d.mu.Lock()
		d.putLocked(s)
		d.mu.Unlock()
		return safejs.Undefined(), false, fmt.Errorf("webusb: not a promise: %w", err)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		if d.abandon(s) {
			return safejs.Undefined(), false, ctx.Err()
		}
	case <-gone:
		if d.abandon(s) {
			return safejs.Undefined(), false, errGone
		}
	}
	d.mu.Lock()
	v, ok = s.value, s.ok
	d.putLocked(s)
	d.mu.Unlock()
	return v, ok, nil
}

// abandon parks s unless its promise settled in the meantime; then it takes the token and
// reports false, and the waiter uses the result after all.
func (d *dispatcher) abandon(s *slot) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s.state == slotSettled {
		<-s.done
		return false
	}
	s.state = slotAbandoned
	d.parked++
	return true
}

// stats returns how many slots exist and how many are parked; for tests.
func (d *dispatcher) stats() (slots, parked int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.slots), d.parked
}

// Await waits until promise (or any thenable, or a plain value, as Promise.resolve takes it)
// settles and returns its value. A rejection comes back as a *DOMError with the reason's name and
// message. When ctx is done first it returns ctx.Err(); the promise keeps running, and its later
// settlement is dropped. Await makes no js.Func: see the dispatcher.
func Await(ctx context.Context, promise safejs.Value) (safejs.Value, error) {
	d, err := theDispatcher()
	if err != nil {
		return safejs.Undefined(), err
	}
	p, err := promiseResolve(promise)
	if err != nil {
		return safejs.Undefined(), err
	}
	v, ok, err := d.wait(ctx, nil, p)
	if err != nil {
		return safejs.Undefined(), err
	}
	if !ok {
		return safejs.Undefined(), domErrorFrom("", v)
	}
	return v, nil
}

// promiseResolve is Promise.resolve(v).
func promiseResolve(v safejs.Value) (safejs.Value, error) {
	promise, err := safejs.Global().Get("Promise")
	if err != nil {
		return safejs.Undefined(), err
	}
	p, err := promise.Call("resolve", v)
	if err != nil {
		return safejs.Undefined(), fmt.Errorf("webusb: Promise.resolve: %w", err)
	}
	return p, nil
}
