//go:build js && wasm

package webusb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic"
)

// Device is one USB adapter reached through a USBDevice object. It implements usbnic.Transport;
// all of its methods are safe for concurrent use.
type Device struct {
	usb *USB
	js  safejs.Value // the USBDevice

	vid, pid               uint16
	numConfigs             int
	product, maker, serial string
	devDesc                [18]byte

	gone     chan struct{}
	goneOnce sync.Once

	gate gate

	cfgMu   sync.Mutex
	cfgDesc map[int][]byte // raw configuration descriptors read so far, by index

	outMu  sync.Mutex
	outBuf safejs.Value // a Uint8Array the OUT data is copied into; grows, never shrinks
	outCap int
}

var _ usbnic.Transport = (*Device)(nil)

// newDevice reads the identity of a USBDevice object.
func newDevice(u *USB, v safejs.Value) (*Device, error) {
	d := &Device{usb: u, js: v, gone: make(chan struct{}), cfgDesc: map[int][]byte{}}
	var err error
	num := func(name string) uint16 {
		if err != nil {
			return 0
		}
		var p safejs.Value
		var n int
		if p, err = v.Get(name); err == nil {
			n, err = p.Int()
		}
		if err != nil {
			err = fmt.Errorf("webusb: USBDevice.%s: %w", name, err)
		}
		return uint16(n)
	}
	// bcd rebuilds a BCD version from WebUSB's three parts, which Chromium takes as the high
	// byte, the high nibble and the low nibble of the descriptor's field.
	bcd := func(prefix string) uint16 {
		return num(prefix+"Major")<<8 | num(prefix+"Minor")<<4 | num(prefix+"Subminor")
	}
	d.vid, d.pid = num("vendorId"), num("productId")
	// The device descriptor, built from the fields WebUSB exposes. WebUSB has no
	// bMaxPacketSize0 and gives the strings themselves rather than their indices, so those four
	// bytes stay 0.
	b := &d.devDesc
	b[0], b[1] = 18, usbnic.DescDevice
	binary.LittleEndian.PutUint16(b[2:], bcd("usbVersion"))
	b[4], b[5], b[6] = uint8(num("deviceClass")), uint8(num("deviceSubclass")), uint8(num("deviceProtocol"))
	binary.LittleEndian.PutUint16(b[8:], d.vid)
	binary.LittleEndian.PutUint16(b[10:], d.pid)
	binary.LittleEndian.PutUint16(b[12:], bcd("deviceVersion"))
	if err != nil {
		return nil, err
	}
	cfgs, err := v.Get("configurations")
	if err != nil {
		return nil, fmt.Errorf("webusb: USBDevice.configurations: %w", err)
	}
	if d.numConfigs, err = cfgs.Length(); err != nil {
		return nil, fmt.Errorf("webusb: USBDevice.configurations: %w", err)
	}
	b[17] = uint8(d.numConfigs)
	d.product, d.maker, d.serial = stringProp(v, "productName"), stringProp(v, "manufacturerName"), stringProp(v, "serialNumber")
	return d, nil
}

// VendorID returns idVendor.
func (d *Device) VendorID() uint16 { return d.vid }

// ProductID returns idProduct.
func (d *Device) ProductID() uint16 { return d.pid }

// ProductName returns the product string ("" when the device has none).
func (d *Device) ProductName() string { return d.product }

// ManufacturerName returns the manufacturer string ("" when the device has none).
func (d *Device) ManufacturerName() string { return d.maker }

// SerialNumber returns the serial number string ("" when the device has none).
func (d *Device) SerialNumber() string { return d.serial }

// id names the adapter in messages.
func (d *Device) id() string { return fmt.Sprintf("%04x:%04x", d.vid, d.pid) }

func (d *Device) isGone() bool {
	select {
	case <-d.gone:
		return true
	default:
		return false
	}
}

// markGone closes Disconnected once, and drops the device from its USB's list.
func (d *Device) markGone() {
	d.goneOnce.Do(func() {
		close(d.gone)
		d.usb.forget(d)
	})
}

// DeviceDescriptor implements usbnic.Transport. It is built from the USBDevice's fields, not
// read from the device: bMaxPacketSize0, iManufacturer, iProduct and iSerialNumber, which WebUSB
// does not expose, are 0 (the strings are ProductName, ManufacturerName, SerialNumber).
func (d *Device) DeviceDescriptor() []byte { return append([]byte(nil), d.devDesc[:]...) }

// ConfigDescriptor implements usbnic.Transport. WebUSB exposes configurations only parsed, without
// the class-specific descriptors (CDC Union, Ethernet, NCM) and IADs the minidrivers need, so
// this reads the raw bytes with GET_DESCRIPTOR (standard, device) — which needs an open device:
// it opens the device first (WebUSB's open is idempotent) and leaves it open. Descriptors are
// read once per index.
func (d *Device) ConfigDescriptor(ctx context.Context, i int) ([]byte, error) {
	if i < 0 || i >= d.numConfigs {
		return nil, fmt.Errorf("webusb: %s: configuration index %d (device has %d)", d.id(), i, d.numConfigs)
	}
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	if b, ok := d.cfgDesc[i]; ok {
		return append([]byte(nil), b...), nil
	}
	if err := d.Open(ctx); err != nil {
		return nil, err
	}
	var head [9]byte
	n, err := usbnic.ReadDescriptor(ctx, d, usbnic.DescConfiguration, uint8(i), 0, head[:])
	if err != nil {
		return nil, err
	}
	if n < 4 {
		return nil, fmt.Errorf("webusb: %s: configuration descriptor %d: %d bytes, want at least 4 for wTotalLength", d.id(), i, n)
	}
	total := int(binary.LittleEndian.Uint16(head[2:]))
	b := make([]byte, total)
	if n, err = usbnic.ReadDescriptor(ctx, d, usbnic.DescConfiguration, uint8(i), 0, b); err != nil {
		return nil, err
	}
	if n != total {
		return nil, fmt.Errorf("webusb: %s: configuration descriptor %d: %d bytes, wTotalLength says %d", d.id(), i, n, total)
	}
	d.cfgDesc[i] = b
	return append([]byte(nil), b...), nil
}

// Speed implements usbnic.Transport: WebUSB does not tell the bus speed.
func (d *Device) Speed() usbnic.Speed { return usbnic.SpeedUnknown }

// Disconnected implements usbnic.Transport.
func (d *Device) Disconnected() <-chan struct{} { return d.gone }

// Configuration implements usbnic.Transport: USBDevice.configuration.configurationValue, 0 when
// unconfigured.
func (d *Device) Configuration() uint8 {
	c, err := d.js.Get("configuration")
	if err != nil || c.Type() != safejs.TypeObject {
		return 0
	}
	return uint8(intProp(c, "configurationValue"))
}

// Open implements usbnic.Transport (USBDevice.open).
func (d *Device) Open(ctx context.Context) error {
	return d.stateChange(ctx, opOpen, 0, opName{method: "open"}, "open")
}

// Close implements usbnic.Transport (USBDevice.close): it releases every interface and aborts
// every transfer.
func (d *Device) Close(ctx context.Context) error {
	return d.stateChange(ctx, opOther, 0, opName{method: "close"}, "close")
}

// Reset implements usbnic.Transport (USBDevice.reset).
func (d *Device) Reset(ctx context.Context) error {
	return d.stateChange(ctx, opOther, 0, opName{method: "reset"}, "reset")
}

// SelectConfiguration implements usbnic.Transport (USBDevice.selectConfiguration).
func (d *Device) SelectConfiguration(ctx context.Context, value uint8) error {
	return d.stateChange(ctx, opSelectConfiguration, 0, opName{method: "selectConfiguration", n: 1, a: int(value)}, "selectConfiguration", int(value))
}

// ClaimInterface implements usbnic.Transport (USBDevice.claimInterface).
func (d *Device) ClaimInterface(ctx context.Context, iface uint8) error {
	return d.stateChange(ctx, opClaim, iface, opName{method: "claimInterface", n: 1, a: int(iface)}, "claimInterface", int(iface))
}

// ReleaseInterface implements usbnic.Transport (USBDevice.releaseInterface).
func (d *Device) ReleaseInterface(ctx context.Context, iface uint8) error {
	return d.stateChange(ctx, opOther, iface, opName{method: "releaseInterface", n: 1, a: int(iface)}, "releaseInterface", int(iface))
}

// SelectAlternate implements usbnic.Transport (USBDevice.selectAlternateInterface).
func (d *Device) SelectAlternate(ctx context.Context, iface, alt uint8) error {
	return d.stateChange(ctx, opOther, iface, opName{method: "selectAlternateInterface", n: 2, a: int(iface), b: int(alt)}, "selectAlternateInterface", int(iface), int(alt))
}

// ClearHalt implements usbnic.Transport (USBDevice.clearHalt).
func (d *Device) ClearHalt(ctx context.Context, ep uint8) error {
	dir := d.usb.directionOut
	if ep&0x80 != 0 {
		dir = d.usb.directionIn
	}
	op := opName{method: "clearHalt", n: 1, a: int(ep), hex: true}
	// Chromium refuses clearHalt while the device state changes, so it passes the gate, beside
	// control transfers.
	if err := d.gate.enter(ctx, d.gone, false); err != nil {
		return d.waitError(op, err)
	}
	defer d.gate.leave(false)
	_, err := d.call(ctx, opOther, 0, op, "clearHalt", dir, int(ep&0x0F))
	return err
}

// stateChange runs one of the calls that change device or interface state, through the gate.
func (d *Device) stateChange(ctx context.Context, kind opKind, iface uint8, op opName, method string, args ...any) error {
	if err := d.gate.enter(ctx, d.gone, true); err != nil {
		return d.waitError(op, err)
	}
	defer d.gate.leave(true)
	_, err := d.call(ctx, kind, iface, op, method, args...)
	return err
}

// call calls method on the USBDevice and waits for its promise.
func (d *Device) call(ctx context.Context, kind opKind, iface uint8, op opName, method string, args ...any) (safejs.Value, error) {
	if err := ctx.Err(); err != nil {
		return safejs.Undefined(), d.waitError(op, err) // do not start what nobody will wait for
	}
	p, err := d.start(kind, iface, op, method, args...)
	if err != nil {
		return safejs.Undefined(), err
	}
	return d.finish(ctx, kind, iface, op, p)
}

// start calls method on the USBDevice and returns its promise. WebUSB checks the arguments and
// copies OUT data during the call itself.
func (d *Device) start(kind opKind, iface uint8, op opName, method string, args ...any) (safejs.Value, error) {
	if d.isGone() {
		return safejs.Undefined(), d.goneError(nil)
	}
	p, err := d.js.Call(method, args...)
	if err != nil {
		if de, ok := thrown(op.String(), err).(*DOMError); ok {
			return safejs.Undefined(), d.classify(kind, iface, de)
		}
		return safejs.Undefined(), fmt.Errorf("webusb: %s: %w", op.String(), err)
	}
	return p, nil
}

// finish waits for the promise of a call. A rejection is classified for the fixes; the device
// going away ends the wait at once.
func (d *Device) finish(ctx context.Context, kind opKind, iface uint8, op opName, p safejs.Value) (safejs.Value, error) {
	disp, err := theDispatcher()
	if err != nil {
		return safejs.Undefined(), err
	}
	v, ok, err := disp.wait(ctx, d.gone, p)
	if err != nil {
		return safejs.Undefined(), d.waitError(op, err)
	}
	if !ok {
		return safejs.Undefined(), d.classify(kind, iface, domErrorFrom(op.String(), v))
	}
	return v, nil
}

// waitError turns an ended wait into the caller's error: the disconnect error, or ctx's error
// naming the call.
func (d *Device) waitError(op opName, err error) error {
	if errors.Is(err, errGone) {
		return d.goneError(nil)
	}
	return fmt.Errorf("webusb: %s: %w", op.String(), err)
}

// opName names a call for error messages, formatted only when one is needed: "transferIn(0x81,
// 16384)".
type opName struct {
	method string
	n      uint8 // how many of a, b are arguments
	a, b   int
	hex    bool // a is an endpoint address
}

func (o opName) String() string {
	a := fmt.Sprint(o.a)
	if o.hex {
		a = fmt.Sprintf("%#02x", o.a)
	}
	switch o.n {
	case 1:
		return o.method + "(" + a + ")"
	case 2:
		return fmt.Sprintf("%s(%s, %d)", o.method, a, o.b)
	}
	return o.method + "()"
}

// currentInterfaces reads the interfaces of USBDevice.configuration: its value and, per
// interface, the class triple of each alternate setting.
func (d *Device) currentInterfaces() (uint8, []ifaceInfo) {
	c, err := d.js.Get("configuration")
	if err != nil || c.Type() != safejs.TypeObject {
		return 0, nil
	}
	value := uint8(intProp(c, "configurationValue"))
	ifs, err := c.Get("interfaces")
	if err != nil {
		return value, nil
	}
	n, _ := ifs.Length()
	var out []ifaceInfo
	for i := 0; i < n; i++ {
		f, err := ifs.Index(i)
		if err != nil {
			continue
		}
		info := ifaceInfo{number: uint8(intProp(f, "interfaceNumber"))}
		alts, err := f.Get("alternates")
		if err == nil {
			m, _ := alts.Length()
			for k := 0; k < m; k++ {
				a, err := alts.Index(k)
				if err != nil {
					continue
				}
				info.alts = append(info.alts, [3]uint8{
					uint8(intProp(a, "interfaceClass")), uint8(intProp(a, "interfaceSubclass")), uint8(intProp(a, "interfaceProtocol")),
				})
			}
		}
		out = append(out, info)
	}
	return value, out
}

// intProp returns v[name] as an int, 0 when it is not a number.
func intProp(v safejs.Value, name string) int {
	p, err := v.Get(name)
	if err != nil || p.Type() != safejs.TypeNumber {
		return 0
	}
	n, _ := p.Int()
	return n
}
