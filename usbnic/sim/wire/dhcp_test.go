package wire

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// buildDHCP writes a client's BOOTREQUEST field by field (RFC 2131 §2) with option 53 and
// the given options, ending with option 255.
func buildDHCP(typ byte, xid uint32, flags uint16, ciaddr [4]byte, chaddr MAC, opts ...byte) []byte {
	m := make([]byte, 240)
	m[0] = 1 // op: BOOTREQUEST
	m[1] = 1 // htype: Ethernet
	m[2] = 6 // hlen
	binary.BigEndian.PutUint32(m[4:], xid)
	binary.BigEndian.PutUint16(m[10:], flags)
	copy(m[12:16], ciaddr[:])
	copy(m[28:34], chaddr[:])
	copy(m[236:240], []byte{99, 130, 83, 99}) // magic cookie
	m = append(m, 53, 1, typ)
	m = append(m, opts...)
	return append(m, 255)
}

// dhcpFrame sends a client message the way a client without an address does: from 0.0.0.0
// to the broadcast address, or from ciaddr to the gateway when it has one.
func dhcpFrame(chaddr MAC, ciaddr [4]byte, msg []byte) []byte {
	dstMAC, dstIP := Broadcast, bcastIP
	if ciaddr != ([4]byte{}) {
		dstMAC, dstIP = gwMAC, gwIP
	}
	return ethFrame(dstMAC, chaddr, 0x0800, ipv4Packet(17, ciaddr, dstIP, udpDatagram(ciaddr, dstIP, 68, 67, msg)))
}

// dhcpReply is a server reply as the test reads it.
type dhcpReply struct {
	dstMAC, srcMAC MAC
	srcIP, dstIP   [4]byte
	bootp          []byte
	options        map[byte][]byte
}

func readDHCPReply(t *testing.T, f []byte) dhcpReply {
	t.Helper()
	hdr, u := ipv4Of(t, f)
	sport, dport, m := udpOf(t, hdr, u)
	if sport != 67 || dport != 68 {
		t.Fatalf("DHCP reply from port %d to %d, want 67 to 68", sport, dport)
	}
	if len(m) < 300 {
		t.Errorf("BOOTP message of %d bytes, want at least 300", len(m))
	}
	if m[0] != 2 || m[1] != 1 || m[2] != 6 || !bytes.Equal(m[236:240], []byte{99, 130, 83, 99}) {
		t.Fatalf("not a BOOTREPLY with the DHCP cookie: % x", m[:8])
	}
	r := dhcpReply{dstMAC: MAC(f[0:6]), srcMAC: MAC(f[6:12]), srcIP: [4]byte(hdr[12:16]), dstIP: [4]byte(hdr[16:20]), bootp: m, options: map[byte][]byte{}}
	for o := m[240:]; ; {
		if len(o) == 0 {
			t.Fatal("options end without option 255")
		}
		if o[0] == 255 {
			break
		}
		if o[0] == 0 {
			o = o[1:]
			continue
		}
		r.options[o[0]] = o[2 : 2+int(o[1])]
		o = o[2+int(o[1]):]
	}
	return r
}

func (r dhcpReply) yiaddr() [4]byte { return [4]byte(r.bootp[16:20]) }

func TestDHCPDiscoverOfferRequestAck(t *testing.T) {
	w, _ := newTestWire(t, Config{})
	discover := buildDHCP(1, 0x3903f326, 0, [4]byte{}, hostMAC,
		61, 7, 1, 0x00, 0x0e, 0xc6, 0x12, 0x34, 0x56, // client identifier
		55, 4, 1, 3, 6, 15) // parameter request list
	w.FromHost(dhcpFrame(hostMAC, [4]byte{}, discover))
	got := pull(w, 10)
	if len(got) != 1 {
		t.Fatalf("got %d frames after DISCOVER, want an OFFER", len(got))
	}
	offer := readDHCPReply(t, got[0])
	// No broadcast flag and no ciaddr: unicast to the offered address at chaddr (RFC 2131 §4.1).
	if offer.dstMAC != hostMAC || offer.srcMAC != gwMAC || offer.srcIP != gwIP || offer.dstIP != hostIP {
		t.Errorf("OFFER %v %v -> %v %v", offer.srcMAC, offer.srcIP, offer.dstMAC, offer.dstIP)
	}
	if xid := binary.BigEndian.Uint32(offer.bootp[4:]); xid != 0x3903f326 {
		t.Errorf("xid %#x", xid)
	}
	if offer.yiaddr() != hostIP || !bytes.Equal(offer.bootp[28:34], hostMAC[:]) {
		t.Errorf("yiaddr %v chaddr % x", offer.yiaddr(), offer.bootp[28:34])
	}
	wantOptions := map[byte][]byte{
		53: {2},                      // OFFER
		54: {192, 168, 77, 1},        // server identifier
		51: {0x00, 0x00, 0x0e, 0x10}, // lease time: 3600 s
		1:  {255, 255, 255, 0},       // subnet mask
		3:  {192, 168, 77, 1},        // router
		6:  {192, 168, 77, 53},       // DNS server
	}
	for code, want := range wantOptions {
		if !bytes.Equal(offer.options[code], want) {
			t.Errorf("OFFER option %d = % x, want % x", code, offer.options[code], want)
		}
	}
	if s := w.Snapshot(); s.LeasedIP.IsValid() {
		t.Errorf("leased %v after an OFFER alone", s.LeasedIP)
	}

	request := buildDHCP(3, 0x3903f326, 0x8000, [4]byte{}, hostMAC,
		50, 4, 192, 168, 77, 100, // requested address
		54, 4, 192, 168, 77, 1) // server identifier
	w.FromHost(dhcpFrame(hostMAC, [4]byte{}, request))
	got = pull(w, 10)
	if len(got) != 1 {
		t.Fatalf("got %d frames after REQUEST, want an ACK", len(got))
	}
	ack := readDHCPReply(t, got[0])
	// The broadcast flag asks for a broadcast reply.
	if ack.dstMAC != Broadcast || ack.dstIP != bcastIP {
		t.Errorf("ACK sent to %v %v, want broadcast", ack.dstMAC, ack.dstIP)
	}
	if !bytes.Equal(ack.options[53], []byte{5}) || ack.yiaddr() != hostIP {
		t.Errorf("ACK type % x yiaddr %v", ack.options[53], ack.yiaddr())
	}
	for code, want := range wantOptions {
		if code != 53 && !bytes.Equal(ack.options[code], want) {
			t.Errorf("ACK option %d = % x, want % x", code, ack.options[code], want)
		}
	}
	s := w.Snapshot()
	if s.LeasedIP != addr(hostIP) || s.HostIP != addr(hostIP) || s.HostMAC != hostMAC {
		t.Errorf("after ACK: leased %v host %v %v", s.LeasedIP, s.HostMAC, s.HostIP)
	}
	if s.FromHostByKind[KindDHCP].Frames != 2 || s.ToHostByKind[KindDHCP].Frames != 2 {
		t.Errorf("DHCP counts from host %+v to host %+v", s.FromHostByKind[KindDHCP], s.ToHostByKind[KindDHCP])
	}
}

// dhcpStep is one client message and what the server should answer.
type dhcpStep struct {
	client  MAC
	msg     []byte
	ciaddr  [4]byte
	reply   byte    // 0: no reply
	yiaddr  [4]byte // of the reply
	toMAC   MAC
	toIP    [4]byte
	ignored uint64 // the ignored count after the step
}

var (
	clientA = MAC{0x00, 0x0e, 0xc6, 0, 0, 0x0a}
	clientB = MAC{0x00, 0x0e, 0xc6, 0, 0, 0x0b}
	ip100   = [4]byte{192, 168, 77, 100}
	ip101   = [4]byte{192, 168, 77, 101}
	ip120   = [4]byte{192, 168, 77, 120}
)

func TestDHCPServerBehaviour(t *testing.T) {
	req := func(client MAC, a [4]byte, extra ...byte) []byte {
		return buildDHCP(3, 1, 0, [4]byte{}, client, append([]byte{50, 4, a[0], a[1], a[2], a[3]}, extra...)...)
	}
	disc := func(client MAC) []byte { return buildDHCP(1, 1, 0, [4]byte{}, client) }
	tests := []struct {
		name  string
		cfg   Config
		steps []dhcpStep
	}{
		{"two clients get two addresses and keep them", Config{}, []dhcpStep{
			{client: clientA, msg: disc(clientA), reply: 2, yiaddr: ip100, toMAC: clientA, toIP: ip100},
			{client: clientB, msg: disc(clientB), reply: 2, yiaddr: ip101, toMAC: clientB, toIP: ip101},
			{client: clientA, msg: req(clientA, ip100), reply: 5, yiaddr: ip100, toMAC: clientA, toIP: ip100},
			{client: clientA, msg: disc(clientA), reply: 2, yiaddr: ip100, toMAC: clientA, toIP: ip100},
			{client: clientB, msg: disc(clientB), reply: 2, yiaddr: ip101, toMAC: clientB, toIP: ip101},
		}},
		{"a request for an address not offered is refused by broadcast", Config{}, []dhcpStep{
			{client: clientA, msg: disc(clientA), reply: 2, yiaddr: ip100, toMAC: clientA, toIP: ip100},
			{client: clientA, msg: req(clientA, ip120), reply: 6, toMAC: Broadcast, toIP: bcastIP},
		}},
		{"a rebooting client gets the free address it asks for", Config{}, []dhcpStep{
			{client: clientA, msg: req(clientA, ip120), reply: 5, yiaddr: ip120, toMAC: clientA, toIP: ip120},
		}},
		{"a request naming another server frees the offer", Config{}, []dhcpStep{
			{client: clientA, msg: disc(clientA), reply: 2, yiaddr: ip100, toMAC: clientA, toIP: ip100},
			{client: clientA, msg: req(clientA, ip100, 54, 4, 192, 168, 77, 2), ignored: 1},
			{client: clientB, msg: disc(clientB), reply: 2, yiaddr: ip100, toMAC: clientB, toIP: ip100, ignored: 1},
		}},
		{"a renewing client is answered by unicast to its address", Config{}, []dhcpStep{
			{client: clientA, msg: disc(clientA), reply: 2, yiaddr: ip100, toMAC: clientA, toIP: ip100},
			{client: clientA, msg: req(clientA, ip100), reply: 5, yiaddr: ip100, toMAC: clientA, toIP: ip100},
			{client: clientA, ciaddr: ip100, msg: buildDHCP(3, 2, 0, ip100, clientA), reply: 5, yiaddr: ip100, toMAC: clientA, toIP: ip100},
		}},
		{"a released address goes to the next client", Config{}, []dhcpStep{
			{client: clientA, msg: disc(clientA), reply: 2, yiaddr: ip100, toMAC: clientA, toIP: ip100},
			{client: clientA, msg: req(clientA, ip100), reply: 5, yiaddr: ip100, toMAC: clientA, toIP: ip100},
			{client: clientA, ciaddr: ip100, msg: buildDHCP(7, 3, 0, ip100, clientA)},
			{client: clientB, msg: disc(clientB), reply: 2, yiaddr: ip100, toMAC: clientB, toIP: ip100},
		}},
		{"an exhausted pool makes no offer", Config{LeaseCount: 1}, []dhcpStep{
			{client: clientA, msg: disc(clientA), reply: 2, yiaddr: ip100, toMAC: clientA, toIP: ip100},
			{client: clientB, msg: disc(clientB), ignored: 1},
		}},
		{"an INFORM is not served", Config{}, []dhcpStep{
			{client: clientA, msg: buildDHCP(8, 1, 0, [4]byte{}, clientA), ignored: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWire(t, tt.cfg)
			for i, st := range tt.steps {
				w.FromHost(dhcpFrame(st.client, st.ciaddr, st.msg))
				got := pull(w, 10)
				if st.reply == 0 {
					if len(got) != 0 {
						t.Fatalf("step %d: got %d frames, want none", i, len(got))
					}
				} else {
					if len(got) != 1 {
						t.Fatalf("step %d: got %d frames, want one", i, len(got))
					}
					r := readDHCPReply(t, got[0])
					if !bytes.Equal(r.options[53], []byte{st.reply}) || r.yiaddr() != st.yiaddr || r.dstMAC != st.toMAC || r.dstIP != st.toIP {
						t.Errorf("step %d: type % x yiaddr %v to %v %v, want %d %v to %v %v", i, r.options[53], r.yiaddr(), r.dstMAC, r.dstIP, st.reply, st.yiaddr, st.toMAC, st.toIP)
					}
				}
				if s := w.Snapshot(); s.Ignored != st.ignored {
					t.Errorf("step %d: ignored %d, want %d", i, s.Ignored, st.ignored)
				}
			}
		})
	}
}

func TestDHCPReleaseEndsTheHostsLease(t *testing.T) {
	w, _ := newTestWire(t, Config{})
	w.FromHost(dhcpFrame(hostMAC, [4]byte{}, buildDHCP(3, 1, 0, [4]byte{}, hostMAC, 50, 4, 192, 168, 77, 100)))
	pull(w, 10)
	if s := w.Snapshot(); s.LeasedIP != netip.MustParseAddr("192.168.77.100") {
		t.Fatalf("leased %v", s.LeasedIP)
	}
	w.FromHost(dhcpFrame(hostMAC, ip100, buildDHCP(7, 2, 0, ip100, hostMAC)))
	if s := w.Snapshot(); s.LeasedIP.IsValid() {
		t.Errorf("still leased %v after RELEASE", s.LeasedIP)
	}
}

func TestDHCPMalformedMessages(t *testing.T) {
	noCookie := buildDHCP(1, 1, 0, [4]byte{}, clientA)
	noCookie[236] = 0
	overrun := buildDHCP(1, 1, 0, [4]byte{}, clientA)
	overrun = append(overrun[:len(overrun)-1], 12, 200, 'x') // host name claiming 200 bytes
	tests := []struct {
		name               string
		msg                []byte
		malformed, ignored uint64
	}{
		{"shorter than the fixed fields", buildDHCP(1, 1, 0, [4]byte{}, clientA)[:200], 1, 0},
		{"BOOTP without the DHCP cookie", noCookie, 0, 1},
		{"an option running past the message", overrun, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWire(t, Config{})
			w.FromHost(dhcpFrame(clientA, [4]byte{}, tt.msg))
			if got := pull(w, 10); len(got) != 0 {
				t.Errorf("got %d frames", len(got))
			}
			if s := w.Snapshot(); s.Malformed != tt.malformed || s.Ignored != tt.ignored {
				t.Errorf("malformed %d ignored %d, want %d %d", s.Malformed, s.Ignored, tt.malformed, tt.ignored)
			}
		})
	}
}
