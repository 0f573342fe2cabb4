package wire

// ARP operations (RFC 826).
const (
	arpRequest = 1
	arpReply   = 2
)

// putARP writes an ARP packet for IPv4 over Ethernet.
func putARP(b []byte, op uint16, sha MAC, spa ip4, tha MAC, tpa ip4) {
	be.PutUint16(b[0:], 1) // hardware type: Ethernet
	be.PutUint16(b[2:], etherTypeIPv4)
	b[4] = 6 // hardware address length
	b[5] = 4 // protocol address length
	be.PutUint16(b[6:], op)
	copy(b[8:14], sha[:])
	copy(b[14:18], spa[:])
	copy(b[18:24], tha[:])
	copy(b[24:28], tpa[:])
}

// fromHostARP answers a who-has for a peer's address and learns the host's address from what
// it announces.
func (w *Wire) fromHostARP(frame []byte, src MAC) Kind {
	a := frame[ethHeaderLen:]
	if len(a) < arpLen {
		w.stats.malformed++
		return KindARP
	}
	if be16(a[0:]) != 1 || be16(a[2:]) != etherTypeIPv4 || a[4] != 6 || a[5] != 4 { // not IPv4 over Ethernet
		w.stats.ignored++
		return KindARP
	}
	op := be16(a[6:])
	sha, spa, tpa := MAC(a[8:14]), ip4(a[14:18]), ip4(a[24:28])
	if sha == src {
		w.learnIP(spa) // a probe's zero sender address is refused there
	}
	peer := w.peerByIP(tpa)
	if op != arpRequest || peer == nil || sha.isMulticast() {
		w.stats.ignored++
		return KindARP
	}
	b := w.replies.reserve()
	if b == nil {
		w.stats.replyDrops++
		return KindARP
	}
	putEth(b, sha, peer.mac, etherTypeARP)
	putARP(b[ethHeaderLen:], arpReply, peer.mac, peer.ip, sha, spa)
	w.replies.commit(padFrame(b, ethHeaderLen+arpLen), KindARP)
	return KindARP
}
