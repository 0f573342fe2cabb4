//go:build js && wasm

package fakeusb

import (
	"context"
	"errors"
	"fmt"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic"
)

// The USBDevice methods. Each runs on the JS event loop: it does Chromium's synchronous checks
// under d.mu, then hands the device work to a goroutine (state changes) or to the endpoint's
// queue (transfers), both started only after the call has returned (USB.later), and returns the
// promise at once.

// errAborted settles queued transfers that a close, release, alternate setting change,
// configuration change or reset cancelled before they started.
var errAborted = errors.New("fakeusb: transfer aborted")

// check failures, in Chromium's order (usb_device.cc Ensure*).

func (d *Device) noDeviceChangeLocked() *failure {
	if d.gone {
		return &failure{"NotFoundError", MsgDisconnected}
	}
	if d.deviceChange {
		return &failure{"InvalidStateError", MsgDeviceChange}
	}
	return nil
}

func (d *Device) noDeviceOrInterfaceChangeLocked() *failure {
	if f := d.noDeviceChangeLocked(); f != nil {
		return f
	}
	for _, busy := range d.ifaceChange {
		if busy {
			return &failure{"InvalidStateError", MsgInterfaceChange}
		}
	}
	return nil
}

func (d *Device) configuredLocked() *failure {
	if f := d.noDeviceChangeLocked(); f != nil {
		return f
	}
	if !d.opened {
		return &failure{"InvalidStateError", MsgOpenRequired}
	}
	if d.cur == nil {
		return &failure{"InvalidStateError", MsgNotConfigured}
	}
	return nil
}

func (d *Device) claimedLocked(n uint8) *failure {
	if f := d.configuredLocked(); f != nil {
		return f
	}
	if d.cur.ifaces[n] == nil {
		return &failure{"NotFoundError", MsgInterfaceNotFound}
	}
	if d.ifaceChange[n] {
		return &failure{"InvalidStateError", MsgInterfaceChange}
	}
	if !d.claimed[n] {
		return &failure{"InvalidStateError", MsgNotClaimed}
	}
	return nil
}

func (d *Device) endpointLocked(in bool, ep int) *failure {
	if f := d.configuredLocked(); f != nil {
		return f
	}
	if ep <= 0 || ep >= 16 {
		return &failure{"IndexSizeError", "The specified endpoint number is out of range."}
	}
	for _, it := range d.cur.cfg.Interfaces {
		if !d.claimed[it.Number] || d.ifaceChange[it.Number] {
			continue
		}
		for _, a := range it.Alternates {
			if a.Alternate != d.alts[it.Number] {
				continue
			}
			for _, e := range a.Endpoints {
				if int(e.Address&0x0F) == ep && e.In() == in {
					return nil
				}
			}
		}
	}
	return &failure{"NotFoundError", "The specified endpoint is not part of a claimed and selected alternate interface."}
}

// async runs a state change on its own goroutine: do talks to the transport (or fails as
// injected), after updates the state under d.mu, then the promise settles. Called with d.mu held.
func (d *Device) asyncLocked(method string, do func(ctx context.Context) error, after func(err error)) safejs.Value {
	if f, ok := d.takeFailureLocked(method); ok {
		do = func(context.Context) error { return injected(f) }
	}
	id, p, err := d.beginLocked()
	if err != nil {
		return d.reject("UnknownError", err.Error())
	}
	d.u.later(func() {
		err := do(d.ctx)
		d.mu.Lock()
		after(err)
		d.syncLocked()
		d.mu.Unlock()
		d.settle(id, nil, err, method)
	})
	return p
}

// queue is one endpoint's transfers: they run one at a time in submission order, as a host
// controller runs an endpoint's queue. key: 0 for the control endpoint, the endpoint number for
// OUT, 16 + number for IN.
type queue struct {
	items   []*transfer
	running bool
	scratch []byte // IN buffer of the running transfer; only the worker touches it
}

type transfer struct {
	id     uint64
	method string
	// run does the transfer; an IN transfer takes its buffer from scratch, which the queue
	// keeps from one transfer to the next (the result is copied into JS before run returns).
	run func(ctx context.Context, scratch *[]byte) (any, error)
}

// buffer returns (*scratch)[:n], growing it when needed.
func buffer(scratch *[]byte, n int) []byte {
	if cap(*scratch) < n {
		*scratch = make([]byte, n)
	}
	return (*scratch)[:n]
}

func inKey(ep int) int { return 16 + ep }

// enqueueLocked queues a transfer on its endpoint, starting the endpoint's worker when idle.
func (d *Device) enqueueLocked(key int, method string, run func(ctx context.Context, scratch *[]byte) (any, error)) safejs.Value {
	if f, ok := d.takeFailureLocked(method); ok {
		run = func(context.Context, *[]byte) (any, error) { return nil, injected(f) }
	}
	id, p, err := d.beginLocked()
	if err != nil {
		return d.reject("UnknownError", err.Error())
	}
	q := d.queues[key]
	if q == nil {
		q = &queue{}
		d.queues[key] = q
	}
	q.items = append(q.items, &transfer{id: id, method: method, run: run})
	if !q.running {
		q.running = true
		d.u.later(func() { d.work(q) })
	}
	return p
}

func (d *Device) work(q *queue) {
	for {
		d.mu.Lock()
		if len(q.items) == 0 || d.gone {
			q.running = false
			d.mu.Unlock()
			return
		}
		t := q.items[0]
		q.items = q.items[1:]
		d.mu.Unlock()
		v, err := t.run(d.ctx, &q.scratch)
		d.settle(t.id, v, err, t.method)
	}
}

// abortLocked takes the queued transfers of the endpoints keep selects out of their queues and
// returns their ids; the caller settles them with errAborted after unlocking. The transfer a
// worker is running is aborted by the transport itself (sim aborts on close, release, SET_INTERFACE,
// SET_CONFIGURATION and reset).
func (d *Device) abortLocked(selects func(key int) bool) []uint64 {
	var ids []uint64
	for key, q := range d.queues {
		if !selects(key) {
			continue
		}
		for _, t := range q.items {
			ids = append(ids, t.id)
		}
		q.items = nil
	}
	return ids
}

func (d *Device) settleAborted(ids []uint64) {
	for _, id := range ids {
		d.settle(id, nil, errAborted, "transfer")
	}
}

func all(int) bool { return true }

// interfaceKeys selects the endpoint queues of every alternate setting of interface n.
func (d *Device) interfaceKeys(n uint8) func(int) bool {
	keys := map[int]bool{}
	if d.cur != nil {
		if it := d.cur.cfg.Interface(n); it != nil {
			for _, a := range it.Alternates {
				for _, e := range a.Endpoints {
					k := int(e.Address & 0x0F)
					if e.In() {
						k = inKey(k)
					}
					keys[k] = true
				}
			}
		}
	}
	return func(k int) bool { return keys[k] }
}

// arg returns args[i] as an integer, or -1 when it is missing or not a number.
func arg(args []safejs.Value, i int) int {
	if i >= len(args) || args[i].Type() != safejs.TypeNumber {
		return -1
	}
	n, err := args[i].Int()
	if err != nil {
		return -1
	}
	return n
}

func (d *Device) fail(f *failure) safejs.Value { return d.reject(f.name, f.message) }

func (d *Device) open([]safejs.Value) safejs.Value {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.noDeviceOrInterfaceChangeLocked(); f != nil {
		return d.fail(f)
	}
	if d.opened {
		return d.u.resolved(safejs.Undefined())
	}
	d.deviceChange = true
	return d.asyncLocked("open", d.t.Open, func(err error) {
		d.deviceChange = false
		d.opened = err == nil
	})
}

func (d *Device) close([]safejs.Value) safejs.Value {
	d.mu.Lock()
	if f := d.noDeviceOrInterfaceChangeLocked(); f != nil {
		d.mu.Unlock()
		return d.fail(f)
	}
	if !d.opened {
		d.mu.Unlock()
		return d.u.resolved(safejs.Undefined())
	}
	d.deviceChange = true
	aborted := d.abortLocked(all)
	p := d.asyncLocked("close", d.t.Close, func(error) {
		// Chromium marks the device closed whatever the OS said.
		d.deviceChange, d.opened = false, false
		clear(d.claimed)
		clear(d.alts)
	})
	d.mu.Unlock()
	d.settleAborted(aborted)
	return p
}

// forget revokes the permission; the device stays plugged in.
func (d *Device) forget([]safejs.Value) safejs.Value {
	d.mu.Lock()
	d.perm = false
	d.mu.Unlock()
	return d.u.resolved(safejs.Undefined())
}

func (d *Device) reset([]safejs.Value) safejs.Value {
	d.mu.Lock()
	if f := d.noDeviceOrInterfaceChangeLocked(); f != nil {
		d.mu.Unlock()
		return d.fail(f)
	}
	if !d.opened {
		d.mu.Unlock()
		return d.reject("InvalidStateError", MsgOpenRequired)
	}
	aborted := d.abortLocked(all)
	p := d.asyncLocked("reset", d.t.Reset, func(error) {})
	d.mu.Unlock()
	d.settleAborted(aborted)
	return p
}

func (d *Device) selectConfiguration(args []safejs.Value) safejs.Value {
	v := arg(args, 0)
	d.mu.Lock()
	if f := d.noDeviceOrInterfaceChangeLocked(); f != nil {
		d.mu.Unlock()
		return d.fail(f)
	}
	if !d.opened {
		d.mu.Unlock()
		return d.reject("InvalidStateError", MsgOpenRequired)
	}
	c := d.config(uint8(v))
	if v < 0 || v > 255 || c == nil {
		d.mu.Unlock()
		return d.reject("NotFoundError", "The configuration value provided is not supported by the device.")
	}
	if c == d.cur {
		d.mu.Unlock()
		return d.u.resolved(safejs.Undefined())
	}
	d.deviceChange = true
	aborted := d.abortLocked(all)
	p := d.asyncLocked("selectConfiguration", func(ctx context.Context) error {
		return d.t.SelectConfiguration(ctx, uint8(v))
	}, func(err error) {
		d.deviceChange = false
		if err == nil {
			d.cur = c
			clear(d.claimed)
			clear(d.alts)
		}
	})
	d.mu.Unlock()
	d.settleAborted(aborted)
	return p
}

func (d *Device) claimInterface(args []safejs.Value) safejs.Value {
	n := arg(args, 0)
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.configuredLocked(); f != nil {
		return d.fail(f)
	}
	it := d.cur.cfg.Interface(uint8(n))
	if n < 0 || n > 255 || it == nil {
		return d.reject("NotFoundError", MsgInterfaceNotFound)
	}
	num := uint8(n)
	if d.ifaceChange[num] {
		return d.reject("InvalidStateError", MsgInterfaceChange)
	}
	if d.claimed[num] {
		return d.u.resolved(safejs.Undefined())
	}
	for _, a := range it.Alternates {
		if protectedClass(a.Class) {
			return d.reject("SecurityError", MsgProtectedClass)
		}
	}
	d.ifaceChange[num] = true
	return d.asyncLocked("claimInterface", func(ctx context.Context) error {
		return d.t.ClaimInterface(ctx, num)
	}, func(err error) {
		d.ifaceChange[num] = false
		d.claimed[num] = err == nil
	})
}

// protectedClass: the classes Chromium never lets a page claim (specs/usbnic.md §6.1).
func protectedClass(c uint8) bool {
	switch c {
	case 0x01, 0x03, 0x08, 0x0B, 0x0E, 0x10, 0xE0:
		return true
	}
	return false
}

func (d *Device) releaseInterface(args []safejs.Value) safejs.Value {
	n := arg(args, 0)
	d.mu.Lock()
	if f := d.configuredLocked(); f != nil {
		d.mu.Unlock()
		return d.fail(f)
	}
	if n < 0 || n > 255 || d.cur.ifaces[uint8(n)] == nil {
		d.mu.Unlock()
		return d.reject("NotFoundError", MsgInterfaceNotFound)
	}
	num := uint8(n)
	if d.ifaceChange[num] {
		d.mu.Unlock()
		return d.reject("InvalidStateError", MsgInterfaceChange)
	}
	if !d.claimed[num] {
		d.mu.Unlock()
		return d.u.resolved(safejs.Undefined())
	}
	d.ifaceChange[num] = true
	aborted := d.abortLocked(d.interfaceKeys(num))
	p := d.asyncLocked("releaseInterface", func(ctx context.Context) error {
		return d.t.ReleaseInterface(ctx, num)
	}, func(err error) {
		d.ifaceChange[num] = false
		if err == nil {
			d.claimed[num] = false
			d.alts[num] = 0
		}
	})
	d.mu.Unlock()
	d.settleAborted(aborted)
	return p
}

func (d *Device) selectAlternateInterface(args []safejs.Value) safejs.Value {
	n, alt := arg(args, 0), arg(args, 1)
	d.mu.Lock()
	if n < 0 || n > 255 {
		d.mu.Unlock()
		return d.reject("NotFoundError", MsgInterfaceNotFound)
	}
	num := uint8(n)
	if f := d.claimedLocked(num); f != nil {
		d.mu.Unlock()
		return d.fail(f)
	}
	if _, ok := d.cur.ifaces[num].alts[uint8(alt)]; alt < 0 || alt > 255 || !ok {
		d.mu.Unlock()
		return d.reject("NotFoundError", "The alternate setting provided is not supported by the device in its current configuration.")
	}
	d.ifaceChange[num] = true
	aborted := d.abortLocked(d.interfaceKeys(num))
	p := d.asyncLocked("selectAlternateInterface", func(ctx context.Context) error {
		return d.t.SelectAlternate(ctx, num, uint8(alt))
	}, func(err error) {
		d.ifaceChange[num] = false
		if err == nil {
			d.alts[num] = uint8(alt)
		}
	})
	d.mu.Unlock()
	d.settleAborted(aborted)
	return p
}

// Transfers.

var requestTypes = []string{"standard", "class", "vendor"}
var recipients = []string{"device", "interface", "endpoint", "other"}

// parseSetup reads a USBControlTransferParameters dictionary; a bad one is a TypeError, as the
// bindings throw it.
func parseSetup(v safejs.Value) (usbnic.Setup, error) {
	var s usbnic.Setup
	if v.Type() != safejs.TypeObject {
		return s, errors.New("Failed to execute 'controlTransferIn' on 'USBDevice': parameter 1 is not of type 'USBControlTransferParameters'.")
	}
	enum := func(name, typ string, values []string) (int, error) {
		p, err := v.Get(name)
		if err == nil && p.Type() == safejs.TypeString {
			str, _ := p.String()
			for i, w := range values {
				if w == str {
					return i, nil
				}
			}
		}
		return 0, fmt.Errorf("Failed to read the '%s' property from 'USBControlTransferParameters': not a valid enum value of type %s.", name, typ)
	}
	num := func(name string, limit int) (int, error) {
		p, err := v.Get(name)
		if err == nil && p.Type() == safejs.TypeNumber {
			n, _ := p.Int()
			if n >= 0 && n <= limit {
				return n, nil
			}
		}
		return 0, fmt.Errorf("Failed to read the '%s' property from 'USBControlTransferParameters': missing or outside [0, %d].", name, limit)
	}
	rt, err := enum("requestType", "USBRequestType", requestTypes)
	if err != nil {
		return s, err
	}
	rc, err := enum("recipient", "USBRecipient", recipients)
	if err != nil {
		return s, err
	}
	req, err := num("request", 0xFF)
	if err != nil {
		return s, err
	}
	val, err := num("value", 0xFFFF)
	if err != nil {
		return s, err
	}
	idx, err := num("index", 0xFFFF)
	if err != nil {
		return s, err
	}
	return usbnic.Setup{Type: usbnic.RequestType(rt), Recipient: usbnic.Recipient(rc), Request: uint8(req), Value: uint16(val), Index: uint16(idx)}, nil
}

// controlChecksLocked: an open device with no state change in progress, and the recipient's
// interface claimed or endpoint available.
func (d *Device) controlChecksLocked(s usbnic.Setup) *failure {
	if f := d.noDeviceOrInterfaceChangeLocked(); f != nil {
		return f
	}
	if !d.opened {
		return &failure{"InvalidStateError", MsgOpenRequired}
	}
	switch s.Recipient {
	case usbnic.ToInterface:
		return d.claimedLocked(uint8(s.Index))
	case usbnic.ToEndpoint:
		return d.endpointLocked(s.Index&0x80 != 0, int(s.Index&0x0F))
	}
	return nil
}

func (d *Device) controlTransferIn(args []safejs.Value) safejs.Value {
	if len(args) < 2 {
		return d.u.rejected(d.u.typeError("controlTransferIn needs a setup and a length."))
	}
	s, err := parseSetup(args[0])
	if err != nil {
		return d.u.rejected(d.u.typeError(err.Error()))
	}
	length := arg(args, 1)
	if length < 0 {
		return d.u.rejected(d.u.typeError("controlTransferIn: the length is not a number."))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.controlChecksLocked(s); f != nil {
		return d.fail(f)
	}
	return d.enqueueLocked(0, "controlTransferIn", func(ctx context.Context, scratch *[]byte) (any, error) {
		buf := buffer(scratch, length)
		n, st, err := d.t.ControlIn(ctx, s, buf)
		if err != nil {
			return nil, err
		}
		return d.inResult(st, buf[:n])
	})
}

func (d *Device) controlTransferOut(args []safejs.Value) safejs.Value {
	if len(args) < 1 {
		return d.u.rejected(d.u.typeError("controlTransferOut needs a setup."))
	}
	s, err := parseSetup(args[0])
	if err != nil {
		return d.u.rejected(d.u.typeError(err.Error()))
	}
	var data []byte
	if len(args) > 1 && !args[1].IsUndefined() {
		if data, err = d.u.copyBuffer(args[1]); err != nil {
			return d.u.rejected(d.u.typeError(err.Error()))
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.controlChecksLocked(s); f != nil {
		return d.fail(f)
	}
	return d.enqueueLocked(0, "controlTransferOut", func(ctx context.Context, _ *[]byte) (any, error) {
		st, err := d.t.ControlOut(ctx, s, data)
		if err != nil {
			return nil, err
		}
		return d.outResult(st, len(data))
	})
}

func (d *Device) transferIn(args []safejs.Value) safejs.Value {
	ep, length := arg(args, 0), arg(args, 1)
	if length < 0 {
		return d.u.rejected(d.u.typeError("transferIn: the length is not a number."))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.endpointLocked(true, ep); f != nil {
		return d.fail(f)
	}
	return d.enqueueLocked(inKey(ep), "transferIn", func(ctx context.Context, scratch *[]byte) (any, error) {
		buf := buffer(scratch, length)
		n, st, err := d.t.TransferIn(ctx, 0x80|uint8(ep), buf)
		if err != nil {
			return nil, err
		}
		return d.inResult(st, buf[:n])
	})
}

func (d *Device) transferOut(args []safejs.Value) safejs.Value {
	ep := arg(args, 0)
	if len(args) < 2 {
		return d.u.rejected(d.u.typeError("transferOut needs an endpoint and data."))
	}
	// The data is copied now, during the call, as Chromium copies it.
	data, err := d.u.copyBuffer(args[1])
	if err != nil {
		return d.u.rejected(d.u.typeError(err.Error()))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.endpointLocked(false, ep); f != nil {
		return d.fail(f)
	}
	return d.enqueueLocked(ep, "transferOut", func(ctx context.Context, _ *[]byte) (any, error) {
		_, st, err := d.t.TransferOut(ctx, uint8(ep), data)
		if err != nil {
			return nil, err
		}
		return d.outResult(st, len(data))
	})
}

func (d *Device) clearHalt(args []safejs.Value) safejs.Value {
	in := false
	if len(args) > 0 {
		s, _ := args[0].String()
		switch s {
		case "in":
			in = true
		case "out":
		default:
			return d.u.rejected(d.u.typeError("clearHalt: direction must be \"in\" or \"out\"."))
		}
	}
	ep := arg(args, 1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.endpointLocked(in, ep); f != nil {
		return d.fail(f)
	}
	addr := uint8(ep)
	if in {
		addr |= 0x80
	}
	return d.asyncLocked("clearHalt", func(ctx context.Context) error {
		return d.t.ClearHalt(ctx, addr)
	}, func(error) {})
}

// Results, made with Chromium's constructors.

// status returns the JS string of a transfer status.
func (u *USB) status(st usbnic.Status) safejs.Value {
	if int(st) < len(u.statuses) {
		return u.statuses[st]
	}
	return u.statuses[usbnic.StatusOK]
}

// inResult is new USBInTransferResult(status, new DataView(bytes)).
func (d *Device) inResult(st usbnic.Status, data []byte) (any, error) {
	u8, err := d.u.uint8Array.New(len(data))
	if err != nil {
		return nil, err
	}
	if _, err := safejs.CopyBytesToJS(u8, data); err != nil {
		return nil, err
	}
	buf, err := u8.Get("buffer")
	if err != nil {
		return nil, err
	}
	dv, err := d.u.dataView.New(buf)
	if err != nil {
		return nil, err
	}
	return d.u.inResult.New(d.u.status(st), dv)
}

// outResult is new USBOutTransferResult(status, bytesWritten). Like Chromium, it reports the
// length asked for: USBDevice::AsyncTransferOut passes transfer_length whatever the status.
func (d *Device) outResult(st usbnic.Status, n int) (any, error) {
	return d.u.outResult.New(d.u.status(st), n)
}

// copyBuffer copies a BufferSource (ArrayBuffer, typed array or DataView) into a new Go slice.
func (u *USB) copyBuffer(v safejs.Value) ([]byte, error) {
	view := v
	isView, err := safejs.Global().Get("ArrayBuffer")
	if err != nil {
		return nil, err
	}
	ok, err := isView.Call("isView", v)
	if err != nil {
		return nil, err
	}
	if b, _ := ok.Bool(); b {
		buf, err := v.Get("buffer")
		if err != nil {
			return nil, err
		}
		off, _ := v.Get("byteOffset")
		n, _ := v.Get("byteLength")
		if view, err = u.uint8Array.New(buf, off, n); err != nil {
			return nil, err
		}
	} else if view, err = u.uint8Array.New(v); err != nil {
		return nil, errors.New("the data is not a BufferSource")
	}
	n, err := view.Length()
	if err != nil {
		return nil, err
	}
	out := make([]byte, n)
	if _, err := safejs.CopyBytesToGo(out, view); err != nil {
		return nil, err
	}
	return out, nil
}
