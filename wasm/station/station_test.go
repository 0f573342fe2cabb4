package station

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"webminiport/ndis/capture"
	"webminiport/usbnic/sim/wire"
)

var hostMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}

// testNet is a station on the sim's virtual network (written independently from the specs), with a
// capture ring between them as the page has: the station sends into the wire and the ring, and
// the wire's answers are recorded into the ring for the station to poll.
type testNet struct {
	t    *testing.T
	w    *wire.Wire
	ring *capture.Ring
	st   *Station
	now  time.Time
	sent [][]byte
	buf  []byte
}

func newNet(t *testing.T) *testNet {
	t.Helper()
	w, err := wire.New(wire.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	n := &testNet{t: t, w: w, ring: capture.NewRing(capture.RingConfig{Bytes: 1 << 20, Frames: 4096}),
		now: time.Unix(1000, 0), buf: make([]byte, wire.MaxFrameLen)}
	n.st = New(Config{MAC: hostMAC, HostName: "webminiport", Seed: 7, Send: func(f []byte) error {
		n.sent = append(n.sent, append([]byte(nil), f...))
		n.ring.Record(n.now, f)
		w.FromHost(f)
		return nil
	}})
	return n
}

// pump moves everything the wire has for the host into the ring and lets the station answer,
// until nothing more happens.
func (n *testNet) pump() {
	for range 20 {
		moved := false
		for {
			k := n.w.ToHost(n.buf)
			if k == 0 {
				break
			}
			n.ring.Record(n.now, n.buf[:k])
			moved = true
		}
		before := len(n.sent)
		n.st.Poll(n.ring, n.now)
		if !moved && len(n.sent) == before {
			return
		}
	}
}

func (n *testNet) bind() {
	n.t.Helper()
	if err := n.st.StartDHCP(n.now); err != nil {
		n.t.Fatal(err)
	}
	n.pump()
	if st := n.st.State(); st.Phase != PhaseBound {
		n.t.Fatalf("no lease: %+v", st)
	}
}

func TestDHCPLeaseFromTheVirtualNetwork(t *testing.T) {
	n := newNet(t)
	n.bind()
	st := n.st.State()
	want := netip.MustParseAddr("192.168.77.100")
	if st.IP != want || st.PrefixBits != 24 || st.Router != netip.MustParseAddr("192.168.77.1") ||
		st.DNS != netip.MustParseAddr("192.168.77.53") || st.Lease != time.Hour {
		t.Fatalf("lease %+v, want 192.168.77.100/24 via 192.168.77.1, DNS 192.168.77.53, 1 h", st)
	}
	if st.Discovers != 1 || st.Offers != 1 || st.Requests != 1 || st.Acks != 1 {
		t.Fatalf("DHCP exchange counts %+v, want one of each", st)
	}
	if snap := n.w.Snapshot(); snap.LeasedIP != want {
		t.Fatalf("the server holds lease %v for the host, want %v", snap.LeasedIP, want)
	}
	// The gateway is the DHCP server: its MAC was learnt from the offer.
	if st.Neighbours != 1 {
		t.Fatalf("neighbours %d, want the DHCP server", st.Neighbours)
	}
}

func TestDHCPMessagesAreWellFormed(t *testing.T) {
	n := newNet(t)
	n.bind()
	d := capture.NewDecoder()
	var s capture.Summary
	for i, f := range n.sent {
		d.Summarize(f, len(f), &s)
		if s.Malformed || s.Protocol.String() != "DHCP" {
			t.Fatalf("frame %d: %v %q malformed=%v", i, s.Protocol, s.Info(), s.Malformed)
		}
		ip := f[ethHeaderLen : ethHeaderLen+ipv4HeaderLen]
		if checksum(ip, 0) != 0 {
			t.Fatalf("frame %d: IPv4 header checksum does not verify", i)
		}
		udp := f[ethHeaderLen+ipv4HeaderLen:]
		if checksum(udp, pseudoSum(ip, protoUDP, len(udp))) != 0 {
			t.Fatalf("frame %d: UDP checksum does not verify", i)
		}
	}
	if snap := n.w.Snapshot(); snap.Malformed != 0 || snap.Ignored != 0 {
		t.Fatalf("the server found %d malformed and ignored %d of our messages", snap.Malformed, snap.Ignored)
	}
}

func TestPingTheGatewayGetsAReply(t *testing.T) {
	n := newNet(t)
	n.bind()
	n.now = n.now.Add(time.Second)
	if err := n.st.Ping(n.now, netip.MustParseAddr("192.168.77.1"), 56); err != nil {
		t.Fatal(err)
	}
	n.now = n.now.Add(3 * time.Millisecond)
	n.pump()
	st := n.st.State()
	if st.PingsSent != 1 || st.PingReplies != 1 || st.LastRTT != 3*time.Millisecond {
		t.Fatalf("pings %+v, want one reply after 3 ms", st)
	}
}

func TestPingAnUnknownNeighbourAsksARPFirst(t *testing.T) {
	n := newNet(t)
	n.bind()
	if err := n.st.Ping(n.now, netip.MustParseAddr("192.168.77.80"), 1400); err != nil {
		t.Fatal(err)
	}
	if st := n.st.State(); st.ARPRequests != 1 || st.PingsSent != 0 {
		t.Fatalf("before the ARP answer: %+v", st)
	}
	n.pump()
	st := n.st.State()
	if st.ARPAnswers != 1 || st.PingsSent != 1 || st.PingReplies != 1 {
		t.Fatalf("after the ARP answer: %+v, want the ping sent and answered", st)
	}
	if last := n.sent[len(n.sent)-1]; len(last) != ethHeaderLen+ipv4HeaderLen+icmpHeaderLen+1400 {
		t.Fatalf("ping frame of %d bytes, want a 1400-byte payload", len(last))
	}
}

func TestPingOutsideTheSubnetGoesToTheRouter(t *testing.T) {
	n := newNet(t)
	n.bind()
	if err := n.st.Ping(n.now, netip.MustParseAddr("8.8.8.8"), 8); err != nil {
		t.Fatal(err)
	}
	last := n.sent[len(n.sent)-1]
	if binary.BigEndian.Uint16(last[12:14]) != etherTypeIPv4 || [4]byte(last[30:34]) != [4]byte{8, 8, 8, 8} {
		t.Fatalf("last frame is not the ping to 8.8.8.8: % x", last[:34])
	}
	if [6]byte(last[0:6]) != n.dhcpServerMAC() {
		t.Fatalf("ping to 8.8.8.8 sent to %x, want the router's MAC %x", last[0:6], n.dhcpServerMAC())
	}
}

// dhcpServerMAC is the source MAC of the first frame the wire sent the host (the offer).
func (n *testNet) dhcpServerMAC() [6]byte {
	for f := range n.ring.All(nil) {
		if [6]byte(f.Data[6:12]) != hostMAC {
			return [6]byte(f.Data[6:12])
		}
	}
	return [6]byte{}
}

func TestPingBeforeALeaseFails(t *testing.T) {
	n := newNet(t)
	if err := n.st.Ping(n.now, netip.MustParseAddr("192.168.77.1"), 8); err == nil {
		t.Fatal("ping without an address succeeded")
	}
	if err := n.st.Ping(n.now, netip.MustParseAddr("::1"), 8); err == nil {
		t.Fatal("ping to an IPv6 address succeeded")
	}
}

func TestDHCPDiscoverIsRetriedWithoutAnAnswer(t *testing.T) {
	ring := capture.NewRing(capture.RingConfig{Bytes: 1 << 16, Frames: 64})
	sent := 0
	st := New(Config{MAC: hostMAC, Send: func([]byte) error { sent++; return nil }})
	now := time.Unix(0, 0)
	if err := st.StartDHCP(now); err != nil {
		t.Fatal(err)
	}
	st.Poll(ring, now.Add(time.Second))
	if sent != 1 {
		t.Fatalf("%d discovers after 1 s, want 1", sent)
	}
	st.Poll(ring, now.Add(dhcpRetry))
	st.Poll(ring, now.Add(dhcpRetry+time.Second))
	if sent != 2 {
		t.Fatalf("%d discovers after the retry time, want 2", sent)
	}
	st.Poll(ring, now.Add(dhcpRetry+2*dhcpRetry))
	if sent != 3 {
		t.Fatalf("%d discovers after the doubled retry time, want 3", sent)
	}
}

// echoRequest builds by hand an echo request from the gateway to the host: 02:77:00:00:00:01,
// 192.168.77.1 → 192.168.77.100, identifier 0x1234, sequence 1, payload "abcd".
func echoRequest() []byte {
	f := []byte{
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x77, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
		0x45, 0x00, 0x00, 0x20, 0x00, 0x07, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00,
		192, 168, 77, 1, 192, 168, 77, 100,
		0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x01, 'a', 'b', 'c', 'd',
	}
	binary.BigEndian.PutUint16(f[24:26], checksum(f[14:34], 0))
	binary.BigEndian.PutUint16(f[36:38], checksum(f[34:46], 0))
	return append(f, make([]byte, minFrameLen-len(f))...)
}

func TestEchoRequestToUsIsAnswered(t *testing.T) {
	n := newNet(t)
	n.bind()
	before := len(n.sent)
	n.ring.Record(n.now, echoRequest())
	n.st.Poll(n.ring, n.now)
	if len(n.sent) != before+1 {
		t.Fatalf("%d frames sent for one echo request, want 1", len(n.sent)-before)
	}
	r := n.sent[before]
	if len(r) != minFrameLen {
		t.Fatalf("reply of %d bytes, want %d", len(r), minFrameLen)
	}
	wantHead := []byte{0x02, 0x77, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00}
	if string(r[:14]) != string(wantHead) {
		t.Fatalf("Ethernet header % x, want % x", r[:14], wantHead)
	}
	if [4]byte(r[26:30]) != [4]byte{192, 168, 77, 100} || [4]byte(r[30:34]) != [4]byte{192, 168, 77, 1} {
		t.Fatalf("addresses %v -> %v, want 192.168.77.100 -> 192.168.77.1", r[26:30], r[30:34])
	}
	if r[34] != 0 || string(r[38:46]) != "\x12\x34\x00\x01abcd" {
		t.Fatalf("ICMP % x, want type 0 with id, sequence and data kept", r[34:46])
	}
	if checksum(r[14:34], 0) != 0 || checksum(r[34:46], 0) != 0 {
		t.Fatal("a checksum of the reply does not verify")
	}
	if st := n.st.State(); st.EchoReplies != 1 {
		t.Fatalf("EchoReplies %d, want 1", st.EchoReplies)
	}
}

func TestARPRequestForUsIsAnswered(t *testing.T) {
	n := newNet(t)
	n.bind()
	req := make([]byte, minFrameLen)
	_, err := capture.BuildARPRequest(req, [6]byte{0x02, 0x77, 0, 0, 0, 0x50},
		netip.MustParseAddr("192.168.77.80"), netip.MustParseAddr("192.168.77.100"))
	if err != nil {
		t.Fatal(err)
	}
	before := len(n.sent)
	n.ring.Record(n.now, req)
	n.st.Poll(n.ring, n.now)
	if len(n.sent) != before+1 {
		t.Fatalf("%d frames sent for one ARP request, want 1", len(n.sent)-before)
	}
	want := []byte{
		0x02, 0x77, 0, 0, 0, 0x50, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x06,
		0, 1, 0x08, 0, 6, 4, 0, 2,
		0x02, 0, 0, 0, 0, 0x02, 192, 168, 77, 100,
		0x02, 0x77, 0, 0, 0, 0x50, 192, 168, 77, 80,
	}
	want = append(want, make([]byte, minFrameLen-len(want))...)
	if got := n.sent[before]; string(got) != string(want) {
		t.Fatalf("ARP reply\n% x\nwant\n% x", got, want)
	}
}

func TestOwnFramesAndOthersRequestsAreIgnored(t *testing.T) {
	n := newNet(t)
	n.bind()
	other := make([]byte, minFrameLen)
	if _, err := capture.BuildARPRequest(other, [6]byte{0x02, 0x77, 0, 0, 0, 0x50},
		netip.MustParseAddr("192.168.77.80"), netip.MustParseAddr("192.168.77.7")); err != nil {
		t.Fatal(err)
	}
	own := echoRequest()
	copy(own[6:12], hostMAC[:])
	before := len(n.sent)
	n.ring.Record(n.now, other)
	n.ring.Record(n.now, own)
	n.ring.Record(n.now, []byte{1, 2, 3}) // a runt
	n.st.Poll(n.ring, n.now)
	if len(n.sent) != before {
		t.Fatalf("the station answered %d frames that were not for it", len(n.sent)-before)
	}
}

func TestAnsweringAFrameDoesNotAllocate(t *testing.T) {
	st := New(Config{MAC: hostMAC, Send: func([]byte) error { return nil }})
	st.st.Phase, st.st.IP, st.st.PrefixBits = PhaseBound, netip.MustParseAddr("192.168.77.100"), 24
	req := echoRequest()
	other := echoRequest()
	copy(other[30:34], []byte{192, 168, 77, 7}) // to someone else
	now := time.Unix(0, 0)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.handleLocked(now, req) // learns the sender once
	if n := testing.AllocsPerRun(100, func() {
		st.handleLocked(now, req)
		st.handleLocked(now, other)
	}); n != 0 {
		t.Fatalf("%v allocations per answered frame, want 0", n)
	}
}

// A send refused for want of a send buffer is no send error and takes nothing: the ping sent
// again afterwards gets the next sequence number, and each request is counted once.
func TestASendRefusedForWantOfABufferCountsNothing(t *testing.T) {
	busy := true
	var seqs []uint16
	st := New(Config{MAC: hostMAC, Send: func(f []byte) error {
		if busy {
			return capture.ErrSendBusy
		}
		if len(f) >= 42 && f[23] == 1 { // ICMP: the echo request's sequence number
			seqs = append(seqs, uint16(f[40])<<8|uint16(f[41]))
		}
		return nil
	}})
	st.st.Phase, st.st.IP, st.st.PrefixBits = PhaseBound, netip.MustParseAddr("192.168.77.100"), 24
	gw := netip.MustParseAddr("192.168.77.1")
	st.neigh[gw.As4()] = [6]byte{2, 0x77, 0, 0, 0, 1}
	now := time.Unix(0, 0)
	for _, send := range []func() error{
		func() error { return st.Ping(now, gw, 56) },
		func() error { return st.ARP(gw) },
		func() error { return st.DHCPDiscover(now) },
	} {
		if err := send(); !errors.Is(err, capture.ErrSendBusy) {
			t.Fatalf("busy send: %v, want ErrSendBusy", err)
		}
	}
	if s := st.State(); s.PingsSent != 0 || s.ARPRequests != 0 || s.Discovers != 0 || s.SendErrors != 0 {
		t.Fatalf("after refused sends: %+v, want nothing counted", s)
	}
	busy = false
	for range 2 {
		if err := st.Ping(now, gw, 56); err != nil {
			t.Fatal(err)
		}
	}
	if s := st.State(); s.PingsSent != 2 || len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 {
		t.Fatalf("pings sent %d with sequence numbers %v, want 2 numbered 1 and 2", s.PingsSent, seqs)
	}
}
