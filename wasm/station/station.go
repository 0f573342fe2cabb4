// Package station is the page's own host on the network behind the adapter: the small part of an
// IPv4 stack that sits above a protocol driver in a real system. It takes a lease with DHCP
// (discover, offer, request, acknowledge), answers ARP requests for its address and ICMP echo
// requests to it, and sends the ARP requests and pings the page asks for, learning neighbours'
// MAC addresses from the frames it sees.
//
// The station reads what arrived from the capture ring (Poll), never from inside the receive
// path: the receive path must not wait for anything, and a host that falls behind a flood simply
// skips ahead, as a real one would drop. It sends through a function, normally
// capture.Driver.SendFrame, so its frames go down the same send path as everything else.
package station

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"webminiport/ndis/capture"
)

// Frame layout constants (IEEE 802.3, RFC 791, RFC 768, RFC 792, RFC 826, RFC 2131).
const (
	ethHeaderLen  = 14
	ipv4HeaderLen = 20
	udpHeaderLen  = 8
	icmpHeaderLen = 8
	arpLen        = 28
	minFrameLen   = 60

	etherTypeIPv4 = 0x0800
	etherTypeARP  = 0x0806

	protoICMP = 1
	protoUDP  = 17

	dhcpServerPort = 67
	dhcpClientPort = 68
	bootpFixed     = 236
	dhcpCookie     = 0x63825363
	bootpMinLen    = 300

	// maxFrame is the largest frame the station builds or answers: a full Ethernet frame.
	maxFrame = 1514
)

// DHCP message types (RFC 2132 option 53) and the options the station reads or writes.
const (
	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpAck      = 5
	dhcpNak      = 6

	optPad         = 0
	optSubnetMask  = 1
	optRouter      = 3
	optDNS         = 6
	optHostName    = 12
	optRequestedIP = 50
	optLeaseTime   = 51
	optMessageType = 53
	optServerID    = 54
	optParamList   = 55
	optClientID    = 61
	optEnd         = 255
)

// Timing of the DHCP client. RFC 2131 §4.1 asks for a randomised exponential backoff starting
// near 4 s; the page is a demonstration on a fast virtual network, so it starts at 2 s.
const (
	dhcpRetry    = 2 * time.Second
	dhcpMaxRetry = 32 * time.Second
	arpTimeout   = 3 * time.Second
	// maxScan bounds the frames one Poll looks at: under a flood the station skips the older
	// ones instead of falling further behind.
	maxScan = 4096
)

// Phase is where the DHCP client is.
type Phase uint8

// DHCP client phases (RFC 2131 §4.4 states, reduced to what the page shows).
const (
	PhaseNone       Phase = iota // no DHCP started
	PhaseSelecting               // discover sent, waiting for an offer
	PhaseRequesting              // request sent, waiting for the acknowledgement
	PhaseBound                   // holding a lease
)

func (p Phase) String() string {
	switch p {
	case PhaseNone:
		return "none"
	case PhaseSelecting:
		return "selecting"
	case PhaseRequesting:
		return "requesting"
	case PhaseBound:
		return "bound"
	}
	return fmt.Sprintf("Phase(%d)", uint8(p))
}

// Config sets up a station.
type Config struct {
	// MAC is the adapter's address.
	MAC [6]byte
	// Send puts one frame on the wire (capture.Driver.SendFrame). The slice is only read during
	// the call.
	Send func(frame []byte) error
	// HostName goes into DHCP option 12.
	HostName string
	// Seed seeds the DHCP transaction IDs and ping identifiers.
	Seed uint64
}

// State is what the station knows, for the adapter bar and window.webminiport.state().
type State struct {
	Phase      Phase
	IP         netip.Addr // the leased address; invalid until bound
	PrefixBits int
	Router     netip.Addr
	DNS        netip.Addr
	Server     netip.Addr // the DHCP server that gave the lease
	Lease      time.Duration

	Discovers, Requests uint64 // DHCP messages sent
	Offers, Acks, Naks  uint64 // DHCP messages received for our transactions
	ARPRequests         uint64 // ARP requests sent
	ARPReplies          uint64 // ARP replies sent for our address
	ARPAnswers          uint64 // ARP replies received for our requests
	EchoReplies         uint64 // echo replies sent to others' pings
	PingsSent           uint64
	PingReplies         uint64 // echo replies received for our pings
	LastRTT             time.Duration
	Neighbours          int // entries in the ARP cache
	SendErrors          uint64
	LastError           string
}

// Station is one host. Its methods are safe for concurrent use.
type Station struct {
	mu   sync.Mutex
	cfg  Config
	rng  *rand.Rand
	st   State
	next uint64 // the next capture-ring frame number to look at

	xid         uint32
	retryAt     time.Time
	retryDelay  time.Duration
	offered     [4]byte
	offerServer [4]byte

	neigh map[[4]byte][6]byte

	pingID   uint16
	pingSeq  uint16
	sentAt   map[uint16]time.Time // by sequence number, for the round trip time
	waiting  []pendingPing        // pings waiting for an ARP answer
	buf      [maxFrame]byte       // the frame being built
	frameBuf []byte               // where Poll copies ring frames
}

type pendingPing struct {
	target [4]byte
	size   int
	asked  time.Time
}

// New makes a station. It sends nothing until asked (StartDHCP, ARP, Ping) or until Poll finds
// something to answer.
func New(cfg Config) *Station {
	seed := cfg.Seed
	if seed == 0 {
		seed = 1
	}
	s := &Station{cfg: cfg, rng: rand.New(rand.NewPCG(seed, 0x57a7)), neigh: map[[4]byte][6]byte{},
		sentAt: map[uint16]time.Time{}, frameBuf: make([]byte, 0, 2048)}
	s.pingID = uint16(s.rng.Uint32())
	return s
}

// State returns what the station knows now.
func (s *Station) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Neighbours = len(s.neigh)
	return st
}

// SkipTo makes the next Poll start at frame number num: frames before it are not the station's
// business (they arrived before it was made).
func (s *Station) SkipTo(num uint64) {
	s.mu.Lock()
	s.next = num
	s.mu.Unlock()
}

// send puts s.buf[:n] on the wire. Called with s.mu held.
// send puts the first n bytes of the frame buffer on the wire. A send refused because every
// send buffer is in flight is no send error (the caller may try again): it is returned only.
func (s *Station) send(n int) error {
	err := s.cfg.Send(s.buf[:n])
	if err != nil && !errors.Is(err, capture.ErrSendBusy) {
		s.st.SendErrors++
		s.st.LastError = err.Error()
	}
	return err
}

// StartDHCP forgets any lease and sends a discover; Poll follows the offer with a request, and
// retries while no answer comes.
func (s *Station) StartDHCP(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.IP, s.st.Router, s.st.DNS, s.st.Server = netip.Addr{}, netip.Addr{}, netip.Addr{}, netip.Addr{}
	s.st.PrefixBits, s.st.Lease = 0, 0
	s.retryDelay = dhcpRetry
	return s.discoverLocked(now)
}

func (s *Station) discoverLocked(now time.Time) error {
	s.xid = s.rng.Uint32()
	s.st.Phase = PhaseSelecting
	s.retryAt = now.Add(s.retryDelay)
	n := s.buildDHCP(dhcpDiscover, [4]byte{}, [4]byte{})
	if err := s.send(n); err != nil {
		return err
	}
	s.st.Discovers++
	return nil
}

// ARP sends an ARP who-has for target from the station's address (0.0.0.0 before it has one,
// which makes it an ARP probe, RFC 5227).
func (s *Station) ARP(target netip.Addr) error {
	if !target.Is4() {
		return fmt.Errorf("station: ARP needs an IPv4 target, got %v", target)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.arpLocked(target.As4())
}

func (s *Station) arpLocked(target [4]byte) error {
	src := netip.IPv4Unspecified()
	if s.st.IP.IsValid() {
		src = s.st.IP
	}
	n, err := capture.BuildARPRequest(s.buf[:], s.cfg.MAC, src, netip.AddrFrom4(target))
	if err != nil {
		return err
	}
	if err := s.send(n); err != nil {
		return err
	}
	s.st.ARPRequests++
	return nil
}

// Ping sends an ICMP echo request with size payload bytes to target. Without the target's MAC
// address it asks with ARP first and sends the ping when the answer comes (Poll); after 3 s
// without an answer the ping is dropped.
func (s *Station) Ping(now time.Time, target netip.Addr, size int) error {
	if !target.Is4() {
		return fmt.Errorf("station: ping needs an IPv4 target, got %v", target)
	}
	if size < 0 || size > maxFrame-ethHeaderLen-ipv4HeaderLen-icmpHeaderLen {
		return fmt.Errorf("station: ping payload of %d bytes does not fit one frame (0..%d)", size,
			maxFrame-ethHeaderLen-ipv4HeaderLen-icmpHeaderLen)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.IP.IsValid() {
		return errors.New("station: no IPv4 address yet: the DHCP lease is not bound")
	}
	t := target.As4()
	if mac, ok := s.macForLocked(t); ok {
		return s.pingLocked(now, t, mac, size)
	}
	s.waiting = append(s.waiting, pendingPing{target: t, size: size, asked: now})
	return s.arpLocked(t)
}

// macForLocked returns the MAC address frames for ip go to: a neighbour's own, or the router's
// for an address outside the subnet.
func (s *Station) macForLocked(ip [4]byte) ([6]byte, bool) {
	if ip == [4]byte{255, 255, 255, 255} {
		return [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, true
	}
	if s.st.IP.IsValid() && s.st.Router.IsValid() {
		p := netip.PrefixFrom(s.st.IP, s.st.PrefixBits)
		if !p.Contains(netip.AddrFrom4(ip)) {
			ip = s.st.Router.As4()
		}
	}
	mac, ok := s.neigh[ip]
	return mac, ok
}

// pingLocked sends one echo request; a ping that could not be sent takes no sequence number
// and is not counted, so that the caller may send it again.
func (s *Station) pingLocked(now time.Time, target [4]byte, mac [6]byte, size int) error {
	seq := s.pingSeq + 1
	req := capture.EchoRequest{SrcMAC: s.cfg.MAC, DstMAC: mac, SrcIP: s.st.IP, DstIP: netip.AddrFrom4(target),
		ID: s.pingID, Seq: seq, IPID: uint16(s.rng.Uint32()), PayloadLen: size}
	n, err := capture.BuildEchoRequest(s.buf[:], &req)
	if err != nil {
		return err
	}
	if err := s.send(n); err != nil {
		return err
	}
	s.pingSeq = seq
	if len(s.sentAt) >= 1024 { // answers that never came
		clear(s.sentAt)
	}
	s.sentAt[seq] = now
	s.st.PingsSent++
	return nil
}

// DHCPDiscover sends one discover, as the page's "DHCP discover" button does; an offer that
// answers it is followed up like StartDHCP's.
func (s *Station) DHCPDiscover(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retryDelay == 0 {
		s.retryDelay = dhcpRetry
	}
	if s.st.Phase == PhaseBound {
		// Keep the lease: a discover from a bound client is a new transaction the server
		// answers with the same address; the station goes through request/ack again.
		s.st.Phase = PhaseSelecting
	}
	return s.discoverLocked(now)
}

// Poll looks at the frames recorded in r since the last Poll and answers what is the station's
// to answer; it also retries DHCP and drops pings whose ARP went unanswered.
func (s *Station) Poll(r *capture.Ring, now time.Time) {
	first, last, ok := r.Span()
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		from := max(s.next, first)
		if last >= maxScan && from < last-maxScan+1 {
			from = last - maxScan + 1
		}
		if from <= last {
			for f := range r.Frames(from, last, s.frameBuf[:0]) {
				s.handleLocked(now, f.Data)
				s.frameBuf = f.Data[:0]
			}
			s.next = last + 1
		}
	}
	if (s.st.Phase == PhaseSelecting || s.st.Phase == PhaseRequesting) && !now.Before(s.retryAt) {
		s.retryDelay = min(2*s.retryDelay, dhcpMaxRetry)
		_ = s.discoverLocked(now)
	}
	kept := s.waiting[:0]
	for _, p := range s.waiting {
		if now.Sub(p.asked) < arpTimeout {
			kept = append(kept, p)
		}
	}
	s.waiting = kept
}

// handleLocked reacts to one frame.
func (s *Station) handleLocked(now time.Time, f []byte) {
	if len(f) < ethHeaderLen || [6]byte(f[6:12]) == s.cfg.MAC {
		return // too short, or one of ours (the capture ring records sent frames too)
	}
	switch binary.BigEndian.Uint16(f[12:14]) {
	case etherTypeARP:
		s.arpInLocked(now, f)
	case etherTypeIPv4:
		s.ipv4InLocked(now, f)
	}
}

func (s *Station) arpInLocked(now time.Time, f []byte) {
	a := f[ethHeaderLen:]
	if len(a) < arpLen || binary.BigEndian.Uint16(a[0:2]) != 1 || binary.BigEndian.Uint16(a[2:4]) != etherTypeIPv4 ||
		a[4] != 6 || a[5] != 4 {
		return
	}
	op := binary.BigEndian.Uint16(a[6:8])
	sha, spa, tpa := [6]byte(a[8:14]), [4]byte(a[14:18]), [4]byte(a[24:28])
	if spa != ([4]byte{}) {
		s.learnLocked(now, spa, sha)
	}
	mine := s.st.IP.IsValid() && tpa == s.st.IP.As4()
	switch {
	case op == 1 && mine:
		s.arpReplyLocked(sha, spa)
	case op == 2 && [6]byte(a[18:24]) == s.cfg.MAC:
		s.st.ARPAnswers++
	}
}

// learnLocked records ip at mac and sends the pings that waited for it.
func (s *Station) learnLocked(now time.Time, ip [4]byte, mac [6]byte) {
	if mac[0]&1 != 0 {
		return // a group address is nobody's
	}
	s.neigh[ip] = mac
	kept := s.waiting[:0]
	for _, p := range s.waiting {
		if m, ok := s.macForLocked(p.target); ok {
			_ = s.pingLocked(now, p.target, m, p.size)
		} else {
			kept = append(kept, p)
		}
	}
	s.waiting = kept
}

// arpReplyLocked answers a who-has for our address (RFC 826: swap, fill in our MAC, op 2).
func (s *Station) arpReplyLocked(tha [6]byte, tpa [4]byte) {
	b := s.buf[:minFrameLen]
	putEthernet(b, tha, s.cfg.MAC, etherTypeARP)
	a := b[ethHeaderLen:]
	binary.BigEndian.PutUint16(a[0:2], 1)
	binary.BigEndian.PutUint16(a[2:4], etherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], 2)
	copy(a[8:14], s.cfg.MAC[:])
	ip := s.st.IP.As4()
	copy(a[14:18], ip[:])
	copy(a[18:24], tha[:])
	copy(a[24:28], tpa[:])
	clear(b[ethHeaderLen+arpLen:])
	if s.send(minFrameLen) == nil {
		s.st.ARPReplies++
	}
}

func (s *Station) ipv4InLocked(now time.Time, f []byte) {
	ip := f[ethHeaderLen:]
	if len(ip) < ipv4HeaderLen || ip[0]>>4 != 4 {
		return
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ihl < ipv4HeaderLen || total < ihl || total > len(ip) {
		return
	}
	if binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
		return // a fragment: nothing the station answers comes fragmented
	}
	src, dst := [4]byte(ip[12:16]), [4]byte(ip[16:20])
	payload := ip[ihl:total]
	switch ip[9] {
	case protoICMP:
		if s.st.IP.IsValid() && dst == s.st.IP.As4() {
			s.learnLocked(now, src, [6]byte(f[6:12]))
			s.icmpInLocked(now, f, ihl, total, payload)
		}
	case protoUDP:
		if len(payload) >= udpHeaderLen && binary.BigEndian.Uint16(payload[0:2]) == dhcpServerPort &&
			binary.BigEndian.Uint16(payload[2:4]) == dhcpClientPort {
			s.dhcpInLocked(now, f, payload[udpHeaderLen:])
		}
	}
}

func (s *Station) icmpInLocked(now time.Time, f []byte, ihl, total int, icmp []byte) {
	if len(icmp) < icmpHeaderLen {
		return
	}
	switch icmp[0] {
	case 8: // echo request: answer with the same identifier, sequence and data (RFC 792)
		n := ethHeaderLen + total
		if n > len(s.buf) {
			return
		}
		b := s.buf[:max(n, minFrameLen)]
		copy(b, f[:n])
		clear(b[n:])
		putEthernet(b, [6]byte(f[6:12]), s.cfg.MAC, etherTypeIPv4)
		ip := b[ethHeaderLen:]
		copy(ip[12:16], f[ethHeaderLen+16:ethHeaderLen+20]) // our address, the request's destination
		copy(ip[16:20], f[ethHeaderLen+12:ethHeaderLen+16])
		ip[8] = 64 // TTL
		binary.BigEndian.PutUint16(ip[10:12], 0)
		binary.BigEndian.PutUint16(ip[10:12], checksum(ip[:ihl], 0))
		reply := ip[ihl:total]
		reply[0] = 0 // echo reply
		binary.BigEndian.PutUint16(reply[2:4], 0)
		binary.BigEndian.PutUint16(reply[2:4], checksum(reply, 0))
		if s.send(len(b)) == nil {
			s.st.EchoReplies++
		}
	case 0: // echo reply: ours if the identifier is
		if binary.BigEndian.Uint16(icmp[4:6]) != s.pingID {
			return
		}
		seq := binary.BigEndian.Uint16(icmp[6:8])
		if t, ok := s.sentAt[seq]; ok {
			s.st.LastRTT = now.Sub(t)
			delete(s.sentAt, seq)
		}
		s.st.PingReplies++
	}
}

// dhcpInLocked follows the client side of RFC 2131 §4.4 for replies to our transaction.
func (s *Station) dhcpInLocked(now time.Time, f []byte, m []byte) {
	if len(m) < bootpFixed+4 || m[0] != 2 || binary.BigEndian.Uint32(m[4:8]) != s.xid ||
		[6]byte(m[28:34]) != s.cfg.MAC || binary.BigEndian.Uint32(m[bootpFixed:]) != dhcpCookie {
		return
	}
	var typ byte
	var server, mask, router, dns [4]byte
	var lease uint32
	opts := m[bootpFixed+4:]
	for len(opts) > 0 && opts[0] != optEnd {
		if opts[0] == optPad {
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || len(opts) < 2+int(opts[1]) {
			return // an option runs past the message
		}
		code, val := opts[0], opts[2:2+int(opts[1])]
		opts = opts[2+len(val):]
		switch {
		case code == optMessageType && len(val) == 1:
			typ = val[0]
		case code == optServerID && len(val) == 4:
			server = [4]byte(val)
		case code == optSubnetMask && len(val) == 4:
			mask = [4]byte(val)
		case code == optRouter && len(val) >= 4:
			router = [4]byte(val[:4])
		case code == optDNS && len(val) >= 4:
			dns = [4]byte(val[:4])
		case code == optLeaseTime && len(val) == 4:
			lease = binary.BigEndian.Uint32(val)
		}
	}
	yiaddr := [4]byte(m[16:20])
	if server != ([4]byte{}) {
		s.learnLocked(now, server, [6]byte(f[6:12]))
	}
	switch {
	case typ == dhcpOffer && s.st.Phase == PhaseSelecting:
		s.st.Offers++
		s.offered, s.offerServer = yiaddr, server
		s.st.Phase = PhaseRequesting
		s.retryAt = now.Add(s.retryDelay)
		n := s.buildDHCP(dhcpRequest, yiaddr, server)
		s.st.Requests++
		_ = s.send(n)
	case typ == dhcpAck && s.st.Phase == PhaseRequesting:
		s.st.Acks++
		s.st.Phase = PhaseBound
		s.st.IP = netip.AddrFrom4(yiaddr)
		s.st.PrefixBits = maskBits(mask)
		s.st.Server = netip.AddrFrom4(server)
		s.st.Router, s.st.DNS = addrOrZero(router), addrOrZero(dns)
		s.st.Lease = time.Duration(lease) * time.Second
		s.retryDelay = dhcpRetry
	case typ == dhcpNak && s.st.Phase == PhaseRequesting:
		s.st.Naks++
		_ = s.discoverLocked(now)
	}
}

func addrOrZero(a [4]byte) netip.Addr {
	if a == ([4]byte{}) {
		return netip.Addr{}
	}
	return netip.AddrFrom4(a)
}

// maskBits returns the prefix length of a contiguous subnet mask, 24 when the mask is missing or
// not contiguous.
func maskBits(m [4]byte) int {
	v := binary.BigEndian.Uint32(m[:])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	if v != 0 || bits == 0 {
		return 24
	}
	return bits
}

// buildDHCP writes a DHCP client message into s.buf from 0.0.0.0:68 to 255.255.255.255:67 with
// the broadcast flag (the client cannot take unicast before it has an address): a discover, or a
// request for requested from server (RFC 2131 §4.3.2, SELECTING). It returns the frame length.
func (s *Station) buildDHCP(typ byte, requested, server [4]byte) int {
	const at = ethHeaderLen + ipv4HeaderLen + udpHeaderLen
	b := s.buf[:]
	m := b[at : at+bootpMinLen]
	clear(m)
	m[0], m[1], m[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, 6-byte addresses
	binary.BigEndian.PutUint32(m[4:8], s.xid)
	binary.BigEndian.PutUint16(m[10:12], 0x8000) // broadcast flag
	copy(m[28:34], s.cfg.MAC[:])
	binary.BigEndian.PutUint32(m[bootpFixed:], dhcpCookie)
	o := bootpFixed + 4
	m[o], m[o+1], m[o+2] = optMessageType, 1, typ
	o += 3
	m[o], m[o+1], m[o+2] = optClientID, 7, 1
	copy(m[o+3:o+9], s.cfg.MAC[:])
	o += 9
	if typ == dhcpRequest {
		m[o], m[o+1] = optRequestedIP, 4
		copy(m[o+2:o+6], requested[:])
		o += 6
		m[o], m[o+1] = optServerID, 4
		copy(m[o+2:o+6], server[:])
		o += 6
	}
	if name := s.cfg.HostName; name != "" && len(name) <= 32 {
		m[o], m[o+1] = optHostName, byte(len(name))
		copy(m[o+2:], name)
		o += 2 + len(name)
	}
	m[o], m[o+1] = optParamList, 4
	m[o+2], m[o+3], m[o+4], m[o+5] = optSubnetMask, optRouter, optDNS, optLeaseTime
	o += 6
	m[o] = optEnd

	udp := b[ethHeaderLen+ipv4HeaderLen : at]
	binary.BigEndian.PutUint16(udp[0:2], dhcpClientPort)
	binary.BigEndian.PutUint16(udp[2:4], dhcpServerPort)
	binary.BigEndian.PutUint16(udp[4:6], udpHeaderLen+bootpMinLen)
	binary.BigEndian.PutUint16(udp[6:8], 0)
	ip := b[ethHeaderLen : ethHeaderLen+ipv4HeaderLen]
	putIPv4(ip, ipv4HeaderLen+udpHeaderLen+bootpMinLen, uint16(s.rng.Uint32()), protoUDP,
		[4]byte{}, [4]byte{255, 255, 255, 255})
	// The UDP checksum covers a pseudo-header of the addresses, protocol and length (RFC 768).
	sum := pseudoSum(ip, protoUDP, udpHeaderLen+bootpMinLen)
	c := checksum(b[ethHeaderLen+ipv4HeaderLen:at+bootpMinLen], sum)
	if c == 0 {
		c = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(udp[6:8], c)
	putEthernet(b, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, s.cfg.MAC, etherTypeIPv4)
	return at + bootpMinLen
}

func putEthernet(b []byte, dst, src [6]byte, etherType uint16) {
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	binary.BigEndian.PutUint16(b[12:14], etherType)
}

// putIPv4 writes a 20-byte IPv4 header with TTL 64 and its checksum.
func putIPv4(ip []byte, total int, id uint16, proto uint8, src, dst [4]byte) {
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:4], uint16(total))
	binary.BigEndian.PutUint16(ip[4:6], id)
	binary.BigEndian.PutUint16(ip[6:8], 0)
	ip[8], ip[9] = 64, proto
	binary.BigEndian.PutUint16(ip[10:12], 0)
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:12], checksum(ip[:ipv4HeaderLen], 0))
}

func pseudoSum(ip []byte, proto uint8, length int) uint32 {
	var sum uint32
	for i := 12; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	return sum + uint32(proto) + uint32(length)
}

// checksum is the Internet checksum (RFC 1071) of b, starting from sum.
func checksum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
