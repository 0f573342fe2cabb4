//go:build js && wasm

package webusb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic"
	"webminiport/usbnic/drivers"
	"webminiport/usbnic/sim"
)

func TestDeviceDescriptorIsBuiltFromTheUSBDeviceFields(t *testing.T) {
	f := newFixture(t)
	for _, m := range sim.Models {
		t.Run(m.Name, func(t *testing.T) {
			sd, _, d := f.plugSim(t, m, nil, sim.WithSpeed(usbnic.SpeedSuper))
			want := sd.DeviceDescriptor()
			// WebUSB does not expose bMaxPacketSize0 (byte 7) or the string indices (14..16).
			want[7], want[14], want[15], want[16] = 0, 0, 0, 0
			if got := d.DeviceDescriptor(); !bytes.Equal(got, want) {
				t.Errorf("device descriptor\n got % x\nwant % x", got, want)
			}
			if d.VendorID() != m.VendorID || d.ProductID() != m.ProductID || d.ProductName() != m.Description {
				t.Errorf("identity %04x:%04x %q, want %04x:%04x %q", d.VendorID(), d.ProductID(), d.ProductName(), m.VendorID, m.ProductID, m.Description)
			}
			if d.Speed() != usbnic.SpeedUnknown {
				t.Errorf("Speed() = %v, want unknown: WebUSB does not tell", d.Speed())
			}
		})
	}
}

func TestConfigDescriptorReadsTheRawBytesWithGetDescriptor(t *testing.T) {
	f := newFixture(t)
	sd, fd, d := f.plugSim(t, sim.AX88179A, nil) // three configurations
	n := int(d.DeviceDescriptor()[17])
	if n != 3 {
		t.Fatalf("bNumConfigurations %d, want 3", n)
	}
	for i := 0; i < n; i++ {
		want, err := sd.ConfigDescriptor(bg, i)
		must(t, err)
		got, err := d.ConfigDescriptor(bg, i)
		must(t, err)
		if !bytes.Equal(got, want) {
			t.Errorf("configuration %d\n got % x\nwant % x", i, got, want)
		}
	}
	// Two GET_DESCRIPTOR requests per configuration (header, then wTotalLength), once.
	before := sd.Stats().ControlTransfers
	if _, err := d.ConfigDescriptor(bg, 1); err != nil {
		t.Fatal(err)
	}
	if after := sd.Stats().ControlTransfers; after != before {
		t.Errorf("a second read of configuration 1 made %d control transfers, want 0 (cached)", after-before)
	}
	if _, err := d.ConfigDescriptor(bg, 3); err == nil {
		t.Error("configuration index 3 of 3 succeeded")
	}
	if fd.Pending() != 0 {
		t.Errorf("%d calls still pending", fd.Pending())
	}
}

func TestOpenConfigureClaimAlternateControlBulkInterrupt(t *testing.T) {
	f := newFixture(t)
	q := sim.NewQueue(16)
	sd, _, d := f.plugSim(t, sim.CDCECM, q)

	must(t, d.Open(bg))
	must(t, d.SelectConfiguration(bg, 1))
	if got := d.Configuration(); got != 1 {
		t.Fatalf("Configuration() = %d, want 1", got)
	}
	must(t, d.ClaimInterface(bg, 0))
	must(t, d.ClaimInterface(bg, 1))
	must(t, d.SelectAlternate(bg, 1, 1))

	// Control IN: the language table (standard, device).
	buf := make([]byte, 255)
	n, st, err := d.ControlIn(bg, usbnic.Setup{Type: usbnic.Standard, Recipient: usbnic.ToDevice, Request: usbnic.ReqGetDescriptor, Value: 0x0300}, buf)
	if err != nil || st != usbnic.StatusOK || !bytes.Equal(buf[:n], []byte{4, 3, 0x09, 0x04}) {
		t.Fatalf("GET_DESCRIPTOR string 0: % x, %v, %v", buf[:n], st, err)
	}
	// Control OUT without data: SET_ETHERNET_PACKET_FILTER (class, interface 0) to directed and
	// broadcast only.
	st, err = d.ControlOut(bg, usbnic.Setup{Type: usbnic.Class, Recipient: usbnic.ToInterface, Request: usbnic.CDCSetEthernetPacketFilter, Value: 0x000C, Index: 0}, nil)
	if err != nil || st != usbnic.StatusOK {
		t.Fatalf("SET_ETHERNET_PACKET_FILTER: %v, %v", st, err)
	}

	// Interrupt IN: f_ecm announces the link after alternate 1 (NETWORK_CONNECTION, then
	// CONNECTION_SPEED_CHANGE).
	note := make([]byte, 16)
	n, st, err = d.TransferIn(bg, 0x85, note)
	if err != nil || st != usbnic.StatusOK || n < 8 || note[0] != 0xA1 || note[1] != usbnic.NotifyNetworkConnection {
		t.Fatalf("interrupt IN: % x, %v, %v", note[:n], st, err)
	}

	// Bulk OUT: one frame reaches the wire.
	out := broadcast(0x11)
	n, st, err = d.TransferOut(bg, 0x02, out)
	if err != nil || st != usbnic.StatusOK || n != len(out) {
		t.Fatalf("bulk OUT: %d, %v, %v", n, st, err)
	}
	sent := make([]byte, 2048)
	if k := q.Sent(sent); !bytes.Equal(sent[:k], out) {
		t.Fatalf("wire got % x, want % x", sent[:k], out)
	}

	// Bulk IN: one frame from the wire.
	in := broadcast(0x22)
	q.Push(in)
	rx := make([]byte, 2048)
	n, st, err = d.TransferIn(bg, 0x81, rx)
	if err != nil || st != usbnic.StatusOK || !bytes.Equal(rx[:n], in) {
		t.Fatalf("bulk IN: % x, %v, %v", rx[:n], st, err)
	}

	must(t, d.ReleaseInterface(bg, 1))
	must(t, d.ReleaseInterface(bg, 0))
	must(t, d.Reset(bg))
	must(t, d.Close(bg))
	if got := sd.Outstanding(); got != 0 {
		t.Errorf("%d calls left inside the device", got)
	}
}

func TestSeveralTransferInOutstandingCompleteInSubmissionOrder(t *testing.T) {
	f := newFixture(t)
	q := sim.NewQueue(16)
	_, fd, d := f.ecmUp(t, q)

	const depth = 4
	type result struct {
		data []byte
		err  error
	}
	results := make([]chan result, depth)
	for i := range results {
		results[i] = make(chan result, 1)
		go func(ch chan<- result) {
			buf := make([]byte, 2048)
			n, st, err := d.TransferIn(bg, 0x81, buf)
			if err == nil && st != usbnic.StatusOK {
				err = fmt.Errorf("status %v", st)
			}
			ch <- result{buf[:n], err}
		}(results[i])
		// Submit the next only once this one is inside the browser, so the order is known.
		waitFor(t, fmt.Sprintf("transfer %d to be pending", i), func() bool { return fd.Pending() == i+1 })
	}
	for i := 0; i < depth; i++ {
		q.Push(broadcast(byte(i)))
	}
	for i, ch := range results {
		r := <-ch
		if r.err != nil {
			t.Fatalf("transfer %d: %v", i, r.err)
		}
		if want := broadcast(byte(i)); !bytes.Equal(r.data, want) {
			t.Errorf("transfer %d got frame % x..., want tag %d", i, r.data[:16], i)
		}
	}
}

func TestDisconnectDuringTransferEndsPendingCallsWithErrDisconnected(t *testing.T) {
	f := newFixture(t)
	sd, fd, d := f.ecmUp(t, sim.NewQueue(4))

	const pending = 2
	errs := make(chan error, pending)
	for i := 0; i < pending; i++ {
		go func() {
			_, _, err := d.TransferIn(bg, 0x81, make([]byte, 2048))
			errs <- err
		}()
	}
	waitFor(t, "both transfers to be pending", func() bool { return fd.Pending() == pending })
	sd.RemoveNow()

	for i := 0; i < pending; i++ {
		err := <-errs
		if !errors.Is(err, usbnic.ErrDisconnected) {
			t.Errorf("pending transfer ended with %v, want one wrapping usbnic.ErrDisconnected", err)
			continue
		}
		if pe := platformError(t, err); pe.Problem != ProblemDisconnected {
			t.Errorf("problem %v, want %v", pe.Problem, ProblemDisconnected)
		}
	}
	select {
	case <-d.Disconnected():
	default:
		t.Fatal("Disconnected() is not closed after the unplug")
	}
	// Later calls fail at once, without the browser.
	if _, _, err := d.TransferIn(bg, 0x81, make([]byte, 64)); !errors.Is(err, usbnic.ErrDisconnected) {
		t.Errorf("TransferIn after unplug: %v", err)
	}
	if err := d.Open(bg); !errors.Is(err, usbnic.ErrDisconnected) {
		t.Errorf("Open after unplug: %v", err)
	}
}

func TestStallIsReportedUntilClearHalt(t *testing.T) {
	f := newFixture(t)
	q := sim.NewQueue(4)
	sd, _, d := f.ecmUp(t, q)
	must(t, sd.Inject(sim.Fault{Kind: sim.FaultStall, Endpoint: 0x81}))

	buf := make([]byte, 2048)
	for i := 0; i < 2; i++ {
		n, st, err := d.TransferIn(bg, 0x81, buf)
		if err != nil || st != usbnic.StatusStall || n != 0 {
			t.Fatalf("transfer %d on the halted endpoint: %d, %v, %v; want 0, stall, nil", i, n, st, err)
		}
	}
	must(t, d.ClearHalt(bg, 0x81))
	q.Push(broadcast(7))
	n, st, err := d.TransferIn(bg, 0x81, buf)
	if err != nil || st != usbnic.StatusOK || !bytes.Equal(buf[:n], broadcast(7)) {
		t.Fatalf("after clearHalt: %d, %v, %v", n, st, err)
	}
}

func TestBabbleIsReported(t *testing.T) {
	f := newFixture(t)
	q := sim.NewQueue(4)
	sd, _, d := f.ecmUp(t, q)
	must(t, sd.Inject(sim.Fault{Kind: sim.FaultBabble, Endpoint: 0x81}))
	q.Push(broadcast(9))
	_, st, err := d.TransferIn(bg, 0x81, make([]byte, 2048))
	if err != nil || st != usbnic.StatusBabble {
		t.Fatalf("got %v, %v; want babble", st, err)
	}
}

func TestControlStallIsAStatusNotAnError(t *testing.T) {
	f := newFixture(t)
	_, _, d := f.ecmUp(t, sim.NewQueue(4))
	// f_ecm answers no IN class request.
	n, st, err := d.ControlIn(bg, usbnic.Setup{Type: usbnic.Class, Recipient: usbnic.ToInterface, Request: 0x7F, Index: 0}, make([]byte, 8))
	if err != nil || st != usbnic.StatusStall || n != 0 {
		t.Fatalf("got %d, %v, %v; want 0, stall, nil", n, st, err)
	}
}

func TestControlTransfersWaitForStateChangesInsteadOfFailing(t *testing.T) {
	// Chromium refuses a control transfer while an interface change is in progress; the gate
	// makes it wait instead.
	f := newFixture(t)
	_, _, d := f.ecmUp(t, sim.NewQueue(4))
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 10; i++ {
		wg.Add(2)
		go func(alt uint8) {
			defer wg.Done()
			errs <- d.SelectAlternate(bg, 1, alt)
		}(uint8(i % 2))
		go func() {
			defer wg.Done()
			_, st, err := d.ControlIn(bg, usbnic.Setup{Type: usbnic.Standard, Recipient: usbnic.ToDevice, Request: usbnic.ReqGetDescriptor, Value: 0x0100}, make([]byte, 18))
			if err == nil && st != usbnic.StatusOK {
				err = fmt.Errorf("status %v", st)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestTransferWaitEndsWithTheContext(t *testing.T) {
	f := newFixture(t)
	sd, fd, d := f.ecmUp(t, sim.NewQueue(4))
	_, parkedBefore := mustDispatcher(t).stats()
	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	go func() {
		_, _, err := d.TransferIn(ctx, 0x81, make([]byte, 2048))
		done <- err
	}()
	waitFor(t, "the transfer to wait", func() bool { return sd.Outstanding() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	// The browser still holds the transfer; closing the device aborts it and frees its slot.
	must(t, d.Close(bg))
	waitFor(t, "the abandoned transfer to settle", func() bool {
		_, parked := mustDispatcher(t).stats()
		return parked == parkedBefore && fd.Pending() == 0
	})
}

func TestMinidriversBindThroughTheJSPath(t *testing.T) {
	// Each model's minidriver binds and resets through WebUSB: descriptors read with
	// GET_DESCRIPTOR, the match table's choice of configuration, claims, alternate settings and
	// the chip's vendor or class requests, all as promises and DataViews.
	for _, m := range []*sim.Model{sim.AX88179, sim.AX88179A, sim.AX88772B, sim.CDCECM, sim.CDCNCM} {
		t.Run(m.Name, func(t *testing.T) {
			f := newFixture(t)
			sd, fd, d := f.plugSim(t, m, sim.NewQueue(4))
			desc, err := usbnic.ParseDeviceDesc(d.DeviceDescriptor())
			must(t, err)
			var cfgs []*usbnic.Config
			for i := 0; i < int(desc.NumConfigurations); i++ {
				raw, err := d.ConfigDescriptor(bg, i)
				must(t, err)
				c, err := usbnic.ParseConfig(raw)
				must(t, err)
				cfgs = append(cfgs, c)
			}
			choice, err := drivers.Match(desc, cfgs)
			must(t, err)
			must(t, d.SelectConfiguration(bg, choice.Config))
			var cfg *usbnic.Config
			for _, c := range cfgs {
				if c.Value == choice.Config {
					cfg = c
				}
			}
			nd := &usbnic.Device{T: d, Desc: desc, Config: cfg, Logf: t.Logf}
			drv := choice.Driver.New()
			must(t, drv.Bind(bg, nd))
			must(t, drv.Reset(bg, nd))
			if nd.MAC != sd.MAC() {
				t.Errorf("MAC %x, want %x", nd.MAC, sd.MAC())
			}
			drv.Unbind(bg, nd)
			must(t, d.Close(bg))
			if fd.Pending() != 0 || sd.Outstanding() != 0 {
				t.Errorf("left %d calls pending in the browser, %d in the device", fd.Pending(), sd.Outstanding())
			}
		})
	}
}

func mustDispatcher(t testing.TB) *dispatcher {
	t.Helper()
	d, err := theDispatcher()
	must(t, err)
	return d
}

func TestCancelledContextStartsNoTransfer(t *testing.T) {
	f := newFixture(t)
	_, fd, d := f.ecmUp(t, sim.NewQueue(4))
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, _, err := d.TransferIn(ctx, 0x81, make([]byte, 64)); !errors.Is(err, context.Canceled) {
		t.Errorf("TransferIn: %v", err)
	}
	if _, _, err := d.TransferOut(ctx, 0x02, broadcast(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("TransferOut: %v", err)
	}
	if _, err := d.ControlOut(ctx, usbnic.Setup{Type: usbnic.Class, Recipient: usbnic.ToInterface, Request: usbnic.CDCSetEthernetPacketFilter, Value: 0x0C}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("ControlOut: %v", err)
	}
	if n := fd.Pending(); n != 0 {
		t.Errorf("%d calls reached the browser", n)
	}
}

func TestDisconnectEventEndsAWaitTheBrowserNeverSettles(t *testing.T) {
	// Whatever the browser does with the pending promise, the disconnect event alone ends the
	// wait: here transferIn's promise never settles.
	f := newFixture(t)
	fn, err := safejs.Global().Get("Function")
	must(t, err)
	mk, err := fn.New(`return {
		vendorId: 0x1234, productId: 0x5678, usbVersionMajor: 2, usbVersionMinor: 0, usbVersionSubminor: 0,
		deviceClass: 0, deviceSubclass: 0, deviceProtocol: 0,
		deviceVersionMajor: 1, deviceVersionMinor: 0, deviceVersionSubminor: 0,
		configurations: [], configuration: null, opened: true, calls: 0,
		transferIn(ep, length) { this.calls++; return new Promise(() => {}); },
	};`)
	must(t, err)
	obj, err := mk.Invoke()
	must(t, err)
	d, err := f.usb.deviceFor(obj)
	must(t, err)

	done := make(chan error, 1)
	go func() {
		_, _, err := d.TransferIn(bg, 0x81, make([]byte, 512))
		done <- err
	}()
	waitFor(t, "transferIn to be called", func() bool {
		n, _ := obj.Get("calls")
		k, _ := n.Int()
		return k == 1
	})

	ev := newJS(t, "Event", "disconnect")
	must(t, ev.Set("device", obj))
	_, err = f.fake.JS().Call("dispatchEvent", ev)
	must(t, err)
	err = <-done
	if !errors.Is(err, usbnic.ErrDisconnected) {
		t.Fatalf("got %v, want usbnic.ErrDisconnected", err)
	}
	if pe := platformError(t, err); pe.Err != nil {
		t.Errorf("the browser said nothing, yet the error carries %v", pe.Err)
	}
	select {
	case <-d.Disconnected():
	default:
		t.Error("Disconnected() not closed")
	}
}
