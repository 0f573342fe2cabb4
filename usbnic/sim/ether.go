package sim

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"
)

const (
	etherHeader   = 14
	etherMaxFrame = 1514 // ETH_FRAME_LEN: largest frame without FCS and VLAN tag
	vlanMaxFrame  = 1518 // with one 802.1Q tag
)

func isMulticast(dst []byte) bool { return dst[0]&1 != 0 }

func isBroadcast(dst []byte) bool {
	return dst[0]&dst[1]&dst[2]&dst[3]&dst[4]&dst[5] == 0xFF
}

// asixHashBit returns the multicast hash table bit the ASIX chips use for addr (§1.3): the top
// six bits of Linux ether_crc, which is the reflected CRC-32 without final inversion, bit-reversed.
func asixHashBit(addr []byte) uint {
	raw := ^crc32.ChecksumIEEE(addr[:6]) // crc32_le(~0, addr) with no final inversion
	return uint(bits.Reverse32(raw) >> 26)
}

// ASIX RX_CTL filter bits, the same in the AX88179 and AX88772 (§1.3, §2.2).
const (
	asixRxPromisc   = 0x0001 // PRO
	asixRxAllMulti  = 0x0002 // AMALL
	asixRxBroadcast = 0x0008 // AB
	asixRxMultiHash = 0x0010 // AM
)

// asixAccept applies an ASIX receive filter: promiscuous takes everything; broadcast needs AB;
// other multicast needs AMALL or AM with the address's hash bit set; unicast must be for
// NODE_ID. (Directed frames pass whatever AP says: Linux's set_rx_mode drops AP and unicast
// still works.)
func asixAccept(rxCtl uint16, node *[6]byte, hash *[8]byte, frame []byte) bool {
	dst := frame[:6]
	switch {
	case rxCtl&asixRxPromisc != 0:
		return true
	case isBroadcast(dst):
		return rxCtl&asixRxBroadcast != 0
	case isMulticast(dst):
		if rxCtl&asixRxAllMulti != 0 {
			return true
		}
		b := asixHashBit(dst)
		return rxCtl&asixRxMultiHash != 0 && hash[b>>3]&(1<<(b&7)) != 0
	}
	return [6]byte(dst) == *node
}

// CDC packet filter bits (SET_ETHERNET_PACKET_FILTER, §3.3).
const (
	cdcPromisc   = 0x01
	cdcAllMulti  = 0x02
	cdcDirected  = 0x04
	cdcBroadcast = 0x08
	// cdcDefaultFilter is what Linux's u_ether starts with and resets to on set_alt.
	cdcDefaultFilter = cdcBroadcast | cdcAllMulti | cdcPromisc | cdcDirected
)

// cdcAccept is u_ether's outgoing filter (eth_start_xmit): without PROMISCUOUS, broadcast needs
// BROADCAST and other multicast needs ALL_MULTICAST; DIRECTED and the MULTICAST list are
// ignored, so every unicast frame passes.
func cdcAccept(filter uint16, frame []byte) bool {
	if filter&cdcPromisc != 0 || !isMulticast(frame[:6]) {
		return true
	}
	if isBroadcast(frame[:6]) {
		return filter&cdcBroadcast != 0
	}
	return filter&cdcAllMulti != 0
}

// delivered counts a frame handed to the host.
func (p *port) delivered(frame []byte) {
	p.st.RxFrames++
	p.st.RxBytes += uint64(len(frame))
	if isMulticast(frame[:6]) {
		p.st.RxMulticast++
	}
}

// transmit puts a frame on the wire, or counts it dropped when there is no link.
func (p *port) transmit(frame []byte, link bool) {
	if !link {
		p.st.TxDropped++
		return
	}
	p.st.TxFrames++
	p.st.TxBytes += uint64(len(frame))
	p.wire.FromHost(frame)
}

// Checksum offload enable bits, the same for AX88179 RXCOE_CTL and TXCOE_CTL (§1.3).
const (
	coeIP    = 0x01
	coeTCP   = 0x02
	coeUDP   = 0x04
	coeTCPv6 = 0x20
	coeUDPv6 = 0x40
)

// AX88179 RX metadata checksum bits (§1.8).
const (
	rxL4Err  = 0x01
	rxL3Err  = 0x02
	rxL4UDP  = 0x04
	rxL4TCP  = 0x10
	protoTCP = 6
	protoUDP = 17
)

// l4 locates the transport header of an IPv4 or IPv6 frame (no VLAN, no IPv6 extension
// headers, not a fragment). ok is false for anything else.
type l4 struct {
	ipOff, ipLen int // IP header offset and length
	off, n       int // transport segment offset and length
	proto        uint8
	v6           bool
}

func findL4(f []byte) (l l4, ok bool) {
	if len(f) < etherHeader+20 {
		return l, false
	}
	switch binary.BigEndian.Uint16(f[12:]) {
	case 0x0800:
		ip := f[etherHeader:]
		ihl := int(ip[0]&0x0F) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ip[0]>>4 != 4 || ihl < 20 || total < ihl || total > len(ip) {
			return l, false
		}
		if binary.BigEndian.Uint16(ip[6:])&0x3FFF != 0 { // MF set or fragment offset: not a whole segment
			return l4{ipOff: etherHeader, ipLen: ihl}, false
		}
		return l4{ipOff: etherHeader, ipLen: ihl, off: etherHeader + ihl, n: total - ihl, proto: ip[9]}, true
	case 0x86DD:
		ip := f[etherHeader:]
		if len(ip) < 40 || ip[0]>>4 != 6 {
			return l, false
		}
		payload := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+payload > len(ip) {
			return l, false
		}
		return l4{ipOff: etherHeader, ipLen: 40, off: etherHeader + 40, n: payload, proto: ip[6], v6: true}, true
	}
	return l, false
}

// onesSum adds b, as big-endian 16-bit words with an odd last byte padded by a zero, to a
// one's-complement sum (RFC 1071), without folding to 16 bits. The result is congruent to the
// plain sum of the words mod 0xFFFF and zero only when it is, which is all that fold and the
// checks need. sum must be below 2^31.
//
// It verifies every received TCP and UDP checksum of the models, 1500 bytes of a full frame
// at line rate, so it reads eight bytes at a time: the two 32-bit halves of a 64-bit word add
// up to its four 16-bit words mod 0xFFFF (2^16 ≡ 1), and little-endian loads, which compile to
// one load also on WebAssembly (big-endian ones need a byte swap it does not have), give the
// byte-swapped sum, swapped back once at the end (RFC 1071 §2(B)).
func onesSum(sum uint32, b []byte) uint32 {
	var wide uint64
	for len(b) >= 8 {
		v := binary.LittleEndian.Uint64(b)
		wide += v&0xFFFFFFFF + v>>32 // each addend < 2^33: no overflow before 2^31 words
		b = b[8:]
	}
	for wide>>16 != 0 { // end-around carry: a non-zero sum stays non-zero
		wide = wide&0xFFFF + wide>>16
	}
	sum += uint32(bits.ReverseBytes16(uint16(wide)))
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xFFFF + sum>>16
	}
	return uint16(sum)
}

// pseudoSum is the sum of the TCP/UDP pseudo header.
func pseudoSum(f []byte, l l4) uint32 {
	ip := f[l.ipOff:]
	var sum uint32
	if l.v6 {
		sum = onesSum(0, ip[8:40])
	} else {
		sum = onesSum(0, ip[12:20])
	}
	return sum + uint32(l.proto) + uint32(l.n)
}

// l4Enabled reports whether coe enables checksumming of this segment.
func (l l4) enabled(coe uint8) bool {
	switch {
	case l.proto == protoTCP && !l.v6:
		return coe&coeTCP != 0
	case l.proto == protoUDP && !l.v6:
		return coe&coeUDP != 0
	case l.proto == protoTCP:
		return coe&coeTCPv6 != 0
	case l.proto == protoUDP:
		return coe&coeUDPv6 != 0
	}
	return false
}

// rxChecksumBits computes the AX88179 metadata bits for a received frame with RX checksum
// offload coe: the L4 type (TCP/UDP) and the L3 and L4 checksum error flags of what it checked.
// good says the wire vouched for the frame's checksums (checkedWire): then only the type.
func rxChecksumBits(f []byte, coe uint8, good bool) uint32 {
	if coe == 0 {
		return 0
	}
	l, ok := findL4(f)
	var m uint32
	if !good && l.ipLen > 0 && !l.v6 && coe&coeIP != 0 && fold(onesSum(0, f[l.ipOff:l.ipOff+l.ipLen])) != 0xFFFF {
		m |= rxL3Err
	}
	if !ok || !l.enabled(coe) {
		return m
	}
	if good { // the wire vouches for the checksums (checkedWire): only the type bits
		switch l.proto {
		case protoTCP:
			return m | rxL4TCP
		case protoUDP:
			return m | rxL4UDP
		}
		return m
	}
	seg := f[l.off : l.off+l.n]
	switch l.proto {
	case protoTCP:
		m |= rxL4TCP
		if l.n < 20 || fold(onesSum(pseudoSum(f, l), seg)) != 0xFFFF {
			m |= rxL4Err
		}
	case protoUDP:
		m |= rxL4UDP
		// An IPv4 UDP checksum of zero means "none" (RFC 768).
		if l.n < 8 || !(!l.v6 && binary.BigEndian.Uint16(seg[6:]) == 0) && fold(onesSum(pseudoSum(f, l), seg)) != 0xFFFF {
			m |= rxL4Err
		}
	}
	return m
}

// fillChecksums writes the IPv4 header and TCP/UDP checksums a chip with TX checksum offload
// coe computes, in place.
func fillChecksums(f []byte, coe uint8) {
	l, ok := findL4(f)
	if l.ipLen > 0 && !l.v6 && coe&coeIP != 0 {
		ip := f[l.ipOff : l.ipOff+l.ipLen]
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], ^fold(onesSum(0, ip)))
	}
	if !ok || !l.enabled(coe) {
		return
	}
	seg := f[l.off : l.off+l.n]
	at := 16 // TCP checksum offset
	if l.proto == protoUDP {
		at = 6
	}
	if len(seg) < at+2 {
		return
	}
	seg[at], seg[at+1] = 0, 0
	c := ^fold(onesSum(pseudoSum(f, l), seg))
	if c == 0 && l.proto == protoUDP {
		c = 0xFFFF // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(seg[at:], c)
}
