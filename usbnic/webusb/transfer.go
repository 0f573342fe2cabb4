//go:build js && wasm

package webusb

import (
	"context"
	"fmt"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic"
)

// Transfers. Data crosses the JS boundary once per direction: IN data is copied from a
// Uint8Array view of the result's DataView (CopyBytesToGo takes only Uint8Array) straight into
// the caller's buffer; OUT data is copied into a Uint8Array the device keeps and grows, which is
// free again as soon as the call returns, because Chromium copies the data during
// transferOut/controlTransferOut itself (USBDevice::transferOut hands base::make_span of the
// bytes to the mojo call).
//
// What a transfer costs (BenchmarkWebUSBTransferIn/resolved-promise, headless Chromium 156 on a
// shared 2-core VM): 35-45 µs and 35 small allocations per 16 KiB IN transfer. Nearly all of it
// is the promise's round trip through the event loop and the JS objects that reach Go (the
// promise, then()'s promise, the result, its status and DataView, the buffer, the view): each
// costs a reference with a finalizer. The copy itself is under 1 µs. The same path written with
// syscall/js instead of safejs measured the same time with 13 allocations, so safejs stays.

// ControlIn implements usbnic.Transport (USBDevice.controlTransferIn).
func (d *Device) ControlIn(ctx context.Context, s usbnic.Setup, buf []byte) (int, usbnic.Status, error) {
	op := opName{method: "controlTransferIn", n: 2, a: int(s.Request), b: len(buf), hex: true}
	setup, err := d.setup(op, s)
	if err != nil {
		return 0, usbnic.StatusOK, err
	}
	if err := d.gate.enter(ctx, d.gone, false); err != nil {
		return 0, usbnic.StatusOK, d.waitError(op, err)
	}
	defer d.gate.leave(false)
	r, err := d.call(ctx, opOther, 0, op, "controlTransferIn", setup, len(buf))
	if err != nil {
		return 0, usbnic.StatusOK, err
	}
	return d.inResult(op, r, buf)
}

// ControlOut implements usbnic.Transport (USBDevice.controlTransferOut). With no data there is no
// data stage, and no data argument.
func (d *Device) ControlOut(ctx context.Context, s usbnic.Setup, data []byte) (usbnic.Status, error) {
	op := opName{method: "controlTransferOut", n: 2, a: int(s.Request), b: len(data), hex: true}
	setup, err := d.setup(op, s)
	if err != nil {
		return usbnic.StatusOK, err
	}
	if err := d.gate.enter(ctx, d.gone, false); err != nil {
		return usbnic.StatusOK, d.waitError(op, err)
	}
	defer d.gate.leave(false)
	if err := ctx.Err(); err != nil {
		return usbnic.StatusOK, d.waitError(op, err)
	}
	var p safejs.Value
	if len(data) == 0 {
		p, err = d.start(opOther, 0, op, "controlTransferOut", setup)
	} else {
		p, err = d.startOut(op, "controlTransferOut", setup, data)
	}
	if err != nil {
		return usbnic.StatusOK, err
	}
	r, err := d.finish(ctx, opOther, 0, op, p)
	if err != nil {
		return usbnic.StatusOK, err
	}
	_, st, err := d.outResult(op, r)
	return st, err
}

// TransferIn implements usbnic.Transport (USBDevice.transferIn, bulk or interrupt). Several may
// be outstanding on one endpoint; WebUSB completes them in submission order.
func (d *Device) TransferIn(ctx context.Context, ep uint8, buf []byte) (int, usbnic.Status, error) {
	op := opName{method: "transferIn", n: 2, a: int(ep), b: len(buf), hex: true}
	r, err := d.call(ctx, opOther, 0, op, "transferIn", int(ep&0x0F), len(buf))
	if err != nil {
		return 0, usbnic.StatusOK, err
	}
	return d.inResult(op, r, buf)
}

// TransferOut implements usbnic.Transport (USBDevice.transferOut, bulk or interrupt). Empty data
// sends a zero-length packet.
func (d *Device) TransferOut(ctx context.Context, ep uint8, data []byte) (int, usbnic.Status, error) {
	op := opName{method: "transferOut", n: 2, a: int(ep), b: len(data), hex: true}
	if err := ctx.Err(); err != nil {
		return 0, usbnic.StatusOK, d.waitError(op, err)
	}
	p, err := d.startOut(op, "transferOut", int(ep&0x0F), data)
	if err != nil {
		return 0, usbnic.StatusOK, err
	}
	r, err := d.finish(ctx, opOther, 0, op, p)
	if err != nil {
		return 0, usbnic.StatusOK, err
	}
	return d.outResult(op, r)
}

// startOut copies data into the device's OUT buffer and calls method(first, view of the data).
// The buffer is held only during the call: Chromium has copied the bytes when it returns.
func (d *Device) startOut(op opName, method string, first any, data []byte) (safejs.Value, error) {
	d.outMu.Lock()
	defer d.outMu.Unlock()
	if d.outCap < len(data) {
		// Grow to the next power of two (at least 16 KiB, a typical bulk transfer) so a run of
		// slightly longer transfers does not make a new buffer each time.
		c := 16 << 10
		for c < len(data) {
			c <<= 1
		}
		b, err := d.usb.uint8Array.New(c)
		if err != nil {
			return safejs.Undefined(), fmt.Errorf("webusb: %s: allocating %d bytes: %w", op, c, err)
		}
		d.outBuf, d.outCap = b, c
	}
	if _, err := safejs.CopyBytesToJS(d.outBuf, data); err != nil {
		return safejs.Undefined(), fmt.Errorf("webusb: %s: copying the data: %w", op, err)
	}
	view, err := d.outBuf.Call("subarray", 0, len(data))
	if err != nil {
		return safejs.Undefined(), fmt.Errorf("webusb: %s: %w", op, err)
	}
	return d.start(opOther, 0, op, method, first, view)
}

// setup builds a USBControlTransferParameters object.
func (d *Device) setup(op opName, s usbnic.Setup) (safejs.Value, error) {
	if int(s.Type) >= len(d.usb.requestTypes) || int(s.Recipient) >= len(d.usb.recipients) {
		return safejs.Undefined(), fmt.Errorf("webusb: %s: %v: WebUSB has no request type %d or recipient %d", op, s, s.Type, s.Recipient)
	}
	o, err := d.usb.object.New()
	if err == nil {
		err = o.Set("requestType", d.usb.requestTypes[s.Type])
	}
	if err == nil {
		err = o.Set("recipient", d.usb.recipients[s.Recipient])
	}
	if err == nil {
		err = o.Set("request", int(s.Request))
	}
	if err == nil {
		err = o.Set("value", int(s.Value))
	}
	if err == nil {
		err = o.Set("index", int(s.Index))
	}
	if err != nil {
		return safejs.Undefined(), fmt.Errorf("webusb: %s: building the setup object: %w", op, err)
	}
	return o, nil
}

// status maps a result's status string.
func (d *Device) status(op opName, r safejs.Value) (usbnic.Status, error) {
	s, err := r.Get("status")
	if err != nil {
		return usbnic.StatusOK, fmt.Errorf("webusb: %s: result has no status: %w", op, err)
	}
	switch {
	case s.Equal(d.usb.statusOK):
		return usbnic.StatusOK, nil
	case s.Equal(d.usb.statusStall):
		return usbnic.StatusStall, nil
	case s.Equal(d.usb.statusBabble):
		return usbnic.StatusBabble, nil
	}
	return usbnic.StatusOK, fmt.Errorf("webusb: %s: unknown transfer status %q", op, jsString(s))
}

// inResult reads a USBInTransferResult into buf. Data longer than buf (which Chromium never
// returns: it asks the device for len(buf) bytes) is cut to buf and reported as babble.
func (d *Device) inResult(op opName, r safejs.Value, buf []byte) (int, usbnic.Status, error) {
	st, err := d.status(op, r)
	if err != nil {
		return 0, st, err
	}
	data, err := r.Get("data")
	if err != nil || data.Type() != safejs.TypeObject {
		return 0, st, nil // a stall may come without data
	}
	length := intProp(data, "byteLength")
	if length == 0 {
		return 0, st, nil
	}
	buffer, err := data.Get("buffer")
	if err != nil {
		return 0, st, fmt.Errorf("webusb: %s: result data: %w", op, err)
	}
	view, err := d.usb.uint8Array.New(buffer, intProp(data, "byteOffset"), length)
	if err != nil {
		return 0, st, fmt.Errorf("webusb: %s: result data: %w", op, err)
	}
	n, err := safejs.CopyBytesToGo(buf, view)
	if err != nil {
		return 0, st, fmt.Errorf("webusb: %s: copying the data: %w", op, err)
	}
	if length > len(buf) {
		st = usbnic.StatusBabble
	}
	return n, st, nil
}

// outResult reads a USBOutTransferResult.
func (d *Device) outResult(op opName, r safejs.Value) (int, usbnic.Status, error) {
	st, err := d.status(op, r)
	if err != nil {
		return 0, st, err
	}
	return intProp(r, "bytesWritten"), st, nil
}
