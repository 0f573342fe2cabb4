//go:build js && wasm

package webusb

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/ndis/capture"
	"webminiport/usbnic/nic"
	"webminiport/usbnic/sim"
	"webminiport/usbnic/sim/wire"
	"webminiport/usbnic/webusb/fakeusb"
)

// The virtual network of usbnic/sim/wire with its default configuration (wire.Config{}).
var (
	gatewayIP  = netip.MustParseAddr("192.168.77.1")
	gatewayMAC = [6]byte{0x02, 0x77, 0, 0, 0, 0x01}
	hostIP     = netip.MustParseAddr("192.168.77.100")
)

// webRig is a virtual adapter on a virtual wire, plugged into the fake navigator.usb as a
// granted device, found again through getDevices (USB.Devices) and brought up by nic.Open over
// the WebUSB transport: every transfer the core makes crosses the JS boundary twice.
type webRig struct {
	t     testing.TB
	model *sim.Model
	w     *wire.Wire
	sd    *sim.Device
	fd    *fakeusb.Device
	d     *Device
	ad    *nic.Adapter
	dec   *capture.Decoder
	sum   capture.Summary
	next  uint64 // the next capture ring frame waitFrame looks at
}

// newWebRig plugs a model m device and opens it through the transport; the adapter is Paused,
// nothing bound. Cleanup closes it and checks that nothing leaked.
func newWebRig(t testing.TB, m *sim.Model, opts nic.Options) *webRig {
	t.Helper()
	f := newFixture(t)
	w, err := wire.New(wire.Config{})
	must(t, err)
	sd := sim.New(m, w, sim.WithLinkDelay(2*time.Millisecond))
	fd, err := f.fake.Plug(sd, fakeusb.WithPermission(), fakeusb.WithStrings("webminiport", m.Description, ""))
	must(t, err)
	ctx, cancel := context.WithTimeout(bg, patience)
	defer cancel()
	devs, err := f.usb.Devices(ctx)
	must(t, err)
	if len(devs) != 1 {
		t.Fatalf("getDevices gave %d devices, want the one plugged", len(devs))
	}
	d := devs[0]
	desc := sd.DeviceDescriptor()
	if vid, pid := uint16(desc[8])|uint16(desc[9])<<8, uint16(desc[10])|uint16(desc[11])<<8; d.VendorID() != vid || d.ProductID() != pid {
		t.Fatalf("getDevices gave %04x:%04x, want the sim's %04x:%04x", d.VendorID(), d.ProductID(), vid, pid)
	}
	opts.NDIS.Name = "webusb-" + strings.ToLower(m.Name)
	ad, err := nic.Open(ctx, d, opts)
	if err != nil {
		t.Fatalf("%s: open through WebUSB: %v", m.Name, err)
	}
	r := &webRig{t: t, model: m, w: w, sd: sd, fd: fd, d: d, ad: ad, dec: capture.NewDecoder(), next: 1}
	t.Cleanup(r.close)
	return r
}

// waitLink waits until the adapter reports the media connected.
func (r *webRig) waitLink() ndis.LinkState {
	r.t.Helper()
	var l ndis.LinkState
	waitFor(r.t, r.model.Name+" link up", func() bool {
		l = r.ad.NDIS.Link()
		return l.MediaConnect == ndis.MediaConnectConnected
	})
	return l
}

// waitFrame waits for a frame in ring that match accepts (each decoded with capture's decoder)
// and returns a copy of it.
func (r *webRig) waitFrame(ring *capture.Ring, what string, match func(s *capture.Summary) bool) []byte {
	r.t.Helper()
	buf := make([]byte, 0, 2048)
	deadline := time.Now().Add(patience)
	for {
		for f := range ring.Frames(r.next, math.MaxUint64, buf) {
			r.next = f.Number + 1
			r.dec.Summarize(f.Data, f.OrigLen, &r.sum)
			if match(&r.sum) {
				return slices.Clone(f.Data)
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: no %s received; core stats %+v; log:\n%s", r.model.Name, what, r.ad.NIC.Stats(), strings.Join(r.ad.NIC.Info().Log, "\n"))
		}
		time.Sleep(time.Millisecond) // a timer: the transfers' promises settle while Go waits
	}
}

// checkHome pauses the adapter and checks that every receive NBL is back on the engine's free
// list and the pool holds exactly those.
func (r *webRig) checkHome() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(bg, patience)
	defer cancel()
	if err := r.ad.Stop(ctx); err != nil {
		r.t.Fatalf("%s: stop: %v", r.model.Name, err)
	}
	rx := r.ad.NIC.RxEngine()
	if err := rx.Audit(); err != nil {
		r.t.Errorf("%s: after the pause: %v", r.model.Name, err)
	}
	if c := rx.Counts(); c.Free != c.Total {
		r.t.Errorf("%s: after the pause %d of %d receive NBLs on the free list: %+v", r.model.Name, c.Free, c.Total, c)
	}
	if n := r.ad.NDIS.SendsPending(); n != 0 {
		r.t.Errorf("%s: %d sends pending after the pause", r.model.Name, n)
	}
}

// close halts the adapter (if it is not halted yet) and checks what the halt must leave: no
// pool, no report, no transfer inside the device or the fake.
func (r *webRig) close() {
	t := r.t
	ctx, cancel := context.WithTimeout(bg, patience)
	defer cancel()
	if err := r.ad.Close(ctx); err != nil {
		t.Errorf("%s: close: %v", r.model.Name, err)
	}
	if st := r.ad.NDIS.State(); st != ndis.Halted {
		t.Errorf("%s: state %v after close, want Halted", r.model.Name, st)
	}
	for _, line := range r.ad.NIC.Info().Log {
		if strings.Contains(line, "freeing the receive pool") {
			t.Errorf("%s: %s", r.model.Name, line)
		}
	}
	for _, rep := range r.ad.NDIS.Reports() {
		t.Errorf("%s: misuse report: %v", r.model.Name, rep)
	}
	waitFor(t, "the fake's calls to settle", func() bool { return r.fd.Pending() == 0 && r.sd.Outstanding() == 0 })
	r.w.Close()
}

// bindCapture binds a capture driver (the page's protocol) and starts the adapter.
func (r *webRig) bindCapture() *capture.Driver {
	r.t.Helper()
	drv := capture.NewDriver(capture.DriverConfig{Ring: capture.NewRing(capture.RingConfig{Bytes: 4 << 20, Frames: 4096})})
	if err := drv.Bind(r.ad.NDIS); err != nil {
		r.t.Fatalf("%s: bind: %v", r.model.Name, err)
	}
	// Registered after newWebRig's close, so it runs first: the driver unbinds from the
	// halted adapter, and only then are the pools all gone.
	r.t.Cleanup(func() {
		if err := r.ad.Close(bg); err != nil {
			r.t.Errorf("%s: close: %v", r.model.Name, err)
		}
		if err := drv.Unbind(); err != nil {
			r.t.Errorf("%s: unbind: %v", r.model.Name, err)
		}
		if pools := r.ad.NDIS.NBLPools(); len(pools) != 0 {
			r.t.Errorf("%s: %d pools left after halt and unbind: %+v", r.model.Name, len(pools), pools)
		}
	})
	if err := r.ad.Start(); err != nil {
		r.t.Fatalf("%s: start: %v", r.model.Name, err)
	}
	waitFor(r.t, "the packet filter", func() bool { return drv.Counters().FilterStatus != ndis.StatusPending })
	if st := drv.Counters().FilterStatus; st != ndis.StatusSuccess {
		r.t.Fatalf("%s: packet filter: %v", r.model.Name, st)
	}
	return drv
}

// TestBringUpThroughWebUSB: each of the four minidrivers' models, plugged into the fake
// navigator.usb and found through getDevices, comes up through the WebUSB transport to Running
// with the device's MAC and the link up, answers a ping of the wire's gateway (ARP, then three
// ICMP echoes, decoded by capture), and pauses and halts with every NBL home.
func TestBringUpThroughWebUSB(t *testing.T) {
	for _, tc := range []struct {
		model  *sim.Model
		driver string
	}{
		{sim.AX88179, "ax88179_178a"},
		{sim.AX88772, "asix"},
		{sim.CDCECM, "cdc_ether"},
		{sim.CDCNCM, "cdc_ncm"},
	} {
		t.Run(tc.model.Name, func(t *testing.T) {
			r := newWebRig(t, tc.model, nic.Options{})
			if got := r.ad.Choice.Driver.Name; got != tc.driver {
				t.Errorf("driver %q, want %q (%s)", got, tc.driver, r.ad.Choice.Reason)
			}
			drv := r.bindCapture()
			if st := r.ad.NDIS.State(); st != ndis.Running {
				t.Fatalf("state %v, want Running", st)
			}
			r.waitLink()
			info := r.ad.NIC.Info()
			if info.MAC != r.sd.MAC() || info.PermanentMAC != r.sd.MAC() {
				t.Errorf("MAC %x / permanent %x, want the device's %x", info.MAC, info.PermanentMAC, r.sd.MAC())
			}
			if info.RxTransfers < 2 {
				t.Errorf("%d bulk-IN transfers in flight, want several", info.RxTransfers)
			}
			mac := info.MAC
			ring := drv.Ring()

			must(t, drv.SendARPRequest(hostIP, gatewayIP))
			arp := r.waitFrame(ring, "ARP reply", func(s *capture.Summary) bool {
				return s.Protocol == capture.ProtoARP && bytes.Contains(s.Info(), []byte("192.168.77.1 is at"))
			})
			if !bytes.Equal(arp[6:12], gatewayMAC[:]) || !bytes.Equal(arp[0:6], mac[:]) {
				t.Errorf("ARP reply from %x to %x, want from the gateway %x to us %x", arp[6:12], arp[0:6], gatewayMAC, mac)
			}
			for seq := uint16(1); seq <= 3; seq++ {
				must(t, drv.SendEchoRequest(capture.EchoRequest{DstMAC: gatewayMAC, SrcIP: hostIP, DstIP: gatewayIP,
					ID: 0x4242, Seq: seq, PayloadLen: 56 + int(seq)*400}))
				want := fmt.Sprintf("Echo (ping) reply id=0x4242, seq=%d/", seq)
				echo := r.waitFrame(ring, "echo reply", func(s *capture.Summary) bool {
					return s.Protocol == capture.ProtoICMP && bytes.HasPrefix(s.Info(), []byte(want))
				})
				if string(r.sum.Source()) != "192.168.77.1" || string(r.sum.Destination()) != "192.168.77.100" {
					t.Errorf("echo reply %s -> %s", r.sum.Source(), r.sum.Destination())
				}
				if wantLen := 14 + 20 + 8 + 56 + int(seq)*400; len(echo) != wantLen {
					t.Errorf("echo reply of %d bytes, want %d", len(echo), wantLen)
				}
			}
			waitFor(t, "send completions", func() bool { c := drv.Counters(); return c.SendOK+c.SendFailed == c.Sent })
			if c := drv.Counters(); c.Sent != 4 || c.SendOK != 4 {
				t.Errorf("%d sent, %d completed OK; want 4 and 4", c.Sent, c.SendOK)
			}
			r.checkHome()
		})
	}
}

// TestUnplugMidTrafficThroughWebUSB: the fake device is pulled out while a flood runs; every
// pending transferIn rejects with NotFoundError and the "disconnect" event fires. The adapter
// must notice, pause and halt as surprise removed, with every receive NBL back in its pool
// (the pool is freed, which fails for an NBL away) and no send left pending.
func TestUnplugMidTrafficThroughWebUSB(t *testing.T) {
	for _, m := range []*sim.Model{sim.AX88179, sim.AX88772, sim.CDCECM, sim.CDCNCM} {
		t.Run(m.Name, func(t *testing.T) {
			r := newWebRig(t, m, nic.Options{})
			r.bindCapture()
			r.waitLink()
			// Paced, so the browser's event loop runs timers between transfers.
			must(t, r.w.Flood(60, 100_000))
			waitFor(t, "the flood to arrive", func() bool { return r.ad.NIC.Stats().RxFrames > 500 })
			if err := r.ad.NIC.RxEngine().Conservation(); err != nil {
				t.Errorf("during the flood: %v", err)
			}
			r.fd.Unplug()

			select {
			case <-r.ad.Done():
			case <-time.After(patience):
				t.Fatalf("unplugged adapter never halted; state %v, outstanding %d, sends pending %d; log:\n%s",
					r.ad.NDIS.State(), r.ad.NDIS.Outstanding(), r.ad.NDIS.SendsPending(), strings.Join(r.ad.NIC.Info().Log, "\n"))
			}
			select {
			case <-r.d.Disconnected():
			default:
				t.Error("the transport's Disconnected is not closed after the unplug")
			}
			if a, ok := r.ad.HaltAction(); !ok || a != ndis.HaltDeviceSurpriseRemoved {
				t.Errorf("halt action %v (halted %v), want surprise removed", a, ok)
			}
			if st := r.ad.NDIS.State(); st != ndis.Halted {
				t.Errorf("state %v, want Halted", st)
			}
			info, stats := r.ad.NIC.Info(), r.ad.NIC.Stats()
			if !info.Removed || !stats.Removed || info.Running || info.Link.MediaConnect != ndis.MediaConnectDisconnected {
				t.Errorf("removed adapter reports removed %v/%v, running %v, link %+v", info.Removed, stats.Removed, info.Running, info.Link)
			}
			if r.ad.NDIS.Outstanding() != 0 || r.ad.NDIS.SendsPending() != 0 {
				t.Errorf("after the halt: %d receive NBLs outstanding, %d sends pending", r.ad.NDIS.Outstanding(), r.ad.NDIS.SendsPending())
			}
			if err := r.ad.Start(); err != nic.ErrHalted {
				t.Errorf("start after removal: %v, want ErrHalted", err)
			}
			t.Logf("%d frames in %d transfers before the unplug", stats.RxFrames, stats.RxTransfers)
		})
	}
}
