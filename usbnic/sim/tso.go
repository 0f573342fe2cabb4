package sim

import (
	"encoding/binary"
	"fmt"
)

// TCP segmentation offload of the AX88179. Linux's ax88179_178a advertises NETIF_F_TSO
// (ax88179_bind, with netif_set_tso_max_size 16384) and ax88179_tx_fixup puts the TCP segment
// size into TX header 2 ("tx_hdr2 = skb_shinfo(skb)->gso_size; /* Set TSO mss */", §1.9): the
// chip cuts the frame into segments of at most that many payload bytes. What each segment
// carries is what Linux's own software segmentation (tcp_gso_segment) gives it, which a TSO
// engine must match for the receiver: the headers copied, the IPv4 total length (IPv6 payload
// length) and both checksums recomputed, the IPv4 identification counting up from the frame's,
// the sequence number advanced by the payload before it, FIN and PSH on the last segment only
// and CWR on the first only.

// ax179TSOMax is the longest frame Linux hands the driver for segmentation
// (netif_set_tso_max_size(dev->net, 16384) in ax88179_bind).
const ax179TSOMax = 16384

// TCP flags TSO treats per segment.
const (
	tcpFIN = 0x01
	tcpPSH = 0x08
	tcpCWR = 0x80
)

// transmitTSO segments TCP frame f into segments of at most mss payload bytes and transmits
// each, built in p.scratch. It returns what is wrong with f, or "".
func (p *port) transmitTSO(f []byte, mss int, maxFrame int, link bool) string {
	l, ok := findL4(f)
	if !ok || l.proto != protoTCP || l.n < 20 {
		return fmt.Sprintf("AX88179 TX: TSO (MSS %d) on a frame that is not a whole TCP segment over IPv4 or IPv6", mss)
	}
	thl := int(f[l.off+12]>>4) * 4
	if thl < 20 || thl > l.n {
		return fmt.Sprintf("AX88179 TX: TSO: TCP data offset %d at offset %d does not fit the %d-byte segment", thl, l.off+12, l.n)
	}
	hdr := l.off + thl
	if mss <= 0 || hdr+mss > maxFrame {
		return fmt.Sprintf("AX88179 TX: TSO MSS %d with %d bytes of headers exceeds the %d-byte frame limit", mss, hdr, maxFrame)
	}
	payload := f[hdr : l.off+l.n]
	id := binary.BigEndian.Uint16(f[l.ipOff+4:])
	seq := binary.BigEndian.Uint32(f[l.off+4:])
	flags := f[l.off+13]
	for i, off := 0, 0; i == 0 || off < len(payload); i, off = i+1, off+mss {
		n := min(mss, len(payload)-off)
		s := p.scratch[:hdr+n]
		copy(s, f[:hdr])
		copy(s[hdr:], payload[off:off+n])
		if l.v6 {
			binary.BigEndian.PutUint16(s[l.ipOff+4:], uint16(thl+n))
		} else {
			binary.BigEndian.PutUint16(s[l.ipOff+2:], uint16(l.ipLen+thl+n))
			binary.BigEndian.PutUint16(s[l.ipOff+4:], id+uint16(i))
		}
		binary.BigEndian.PutUint32(s[l.off+4:], seq+uint32(off))
		fl := flags
		if off+n < len(payload) {
			fl &^= tcpFIN | tcpPSH
		}
		if i > 0 {
			fl &^= tcpCWR
		}
		s[l.off+13] = fl
		fillChecksums(s, coeIP|coeTCP|coeTCPv6)
		p.transmit(s, link)
	}
	return ""
}
