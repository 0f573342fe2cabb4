//go:build js && wasm

package webusb

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic/drivers"
)

// USB is navigator.usb, or an object of the same shape (fakeusb in tests): the entry point for
// pairing, finding and watching adapters. It tracks the devices it has handed out so that each
// USBDevice is one *Device and its Disconnected channel closes on the "disconnect" event.
type USB struct {
	js safejs.Value

	// requestOptions is {filters: [...]} for requestDevice, built once from the match table.
	requestOptions safejs.Value
	// Values the transfer path uses on every call, made once (specs/webusb.md §7: fetching or
	// creating a JS object costs ~1.7 µs).
	uint8Array                safejs.Value // the Uint8Array constructor
	object                    safejs.Value // the Object constructor
	statusOK, statusStall     safejs.Value // "ok", "stall"
	statusBabble              safejs.Value // "babble"
	requestTypes              [3]safejs.Value
	recipients                [4]safejs.Value
	directionIn, directionOut safejs.Value // "in", "out"

	onConnect, onDisconnect safejs.Func

	mu       sync.Mutex
	platform Platform
	devices  []*Device // connected devices handed out, in the order seen
	watches  []*Watch
	closed   bool
}

// Navigator returns the USB for the page's navigator.usb. It fails where WebUSB does not exist:
// outside Chromium-based browsers, and outside secure contexts (https, or http on localhost).
func Navigator() (*USB, error) {
	nav, err := safejs.Global().Get("navigator")
	if err != nil {
		return nil, fmt.Errorf("webusb: no navigator: %w", err)
	}
	usb, err := nav.Get("usb")
	if err != nil || usb.Type() != safejs.TypeObject {
		return nil, errors.New("webusb: navigator.usb is missing: WebUSB exists only in Chromium-based browsers (Chrome, Edge, Opera), on https pages or http://localhost")
	}
	return New(usb)
}

// New returns the USB for usb, an object with WebUSB's USB interface (requestDevice,
// getDevices, connect and disconnect events). The platform is detected from the navigator;
// SetPlatform overrides it. Close removes the event listeners New adds.
func New(usb safejs.Value) (*USB, error) {
	for _, m := range []string{"requestDevice", "getDevices", "addEventListener", "removeEventListener"} {
		f, err := usb.Get(m)
		if err != nil || f.Type() != safejs.TypeFunction {
			return nil, fmt.Errorf("webusb: the USB object has no %s method", m)
		}
	}
	u := &USB{js: usb, platform: DetectPlatform()}
	if err := u.cacheValues(); err != nil {
		return nil, err
	}
	var err error
	if u.requestOptions, err = requestOptions(drivers.WebUSBFilters()); err != nil {
		return nil, err
	}
	if u.onConnect, err = newFunc(func(_ safejs.Value, args []safejs.Value) any {
		u.connectEvent(args)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("webusb: %w", err)
	}
	if u.onDisconnect, err = newFunc(func(_ safejs.Value, args []safejs.Value) any {
		u.disconnectEvent(args)
		return nil
	}); err != nil {
		releaseFunc(u.onConnect)
		return nil, fmt.Errorf("webusb: %w", err)
	}
	if _, err := usb.Call("addEventListener", "connect", u.onConnect); err != nil {
		u.release()
		return nil, thrown(`addEventListener("connect")`, err)
	}
	if _, err := usb.Call("addEventListener", "disconnect", u.onDisconnect); err != nil {
		_, _ = usb.Call("removeEventListener", "connect", u.onConnect)
		u.release()
		return nil, thrown(`addEventListener("disconnect")`, err)
	}
	return u, nil
}

func (u *USB) cacheValues() error {
	var err error
	get := func(name string) safejs.Value {
		if err != nil {
			return safejs.Undefined()
		}
		var v safejs.Value
		v, err = safejs.Global().Get(name)
		return v
	}
	str := func(s string) safejs.Value {
		if err != nil {
			return safejs.Undefined()
		}
		var v safejs.Value
		v, err = safejs.ValueOf(s)
		return v
	}
	u.uint8Array, u.object = get("Uint8Array"), get("Object")
	u.statusOK, u.statusStall, u.statusBabble = str("ok"), str("stall"), str("babble")
	u.requestTypes = [3]safejs.Value{str("standard"), str("class"), str("vendor")}
	u.recipients = [4]safejs.Value{str("device"), str("interface"), str("endpoint"), str("other")}
	u.directionIn, u.directionOut = str("in"), str("out")
	if err != nil {
		return fmt.Errorf("webusb: %w", err)
	}
	return nil
}

func (u *USB) release() {
	releaseFunc(u.onConnect)
	releaseFunc(u.onDisconnect)
}

// Close removes the connect and disconnect listeners and releases their functions. Devices
// handed out keep working, but their Disconnected channels no longer close on unplug; Watch
// callbacks stop. Closing twice does nothing.
func (u *USB) Close() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	u.closed = true
	u.watches = nil
	u.mu.Unlock()
	_, err1 := u.js.Call("removeEventListener", "connect", u.onConnect)
	_, err2 := u.js.Call("removeEventListener", "disconnect", u.onDisconnect)
	u.release()
	return errors.Join(err1, err2)
}

// Platform returns the platform the fix messages are written for.
func (u *USB) Platform() Platform {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.platform
}

// SetPlatform overrides the detected platform (for tests, or a page that lets the user say).
func (u *USB) SetPlatform(p Platform) {
	u.mu.Lock()
	u.platform = p
	u.mu.Unlock()
}

// requestOptions builds {filters: [...]} from the match table's filters.
func requestOptions(fs []drivers.Filter) (safejs.Value, error) {
	list := make([]any, 0, len(fs))
	for _, f := range fs {
		m := map[string]any{}
		if f.VendorID != nil {
			m["vendorId"] = int(*f.VendorID)
		}
		if f.ProductID != nil {
			m["productId"] = int(*f.ProductID)
		}
		if f.ClassCode != nil {
			m["classCode"] = int(*f.ClassCode)
		}
		if f.SubclassCode != nil {
			m["subclassCode"] = int(*f.SubclassCode)
		}
		if f.ProtocolCode != nil {
			m["protocolCode"] = int(*f.ProtocolCode)
		}
		list = append(list, m)
	}
	v, err := safejs.ValueOf(map[string]any{"filters": list})
	if err != nil {
		return safejs.Undefined(), fmt.Errorf("webusb: building requestDevice filters: %w", err)
	}
	return v, nil
}

// deviceFor returns the *Device of a USBDevice object, making it the first time.
func (u *USB) deviceFor(v safejs.Value) (*Device, error) {
	if d := u.lookup(v); d != nil {
		return d, nil
	}
	d, err := newDevice(u, v)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, o := range u.devices {
		if o.js.Equal(v) {
			return o, nil // another goroutine got there first
		}
	}
	u.devices = append(u.devices, d)
	return d, nil
}

func (u *USB) lookup(v safejs.Value) *Device {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, d := range u.devices {
		if d.js.Equal(v) {
			return d
		}
	}
	return nil
}

// forget drops a disconnected device: Chromium makes a new USBDevice when it comes back.
func (u *USB) forget(d *Device) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, o := range u.devices {
		if o == d {
			u.devices = append(u.devices[:i], u.devices[i+1:]...)
			return
		}
	}
}

// eventDevice returns event.device of a USBConnectionEvent.
func eventDevice(args []safejs.Value) (safejs.Value, bool) {
	if len(args) == 0 {
		return safejs.Undefined(), false
	}
	v, err := args[0].Get("device")
	if err != nil || v.Type() != safejs.TypeObject {
		return safejs.Undefined(), false
	}
	return v, true
}

func (u *USB) connectEvent(args []safejs.Value) {
	v, ok := eventDevice(args)
	if !ok {
		return
	}
	d, err := u.deviceFor(v)
	if err != nil {
		return // not an adapter we can describe; nobody to tell
	}
	for _, w := range u.watchers() {
		if w.onConnect != nil {
			w.onConnect(d)
		}
	}
}

func (u *USB) disconnectEvent(args []safejs.Value) {
	v, ok := eventDevice(args)
	if !ok {
		return
	}
	d := u.lookup(v)
	if d == nil {
		var err error
		if d, err = newDevice(u, v); err != nil {
			return
		}
	}
	d.markGone()
	for _, w := range u.watchers() {
		if w.onDisconnect != nil {
			w.onDisconnect(d)
		}
	}
}

func (u *USB) watchers() []*Watch {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*Watch(nil), u.watches...)
}

// Watch is a registration for plug and unplug events of permitted adapters.
type Watch struct {
	u                       *USB
	onConnect, onDisconnect func(*Device)
}

// Watch calls onConnect when a permitted adapter is plugged in and onDisconnect when one is
// unplugged (either may be nil). The callbacks run on the browser's event loop: they must return
// quickly and start a goroutine for anything that waits (opening the adapter does). The
// device's Disconnected channel is already closed when onDisconnect runs.
func (u *USB) Watch(onConnect, onDisconnect func(*Device)) *Watch {
	w := &Watch{u: u, onConnect: onConnect, onDisconnect: onDisconnect}
	u.mu.Lock()
	if !u.closed {
		u.watches = append(u.watches, w)
	}
	u.mu.Unlock()
	return w
}

// Close stops the callbacks. Closing twice does nothing.
func (w *Watch) Close() {
	u := w.u
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, o := range u.watches {
		if o == w {
			u.watches = append(u.watches[:i], u.watches[i+1:]...)
			return
		}
	}
}

// Devices returns the adapters this origin was granted before and that are plugged in now
// (getDevices); no user gesture is needed, so a page calls it at start to reconnect.
func (u *USB) Devices(ctx context.Context) ([]*Device, error) {
	d, err := theDispatcher()
	if err != nil {
		return nil, err
	}
	p, err := u.js.Call("getDevices")
	if err != nil {
		return nil, thrown("getDevices()", err)
	}
	v, ok, err := d.wait(ctx, nil, p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, domErrorFrom("getDevices()", v)
	}
	n, err := v.Length()
	if err != nil {
		return nil, fmt.Errorf("webusb: getDevices() did not give an array: %w", err)
	}
	devs := make([]*Device, 0, n)
	for i := 0; i < n; i++ {
		dv, err := v.Index(i)
		if err != nil {
			return nil, fmt.Errorf("webusb: getDevices()[%d]: %w", i, err)
		}
		dev, err := u.deviceFor(dv)
		if err != nil {
			return nil, err
		}
		devs = append(devs, dev)
	}
	return devs, nil
}

// PairButton is a click listener that shows the device chooser.
type PairButton struct {
	u      *USB
	button safejs.Value
	click  safejs.Func
	once   sync.Once
}

// BindPairButton makes button show Chrome's device chooser, offering every adapter the match
// table supports, and calls onDevice with the adapter picked or an error (ErrNoDeviceSelected
// when the chooser was closed). requestDevice needs transient user activation, so it is called
// synchronously inside the click listener; a page cannot call it at the wrong moment because
// this is the only way to call it. onDevice runs on its own goroutine and may block. Close
// removes the listener.
func (u *USB) BindPairButton(button safejs.Value, onDevice func(*Device, error)) (*PairButton, error) {
	if onDevice == nil {
		return nil, errors.New("webusb: BindPairButton needs an onDevice callback")
	}
	d, err := theDispatcher()
	if err != nil {
		return nil, err
	}
	b := &PairButton{u: u, button: button}
	b.click, err = newFunc(func(safejs.Value, []safejs.Value) any {
		// Here, inside the click, the activation is live: call requestDevice now, wait later.
		p, err := u.js.Call("requestDevice", u.requestOptions)
		if err != nil {
			go onDevice(nil, u.requestError(thrown("requestDevice()", err)))
			return nil
		}
		go func() {
			v, ok, err := d.wait(context.Background(), nil, p)
			switch {
			case err != nil:
				onDevice(nil, err)
			case !ok:
				onDevice(nil, u.requestError(domErrorFrom("requestDevice()", v)))
			default:
				onDevice(u.deviceFor(v))
			}
		}()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webusb: %w", err)
	}
	if _, err := button.Call("addEventListener", "click", b.click); err != nil {
		releaseFunc(b.click)
		return nil, thrown(`addEventListener("click")`, err)
	}
	return b, nil
}

// requestError marks the chooser being closed without a pick.
func (u *USB) requestError(err error) error {
	var de *DOMError
	if errors.As(err, &de) && de.Name == "NotFoundError" && de.Message == msgNoDeviceSelected {
		return fmt.Errorf("%w: %w", ErrNoDeviceSelected, de)
	}
	return err
}

// Close removes the click listener and releases it. Closing twice does nothing.
func (b *PairButton) Close() error {
	var err error
	b.once.Do(func() {
		_, err = b.button.Call("removeEventListener", "click", b.click)
		releaseFunc(b.click)
	})
	return err
}
