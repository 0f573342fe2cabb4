package wire

// DHCP (RFC 2131, options RFC 2132) as the gateway serves it.
const (
	dhcpServerPort = 67
	dhcpClientPort = 68

	bootRequest = 1
	bootReply   = 2

	dhcpCookieOffset  = 236 // after the fixed BOOTP fields
	dhcpOptionsOffset = 240
	dhcpMagicCookie   = 0x63825363 // 99.130.83.99
	// dhcpMinLen is the shortest BOOTP message (RFC 951's 300 bytes); older clients drop
	// shorter replies, so the server pads its options to it.
	dhcpMinLen = 300
	// dhcpBroadcastFlag asks the server to broadcast its reply because the client cannot
	// receive unicast before it has an address.
	dhcpBroadcastFlag = 0x8000
)

// DHCP message types (option 53).
const (
	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpAck      = 5
	dhcpNak      = 6
	dhcpRelease  = 7
)

// DHCP options the server reads or sends.
const (
	optPad         = 0
	optSubnetMask  = 1
	optRouter      = 3
	optDNS         = 6
	optRequestedIP = 50
	optLeaseTime   = 51
	optMessageType = 53
	optServerID    = 54
	optEnd         = 255
)

type leaseState uint8

const (
	leaseFree leaseState = iota
	leaseOffered
	leaseBound
)

// lease is one address of the pool and the client it is offered or bound to.
type lease struct {
	mac   MAC
	state leaseState
}

// dhcpMessage is what the server reads from a client's message.
type dhcpMessage struct {
	typ          byte
	requested    ip4
	hasRequested bool
	serverID     ip4
	hasServerID  bool
	ciaddr       ip4
	chaddr       MAC
}

// parseDHCP reads a BOOTREQUEST with the DHCP options the server needs. ok is false when a
// length runs past the message; dhcp is false for BOOTP without DHCP.
func parseDHCP(m []byte) (msg dhcpMessage, dhcp, ok bool) {
	if len(m) < dhcpOptionsOffset {
		return msg, false, false
	}
	if m[0] != bootRequest || m[1] != 1 || m[2] != 6 || be32(m[dhcpCookieOffset:]) != dhcpMagicCookie {
		return msg, false, true
	}
	msg.ciaddr = ip4(m[12:16])
	msg.chaddr = MAC(m[28:34])
	opts := m[dhcpOptionsOffset:]
	for len(opts) > 0 && opts[0] != optEnd {
		if opts[0] == optPad {
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || len(opts) < 2+int(opts[1]) { // code, length, value must fit
			return msg, true, false
		}
		code, val := opts[0], opts[2:2+int(opts[1])]
		opts = opts[2+len(val):]
		switch {
		case code == optMessageType && len(val) == 1:
			msg.typ = val[0]
		case code == optRequestedIP && len(val) == 4:
			msg.requested, msg.hasRequested = ip4(val), true
		case code == optServerID && len(val) == 4:
			msg.serverID, msg.hasServerID = ip4(val), true
		}
	}
	return msg, true, true
}

// fromHostDHCP serves DISCOVER, REQUEST and RELEASE. Leases are remembered by client MAC: a
// client that comes back is offered the address it had.
func (w *Wire) fromHostDHCP(m []byte) {
	msg, dhcp, ok := parseDHCP(m)
	if !ok {
		w.stats.malformed++
		return
	}
	if !dhcp {
		w.stats.ignored++
		return
	}
	switch msg.typ {
	case dhcpDiscover:
		i := w.leaseOf(msg.chaddr)
		if i < 0 && msg.hasRequested {
			if j := w.poolIndex(msg.requested); j >= 0 && w.leases[j].state == leaseFree {
				i = j
			}
		}
		if i < 0 {
			i = w.poolIndex(ip4{}) // the first free address
		}
		if i < 0 { // pool exhausted: stay silent, as servers do
			w.stats.ignored++
			return
		}
		if w.leases[i].state == leaseFree {
			w.leases[i] = lease{mac: msg.chaddr, state: leaseOffered}
		}
		w.queueDHCP(m, dhcpOffer, w.leaseAddr(i))
	case dhcpRequest:
		if msg.hasServerID && msg.serverID != w.gw.ip { // the client took another server's offer
			if i := w.leaseOf(msg.chaddr); i >= 0 && w.leases[i].state == leaseOffered {
				w.leases[i] = lease{}
			}
			w.stats.ignored++
			return
		}
		want := msg.ciaddr // renewing or rebinding: the address it holds
		if msg.hasRequested {
			want = msg.requested // selecting or rebooting
		}
		i := w.leaseOf(msg.chaddr)
		if i < 0 {
			if j := w.poolIndex(want); j >= 0 && w.leases[j].state == leaseFree {
				i = j
			}
		}
		if i < 0 || w.leaseAddr(i) != want {
			w.queueDHCP(m, dhcpNak, ip4{})
			return
		}
		w.leases[i] = lease{mac: msg.chaddr, state: leaseBound}
		w.queueDHCP(m, dhcpAck, want)
		if msg.chaddr == w.hostMAC {
			w.learnIP(want)
		}
	case dhcpRelease:
		if i := w.leaseOf(msg.chaddr); i >= 0 && w.leaseAddr(i) == msg.ciaddr {
			w.leases[i] = lease{}
		} else {
			w.stats.ignored++
		}
	default:
		w.stats.ignored++
	}
}

// leaseOf returns the pool index offered or bound to mac, or -1.
func (w *Wire) leaseOf(mac MAC) int {
	for i := range w.leases {
		if w.leases[i].state != leaseFree && w.leases[i].mac == mac {
			return i
		}
	}
	return -1
}

// poolIndex returns the pool index of a, or for the zero address the first free index; -1
// when a is outside the pool or nothing is free.
func (w *Wire) poolIndex(a ip4) int {
	if a == (ip4{}) {
		for i := range w.leases {
			if w.leases[i].state == leaseFree {
				return i
			}
		}
		return -1
	}
	off := be32(a[:]) - w.leaseFirst
	if off >= uint32(len(w.leases)) {
		return -1
	}
	return int(off)
}

func (w *Wire) leaseAddr(i int) ip4 { return be32Bytes(w.leaseFirst + uint32(i)) }

// queueDHCP queues an OFFER, ACK or NAK answering the client message req.
func (w *Wire) queueDHCP(req []byte, typ byte, yiaddr ip4) {
	b := w.replies.reserve()
	if b == nil {
		w.stats.replyDrops++
		return
	}
	const at = ethHeaderLen + ipv4HeaderLen + udpHeaderLen
	m := b[at : at+dhcpMinLen]
	clear(m)
	m[0] = bootReply
	m[1] = 1                   // htype: Ethernet
	m[2] = 6                   // hlen
	copy(m[4:8], req[4:8])     // xid
	copy(m[10:12], req[10:12]) // flags
	if typ != dhcpNak {
		copy(m[12:16], req[12:16]) // ciaddr
		copy(m[16:20], yiaddr[:])
	}
	copy(m[24:28], req[24:28]) // giaddr
	copy(m[28:44], req[28:44]) // chaddr
	be.PutUint32(m[dhcpCookieOffset:], dhcpMagicCookie)
	o := dhcpOptionsOffset
	m[o], m[o+1], m[o+2] = optMessageType, 1, typ
	o += 3
	o = putOption4(m, o, optServerID, w.gw.ip)
	if typ != dhcpNak {
		o = putOption4(m, o, optLeaseTime, be32Bytes(uint32(w.cfg.LeaseTime.Seconds())))
		o = putOption4(m, o, optSubnetMask, be32Bytes(^uint32(0)<<(32-w.cfg.Subnet.Bits())))
		o = putOption4(m, o, optRouter, w.gw.ip)
		o = putOption4(m, o, optDNS, w.dns.ip)
	}
	m[o] = optEnd // the rest up to dhcpMinLen is pad, already zero

	// Where the reply goes (RFC 2131 §4.1): a NAK is broadcast; a client that has an address
	// gets unicast there; one that asked for broadcast gets it; otherwise unicast to the
	// offered address at the client's hardware address.
	msg := dhcpMessage{ciaddr: ip4(req[12:16]), chaddr: MAC(req[28:34])}
	dstIP, dstMAC := ip4{255, 255, 255, 255}, Broadcast
	switch {
	case typ == dhcpNak:
	case msg.ciaddr != ip4{}:
		dstIP, dstMAC = msg.ciaddr, msg.chaddr
	case be16(req[10:])&dhcpBroadcastFlag != 0:
	default:
		dstIP, dstMAC = yiaddr, msg.chaddr
	}
	putUDP(b[ethHeaderLen+ipv4HeaderLen:], w.gw.ip, dstIP, dhcpServerPort, dhcpClientPort, dhcpMinLen)
	putIPv4(b[ethHeaderLen:], w.nextIPID(), peerTTL, protoUDP, w.gw.ip, dstIP, udpHeaderLen+dhcpMinLen)
	putEth(b, dstMAC, w.gw.mac, etherTypeIPv4)
	w.replies.commit(at+dhcpMinLen, KindDHCP)
}

func putOption4(m []byte, o int, code byte, v [4]byte) int {
	m[o], m[o+1] = code, 4
	copy(m[o+2:o+6], v[:])
	return o + 6
}
