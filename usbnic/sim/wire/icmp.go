package wire

// ICMP message types (RFC 792).
const (
	icmpEchoReply   = 0
	icmpEchoRequest = 8
)

// idlePingID is the identifier of the gateway's idle pings, so the host's replies to them can
// be told from other echo replies.
const idlePingID = 0x7701

// fromHostICMP answers an echo request to a peer with the same identifier, sequence number and
// data, and counts the host's replies to the gateway's pings.
func (w *Wire) fromHostICMP(p *ipPacket) Kind {
	m := p.payload
	if len(m) < 8 || checksum(m, 0) != 0 { // type, code, checksum, identifier, sequence number
		w.stats.malformed++
		return KindICMP
	}
	switch {
	case m[0] == icmpEchoRequest && m[1] == 0:
		peer := w.peerFor(p)
		n := ethHeaderLen + ipv4HeaderLen + len(m)
		if peer == nil || n > MaxFrameLen { // a request only options made fit would not fit back
			w.stats.ignored++
			return KindICMP
		}
		b := w.replies.reserve()
		if b == nil {
			w.stats.replyDrops++
			return KindICMP
		}
		putEth(b, p.srcMAC, peer.mac, etherTypeIPv4)
		r := b[ethHeaderLen+ipv4HeaderLen : n]
		copy(r, m)
		r[0] = icmpEchoReply
		be.PutUint16(r[2:], 0)
		be.PutUint16(r[2:], checksum(r, 0))
		putIPv4(b[ethHeaderLen:], w.nextIPID(), peerTTL, protoICMP, peer.ip, p.src, len(m))
		w.replies.commit(padFrame(b, n), KindICMP)
	case m[0] == icmpEchoReply && m[1] == 0 && p.dst == w.gw.ip && be16(m[4:]) == idlePingID:
		w.stats.pingReplies++
	default:
		w.stats.ignored++
	}
	return KindICMP
}
