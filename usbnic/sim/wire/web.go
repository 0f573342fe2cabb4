package wire

// The web-like mix: connections from the host to the web server as the server's side sends
// them. The host never opened them, so its stack will answer with resets; the mix exists to
// give the receive path realistic sizes and protocols, not to hold conversations.

type webStep uint8

const (
	webDNS    webStep = iota // the DNS server answers the host's query for the web server
	webSynAck                // the server accepts the connection
	webData                  // the server sends the response
	webFin                   // the server closes
)

const (
	httpPort  = 80
	quicPort  = 443
	tcpMSS    = 1460 // MSS option of the SYN-ACK: a 1500-byte MTU less IPv4 and TCP headers
	tcpOptLen = 4    // the MSS option: kind 2, length 4, value

	webMinFrame     = 64
	webUDPMaxFrame  = 64 + 1200 // datagrams stay under QUIC's usual 1252-byte payload
	webFullFraction = 6         // out of 10 data segments are full-sized
)

var httpHeader = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: webminiport-wire\r\n\r\n")

// webMix is the state of the web-like mix. Its pseudo-random choices come from a splitmix64
// generator, so a seed replays the same traffic.
type webMix struct {
	rng      uint64
	step     webStep
	segments int    // data segments left in the current connection
	first    bool   // the next data segment starts the response
	port     uint16 // the host's port of the current connection
	seq, ack uint32 // the server's next sequence number, and what it acknowledges
}

// next returns the next splitmix64 value (Steele, Lea and Flood, 2014).
func (m *webMix) next() uint64 {
	m.rng += 0x9e3779b97f4a7c15
	z := m.rng
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// intn returns a number in [0, n); the modulo bias is immaterial for the small n used here.
func (m *webMix) intn(n int) int { return int(m.next() % uint64(n)) }

// webFrame builds the next frame of the mix into b, which holds MaxFrameLen bytes.
func (w *Wire) webFrame(b []byte) (int, Kind) {
	m := &w.mix
	if m.step == webData && m.intn(8) == 0 {
		return w.webDatagram(b), KindUDP
	}
	switch m.step {
	case webDNS:
		m.port = 49152 + uint16(m.intn(16384)) // the dynamic port range (RFC 6335)
		m.seq, m.ack = uint32(m.next()), uint32(m.next())
		m.segments = 4 + m.intn(21)
		m.first = true
		m.step = webSynAck
		if w.webName != nil {
			return w.webDNSAnswer(b), KindDNS
		}
		fallthrough
	case webSynAck:
		const at = ethHeaderLen + ipv4HeaderLen
		t := b[at : at+tcpHeaderLen+tcpOptLen]
		t[20], t[21] = 2, tcpOptLen
		be.PutUint16(t[22:], tcpMSS)
		putTCP(t, w.web.ip, w.hostIP, tcpSegment{httpPort, m.port, m.seq, m.ack, tcpSYN | tcpACK}, len(t), 0)
		m.seq++ // SYN takes one sequence number
		m.step = webData
		return w.finishWebTCP(b, len(t)), KindTCP
	case webData:
		size := MaxFrameLen
		if m.intn(10) >= webFullFraction {
			size = webMinFrame + m.intn(MaxFrameLen-webMinFrame)
		}
		const at = ethHeaderLen + ipv4HeaderLen + tcpHeaderLen
		payload := b[at:size]
		fillText(payload)
		if m.first {
			copy(payload, httpHeader)
			m.first = false
		}
		putTCP(b[ethHeaderLen+ipv4HeaderLen:], w.web.ip, w.hostIP, tcpSegment{httpPort, m.port, m.seq, m.ack, tcpPSH | tcpACK}, tcpHeaderLen, len(payload))
		m.seq += uint32(len(payload))
		if m.segments--; m.segments == 0 {
			m.step = webFin
		}
		return w.finishWebTCP(b, tcpHeaderLen+len(payload)), KindTCP
	default:
		putTCP(b[ethHeaderLen+ipv4HeaderLen:], w.web.ip, w.hostIP, tcpSegment{httpPort, m.port, m.seq, m.ack, tcpFIN | tcpACK}, tcpHeaderLen, 0)
		m.step = webDNS
		return w.finishWebTCP(b, tcpHeaderLen), KindTCP
	}
}

// finishWebTCP puts the IPv4 and Ethernet headers in front of a TCP segment of n bytes.
func (w *Wire) finishWebTCP(b []byte, n int) int {
	putIPv4(b[ethHeaderLen:], w.nextIPID(), peerTTL, protoTCP, w.web.ip, w.hostIP, n)
	putEth(b, w.hostMAC, w.web.mac, etherTypeIPv4)
	return padFrame(b, ethHeaderLen+ipv4HeaderLen+n)
}

// webDNSAnswer is the DNS server's answer to the host's query for the web server's name.
func (w *Wire) webDNSAnswer(b []byte) int {
	m := &w.mix
	const at = ethHeaderLen + ipv4HeaderLen + udpHeaderLen
	d := b[at:]
	be.PutUint16(d[0:], uint16(m.next()))
	be.PutUint16(d[2:], dnsFlagsResponse|dnsFlagRD)
	be.PutUint16(d[4:], 1)
	be.PutUint16(d[6:], 1)
	be.PutUint32(d[8:], 0)
	o := dnsHeaderLen + copy(d[dnsHeaderLen:], w.webName)
	be.PutUint16(d[o:], dnsTypeA)
	be.PutUint16(d[o+2:], dnsClassIN)
	o = putARecord(d, o+4, namePointerToQuestion, dnsClassIN, dnsTTL, w.web.ip)
	port := m.port + 1 // resolvers query from a port of their own
	putUDP(b[ethHeaderLen+ipv4HeaderLen:], w.dns.ip, w.hostIP, dnsPort, port, o)
	putIPv4(b[ethHeaderLen:], w.nextIPID(), peerTTL, protoUDP, w.dns.ip, w.hostIP, udpHeaderLen+o)
	putEth(b, w.hostMAC, w.dns.mac, etherTypeIPv4)
	return padFrame(b, at+o)
}

// webDatagram is a QUIC-sized UDP datagram from the web server's port 443.
func (w *Wire) webDatagram(b []byte) int {
	size := webMinFrame + w.mix.intn(webUDPMaxFrame-webMinFrame+1)
	const at = ethHeaderLen + ipv4HeaderLen + udpHeaderLen
	fillText(b[at:size])
	putUDP(b[ethHeaderLen+ipv4HeaderLen:], w.web.ip, w.hostIP, quicPort, w.mix.port, size-at)
	putIPv4(b[ethHeaderLen:], w.nextIPID(), peerTTL, protoUDP, w.web.ip, w.hostIP, size-ethHeaderLen-ipv4HeaderLen)
	putEth(b, w.hostMAC, w.web.mac, etherTypeIPv4)
	return size
}

// textPattern is the alphabet over and over, as long as any payload.
var textPattern = func() (p [MaxFrameLen]byte) {
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	return p
}()

// fillText fills a payload with lower-case letters, so hex dumps show where data is.
func fillText(p []byte) { copy(p, textPattern[:]) }
