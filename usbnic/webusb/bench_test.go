//go:build js && wasm

package webusb

import (
	"sync"
	"testing"

	"github.com/hack-pad/safejs"
)

const benchTransfer = 16 << 10 // a typical bulk-IN transfer size

// BenchmarkWebUSBTransferIn is the cost of one 16 KiB bulk-IN transfer through the JS boundary.
//
//   - fakeusb: Device.TransferIn → USBDevice.transferIn of the fake → Go device (an instant
//     stub) → USBInTransferResult → promise → dispatcher → copy into the buffer; one transfer
//     at a time. This is the fake plus the transport.
//   - fakeusb-4-in-flight: the same with four transfers outstanding, as the core keeps them.
//   - resolved-promise: a USBDevice whose transferIn returns an already resolved promise of a
//     prepared USBInTransferResult, so only the transport's own JS work is measured: the call,
//     then(), the settlement callback, the result's status and data, the Uint8Array view and
//     the copy.
func BenchmarkWebUSBTransferIn(b *testing.B) {
	b.Run("fakeusb", func(b *testing.B) {
		d := benchStubDevice(b)
		buf := make([]byte, benchTransfer)
		b.SetBytes(benchTransfer)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if n, _, err := d.TransferIn(bg, 0x82, buf); err != nil || n != benchTransfer {
				b.Fatalf("%d, %v", n, err)
			}
		}
	})
	b.Run("fakeusb-4-in-flight", func(b *testing.B) {
		d := benchStubDevice(b)
		const depth = 4
		b.SetBytes(benchTransfer)
		b.ReportAllocs()
		b.ResetTimer()
		var wg sync.WaitGroup
		for w := 0; w < depth; w++ {
			n := b.N / depth
			if w < b.N%depth {
				n++
			}
			wg.Add(1)
			go func(n int) {
				defer wg.Done()
				buf := make([]byte, benchTransfer)
				for i := 0; i < n; i++ {
					if k, _, err := d.TransferIn(bg, 0x82, buf); err != nil || k != benchTransfer {
						b.Errorf("%d, %v", k, err)
						return
					}
				}
			}(n)
		}
		wg.Wait()
	})
	b.Run("resolved-promise", func(b *testing.B) {
		f := newFixture(b)
		obj := resolvedPromiseDevice(b)
		d, err := f.usb.deviceFor(obj)
		must(b, err)
		buf := make([]byte, benchTransfer)
		b.SetBytes(benchTransfer)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if n, _, err := d.TransferIn(bg, 0x02, buf); err != nil || n != benchTransfer {
				b.Fatalf("%d, %v", n, err)
			}
		}
	})
}

// benchStubDevice is the stub through fakeusb, open, with its vendor interface claimed.
func benchStubDevice(b *testing.B) *Device {
	f := newFixture(b)
	_, d := f.plug(b, newStub())
	must(b, d.Open(bg))
	must(b, d.ClaimInterface(bg, 1))
	return d
}

// resolvedPromiseDevice is a USBDevice-shaped object whose transferIn resolves at once with one
// prepared 16 KiB result. Made with the Function constructor: test pages have no CSP.
func resolvedPromiseDevice(b *testing.B) safejs.Value {
	fn, err := safejs.Global().Get("Function")
	must(b, err)
	mk, err := fn.New("n", `
		const r = new USBInTransferResult("ok", new DataView(new ArrayBuffer(n)));
		return {
			vendorId: 0x1234, productId: 0x5678, usbVersionMajor: 2, usbVersionMinor: 0, usbVersionSubminor: 0,
			deviceClass: 0, deviceSubclass: 0, deviceProtocol: 0,
			deviceVersionMajor: 1, deviceVersionMinor: 0, deviceVersionSubminor: 0,
			configurations: [], configuration: null, opened: true,
			transferIn(ep, length) { return Promise.resolve(r); },
		};`)
	must(b, err)
	obj, err := mk.Invoke(benchTransfer)
	must(b, err)
	return obj
}
