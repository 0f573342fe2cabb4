package wire

import (
	"encoding/binary"
	"net/netip"
)

// ip4 is an IPv4 address as it sits in a header.
type ip4 [4]byte

func addr4(a netip.Addr) ip4 { return ip4(a.As4()) }

func (a ip4) addr() netip.Addr { return netip.AddrFrom4(a) }

var be = binary.BigEndian

func be16(b []byte) uint16 { return be.Uint16(b) }
func be32(b []byte) uint32 { return be.Uint32(b) }

func be32Bytes(v uint32) [4]byte {
	var b [4]byte
	be.PutUint32(b[:], v)
	return b
}

// MaxFrameLen is the longest frame the peers build: a 1500-byte IP MTU plus the Ethernet
// header. Replayed captures may hold longer (jumbo) frames.
const MaxFrameLen = 1514

// Header sizes and field values of the frames the peers build.
const (
	ethHeaderLen  = 14
	ipv4HeaderLen = 20 // the peers never send IP options
	udpHeaderLen  = 8
	tcpHeaderLen  = 20
	arpLen        = 28 // ARP for IPv4 over Ethernet: 8 fixed bytes, two MAC and two IPv4 addresses

	// minFrameLen is the shortest Ethernet frame without FCS: 64 bytes on the wire less the
	// 4-byte FCS, which adapters strip. Shorter frames are padded with zeros.
	minFrameLen = 60

	etherTypeIPv4 = 0x0800
	etherTypeARP  = 0x0806

	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17

	peerTTL = 64 // Linux's default IPv4 TTL
)

func putEth(b []byte, dst, src MAC, etherType uint16) {
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	be.PutUint16(b[12:14], etherType)
}

// putIPv4 writes a 20-byte header, checksum included, for a datagram carrying payloadLen bytes.
func putIPv4(b []byte, id uint16, ttl, proto uint8, src, dst ip4, payloadLen int) {
	b[0] = 0x45 // version 4, 5 words
	b[1] = 0
	be.PutUint16(b[2:], uint16(ipv4HeaderLen+payloadLen))
	be.PutUint16(b[4:], id)
	be.PutUint16(b[6:], 0x4000) // don't fragment: every datagram the peers send fits the MTU
	b[8] = ttl
	b[9] = proto
	be.PutUint16(b[10:], 0)
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	be.PutUint16(b[10:], checksum(b[:ipv4HeaderLen], 0))
}

// putUDP writes the UDP header in front of a payload already at b[8:8+payloadLen] and its
// checksum over the pseudo-header.
func putUDP(b []byte, src, dst ip4, sport, dport uint16, payloadLen int) {
	n := udpHeaderLen + payloadLen
	be.PutUint16(b[0:], sport)
	be.PutUint16(b[2:], dport)
	be.PutUint16(b[4:], uint16(n))
	be.PutUint16(b[6:], 0)
	be.PutUint16(b[6:], transportChecksum(checksum(b[:n], pseudoHeaderSum(src, dst, protoUDP, n))))
}

// TCP flags the peers use.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpPSH = 0x08
	tcpACK = 0x10
)

// tcpSegment is the header of a segment a peer sends.
type tcpSegment struct {
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
}

// putTCP writes the TCP header in front of options already at b[20:hdrLen] and a payload
// already at b[hdrLen:hdrLen+payloadLen], and its checksum over the pseudo-header.
func putTCP(b []byte, src, dst ip4, s tcpSegment, hdrLen, payloadLen int) {
	n := hdrLen + payloadLen
	be.PutUint16(b[0:], s.sport)
	be.PutUint16(b[2:], s.dport)
	be.PutUint32(b[4:], s.seq)
	be.PutUint32(b[8:], s.ack)
	b[12] = byte(hdrLen/4) << 4
	b[13] = s.flags
	be.PutUint16(b[14:], 65535) // window: the peers are never short of buffer
	be.PutUint16(b[16:], 0)
	be.PutUint16(b[18:], 0) // urgent pointer
	be.PutUint16(b[16:], transportChecksum(checksum(b[:n], pseudoHeaderSum(src, dst, protoTCP, n))))
}

// pseudoHeaderSum is the ones'-complement sum of the IPv4 pseudo-header (RFC 768, RFC 793).
// Adding 32-bit words is the same sum as adding their 16-bit halves once folded, because
// 2^16 is 1 modulo 2^16-1.
func pseudoHeaderSum(src, dst ip4, proto uint8, length int) uint64 {
	return uint64(be32(src[:])) + uint64(be32(dst[:])) + uint64(proto) + uint64(length)
}

// sum adds b to a ones'-complement running sum of big-endian 16-bit words (RFC 1071); an odd
// last byte counts as a word with a zero low byte. It adds 32-bit words into 64 bits, which
// cannot overflow for any frame and folds to the same 16-bit sum.
func sum(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		acc += uint64(be32(b)) + uint64(be32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		acc += uint64(be32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(be16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold reduces a running sum to 16 bits with end-around carry.
func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// checksum returns the Internet checksum of b on top of acc. Over data that holds its own
// correct checksum it returns 0.
func checksum(b []byte, acc uint64) uint16 { return ^fold(sum(b, acc)) }

// transportChecksum maps a computed zero to all ones: in UDP a zero checksum means "none"
// (RFC 768), and TCP accepts either form of zero.
func transportChecksum(c uint16) uint16 {
	if c == 0 {
		return 0xffff
	}
	return c
}

// padFrame zero-fills a frame of n bytes up to the Ethernet minimum and returns its length.
func padFrame(b []byte, n int) int {
	if n >= minFrameLen {
		return n
	}
	clear(b[n:minFrameLen])
	return minFrameLen
}

// multicastMAC is the Ethernet group address of an IPv4 multicast group (RFC 1112 §6.4):
// 01:00:5e followed by the group's low 23 bits.
func multicastMAC(group ip4) MAC {
	return MAC{0x01, 0x00, 0x5e, group[1] & 0x7f, group[2], group[3]}
}

func (a ip4) uint32() uint32 { return be32(a[:]) }
