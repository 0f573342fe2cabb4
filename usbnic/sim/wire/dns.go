package wire

import "strings"

// DNS (RFC 1035) as the DNS server answers it, and as the peers announce themselves over
// multicast DNS (RFC 6762).
const (
	dnsPort      = 53
	mdnsPort     = 5353
	dnsHeaderLen = 12

	dnsTypeA    = 1
	dnsTypeANY  = 255
	dnsClassIN  = 1
	dnsClassANY = 255

	// dnsFlagsResponse marks an authoritative answer with recursion available, the flags of
	// every answer the server gives besides the opcode, RD and RCODE.
	dnsFlagsResponse = 0x8000 | 0x0400 | 0x0080
	dnsFlagRD        = 0x0100

	rcodeFormErr  = 1
	rcodeNXDomain = 3
	rcodeNotImp   = 4

	dnsTTL = 300
)

// namePointerToQuestion is a compressed name pointing at offset 12, where the question's name
// starts: the usual owner name of an answer.
var namePointerToQuestion = []byte{0xc0, 0x0c}

// encodeName returns a checked dotted name in DNS wire form: length-prefixed labels and a
// zero byte.
func encodeName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// putARecord writes an A record owned by name at d[o:] and returns the offset after it.
func putARecord(d []byte, o int, name []byte, class uint16, ttl uint32, a ip4) int {
	o += copy(d[o:], name)
	be.PutUint16(d[o:], dnsTypeA)
	be.PutUint16(d[o+2:], class)
	be.PutUint32(d[o+4:], ttl)
	be.PutUint16(d[o+8:], 4)
	copy(d[o+10:], a[:])
	return o + 14
}

// readQuestionName decodes the name of the question at q[12:] into w.nameBuf in lower case,
// labels joined by dots, and returns where the name ends and its decoded length. ok is false
// when the name runs past the message, is longer than 255 bytes or is compressed (a question
// has nothing earlier to point at).
func (w *Wire) readQuestionName(q []byte) (end, n int, ok bool) {
	off := dnsHeaderLen
	for {
		if off >= len(q) {
			return 0, 0, false
		}
		l := int(q[off])
		off++
		if l == 0 {
			return off, n, true
		}
		if l > 63 || off+l > len(q) || n+1+l > 255 { // 0xc0 and up are pointers, 0x40 and 0x80 unused label types
			return 0, 0, false
		}
		if n > 0 {
			w.nameBuf[n] = '.'
			n++
		}
		for _, c := range q[off : off+l] {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			w.nameBuf[n] = c
			n++
		}
		off += l
	}
}

// fromHostDNS answers a standard query with one question: an A record for a known name,
// NOERROR without answers for a known name and another type, NXDOMAIN for an unknown name,
// FORMERR for a question it cannot read and NOTIMP for another opcode.
func (w *Wire) fromHostDNS(p *ipPacket, sport uint16, q []byte) {
	if w.peerFor(p) != &w.dns {
		w.stats.ignored++
		return
	}
	if len(q) < dnsHeaderLen {
		w.stats.malformed++
		return
	}
	flags := be16(q[2:])
	if flags&0x8000 != 0 { // a response: nothing to answer
		w.stats.ignored++
		return
	}
	opcode := flags >> 11 & 0xf
	var (
		rcode    uint16
		question []byte
		answer   ip4
		answered bool
	)
	switch {
	case opcode != 0:
		rcode = rcodeNotImp
	case be16(q[4:]) != 1:
		rcode = rcodeFormErr
	default:
		end, n, ok := w.readQuestionName(q)
		if !ok || end+4 > len(q) { // the name, then QTYPE and QCLASS
			rcode = rcodeFormErr
			break
		}
		question = q[dnsHeaderLen : end+4]
		qtype, qclass := be16(q[end:]), be16(q[end+2:])
		a, known := w.names[string(w.nameBuf[:n])]
		switch {
		case !known:
			rcode = rcodeNXDomain
		case (qtype == dnsTypeA || qtype == dnsTypeANY) && (qclass == dnsClassIN || qclass == dnsClassANY):
			answer, answered = a, true
		}
	}
	b := w.replies.reserve()
	if b == nil {
		w.stats.replyDrops++
		return
	}
	const at = ethHeaderLen + ipv4HeaderLen + udpHeaderLen
	d := b[at:]
	copy(d[0:2], q[0:2]) // ID
	be.PutUint16(d[2:], dnsFlagsResponse|opcode<<11|flags&dnsFlagRD|rcode)
	be.PutUint16(d[4:], 0)
	if question != nil {
		be.PutUint16(d[4:], 1)
	}
	be.PutUint16(d[6:], 0)
	if answered {
		be.PutUint16(d[6:], 1)
	}
	be.PutUint32(d[8:], 0) // no authority or additional records
	o := dnsHeaderLen + copy(d[dnsHeaderLen:], question)
	if answered {
		o = putARecord(d, o, namePointerToQuestion, dnsClassIN, dnsTTL, answer)
	}
	putUDP(b[ethHeaderLen+ipv4HeaderLen:], w.dns.ip, p.src, dnsPort, sport, o)
	putIPv4(b[ethHeaderLen:], w.nextIPID(), peerTTL, protoUDP, w.dns.ip, p.src, udpHeaderLen+o)
	putEth(b, p.srcMAC, w.dns.mac, etherTypeIPv4)
	w.replies.commit(padFrame(b, at+o), KindDNS)
}
