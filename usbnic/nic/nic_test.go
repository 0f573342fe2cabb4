package nic_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"webminiport/ndis"
	"webminiport/ndis/capture"
	"webminiport/usbnic"
	"webminiport/usbnic/nic"
	"webminiport/usbnic/sim"
)

// The virtual network of usbnic/sim/wire with its default configuration (wire.Config{}).
var (
	gatewayIP  = netip.MustParseAddr("192.168.77.1")
	gatewayMAC = [6]byte{0x02, 0x77, 0, 0, 0, 0x01}
	hostIP     = netip.MustParseAddr("192.168.77.100")
)

// cdcHighSpeedBitrate is what Linux f_ecm and f_ncm announce on a high-speed bus in
// CONNECTION_SPEED_CHANGE (ecm_bitrate / ncm_bitrate: 13 packets of 512 bytes per microframe,
// 8 microframes per millisecond, 1000 ms, 8 bits).
const cdcHighSpeedBitrate = 13 * 512 * 8 * 1000 * 8

// TestBringUpReachesRunningWithMACAndLink: every virtual model comes up through the match
// table, the core and the adapter, and reports its MAC, link and speed as the hardware has them.
func TestBringUpReachesRunningWithMACAndLink(t *testing.T) {
	for _, tc := range []struct {
		model    *sim.Model
		driver   string
		config   uint8
		speedBps uint64
		duplex   ndis.MediaDuplexState
	}{
		{sim.AX88179, "ax88179_178a", 1, 1_000_000_000, ndis.DuplexFull},
		{sim.AX88179A, "ax88179_178a", 1, 1_000_000_000, ndis.DuplexFull}, // the vendor configuration, not NCM
		{sim.AX88772, "asix", 1, 100_000_000, ndis.DuplexFull},
		{sim.AX88772A, "asix", 1, 100_000_000, ndis.DuplexFull},
		{sim.AX88772B, "asix", 1, 100_000_000, ndis.DuplexFull},
		{sim.CDCECM, "cdc_ether", 1, cdcHighSpeedBitrate, ndis.DuplexUnknown},
		{sim.CDCNCM, "cdc_ncm", 1, cdcHighSpeedBitrate, ndis.DuplexUnknown},
	} {
		t.Run(tc.model.Name, func(t *testing.T) {
			r := newRig(t, tc.model, nic.Options{})
			if got := r.ad.Choice.Driver.Name; got != tc.driver {
				t.Errorf("driver %q, want %q (%s)", got, tc.driver, r.ad.Choice.Reason)
			}
			if st := r.ad.NDIS.State(); st != ndis.Running {
				t.Fatalf("state %v, want Running", st)
			}
			link := r.waitLink()
			if link.RcvSpeed != tc.speedBps || link.XmitSpeed != tc.speedBps || link.Duplex != tc.duplex {
				t.Errorf("link %+v, want %d b/s both ways, duplex %v", link, tc.speedBps, tc.duplex)
			}
			info := r.ad.NIC.Info()
			if info.MAC != r.dev.MAC() || info.PermanentMAC != r.dev.MAC() {
				t.Errorf("MAC %x / permanent %x, want the device's %x", info.MAC, info.PermanentMAC, r.dev.MAC())
			}
			if info.Configuration != tc.config || r.dev.Configuration() != tc.config {
				t.Errorf("configuration %d (device in %d), want %d", info.Configuration, r.dev.Configuration(), tc.config)
			}
			if info.BusSpeed != usbnic.SpeedHigh {
				t.Errorf("bus speed %v, want high", info.BusSpeed)
			}
			var mac [6]byte
			q := &ndis.OIDRequest{Type: ndis.OIDQuery, OID: ndis.OID8023CurrentAddress, Buffer: mac[:]}
			if st, err := r.ad.NDIS.OIDRequest(q); st != ndis.StatusSuccess || err != nil || mac != r.dev.MAC() {
				t.Errorf("OID_802_3_CURRENT_ADDRESS: %v %v %x", st, err, mac)
			}
			if s := r.ad.NIC.Stats(); s.LinkChanges == 0 || s.RxQueue == 0 {
				t.Errorf("stats after link up: %+v", s)
			}
		})
	}
}

// The four minidrivers, one model each, for the traffic tests.
var trafficModels = []*sim.Model{sim.AX88179, sim.AX88772B, sim.CDCECM, sim.CDCNCM}

// TestPingThePeerAndDecodeTheReply: ARP for the gateway, then an ICMP echo request; the
// gateway's answers come back through the device's bulk-IN framing, the minidriver's rx fixup,
// the core and the receive engine, and capture's decoder reads them.
func TestPingThePeerAndDecodeTheReply(t *testing.T) {
	for _, m := range trafficModels {
		t.Run(m.Name, func(t *testing.T) {
			r := newRig(t, m, nic.Options{})
			r.waitLink()
			mac := r.ad.NIC.Info().MAC

			n, err := capture.BuildARPRequest(r.buf, mac, hostIP, gatewayIP)
			if err != nil {
				t.Fatal(err)
			}
			r.send(r.buf[:n])
			reply := r.waitFrame("ARP reply", func(s *capture.Summary, f []byte) bool {
				return s.Protocol == capture.ProtoARP && bytes.Contains(s.Info(), []byte("192.168.77.1 is at"))
			})
			if !bytes.Equal(reply[6:12], gatewayMAC[:]) || !bytes.Equal(reply[0:6], mac[:]) {
				t.Errorf("ARP reply from %x to %x, want from the gateway %x to us %x", reply[6:12], reply[0:6], gatewayMAC, mac)
			}

			for seq := uint16(1); seq <= 3; seq++ {
				n, err = capture.BuildEchoRequest(r.buf, &capture.EchoRequest{SrcMAC: mac, DstMAC: gatewayMAC,
					SrcIP: hostIP, DstIP: gatewayIP, ID: 0x4242, Seq: seq, PayloadLen: 56 + int(seq)*400})
				if err != nil {
					t.Fatal(err)
				}
				r.send(r.buf[:n])
				want := []byte("Echo (ping) reply id=0x4242, seq=" + string(rune('0'+seq)) + "/")
				echo := r.waitFrame("echo reply", func(s *capture.Summary, f []byte) bool {
					return s.Protocol == capture.ProtoICMP && bytes.HasPrefix(s.Info(), want)
				})
				if string(r.sum.Source()) != "192.168.77.1" || string(r.sum.Destination()) != "192.168.77.100" {
					t.Errorf("echo reply %s -> %s", r.sum.Source(), r.sum.Destination())
				}
				if len(echo) != n {
					t.Errorf("echo reply of %d bytes to a request of %d", len(echo), n)
				}
			}
			r.proto.checkCompletions(t)
			if _, by := r.proto.completions(); len(by) != 1 || by[ndis.StatusSuccess] != 4 {
				t.Errorf("send completions %v, want 4 SUCCESS", by)
			}
			if st := r.ad.NIC.Stats(); st.TxFrames != 4 || st.RxFrames < 4 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestDHCPLeaseObtained: DISCOVER, OFFER, REQUEST, ACK with the wire's DHCP server; the wire
// then holds a bound lease for our MAC.
func TestDHCPLeaseObtained(t *testing.T) {
	for _, m := range trafficModels {
		t.Run(m.Name, func(t *testing.T) {
			r := newRig(t, m, nic.Options{})
			r.waitLink()
			mac := r.ad.NIC.Info().MAC
			const xid = 0x5eed0001

			n, err := capture.BuildDHCPDiscover(r.buf, &capture.DHCPDiscover{ClientMAC: mac, XID: xid, HostName: "webminiport"})
			if err != nil {
				t.Fatal(err)
			}
			r.send(r.buf[:n])
			offer := decodeDHCP(t, r.waitFrame("DHCP offer", dhcpInfo("DHCP Offer")))
			if offer.Xid != xid || !bytes.Equal(offer.ClientHWAddr, mac[:]) {
				t.Fatalf("offer xid %#x chaddr %x", offer.Xid, offer.ClientHWAddr)
			}
			offered, _ := netip.AddrFromSlice(offer.YourClientIP.To4())

			r.send(dhcpRequest(t, mac, xid, offered, gatewayIP))
			ack := decodeDHCP(t, r.waitFrame("DHCP ACK", dhcpInfo("DHCP ACK")))
			if got, _ := netip.AddrFromSlice(ack.YourClientIP.To4()); got != offered {
				t.Errorf("ACK for %v, offered %v", got, offered)
			}
			deadline := time.Now().Add(waitLong)
			for r.w.Snapshot().LeasedIP != offered && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if s := r.w.Snapshot(); s.LeasedIP != offered || s.HostMAC != mac {
				t.Errorf("wire lease %v for %v, want %v for %x", s.LeasedIP, s.HostMAC, offered, mac)
			}
		})
	}
}

func dhcpInfo(prefix string) func(s *capture.Summary, f []byte) bool {
	return func(s *capture.Summary, f []byte) bool {
		return s.Protocol == capture.ProtoDHCP && bytes.HasPrefix(s.Info(), []byte(prefix))
	}
}

func decodeDHCP(t *testing.T, frame []byte) *layers.DHCPv4 {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	d, ok := p.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4)
	if !ok {
		t.Fatalf("no DHCP in %x", frame)
	}
	return d
}

// dhcpRequest builds a DHCPREQUEST in the SELECTING state (RFC 2131 §4.3.2: requested address
// and server identifier set, ciaddr zero), broadcast from 0.0.0.0:68.
func dhcpRequest(t *testing.T, mac [6]byte, xid uint32, requested, server netip.Addr) []byte {
	t.Helper()
	req, srv := requested.As4(), server.As4()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr(mac[:]), DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4zero.To4(), DstIP: net.IPv4bcast.To4()}
	udp := &layers.UDP{SrcPort: 68, DstPort: 67}
	_ = udp.SetNetworkLayerForChecksum(ip)
	dhcp := &layers.DHCPv4{Operation: layers.DHCPOpRequest, HardwareType: layers.LinkTypeEthernet, HardwareLen: 6,
		Xid: xid, Flags: 0x8000, ClientHWAddr: net.HardwareAddr(mac[:]),
		Options: layers.DHCPOptions{
			layers.NewDHCPOption(layers.DHCPOptMessageType, []byte{byte(layers.DHCPMsgTypeRequest)}),
			layers.NewDHCPOption(layers.DHCPOptRequestIP, req[:]),
			layers.NewDHCPOption(layers.DHCPOptServerID, srv[:]),
		}}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, dhcp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRxErrorStormStopsRxThenRecovers: bulk-IN transfers that all fail are throttled (125 ms
// each time) and, once more than 20 of 30 in a row failed, RX stops until the queue drained
// (usbnet's EVENT_RX_KILL); when the errors stop, frames flow again.
func TestRxErrorStormStopsRxThenRecovers(t *testing.T) {
	r := newRig(t, sim.AX88772B, nic.Options{NIC: usbnic.Options{RxTransfers: 8}})
	r.waitLink()
	if err := r.w.Web(2000); err != nil {
		t.Fatal(err)
	}
	in := r.ad.NIC.Info().InEndpoint
	if err := r.dev.Inject(sim.Fault{Kind: sim.FaultError, Endpoint: in, Count: -1}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLong)
	for s := r.ad.NIC.Stats(); s.RxKills == 0; s = r.ad.NIC.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("no RX kill after a storm of errors: %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := r.ad.NIC.Stats(); s.RxErrors <= 20 || s.RxThrottles == 0 {
		t.Errorf("after the kill: %d errors, %d throttles", s.RxErrors, s.RxThrottles)
	}
	r.dev.ClearFaults()

	mac := r.ad.NIC.Info().MAC
	n, err := capture.BuildARPRequest(r.buf, mac, hostIP, gatewayIP)
	if err != nil {
		t.Fatal(err)
	}
	r.send(r.buf[:n])
	r.waitFrame("ARP reply after the storm", func(s *capture.Summary, f []byte) bool {
		return s.Protocol == capture.ProtoARP && bytes.Contains(s.Info(), []byte("192.168.77.1 is at"))
	})
}

// TestCloseAfterAFailedStopOrCloseRetriesAndThenDoesNothing: while the protocol holds received
// NBLs the pause cannot complete, so Stop and Close fail when their context ends; the adapter
// stays unhalted and a later Close, once the NBLs are back, halts it. Closing again after that
// does nothing. None of it may panic.
func TestCloseAfterAFailedStopOrCloseRetriesAndThenDoesNothing(t *testing.T) {
	r := newRig(t, sim.CDCECM, nic.Options{})
	r.waitLink()
	const held = 4
	r.proto.holdNext(held)
	// A slow flood: unpaced, it would keep a js/wasm program from ever yielding to the browser.
	if err := r.w.Flood(60, 1000); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLong)
	for {
		r.proto.mu.Lock()
		n := len(r.proto.held)
		r.proto.mu.Unlock()
		if n == held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the protocol holds %d NBLs after %v, want %d", n, waitLong, held)
		}
		time.Sleep(time.Millisecond)
	}
	r.w.Quiet()

	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	if err := r.ad.Stop(short()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with NBLs held: %v, want the context's deadline", err)
	}
	for i := range 2 {
		if err := r.ad.Close(short()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close %d with NBLs held: %v, want the context's deadline", i+1, err)
		}
		if _, halted := r.ad.HaltAction(); halted {
			t.Fatalf("halted after failed Close %d", i+1)
		}
		select {
		case <-r.ad.Done():
			t.Fatalf("Done closed after failed Close %d", i+1)
		default:
		}
	}

	r.proto.releaseHeld()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := r.ad.Close(ctx); err != nil {
		t.Fatalf("Close once the NBLs are back: %v", err)
	}
	if action, halted := r.ad.HaltAction(); !halted || action != ndis.HaltDeviceDisabled {
		t.Errorf("halt action %v (halted %v), want %v", action, halted, ndis.HaltDeviceDisabled)
	}
	select {
	case <-r.ad.Done():
	default:
		t.Error("Done not closed after Close")
	}
	if err := r.ad.Close(ctx); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if err := r.ad.Stop(ctx); !errors.Is(err, nic.ErrHalted) {
		t.Errorf("Stop after Close: %v, want ErrHalted", err)
	}
}
