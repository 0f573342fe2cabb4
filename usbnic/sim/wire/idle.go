package wire

// Multicast groups and ports of the idle chatter.
var (
	mdnsGroup = ip4{224, 0, 0, 251}     // RFC 6762
	ssdpGroup = ip4{239, 255, 255, 250} // UPnP Device Architecture 2.0 §1.1
)

const (
	ssdpPort = 1900
	// mdnsTTL is the IP TTL multicast DNS requires (RFC 6762 §11); ssdpTTL the UPnP default.
	mdnsTTL = 255
	ssdpTTL = 2

	// mdnsClassFlush is class IN with the cache-flush bit an announcement of a unique record
	// sets (RFC 6762 §10.2).
	mdnsClassFlush = 0x8000 | dnsClassIN
	mdnsRecordTTL  = 120

	idlePingData = 56 // ping(8)'s default data length
)

// mdnsWebName is the name the web server announces over multicast DNS.
var mdnsWebName = []byte("\x03web\x05local\x00")

// idleChatter is where the idle profile is in its cycle.
type idleChatter struct {
	step    uint64
	pingSeq uint16
}

// idleFrame builds the next frame of the idle cycle into b, which holds MaxFrameLen bytes.
func (w *Wire) idleFrame(b []byte) (int, Kind) {
	step := w.idle.step % 5
	w.idle.step++
	switch step {
	case 0: // the gateway announces itself: a gratuitous ARP request for its own address
		putEth(b, Broadcast, w.gw.mac, etherTypeARP)
		putARP(b[ethHeaderLen:], arpRequest, w.gw.mac, w.gw.ip, MAC{}, w.gw.ip)
		return padFrame(b, ethHeaderLen+arpLen), KindARP
	case 1: // the web server announces web.local over multicast DNS
		const at = ethHeaderLen + ipv4HeaderLen + udpHeaderLen
		d := b[at:]
		be.PutUint16(d[0:], 0)      // ID: zero in multicast DNS
		be.PutUint16(d[2:], 0x8400) // response, authoritative
		be.PutUint16(d[4:], 0)
		be.PutUint16(d[6:], 1)
		be.PutUint32(d[8:], 0)
		n := putARecord(d, dnsHeaderLen, mdnsWebName, mdnsClassFlush, mdnsRecordTTL, w.web.ip)
		putUDP(b[ethHeaderLen+ipv4HeaderLen:], w.web.ip, mdnsGroup, mdnsPort, mdnsPort, n)
		putIPv4(b[ethHeaderLen:], w.nextIPID(), mdnsTTL, protoUDP, w.web.ip, mdnsGroup, udpHeaderLen+n)
		putEth(b, multicastMAC(mdnsGroup), w.web.mac, etherTypeIPv4)
		return padFrame(b, at+n), KindDNS
	case 2: // the gateway asks who has the host's address
		putEth(b, Broadcast, w.gw.mac, etherTypeARP)
		putARP(b[ethHeaderLen:], arpRequest, w.gw.mac, w.gw.ip, MAC{}, w.hostIP)
		return padFrame(b, ethHeaderLen+arpLen), KindARP
	case 3: // the gateway announces itself as a UPnP root device
		const at = ethHeaderLen + ipv4HeaderLen + udpHeaderLen
		n := copy(b[at:], w.ssdpNotify)
		putUDP(b[ethHeaderLen+ipv4HeaderLen:], w.gw.ip, ssdpGroup, ssdpPort, ssdpPort, n)
		putIPv4(b[ethHeaderLen:], w.nextIPID(), ssdpTTL, protoUDP, w.gw.ip, ssdpGroup, udpHeaderLen+n)
		putEth(b, multicastMAC(ssdpGroup), w.gw.mac, etherTypeIPv4)
		return at + n, KindUDP
	default: // the gateway pings the host
		const at = ethHeaderLen + ipv4HeaderLen
		m := b[at : at+8+idlePingData]
		m[0], m[1] = icmpEchoRequest, 0
		be.PutUint16(m[2:], 0)
		be.PutUint16(m[4:], idlePingID)
		be.PutUint16(m[6:], w.idle.pingSeq)
		w.idle.pingSeq++
		for i := range idlePingData {
			m[8+i] = byte(i)
		}
		be.PutUint16(m[2:], checksum(m, 0))
		putIPv4(b[ethHeaderLen:], w.nextIPID(), peerTTL, protoICMP, w.gw.ip, w.hostIP, len(m))
		putEth(b, w.hostMAC, w.gw.mac, etherTypeIPv4)
		return at + len(m), KindICMP
	}
}
