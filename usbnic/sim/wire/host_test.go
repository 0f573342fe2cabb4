package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// arpWhoHasGateway is the host asking who has 192.168.77.1, written out from RFC 826.
var arpWhoHasGateway = []byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination: broadcast
	0x00, 0x0e, 0xc6, 0x12, 0x34, 0x56, // source: the host
	0x08, 0x06, // ARP
	0x00, 0x01, // hardware type Ethernet
	0x08, 0x00, // protocol type IPv4
	0x06, 0x04, // address lengths
	0x00, 0x01, // request
	0x00, 0x0e, 0xc6, 0x12, 0x34, 0x56, // sender MAC
	192, 168, 77, 100, // sender IP
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC: unknown
	192, 168, 77, 1, // target IP: the gateway
}

func TestARPRequestForGatewayGetsReplyFieldByField(t *testing.T) {
	w, _ := newTestWire(t, Config{})
	drainReady(w)
	w.FromHost(arpWhoHasGateway)
	if !drainReady(w) {
		t.Fatal("Ready was not signalled after the reply was queued")
	}
	got := pull(w, 10)
	if len(got) != 1 {
		t.Fatalf("got %d frames, want 1 ARP reply", len(got))
	}
	r := got[0]
	fields := []struct {
		name     string
		from, to int
		want     []byte
	}{
		{"Ethernet destination", 0, 6, []byte{0x00, 0x0e, 0xc6, 0x12, 0x34, 0x56}},
		{"Ethernet source", 6, 12, []byte{0x02, 0x77, 0x00, 0x00, 0x00, 0x01}},
		{"EtherType", 12, 14, []byte{0x08, 0x06}},
		{"hardware type", 14, 16, []byte{0x00, 0x01}},
		{"protocol type", 16, 18, []byte{0x08, 0x00}},
		{"hardware length", 18, 19, []byte{6}},
		{"protocol length", 19, 20, []byte{4}},
		{"operation", 20, 22, []byte{0x00, 0x02}},
		{"sender MAC", 22, 28, []byte{0x02, 0x77, 0x00, 0x00, 0x00, 0x01}},
		{"sender IP", 28, 32, []byte{192, 168, 77, 1}},
		{"target MAC", 32, 38, []byte{0x00, 0x0e, 0xc6, 0x12, 0x34, 0x56}},
		{"target IP", 38, 42, []byte{192, 168, 77, 100}},
		{"padding", 42, 60, make([]byte, 18)},
	}
	if len(r) != 60 {
		t.Fatalf("reply is %d bytes, want 60 (42 padded to the Ethernet minimum)", len(r))
	}
	for _, f := range fields {
		if !bytes.Equal(r[f.from:f.to], f.want) {
			t.Errorf("%s = % x, want % x", f.name, r[f.from:f.to], f.want)
		}
	}
	s := w.Snapshot()
	if s.ToHostByKind[KindARP] != (Count{1, 60}) || s.FromHostByKind[KindARP] != (Count{1, 42}) {
		t.Errorf("ARP counts to host %+v, from host %+v", s.ToHostByKind[KindARP], s.FromHostByKind[KindARP])
	}
	if s.HostMAC != hostMAC || !s.HostMACLearnt || s.HostIP != addr(hostIP) || !s.HostIPLearnt {
		t.Errorf("learnt host %v %v (%v, %v), want %v %v", s.HostMAC, s.HostIP, s.HostMACLearnt, s.HostIPLearnt, hostMAC, addr(hostIP))
	}
}

func TestARPRequestsEachPeerAnswersForItself(t *testing.T) {
	for _, p := range []struct {
		ip  [4]byte
		mac MAC
	}{{gwIP, gwMAC}, {webIP, webMAC}, {dnsIP, dnsMAC}} {
		w, _ := newTestWire(t, Config{})
		req := append([]byte(nil), arpWhoHasGateway...)
		copy(req[38:42], p.ip[:])
		w.FromHost(req)
		got := pull(w, 10)
		if len(got) != 1 || !bytes.Equal(got[0][6:12], p.mac[:]) || !bytes.Equal(got[0][22:28], p.mac[:]) || !bytes.Equal(got[0][28:32], p.ip[:]) {
			t.Errorf("who-has %v: got %d frames, first % x", p.ip, len(got), got)
		}
	}
}

func TestHostFramesThatGetNoAnswer(t *testing.T) {
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), arpWhoHasGateway...)
		f(b)
		return b
	}
	tests := []struct {
		name      string
		frame     []byte
		malformed uint64
		ignored   uint64
	}{
		{"shorter than an Ethernet header", []byte{1, 2, 3}, 1, 0},
		{"ARP cut short", arpWhoHasGateway[:40], 1, 0},
		{"ARP for an address no peer has", mutate(func(b []byte) { b[41] = 99 }), 0, 1},
		{"ARP reply rather than request", mutate(func(b []byte) { b[21] = 2 }), 0, 1},
		{"ARP for another protocol", mutate(func(b []byte) { b[16] = 0x86; b[17] = 0xdd }), 0, 1},
		{"unknown EtherType", mutate(func(b []byte) { b[12], b[13] = 0x88, 0xb5 }), 0, 1},
		{"IPv4 with a bad header checksum", func() []byte {
			f := ethFrame(gwMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, gwIP, echoRequest(1, 1, 32)))
			f[24] ^= 0xff
			return f
		}(), 1, 0},
		{"IPv4 total length past the frame", func() []byte {
			f := ethFrame(gwMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, gwIP, echoRequest(1, 1, 32)))
			return f[:len(f)-1]
		}(), 1, 0},
		{"ICMP echo with a bad checksum", func() []byte {
			m := echoRequest(1, 1, 32)
			m[10] ^= 1
			return ethFrame(gwMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, gwIP, m))
		}(), 1, 0},
		{"ICMP echo to the gateway's IP at another MAC", ethFrame(webMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, gwIP, echoRequest(1, 1, 32))), 0, 1},
		{"ICMP echo to an address no peer has", ethFrame(gwMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, [4]byte{192, 168, 77, 9}, echoRequest(1, 1, 32))), 0, 1},
		{"UDP with a bad checksum", func() []byte {
			u := udpDatagram(hostIP, dnsIP, 5000, 53, []byte("not a query"))
			u[9] ^= 1
			return ethFrame(dnsMAC, hostMAC, 0x0800, ipv4Packet(17, hostIP, dnsIP, u))
		}(), 1, 0},
		{"TCP to the web server", ethFrame(webMAC, hostMAC, 0x0800, ipv4Packet(6, hostIP, webIP, make([]byte, 20))), 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWire(t, Config{})
			w.FromHost(tt.frame)
			if got := pull(w, 10); len(got) != 0 {
				t.Errorf("got %d frames, want none: % x", len(got), got[0])
			}
			s := w.Snapshot()
			if s.Malformed != tt.malformed || s.Ignored != tt.ignored {
				t.Errorf("malformed %d ignored %d, want %d and %d", s.Malformed, s.Ignored, tt.malformed, tt.ignored)
			}
			if s.FromHost != (Count{1, uint64(len(tt.frame))}) {
				t.Errorf("from host %+v, want 1 frame of %d bytes", s.FromHost, len(tt.frame))
			}
		})
	}
}

func TestEchoRequestGetsReplyWithSamePayloadAndValidChecksums(t *testing.T) {
	for _, size := range []int{64, 1400, 1514} {
		// size is the whole frame: 14 + 20 + 8 bytes of headers, the rest data.
		req := echoRequest(0x4242, 7, size-42)
		frame := ethFrame(webMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, webIP, req))
		w, _ := newTestWire(t, Config{})
		w.FromHost(frame)
		got := pull(w, 10)
		if len(got) != 1 {
			t.Fatalf("size %d: got %d frames, want 1", size, len(got))
		}
		r := got[0]
		if len(r) != size {
			t.Errorf("size %d: reply is %d bytes", size, len(r))
		}
		if !bytes.Equal(r[0:6], hostMAC[:]) || !bytes.Equal(r[6:12], webMAC[:]) {
			t.Errorf("size %d: reply from %x to %x", size, r[6:12], r[0:6])
		}
		hdr, icmp := ipv4Of(t, r)
		if hdr[9] != 1 || !bytes.Equal(hdr[12:16], webIP[:]) || !bytes.Equal(hdr[16:20], hostIP[:]) || hdr[8] != 64 {
			t.Errorf("size %d: IP header % x", size, hdr)
		}
		if icmp[0] != 0 || icmp[1] != 0 {
			t.Errorf("size %d: ICMP type %d code %d, want echo reply 0 0", size, icmp[0], icmp[1])
		}
		if got, want := binary.BigEndian.Uint16(icmp[2:]), inetChecksum(withZeroAt(icmp, 2)); got != want {
			t.Errorf("size %d: ICMP checksum %#04x, want %#04x", size, got, want)
		}
		if !bytes.Equal(icmp[4:], req[4:]) {
			t.Errorf("size %d: identifier, sequence number or data differ from the request", size)
		}
	}
}

func TestEchoRequestWithEthernetPaddingIsAnsweredAtIPLength(t *testing.T) {
	// 14 + 20 + 8 + 4 = 46 bytes, padded to 60 as an adapter would.
	frame := ethFrame(gwMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, gwIP, echoRequest(9, 9, 4)))
	frame = append(frame, make([]byte, 60-len(frame))...)
	w, _ := newTestWire(t, Config{})
	w.FromHost(frame)
	got := pull(w, 10)
	if len(got) != 1 {
		t.Fatalf("got %d frames", len(got))
	}
	_, icmp := ipv4Of(t, got[0])
	if len(icmp) != 12 {
		t.Errorf("reply carries %d ICMP bytes, want 12: the padding is not data", len(icmp))
	}
}

func TestHostMACAndIPAreLearntFromFramesAndRetargetTraffic(t *testing.T) {
	w, _ := newTestWire(t, Config{})
	if s := w.Snapshot(); s.HostMAC != Broadcast || s.HostMACLearnt || s.HostIP != addr(hostIP) || s.HostIPLearnt {
		t.Fatalf("before any frame: %v %v %v %v", s.HostMAC, s.HostMACLearnt, s.HostIP, s.HostIPLearnt)
	}
	if err := w.Flood(64, 0); err != nil {
		t.Fatal(err)
	}
	before := pull(w, 1)[0]
	if !bytes.Equal(before[0:6], Broadcast[:]) {
		t.Errorf("flood before learning goes to %x, want broadcast", before[0:6])
	}
	other := MAC{0x00, 0x50, 0xb6, 0x01, 0x02, 0x03}
	otherIP := [4]byte{192, 168, 77, 42}
	w.FromHost(ethFrame(gwMAC, other, 0x0800, ipv4Packet(1, otherIP, gwIP, echoRequest(1, 1, 8))))
	pull(w, 1) // the echo reply
	after := pull(w, 1)[0]
	if !bytes.Equal(after[0:6], other[:]) || !bytes.Equal(after[30:34], otherIP[:]) {
		t.Errorf("flood after learning goes to %x %v, want %x %v", after[0:6], after[30:34], other, otherIP)
	}
	hdr, _ := ipv4Of(t, after) // the template's checksums were rebuilt
	_, _, _ = udpOf(t, hdr, after[34:])
	// A multicast source, a peer's MAC and unusable IPs teach nothing.
	w.FromHost(ethFrame(Broadcast, MAC{0x01, 0, 0x5e, 0, 0, 1}, 0x88b5, nil))
	w.FromHost(ethFrame(Broadcast, webMAC, 0x88b5, nil))
	w.FromHost(ethFrame(gwMAC, other, 0x0800, ipv4Packet(17, [4]byte{0, 0, 0, 0}, bcastIP, udpDatagram([4]byte{}, bcastIP, 1, 2, nil))))
	w.FromHost(ethFrame(gwMAC, other, 0x0800, ipv4Packet(17, [4]byte{192, 168, 77, 255}, bcastIP, udpDatagram([4]byte{192, 168, 77, 255}, bcastIP, 1, 2, nil))))
	w.FromHost(ethFrame(gwMAC, other, 0x0800, ipv4Packet(17, gwIP, bcastIP, udpDatagram(gwIP, bcastIP, 1, 2, nil))))
	if s := w.Snapshot(); s.HostMAC != other || s.HostIP != addr(otherIP) {
		t.Errorf("after frames that teach nothing: %v %v", s.HostMAC, s.HostIP)
	}
}

func TestReplyQueueDropsWhenFullAndCounts(t *testing.T) {
	w, _ := newTestWire(t, Config{ReplyQueue: 4})
	for range 10 {
		w.FromHost(arpWhoHasGateway)
	}
	if got := len(pull(w, 100)); got != 4 {
		t.Errorf("pulled %d replies, want 4", got)
	}
	if s := w.Snapshot(); s.ReplyDrops != 6 {
		t.Errorf("reply drops %d, want 6", s.ReplyDrops)
	}
}

func TestToHostDropsFramesLongerThanItsBuffer(t *testing.T) {
	w, _ := newTestWire(t, Config{})
	w.FromHost(ethFrame(gwMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, gwIP, echoRequest(1, 1, 200))))
	w.FromHost(arpWhoHasGateway)
	buf := make([]byte, 100)
	if n := w.ToHost(buf); n != 60 {
		t.Errorf("ToHost = %d, want the 60-byte ARP reply after skipping the 242-byte echo reply", n)
	}
	if s := w.Snapshot(); s.TooBig != 1 {
		t.Errorf("too big %d, want 1", s.TooBig)
	}
}

func TestToHostWithoutRoomDropsInsteadOfPanicking(t *testing.T) {
	frames := captureFrames()
	// Each profile drops one frame per call that finds no room; the idle profile has only one
	// frame due.
	for _, c := range []struct {
		start  func(w *Wire) error
		tooBig uint64
	}{
		{func(w *Wire) error { w.Idle(); return nil }, 2},
		{func(w *Wire) error { return w.Web(0) }, 3},
		{func(w *Wire) error { return w.Flood(64, 0) }, 3},
		{func(w *Wire) error { return w.Replay(frames, AsFastAsPulled) }, 3},
	} {
		w, _ := newTestWire(t, Config{})
		if err := c.start(w); err != nil {
			t.Fatal(err)
		}
		w.FromHost(arpWhoHasGateway)
		for _, buf := range [][]byte{nil, make([]byte, 10)} {
			if n := w.ToHost(buf); n != 0 {
				t.Errorf("%v: ToHost into %d bytes = %d", w.Snapshot().Profile, len(buf), n)
			}
		}
		if s := w.Snapshot(); s.TooBig != c.tooBig { // the ARP reply, then generated frames
			t.Errorf("%v: too big %d, want %d", s.Profile, s.TooBig, c.tooBig)
		}
	}
}
