package wire

// FromHost takes a frame the adapter transmitted: the peers learn the host's addresses from it
// and queue any reply. The slice is only read during the call.
func (w *Wire) FromHost(frame []byte) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	queued := w.replies.n
	kind := w.fromHost(frame)
	w.stats.fromHost.add(len(frame))
	w.stats.fromHostByKind[kind].add(len(frame))
	replied := w.replies.n > queued
	w.mu.Unlock()
	if replied {
		w.signal()
	}
}

// fromHost dispatches a host frame by EtherType and returns its kind. The caller holds w.mu.
func (w *Wire) fromHost(frame []byte) Kind {
	if len(frame) < ethHeaderLen {
		w.stats.malformed++
		return KindOther
	}
	dst, src := MAC(frame[0:6]), MAC(frame[6:12])
	w.learnMAC(src)
	switch be16(frame[12:]) {
	case etherTypeARP:
		return w.fromHostARP(frame, src)
	case etherTypeIPv4:
		return w.fromHostIPv4(frame, dst, src)
	}
	w.stats.ignored++
	return KindOther
}

// ipPacket is a host IPv4 datagram whose header has been checked.
type ipPacket struct {
	dstMAC, srcMAC MAC
	src, dst       ip4
	payload        []byte // after the header, cut at the total length (Ethernet padding dropped)
}

func (w *Wire) fromHostIPv4(frame []byte, dstMAC, srcMAC MAC) Kind {
	ip := frame[ethHeaderLen:]
	if len(ip) < ipv4HeaderLen || ip[0]>>4 != 4 {
		w.stats.malformed++
		return KindOther
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(be16(ip[2:]))
	if ihl < ipv4HeaderLen || total < ihl || total > len(ip) { // header and datagram must fit the frame
		w.stats.malformed++
		return KindOther
	}
	if checksum(ip[:ihl], 0) != 0 {
		w.stats.malformed++
		return KindOther
	}
	p := ipPacket{dstMAC: dstMAC, srcMAC: srcMAC, src: ip4(ip[12:16]), dst: ip4(ip[16:20]), payload: ip[ihl:total]}
	w.learnIP(p.src)
	if be16(ip[6:])&0x3fff != 0 { // MF or a fragment offset: the peers do not reassemble
		w.stats.ignored++
		return KindOther
	}
	switch ip[9] {
	case protoICMP:
		return w.fromHostICMP(&p)
	case protoUDP:
		return w.fromHostUDP(&p)
	case protoTCP: // the web mix is one-sided; the peers have no TCP to answer with
		w.stats.ignored++
		return KindTCP
	}
	w.stats.ignored++
	return KindOther
}

func (w *Wire) fromHostUDP(p *ipPacket) Kind {
	u := p.payload
	if len(u) < udpHeaderLen {
		w.stats.malformed++
		return KindUDP
	}
	n := int(be16(u[4:]))
	if n < udpHeaderLen || n > len(u) {
		w.stats.malformed++
		return KindUDP
	}
	u = u[:n]
	if be16(u[6:]) != 0 && checksum(u, pseudoHeaderSum(p.src, p.dst, protoUDP, n)) != 0 { // zero: no checksum sent
		w.stats.malformed++
		return KindUDP
	}
	sport, dport := be16(u[0:]), be16(u[2:])
	switch {
	case dport == dhcpServerPort:
		w.fromHostDHCP(u[udpHeaderLen:])
		return KindDHCP
	case dport == dnsPort:
		w.fromHostDNS(p, sport, u[udpHeaderLen:])
		return KindDNS
	case dport == mdnsPort:
		w.stats.ignored++
		return KindDNS
	}
	w.stats.ignored++
	return KindUDP
}

// peerFor returns the peer a unicast datagram is for, or nil. The Ethernet destination must be
// that peer's MAC, as a real station's receive filter would demand.
func (w *Wire) peerFor(p *ipPacket) *station {
	for _, s := range [...]*station{&w.gw, &w.web, &w.dns} {
		if p.dst == s.ip && p.dstMAC == s.mac {
			return s
		}
	}
	return nil
}

func (w *Wire) peerByIP(a ip4) *station {
	for _, s := range [...]*station{&w.gw, &w.web, &w.dns} {
		if a == s.ip {
			return s
		}
	}
	return nil
}

func (w *Wire) isPeerMAC(m MAC) bool { return m == w.gw.mac || m == w.web.mac || m == w.dns.mac }

func (w *Wire) nextIPID() uint16 {
	w.ipID++
	return w.ipID
}

// learnMAC takes a unicast source address that is not a peer's as the host's.
func (w *Wire) learnMAC(m MAC) {
	if m == (MAC{}) || m.isMulticast() || w.isPeerMAC(m) {
		return
	}
	if m != w.hostMAC {
		w.hostMAC = m
		w.hostAddrsChanged()
	}
	w.hostMACLearnt = true
}

// learnIP takes a source address as the host's if it could be one: unicast, not loopback, not
// a broadcast address and not a peer's.
func (w *Wire) learnIP(a ip4) {
	if a[0] == 0 || a[0] == 127 || a[0] >= 224 || w.peerByIP(a) != nil {
		return
	}
	host := uint32(1)<<(32-w.cfg.Subnet.Bits()) - 1
	if v := be32(a[:]); w.cfg.Subnet.Contains(a.addr()) && v&host == host {
		return
	}
	if a != w.hostIP {
		w.hostIP = a
		w.hostAddrsChanged()
	}
	w.hostIPLearnt = true
}

// hostAddrsChanged readdresses the flood template; the other profiles read the host's
// addresses frame by frame.
func (w *Wire) hostAddrsChanged() {
	if w.profile == ProfileFlood {
		w.buildFloodTemplate()
	}
}
