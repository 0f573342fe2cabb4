//go:build js && wasm

// Package fakeusb is test support: a fake navigator.usb for headless Chromium, where no USB
// device can exist (specs/webusb.md §5.5). Its devices are usbnic.Transports bridged from Go,
// usually usbnic/sim models, so code under test meets the real JS shapes: USBDevice-like objects
// with the same fields and configuration objects, methods that return real promises, results made
// with Chromium's own USBInTransferResult and USBOutTransferResult constructors around DataViews,
// DOMExceptions with the names and messages Chromium uses, and connect and disconnect events
// dispatched on an EventTarget.
//
// It also does what Chromium's renderer does before a call reaches the device: requestDevice
// needs transient user activation and honours the filters; open is required first; overlapping
// state changes are refused; interfaces of a protected class cannot be claimed; transfers queued
// on an endpoint complete in order and are aborted by close, release, alternate setting changes
// and reset; an unplug rejects every pending call.
//
// It is built from Go functions (no JavaScript source is evaluated), so it also works under the
// page's Content-Security-Policy, which allows no eval.
package fakeusb

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic"
	"webminiport/usbnic/drivers"
)

// Messages Chromium rejects with (third_party/blink/renderer/modules/webusb/usb.cc and
// usb_device.cc).
const (
	MsgDisconnected       = "The device was disconnected."
	MsgNoDeviceSelected   = "No device selected."
	MsgUserGesture        = "Must be handling a user gesture to show a permission request."
	MsgOpenRequired       = "The device must be opened first."
	MsgNotConfigured      = "The device must have a configuration selected."
	MsgDeviceChange       = "An operation that changes the device state is in progress."
	MsgInterfaceChange    = "An operation that changes interface state is in progress."
	MsgInterfaceNotFound  = "The interface number provided is not supported by the device in its current configuration."
	MsgNotClaimed         = "The specified interface has not been claimed."
	MsgProtectedClass     = "The requested interface implements a protected class."
	MsgClaimFailed        = "Unable to claim interface."
	MsgAccessDenied       = "Access denied."
	MsgTransferError      = "A transfer error has occurred."
	MsgTransferCancelled  = "The transfer was cancelled."
	MsgConfigurationError = "Unable to set device configuration."
)

// USB is the fake navigator.usb.
type USB struct {
	js    safejs.Value // an EventTarget with requestDevice and getDevices
	funcs []safejs.Func

	ctx    context.Context // cancelled by Close: ends every device's goroutines
	cancel context.CancelFunc

	// Constructors and values the devices use.
	promise, object, array, uint8Array, dataView safejs.Value
	inResult, outResult, domException, event     safejs.Value
	statuses                                     [3]safejs.Value // "ok", "stall", "babble" by usbnic.Status

	// Device work starts in a microtask after the JS call that asked for it has returned, as
	// Chromium answers in a later task: a goroutine started inside the call would run to the
	// end before the call returned (Go runs every goroutine a callback wakes before returning
	// to JavaScript), and an open() would be over before a claimInterface() made right after it
	// could see it in progress.
	kick           safejs.Func
	queueMicrotask safejs.Value
	deferMu        sync.Mutex
	deferred       []func()
	kickQueued     bool // a microtask will call kick
	kickReleased   bool // Close left kick to release itself when that microtask runs

	mu         sync.Mutex
	devices    []*Device // plugged in, in plug order
	all        []*Device // every device ever plugged, for Close
	chooser    func(candidates []*Device) *Device
	activation func() bool
	requests   [][]drivers.Filter
	closed     bool
}

// New makes a fake navigator.usb with no devices. Pass JS() to webusb.New.
func New() (*USB, error) {
	u := &USB{chooser: firstCandidate}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	u.activation = u.userActivation
	var err error
	get := func(name string) safejs.Value {
		if err != nil {
			return safejs.Undefined()
		}
		var v safejs.Value
		if v, err = safejs.Global().Get(name); err == nil && v.Type() != safejs.TypeFunction {
			err = fmt.Errorf("fakeusb: this browser has no %s constructor", name)
		}
		return v
	}
	u.promise, u.object, u.array = get("Promise"), get("Object"), get("Array")
	u.uint8Array, u.dataView = get("Uint8Array"), get("DataView")
	u.inResult, u.outResult = get("USBInTransferResult"), get("USBOutTransferResult")
	u.domException, u.event = get("DOMException"), get("Event")
	target := get("EventTarget")
	u.queueMicrotask = get("queueMicrotask")
	if err != nil {
		return nil, err
	}
	// Made once: a string handed to JavaScript is a new reference each time (see pending).
	for st, name := range []string{usbnic.StatusOK: "ok", usbnic.StatusStall: "stall", usbnic.StatusBabble: "babble"} {
		if u.statuses[st], err = safejs.ValueOf(name); err != nil {
			return nil, fmt.Errorf("fakeusb: %w", err)
		}
	}
	if u.kick, err = safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		u.deferMu.Lock()
		fns := u.deferred
		u.deferred, u.kickQueued = nil, false
		if u.kickReleased {
			u.kick.Release() // allowed while it runs; its microtask was the last call
			fns = nil        // the fake is closed
		}
		u.deferMu.Unlock()
		for _, fn := range fns {
			go fn()
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("fakeusb: %w", err)
	}

	if u.js, err = target.New(); err != nil {
		return nil, fmt.Errorf("fakeusb: new EventTarget: %w", err)
	}
	if err := u.method(u.js, "requestDevice", u.requestDevice); err != nil {
		u.Close()
		return nil, err
	}
	if err := u.method(u.js, "getDevices", u.getDevices); err != nil {
		u.Close()
		return nil, err
	}
	return u, nil
}

// later runs fn on its own goroutine once the current JS call has returned.
func (u *USB) later(fn func()) {
	u.deferMu.Lock()
	defer u.deferMu.Unlock()
	if u.kickReleased {
		return // closed
	}
	u.deferred = append(u.deferred, fn)
	if !u.kickQueued {
		u.kickQueued = true
		_, _ = u.queueMicrotask.Invoke(u.kick)
	}
}

// JS returns the object standing in for navigator.usb.
func (u *USB) JS() safejs.Value { return u.js }

// method sets obj[name] to a Go function returning a promise, and keeps the function for Close.
func (u *USB) method(obj safejs.Value, name string, fn func(args []safejs.Value) safejs.Value) error {
	f, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any { return fn(args) })
	if err != nil {
		return fmt.Errorf("fakeusb: %s: %w", name, err)
	}
	u.mu.Lock()
	u.funcs = append(u.funcs, f)
	u.mu.Unlock()
	if err := obj.Set(name, f.Value()); err != nil {
		return fmt.Errorf("fakeusb: setting %s: %w", name, err)
	}
	return nil
}

// Close unplugs every device without events, stops the fake's goroutines and releases its
// functions; calling the fake's methods afterwards from JavaScript is an error. Closing twice
// does nothing.
func (u *USB) Close() {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return
	}
	u.closed = true
	all := u.all
	u.devices, u.all = nil, nil
	funcs := u.funcs
	u.funcs = nil
	u.mu.Unlock()
	u.cancel()
	for _, d := range all {
		d.unplug(false)
	}
	for _, f := range funcs {
		f.Release()
	}
	// kick goes now, or, when a microtask is still to call it, from inside that call.
	u.deferMu.Lock()
	u.kickReleased = true
	if !u.kickQueued {
		u.kick.Release()
	}
	u.deferMu.Unlock()
}

// SetChooser replaces the device chooser. It gets the plugged devices that match the filters of
// a requestDevice call, in plug order, and returns the one the "user" picks, or nil to cancel.
// The default picks the first.
func (u *USB) SetChooser(choose func(candidates []*Device) *Device) {
	u.mu.Lock()
	u.chooser = choose
	u.mu.Unlock()
}

func firstCandidate(c []*Device) *Device {
	if len(c) == 0 {
		return nil
	}
	return c[0]
}

// SetActivation replaces the transient-user-activation check of requestDevice.
func (u *USB) SetActivation(active func() bool) {
	u.mu.Lock()
	u.activation = active
	u.mu.Unlock()
}

// userActivation is the default activation check: navigator.userActivation.isActive, which a
// real click gives; or an ongoing dispatch of a click event (window.event), which is what a
// test's element.click() gives. Chromium grants no activation to synthetic clicks, so the second
// rule stands in for the user; it ends with the dispatch, which is what matters: a
// requestDevice made after an await fails here as it fails in Chromium.
func (u *USB) userActivation() bool {
	g := safejs.Global()
	if nav, err := g.Get("navigator"); err == nil {
		if ua, err := nav.Get("userActivation"); err == nil && ua.Type() == safejs.TypeObject {
			if a, err := ua.Get("isActive"); err == nil {
				if b, err := a.Bool(); err == nil && b {
					return true
				}
			}
		}
	}
	ev, err := g.Get("event")
	if err != nil || ev.Type() != safejs.TypeObject {
		return false
	}
	t, err := ev.Get("type")
	if err != nil {
		return false
	}
	s, _ := t.String()
	return s == "click"
}

// Requests returns the filter lists requestDevice was called with, oldest first.
func (u *USB) Requests() [][]drivers.Filter {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([][]drivers.Filter(nil), u.requests...)
}

// Devices returns the devices plugged in now, in plug order.
func (u *USB) Devices() []*Device {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*Device(nil), u.devices...)
}

// requestDevice is USB.requestDevice(options): activation, filter validation, chooser.
func (u *USB) requestDevice(args []safejs.Value) safejs.Value {
	u.mu.Lock()
	active, choose := u.activation, u.chooser
	u.mu.Unlock()
	if !active() {
		return u.rejected(u.domError("SecurityError", MsgUserGesture))
	}
	var opts safejs.Value
	if len(args) > 0 {
		opts = args[0]
	}
	filters, err := parseFilters(opts)
	if err != nil {
		return u.rejected(u.typeError(err.Error()))
	}
	u.mu.Lock()
	u.requests = append(u.requests, filters)
	var candidates []*Device
	for _, d := range u.devices {
		if len(filters) == 0 || d.matchesAny(filters) {
			candidates = append(candidates, d)
		}
	}
	u.mu.Unlock()
	d := choose(candidates)
	if d == nil {
		return u.rejected(u.domError("NotFoundError", MsgNoDeviceSelected))
	}
	d.Grant()
	return u.resolved(d.js)
}

// getDevices is USB.getDevices(): the granted devices plugged in now.
func (u *USB) getDevices([]safejs.Value) safejs.Value {
	u.mu.Lock()
	var list []any
	for _, d := range u.devices {
		if d.granted() {
			list = append(list, d.js)
		}
	}
	u.mu.Unlock()
	arr, err := u.array.New(len(list))
	if err != nil {
		return u.rejected(u.domError("UnknownError", err.Error()))
	}
	for i, v := range list {
		_ = arr.SetIndex(i, v)
	}
	return u.resolved(arr)
}

// Plug attaches t as a new device and returns it. A granted device (WithPermission, or Grant
// later) is announced with a "connect" event, as Chromium announces only devices the origin may
// use. The device is unplugged when t's Disconnected channel closes (a sim device's RemoveNow or
// FaultRemove), or by Unplug.
func (u *USB) Plug(t usbnic.Transport, opts ...DeviceOption) (*Device, error) {
	d, err := newDevice(u, t, opts)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		d.releaseFuncs()
		return nil, errors.New("fakeusb: Plug after Close")
	}
	u.devices = append(u.devices, d)
	u.all = append(u.all, d)
	u.mu.Unlock()
	go func() {
		select {
		case <-t.Disconnected():
			d.Unplug()
		case <-d.ctx.Done():
		}
	}()
	if d.granted() {
		u.dispatch("connect", d)
	}
	return d, nil
}

// unplugged drops d from the plugged list; it reports whether d was in it.
func (u *USB) unplugged(d *Device) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, o := range u.devices {
		if o == d {
			u.devices = append(u.devices[:i], u.devices[i+1:]...)
			return true
		}
	}
	return false
}

// dispatch fires a connect or disconnect event carrying d, as a USBConnectionEvent would (an
// Event with a device property: the USBConnectionEvent constructor accepts only real devices).
// No lock is held: listeners may call back into the fake.
func (u *USB) dispatch(typ string, d *Device) {
	ev, err := u.event.New(typ)
	if err != nil {
		return
	}
	if err := ev.Set("device", d.js); err != nil {
		return
	}
	_, _ = u.js.Call("dispatchEvent", ev)
}

// domError makes a DOMException.
func (u *USB) domError(name, message string) safejs.Value {
	e, err := u.domException.New(message, name)
	if err != nil {
		return safejs.Null()
	}
	return e
}

func (u *USB) typeError(message string) safejs.Value {
	ctor, err := safejs.Global().Get("TypeError")
	if err != nil {
		return safejs.Null()
	}
	e, err := ctor.New(message)
	if err != nil {
		return safejs.Null()
	}
	return e
}

func (u *USB) rejected(reason safejs.Value) safejs.Value {
	p, err := u.promise.Call("reject", reason)
	if err != nil {
		return safejs.Undefined()
	}
	return p
}

func (u *USB) resolved(v safejs.Value) safejs.Value {
	p, err := u.promise.Call("resolve", v)
	if err != nil {
		return safejs.Undefined()
	}
	return p
}

// pending is a promise a call returned, with what settles it: the object Promise.withResolvers
// gives, whose resolve and reject are called as its methods.
//
// Every JavaScript object or string that reaches Go is a reference the runtime tracks with a
// finalizer, and under a flood the fake makes several for every transfer: the more of them, the
// longer each runtime.SetFinalizer takes (it walks a list per memory span), and the page
// benchmark measures the fake as much as the driver. So the fake keeps only the two it cannot
// do without, instead of also taking resolve and reject out.
type pending struct {
	resolvers safejs.Value
}

// newPromise returns a new pending promise and the promise itself.
func (u *USB) newPromise() (pending, safejs.Value, error) {
	r, err := u.promise.Call("withResolvers")
	if err != nil {
		return pending{}, safejs.Undefined(), fmt.Errorf("fakeusb: Promise.withResolvers: %w", err)
	}
	p, err := r.Get("promise")
	if err != nil {
		return pending{}, safejs.Undefined(), fmt.Errorf("fakeusb: Promise.withResolvers: %w", err)
	}
	return pending{resolvers: r}, p, nil
}

func (p pending) resolve(v any) { _, _ = p.resolvers.Call("resolve", v) }

func (p pending) reject(reason safejs.Value) { _, _ = p.resolvers.Call("reject", reason) }
