package capture

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Frame builders write a complete Ethernet frame (without FCS) into a
// caller's buffer and return its length. They do not allocate; an error
// (buffer too small, an address of the wrong family) says what was wrong.

// Wire sizes the builders use.
const (
	ethHeaderLen  = 14
	ipv4HeaderLen = 20
	udpHeaderLen  = 8
	icmpHeaderLen = 8
	arpIPv4Len    = 28
	// minFrameLen is the shortest Ethernet frame without its FCS (64 with
	// it); shorter frames are padded with zeros, as a NIC would.
	minFrameLen = 60
	// bootpMinLen is the smallest BOOTP message relays must accept
	// (RFC 1542 section 2.1); DHCP clients pad their messages to it.
	bootpMinLen = 300
	bootpFixed  = 236 // BOOTP fields before the options (RFC 2131 figure 1)
	// MaxEchoPayload is the largest ICMP echo payload that fits an IPv4
	// packet (65535 - 20 - 8). A standard 1500-byte MTU takes 1472.
	MaxEchoPayload = 65535 - ipv4HeaderLen - icmpHeaderLen
)

var broadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// BuildARPRequest writes an ARP who-has for targetIP from srcMAC/srcIP,
// broadcast, padded to the 60-byte minimum frame.
func BuildARPRequest(buf []byte, srcMAC [6]byte, srcIP, targetIP netip.Addr) (int, error) {
	if !srcIP.Is4() || !targetIP.Is4() {
		return 0, fmt.Errorf("capture: ARP request needs IPv4 addresses, got %v and %v", srcIP, targetIP)
	}
	if len(buf) < minFrameLen {
		return 0, fmt.Errorf("capture: ARP request needs %d bytes, buffer has %d", minFrameLen, len(buf))
	}
	putEthernet(buf, broadcastMAC, srcMAC, 0x0806)
	a := buf[ethHeaderLen:]
	binary.BigEndian.PutUint16(a[0:2], 1)      // hardware type: Ethernet
	binary.BigEndian.PutUint16(a[2:4], 0x0800) // protocol type: IPv4
	a[4], a[5] = 6, 4                          // address lengths
	binary.BigEndian.PutUint16(a[6:8], 1)      // operation: request
	copy(a[8:14], srcMAC[:])
	sip, tip := srcIP.As4(), targetIP.As4()
	copy(a[14:18], sip[:])
	clear(a[18:24]) // target hardware address: unknown
	copy(a[24:28], tip[:])
	clear(buf[ethHeaderLen+arpIPv4Len : minFrameLen])
	return minFrameLen, nil
}

// EchoRequest describes an ICMP echo request (ping).
type EchoRequest struct {
	SrcMAC, DstMAC [6]byte
	SrcIP, DstIP   netip.Addr // IPv4
	ID, Seq        uint16     // ICMP identifier and sequence number
	IPID           uint16     // IPv4 identification
	TTL            uint8      // 0 means 64
	// PayloadLen is the number of payload bytes after the ICMP header,
	// 0..MaxEchoPayload; byte i of the payload is byte(i).
	PayloadLen int
}

// BuildEchoRequest writes an ICMP echo request with the Don't Fragment
// flag set, as ping does, and correct IPv4 and ICMP checksums.
func BuildEchoRequest(buf []byte, p *EchoRequest) (int, error) {
	if !p.SrcIP.Is4() || !p.DstIP.Is4() {
		return 0, fmt.Errorf("capture: echo request needs IPv4 addresses, got %v and %v", p.SrcIP, p.DstIP)
	}
	if p.PayloadLen < 0 || p.PayloadLen > MaxEchoPayload {
		return 0, fmt.Errorf("capture: echo payload of %d bytes is outside 0..%d", p.PayloadLen, MaxEchoPayload)
	}
	ipLen := ipv4HeaderLen + icmpHeaderLen + p.PayloadLen
	n := max(ethHeaderLen+ipLen, minFrameLen)
	if len(buf) < n {
		return 0, fmt.Errorf("capture: echo request with %d payload bytes needs %d bytes, buffer has %d", p.PayloadLen, n, len(buf))
	}
	ttl := p.TTL
	if ttl == 0 {
		ttl = 64
	}
	putEthernet(buf, p.DstMAC, p.SrcMAC, 0x0800)
	ip := buf[ethHeaderLen : ethHeaderLen+ipLen]
	putIPv4(ip, ipLen, p.IPID, 0x4000, ttl, 1, p.SrcIP.As4(), p.DstIP.As4())
	icmp := ip[ipv4HeaderLen:]
	icmp[0], icmp[1] = 8, 0 // type echo request, code 0
	icmp[2], icmp[3] = 0, 0
	binary.BigEndian.PutUint16(icmp[4:6], p.ID)
	binary.BigEndian.PutUint16(icmp[6:8], p.Seq)
	payload := icmp[icmpHeaderLen:]
	for i := range payload {
		payload[i] = byte(i)
	}
	binary.BigEndian.PutUint16(icmp[2:4], ^foldChecksum(sumWords(icmp, 0)))
	clear(buf[ethHeaderLen+ipLen : n])
	return n, nil
}

// DHCPDiscover describes a DHCP discover broadcast by a client with no
// address yet.
type DHCPDiscover struct {
	ClientMAC [6]byte
	XID       uint32 // transaction ID
	IPID      uint16 // IPv4 identification
	// HostName goes into option 12 when not empty (at most 255 bytes).
	HostName string
}

// dhcpParamsRequested is the option 55 list: subnet mask, router, DNS
// servers, domain name, broadcast address, lease time.
var dhcpParamsRequested = [...]byte{1, 3, 6, 15, 28, 51}

// BuildDHCPDiscover writes a DHCP discover from 0.0.0.0:68 to
// 255.255.255.255:67 with the broadcast flag set (the client cannot receive
// unicast before it has an address) and options 53 (message type), 61
// (client identifier: hardware type 1 and the MAC), 12 (host name, when
// given) and 55 (parameter request list), padded to the 300-byte BOOTP
// minimum, with correct IPv4 and UDP checksums.
func BuildDHCPDiscover(buf []byte, p *DHCPDiscover) (int, error) {
	if len(p.HostName) > 255 {
		return 0, fmt.Errorf("capture: DHCP host name of %d bytes does not fit option 12 (255 at most)", len(p.HostName))
	}
	optLen := 3 + 9 + 2 + len(dhcpParamsRequested) + 1 // 53, 61, 55, end
	if p.HostName != "" {
		optLen += 2 + len(p.HostName)
	}
	bootpLen := max(bootpFixed+4+optLen, bootpMinLen)
	ipLen := ipv4HeaderLen + udpHeaderLen + bootpLen
	n := ethHeaderLen + ipLen
	if len(buf) < n {
		return 0, fmt.Errorf("capture: DHCP discover needs %d bytes, buffer has %d", n, len(buf))
	}
	putEthernet(buf, broadcastMAC, p.ClientMAC, 0x0800)
	ip := buf[ethHeaderLen:n]
	var unspecified [4]byte
	putIPv4(ip, ipLen, p.IPID, 0, 64, 17, unspecified, [4]byte{255, 255, 255, 255})
	udp := ip[ipv4HeaderLen:]
	binary.BigEndian.PutUint16(udp[0:2], 68)
	binary.BigEndian.PutUint16(udp[2:4], 67)
	binary.BigEndian.PutUint16(udp[4:6], uint16(udpHeaderLen+bootpLen))
	udp[6], udp[7] = 0, 0

	b := udp[udpHeaderLen:]
	clear(b)
	b[0], b[1], b[2] = 1, 1, 6 // op BOOTREQUEST, htype Ethernet, hlen 6
	binary.BigEndian.PutUint32(b[4:8], p.XID)
	binary.BigEndian.PutUint16(b[10:12], 0x8000) // broadcast flag
	copy(b[28:34], p.ClientMAC[:])               // chaddr
	binary.BigEndian.PutUint32(b[236:240], 0x63825363)
	o := b[240:]
	o[0], o[1], o[2] = 53, 1, 1 // DHCP message type: discover
	o[3], o[4], o[5] = 61, 7, 1 // client identifier: hardware type Ethernet
	copy(o[6:12], p.ClientMAC[:])
	i := 12
	if p.HostName != "" {
		o[i], o[i+1] = 12, byte(len(p.HostName))
		i += 2 + copy(o[i+2:], p.HostName)
	}
	o[i], o[i+1] = 55, byte(len(dhcpParamsRequested))
	i += 2 + copy(o[i+2:], dhcpParamsRequested[:])
	o[i] = 255 // end; the rest is padding, already zero

	sum := pseudoHeaderSum(ip, 17, udpHeaderLen+bootpLen)
	c := ^foldChecksum(sumWords(udp, sum))
	if c == 0 {
		c = 0xffff // a zero UDP checksum means "none" (RFC 768)
	}
	binary.BigEndian.PutUint16(udp[6:8], c)
	return n, nil
}

func putEthernet(b []byte, dst, src [6]byte, etherType uint16) {
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	binary.BigEndian.PutUint16(b[12:14], etherType)
}

// putIPv4 writes a 20-byte IPv4 header with its checksum into ip.
func putIPv4(ip []byte, totalLen int, id, flagsFrag uint16, ttl, proto uint8, src, dst [4]byte) {
	ip[0], ip[1] = 0x45, 0 // version 4, IHL 5; TOS 0
	binary.BigEndian.PutUint16(ip[2:4], uint16(totalLen))
	binary.BigEndian.PutUint16(ip[4:6], id)
	binary.BigEndian.PutUint16(ip[6:8], flagsFrag)
	ip[8], ip[9] = ttl, proto
	ip[10], ip[11] = 0, 0
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:12], ^foldChecksum(sumWords(ip[:ipv4HeaderLen], 0)))
}

// sumWords adds b as big-endian 16-bit words (a trailing odd byte is the
// high half of a word) to sum, without folding.
func sumWords(b []byte, sum uint64) uint64 {
	for len(b) >= 2 {
		sum += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}

// foldChecksum folds a sum of 16-bit words into the 16-bit ones'
// complement sum (RFC 1071).
func foldChecksum(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// pseudoHeaderSum is the unfolded sum of the IPv4 pseudo header that UDP
// and TCP checksums cover: source, destination, protocol, length.
func pseudoHeaderSum(ip []byte, proto uint8, length int) uint64 {
	return sumWords(ip[12:20], uint64(proto)+uint64(length))
}
