//go:build js && wasm

package fakeusb

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
)

// DeviceOption configures a device at Plug.
type DeviceOption func(*deviceOptions)

type deviceOptions struct {
	manufacturer, product, serial string
	granted                       bool
}

// WithStrings sets manufacturerName, productName and serialNumber ("" gives null).
func WithStrings(manufacturer, product, serial string) DeviceOption {
	return func(o *deviceOptions) { o.manufacturer, o.product, o.serial = manufacturer, product, serial }
}

// WithPermission plugs in a device this origin was granted before: getDevices returns it and its
// plug is announced with a "connect" event.
func WithPermission() DeviceOption { return func(o *deviceOptions) { o.granted = true } }

// Device is one fake USBDevice.
type Device struct {
	u     *USB
	t     usbnic.Transport
	js    safejs.Value
	funcs []safejs.Func

	desc    usbnic.DeviceDesc
	configs []*config

	ctx    context.Context // cancelled at unplug: ends the transport calls in flight
	cancel context.CancelFunc

	mu           sync.Mutex
	perm         bool
	gone         bool
	opened       bool
	cur          *config // nil while unconfigured
	deviceChange bool
	ifaceChange  map[uint8]bool
	claimed      map[uint8]bool
	alts         map[uint8]uint8
	pending      map[uint64]pending
	nextID       uint64
	failNext     map[string][]failure
	queues       map[int]*queue
}

type failure struct{ name, message string }

func newDevice(u *USB, t usbnic.Transport, opts []DeviceOption) (*Device, error) {
	var o deviceOptions
	for _, f := range opts {
		f(&o)
	}
	desc, err := usbnic.ParseDeviceDesc(t.DeviceDescriptor())
	if err != nil {
		return nil, fmt.Errorf("fakeusb: %w", err)
	}
	d := &Device{
		u: u, t: t, desc: desc, perm: o.granted,
		ifaceChange: map[uint8]bool{}, claimed: map[uint8]bool{}, alts: map[uint8]uint8{},
		pending: map[uint64]pending{}, failNext: map[string][]failure{}, queues: map[int]*queue{},
	}
	d.ctx, d.cancel = context.WithCancel(u.ctx)
	for i := 0; i < int(desc.NumConfigurations); i++ {
		raw, err := t.ConfigDescriptor(d.ctx, i)
		if err != nil {
			return nil, fmt.Errorf("fakeusb: configuration %d: %w", i, err)
		}
		c, err := usbnic.ParseConfig(raw)
		if err != nil {
			return nil, fmt.Errorf("fakeusb: configuration %d: %w", i, err)
		}
		oc, err := u.newConfig(c)
		if err != nil {
			return nil, err
		}
		d.configs = append(d.configs, oc)
	}
	// The host OS configured the device before the page saw it.
	d.cur = d.config(t.Configuration())
	if err := d.build(o); err != nil {
		d.releaseFuncs()
		return nil, err
	}
	return d, nil
}

// build makes the USBDevice object.
func (d *Device) build(o deviceOptions) error {
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	cfgs := make([]safejs.Value, len(d.configs))
	for i, c := range d.configs {
		cfgs[i] = c.js
	}
	arr, err := d.u.newArray(cfgs)
	if err != nil {
		return err
	}
	desc := d.desc
	if d.js, err = d.u.newObject(map[string]any{
		"usbVersionMajor":       int(desc.BcdUSB >> 8),
		"usbVersionMinor":       int(desc.BcdUSB >> 4 & 0xF),
		"usbVersionSubminor":    int(desc.BcdUSB & 0xF),
		"deviceClass":           int(desc.Class),
		"deviceSubclass":        int(desc.Subclass),
		"deviceProtocol":        int(desc.Protocol),
		"vendorId":              int(desc.VendorID),
		"productId":             int(desc.ProductID),
		"deviceVersionMajor":    int(desc.BcdDevice >> 8),
		"deviceVersionMinor":    int(desc.BcdDevice >> 4 & 0xF),
		"deviceVersionSubminor": int(desc.BcdDevice & 0xF),
		"manufacturerName":      str(o.manufacturer),
		"productName":           str(o.product),
		"serialNumber":          str(o.serial),
		"configurations":        arr,
		"opened":                false,
		"configuration":         nil,
	}); err != nil {
		return fmt.Errorf("fakeusb: USBDevice: %w", err)
	}
	methods := []struct {
		name string
		fn   func([]safejs.Value) safejs.Value
	}{
		{"open", d.open}, {"close", d.close}, {"forget", d.forget}, {"reset", d.reset},
		{"selectConfiguration", d.selectConfiguration},
		{"claimInterface", d.claimInterface}, {"releaseInterface", d.releaseInterface},
		{"selectAlternateInterface", d.selectAlternateInterface},
		{"controlTransferIn", d.controlTransferIn}, {"controlTransferOut", d.controlTransferOut},
		{"transferIn", d.transferIn}, {"transferOut", d.transferOut}, {"clearHalt", d.clearHalt},
	}
	for _, m := range methods {
		fn := m.fn
		f, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any { return fn(args) })
		if err != nil {
			return fmt.Errorf("fakeusb: %s: %w", m.name, err)
		}
		d.funcs = append(d.funcs, f)
		// Bound to null: no method uses this, and a this that is an object would be one more
		// reference for every call (see pending).
		bound, err := f.Value().Call("bind", safejs.Null())
		if err != nil {
			return fmt.Errorf("fakeusb: %s: %w", m.name, err)
		}
		if err := d.js.Set(m.name, bound); err != nil {
			return fmt.Errorf("fakeusb: %s: %w", m.name, err)
		}
	}
	d.syncLocked()
	return nil
}

func (d *Device) releaseFuncs() {
	for _, f := range d.funcs {
		f.Release()
	}
	d.funcs = nil
}

// Pending returns how many calls on the device have not settled yet.
func (d *Device) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending)
}

// JS returns the USBDevice object.
func (d *Device) JS() safejs.Value { return d.js }

// Transport returns the transport behind the device.
func (d *Device) Transport() usbnic.Transport { return d.t }

// Grant gives the origin permission for the device, as pairing it in the chooser does.
func (d *Device) Grant() {
	d.mu.Lock()
	d.perm = true
	d.mu.Unlock()
}

func (d *Device) granted() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.perm
}

// FailNext makes the next call of method (a USBDevice method name) reject with a DOMException
// of that name and message instead of reaching the device, after Chromium's own checks passed:
// how a test plays the operating system refusing (SecurityError "Access denied." from open,
// NetworkError "Unable to claim interface." from claimInterface, ...). Several queue up.
func (d *Device) FailNext(method, name, message string) {
	d.mu.Lock()
	d.failNext[method] = append(d.failNext[method], failure{name, message})
	d.mu.Unlock()
}

// takeFailure pops the next injected failure of method.
func (d *Device) takeFailureLocked(method string) (failure, bool) {
	q := d.failNext[method]
	if len(q) == 0 {
		return failure{}, false
	}
	d.failNext[method] = q[1:]
	return q[0], true
}

// Unplug pulls the device out: every pending call rejects with NotFoundError, later calls too,
// and a granted device's unplug is announced with a "disconnect" event. Unplugging twice does
// nothing.
func (d *Device) Unplug() { d.unplug(true) }

func (d *Device) unplug(announce bool) {
	d.mu.Lock()
	if d.gone {
		d.mu.Unlock()
		return
	}
	d.gone, d.opened = true, false
	pend := d.pending
	d.pending = map[uint64]pending{}
	for _, q := range d.queues {
		q.items = nil
	}
	d.syncLocked()
	perm := d.perm
	d.mu.Unlock()
	d.cancel()
	for _, p := range pend {
		p.reject(d.u.domError("NotFoundError", MsgDisconnected))
	}
	if d.u.unplugged(d) && announce && perm {
		d.u.dispatch("disconnect", d)
	}
}

// config returns the configuration with bConfigurationValue v, or nil.
func (d *Device) config(v uint8) *config {
	for _, c := range d.configs {
		if c.cfg.Value == v {
			return c
		}
	}
	return nil
}

// syncLocked mirrors the state into the object's attributes: opened, configuration, and each
// interface's claimed and alternate.
func (d *Device) syncLocked() {
	_ = d.js.Set("opened", d.opened)
	if d.cur == nil {
		_ = d.js.Set("configuration", nil)
		return
	}
	_ = d.js.Set("configuration", d.cur.js)
	for n, f := range d.cur.ifaces {
		_ = f.js.Set("claimed", d.claimed[n])
		if a, ok := f.alts[d.alts[n]]; ok {
			_ = f.js.Set("alternate", a)
		}
	}
}

// reject is a rejected promise with a DOMException.
func (d *Device) reject(name, message string) safejs.Value {
	return d.u.rejected(d.u.domError(name, message))
}

// begin registers a pending call and returns its id and promise.
func (d *Device) beginLocked() (uint64, safejs.Value, error) {
	p, promise, err := d.u.newPromise()
	if err != nil {
		return 0, safejs.Undefined(), err
	}
	d.nextID++
	d.pending[d.nextID] = p
	return d.nextID, promise, nil
}

// settle resolves (reason nil) or rejects the pending call id, unless an unplug already did.
func (d *Device) settle(id uint64, value any, reason error, method string) {
	d.mu.Lock()
	p, ok := d.pending[id]
	delete(d.pending, id)
	d.mu.Unlock()
	if !ok {
		return
	}
	if reason != nil {
		p.reject(d.domErrorFor(method, reason))
		return
	}
	p.resolve(value)
}

// domErrorFor maps a transport error to the DOMException Chromium would reject with: sim's
// errors are named after them.
func (d *Device) domErrorFor(method string, err error) safejs.Value {
	var inj injected
	switch {
	case errors.As(err, &inj):
		return d.u.domError(inj.name, inj.message)
	case errors.Is(err, usbnic.ErrDisconnected):
		return d.u.domError("NotFoundError", MsgDisconnected)
	case errors.Is(err, errAborted), errors.Is(err, sim.ErrAborted), errors.Is(err, context.Canceled):
		return d.u.domError("AbortError", MsgTransferCancelled)
	case errors.Is(err, sim.ErrClaimFailed):
		return d.u.domError("NetworkError", MsgClaimFailed)
	case errors.Is(err, sim.ErrNotFound):
		return d.u.domError("NotFoundError", err.Error())
	case errors.Is(err, sim.ErrInvalidState) && method != "selectConfiguration":
		return d.u.domError("InvalidStateError", err.Error())
	}
	// The rest failed in the operating system or on the bus: Chromium's NetworkError for the
	// method (usbfs refusing a configuration change while interfaces are held lands here).
	msg := map[string]string{
		"selectConfiguration":      MsgConfigurationError,
		"releaseInterface":         "Unable to release interface.",
		"selectAlternateInterface": "Unable to set device interface.",
		"clearHalt":                "Unable to clear endpoint.",
		"reset":                    "Unable to reset the device.",
		"open":                     MsgAccessDenied,
	}[method]
	if method == "open" {
		return d.u.domError("SecurityError", msg)
	}
	if msg == "" {
		msg = MsgTransferError
	}
	return d.u.domError("NetworkError", msg)
}

// injected is a FailNext failure travelling through settle.
type injected failure

func (e injected) Error() string { return e.name + ": " + e.message }
