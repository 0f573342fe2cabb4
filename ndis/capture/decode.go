package capture

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Protocol names the highest layer of a frame the decoder understood; it
// fills the Protocol column of the frame table.
type Protocol uint8

// Protocols a Summary can name.
const (
	ProtoEthernet Protocol = iota
	ProtoARP
	ProtoIPv4
	ProtoIPv6
	ProtoICMP
	ProtoICMPv6
	ProtoTCP
	ProtoUDP
	ProtoDNS
	ProtoDHCP
)

var protocolNames = [...]string{
	ProtoEthernet: "Ethernet",
	ProtoARP:      "ARP",
	ProtoIPv4:     "IPv4",
	ProtoIPv6:     "IPv6",
	ProtoICMP:     "ICMP",
	ProtoICMPv6:   "ICMPv6",
	ProtoTCP:      "TCP",
	ProtoUDP:      "UDP",
	ProtoDNS:      "DNS",
	ProtoDHCP:     "DHCP",
}

// String returns the name shown in the Protocol column.
func (p Protocol) String() string {
	if int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// Text limits of a Summary. An address is at most 45 characters (an IPv6
// address with an embedded IPv4 one); the info line is cut at 256 bytes
// with "…", as the table shows one line anyway.
const (
	maxAddrText = 46
	maxInfoText = 256
)

// Summary is one row of the frame table. It holds its text in fixed
// arrays so that filling one does not allocate; Source, Destination and
// Info return views into the Summary itself.
type Summary struct {
	Protocol Protocol
	// Length is the frame's length on the wire.
	Length int
	// Malformed is set when a layer failed to decode; Info then says
	// "[Malformed Packet]" (or "[Packet size limited during capture]" when
	// the frame was truncated) and Protocol names the layer that failed.
	Malformed bool

	src, dst       [maxAddrText]byte
	srcLen, dstLen uint8
	info           [maxInfoText]byte
	infoLen        uint16
}

// Source returns the source column: the IP source address, or the
// Ethernet source for frames without IP.
func (s *Summary) Source() []byte { return s.src[:s.srcLen] }

// Destination returns the destination column, like Source; the Ethernet
// broadcast address reads "Broadcast".
func (s *Summary) Destination() []byte { return s.dst[:s.dstLen] }

// Info returns the info column, a Wireshark-like one-line description.
func (s *Summary) Info() []byte { return s.info[:s.infoLen] }

// Decoder decodes frames with gopacket's DecodingLayerParser into layer
// structs it owns and reuses, so summarizing a frame does not allocate.
// A Decoder is not safe for concurrent use: give each goroutine its own.
type Decoder struct {
	parser  *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType

	eth   layers.Ethernet
	vlan  layers.Dot1Q
	arp   layers.ARP
	ip4   layers.IPv4
	ip6   layers.IPv6
	icmp4 layers.ICMPv4
	icmp6 layers.ICMPv6
	tcp   layers.TCP
	udp   layers.UDP
	dhcp  layers.DHCPv4
	// dns is decoded by hand after UDP or TCP rather than by the parser:
	// gopacket maps TCP port 53 to DNS without the two-byte length that
	// DNS over TCP puts before each message.
	dns layers.DNS

	// Results of the last decode.
	failed    gopacket.LayerType // layer that failed to decode, LayerTypeZero if none
	failedErr error
	dnsMsg    []byte // the DNS message, when one decoded
	dnsOff    int    // offset of dnsMsg in its transport payload (2 over TCP)

	line []byte // scratch for building one text column
}

// NewDecoder makes a Decoder for Ethernet frames.
func NewDecoder() *Decoder {
	d := &Decoder{
		decoded: make([]gopacket.LayerType, 0, 16),
		// Longer than any column: the info line stops growing once it
		// passes maxInfoText, so appends stay within this capacity.
		line: make([]byte, 0, 1024),
	}
	d.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet)
	d.parser.SetDecodingLayerContainer(onceContainer{d})
	// Stop quietly at a layer we have no decoder for (TLS, NTP, ...):
	// that is not an error, and building one would allocate.
	d.parser.IgnoreUnsupported = true
	return d
}

// layer returns the decoder's struct for a layer type it decodes.
func (d *Decoder) layer(t gopacket.LayerType) gopacket.DecodingLayer {
	switch t {
	case layers.LayerTypeEthernet:
		return &d.eth
	case layers.LayerTypeDot1Q:
		return &d.vlan
	case layers.LayerTypeARP:
		return &d.arp
	case layers.LayerTypeIPv4:
		return &d.ip4
	case layers.LayerTypeIPv6:
		return &d.ip6
	case layers.LayerTypeICMPv4:
		return &d.icmp4
	case layers.LayerTypeICMPv6:
		return &d.icmp6
	case layers.LayerTypeTCP:
		return &d.tcp
	case layers.LayerTypeUDP:
		return &d.udp
	case layers.LayerTypeDHCPv4:
		return &d.dhcp
	}
	return nil
}

// onceContainer gives the parser the decoder's layer structs, each at
// most once per frame: a tunnelled header of the same kind (IPv4 in IPv4,
// a second VLAN tag) would overwrite the outer one, which the summary and
// the tree still read. Decoding stops there, as at an unsupported layer.
type onceContainer struct{ d *Decoder }

// Put is part of gopacket.DecodingLayerContainer; the set of layers is
// fixed by Decoder.layer, so there is nothing to add.
func (c onceContainer) Put(gopacket.DecodingLayer) gopacket.DecodingLayerContainer { return c }

// Decoder returns the struct for layer type t unless it already holds an
// outer layer of this frame.
func (c onceContainer) Decoder(t gopacket.LayerType) (gopacket.DecodingLayer, bool) {
	if c.d.has(t) {
		return nil, false
	}
	l := c.d.layer(t)
	return l, l != nil
}

// LayersDecoder is gopacket's decoding loop over this container.
func (c onceContainer) LayersDecoder(first gopacket.LayerType, df gopacket.DecodeFeedback) gopacket.DecodingLayerFunc {
	return gopacket.LayersDecoder(c, first, df)
}

// has reports whether the last decode decoded a layer of type t.
func (d *Decoder) has(t gopacket.LayerType) bool {
	for _, x := range d.decoded {
		if x == t {
			return true
		}
	}
	return false
}

// top returns the highest layer decoded, LayerTypeZero if none.
func (d *Decoder) top() gopacket.LayerType {
	if len(d.decoded) == 0 {
		return gopacket.LayerTypeZero
	}
	return d.decoded[len(d.decoded)-1]
}

// decode decodes frame into the decoder's layer structs. Only the layers
// listed in d.decoded hold this frame; the others keep stale values.
func (d *Decoder) decode(frame []byte) {
	d.failed, d.failedErr = gopacket.LayerTypeZero, nil
	d.dnsMsg = nil
	if err := d.parser.DecodeLayers(frame, &d.decoded); err != nil {
		// The parser stops at the layer that failed, after the last one
		// it appended.
		d.failed, d.failedErr = layers.LayerTypeEthernet, err
		if top := d.top(); top != gopacket.LayerTypeZero {
			d.failed = d.layer(top).NextLayerType()
		}
		return
	}
	var msg []byte
	switch d.top() {
	case layers.LayerTypeUDP:
		if d.udp.NextLayerType() == layers.LayerTypeDNS {
			msg, d.dnsOff = d.udp.Payload, 0
		}
	case layers.LayerTypeTCP:
		// One whole DNS message in the segment, after its length.
		if p := d.tcp.Payload; d.tcp.NextLayerType() == layers.LayerTypeDNS &&
			len(p) >= 2 && int(binary.BigEndian.Uint16(p)) == len(p)-2 {
			msg, d.dnsOff = p[2:], 2
		}
	}
	if len(msg) == 0 {
		return
	}
	if err := d.decodeDNS(msg); err != nil {
		d.failed, d.failedErr = layers.LayerTypeDNS, err
		return
	}
	d.dnsMsg = msg
}

var errDNSPanic = errors.New("DNS message makes the gopacket decoder fail")

// decodeDNS decodes msg into d.dns, turning a decoder panic (gopacket
// v1.1.19 indexes past the end of some malformed names) into an error, as
// DecodingLayerParser does for the layers it runs.
func (d *Decoder) decodeDNS(msg []byte) (err error) {
	defer func() {
		if recover() != nil {
			err = errDNSPanic
		}
	}()
	return d.dns.DecodeFromBytes(msg, gopacket.NilDecodeFeedback)
}

// Summarize decodes frame and fills s with its table row. wireLen is the
// frame's length on the wire (len(frame) if not truncated). It does not
// allocate for the common frames: ARP, ICMP, ICMPv6, TCP, UDP (including
// DNS and DHCP once the decoder has seen a message of that size).
func (d *Decoder) Summarize(frame []byte, wireLen int, s *Summary) {
	d.decode(frame)
	s.Length = max(wireLen, len(frame))
	s.Malformed = d.failed != gopacket.LayerTypeZero

	s.srcLen, s.dstLen = 0, 0
	switch {
	case d.has(layers.LayerTypeIPv4):
		s.srcLen = uint8(putText(s.src[:], appendIP(d.line[:0], d.ip4.SrcIP)))
		s.dstLen = uint8(putText(s.dst[:], appendIP(d.line[:0], d.ip4.DstIP)))
	case d.has(layers.LayerTypeIPv6):
		s.srcLen = uint8(putText(s.src[:], appendIP(d.line[:0], d.ip6.SrcIP)))
		s.dstLen = uint8(putText(s.dst[:], appendIP(d.line[:0], d.ip6.DstIP)))
	case d.has(layers.LayerTypeEthernet):
		s.srcLen = uint8(putText(s.src[:], appendMAC(d.line[:0], d.eth.SrcMAC)))
		dst := d.line[:0]
		if isBroadcast(d.eth.DstMAC) {
			dst = append(dst, "Broadcast"...)
		} else {
			dst = appendMAC(dst, d.eth.DstMAC)
		}
		s.dstLen = uint8(putText(s.dst[:], dst))
	}

	var b []byte
	if s.Malformed {
		s.Protocol = protocolOfLayer(d.failed, protocolOfLayer(d.top(), ProtoEthernet))
		if len(frame) < wireLen {
			// The layer was cut by the snap length, not built wrong.
			b = append(d.line[:0], "[Packet size limited during capture]"...)
		} else {
			b = append(d.line[:0], "[Malformed Packet]"...)
		}
	} else {
		s.Protocol, b = d.appendInfo(d.line[:0])
	}
	s.infoLen = uint16(putText(s.info[:], b))
}

// protocolOfLayer maps a gopacket layer type to the Protocol column,
// or returns def for layers the column does not name.
func protocolOfLayer(t gopacket.LayerType, def Protocol) Protocol {
	switch t {
	case layers.LayerTypeEthernet, layers.LayerTypeDot1Q:
		return ProtoEthernet
	case layers.LayerTypeARP:
		return ProtoARP
	case layers.LayerTypeIPv4:
		return ProtoIPv4
	case layers.LayerTypeIPv6:
		return ProtoIPv6
	case layers.LayerTypeICMPv4:
		return ProtoICMP
	case layers.LayerTypeICMPv6:
		return ProtoICMPv6
	case layers.LayerTypeTCP:
		return ProtoTCP
	case layers.LayerTypeUDP:
		return ProtoUDP
	case layers.LayerTypeDNS:
		return ProtoDNS
	case layers.LayerTypeDHCPv4:
		return ProtoDHCP
	}
	return def
}

func isBroadcast(mac []byte) bool {
	if len(mac) != 6 {
		return false
	}
	for _, x := range mac {
		if x != 0xff {
			return false
		}
	}
	return true
}

// appendInfo appends the info line for the highest decoded layer and
// returns the protocol it describes.
func (d *Decoder) appendInfo(b []byte) (Protocol, []byte) {
	if d.dnsMsg != nil {
		return ProtoDNS, d.appendDNSInfo(b)
	}
	switch d.top() {
	case layers.LayerTypeDHCPv4:
		return ProtoDHCP, d.appendDHCPInfo(b)
	case layers.LayerTypeTCP:
		return ProtoTCP, d.appendTCPInfo(b)
	case layers.LayerTypeUDP:
		b = append(b, "Source port: "...)
		b = appendDec(b, uint64(d.udp.SrcPort))
		b = append(b, " Destination port: "...)
		return ProtoUDP, appendDec(b, uint64(d.udp.DstPort))
	case layers.LayerTypeICMPv4:
		return ProtoICMP, d.appendICMPInfo(b)
	case layers.LayerTypeICMPv6:
		return ProtoICMPv6, d.appendICMPv6Info(b)
	case layers.LayerTypeIPv4:
		if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
			// Wireshark's words for a fragment it did not reassemble.
			b = append(b, "Fragmented IP protocol (proto="...)
			b = appendIPProto(b, uint8(d.ip4.Protocol))
			b = append(b, ", off="...)
			b = appendDec(b, uint64(d.ip4.FragOffset)*8)
			b = append(b, ", ID="...)
			b = appendHexDigits(b, uint64(d.ip4.Id), 4)
			return ProtoIPv4, append(b, ')')
		}
		b = append(b, "IPv4 protocol "...)
		return ProtoIPv4, appendIPProto(b, uint8(d.ip4.Protocol))
	case layers.LayerTypeIPv6:
		next := d.ip6.NextHeader
		if d.ip6.HopByHop != nil {
			next = d.ip6.HopByHop.NextHeader
		}
		b = append(b, "IPv6 next header "...)
		return ProtoIPv6, appendIPProto(b, uint8(next))
	case layers.LayerTypeARP:
		return ProtoARP, d.appendARPInfo(b)
	case layers.LayerTypeDot1Q:
		b = append(b, "802.1Q VLAN "...)
		b = appendDec(b, uint64(d.vlan.VLANIdentifier))
		b = append(b, ", type "...)
		return ProtoEthernet, appendHex(b, uint64(d.vlan.Type), 4)
	}
	if d.eth.EthernetType == layers.EthernetTypeLLC {
		b = append(b, "IEEE 802.3, length "...)
		return ProtoEthernet, appendDec(b, uint64(d.eth.Length))
	}
	b = append(b, "Ethernet II, type "...)
	return ProtoEthernet, appendHex(b, uint64(d.eth.EthernetType), 4)
}

func (d *Decoder) appendARPInfo(b []byte) []byte {
	a := &d.arp
	if a.AddrType != layers.LinkTypeEthernet || a.Protocol != layers.EthernetTypeIPv4 ||
		a.HwAddressSize != 6 || a.ProtAddressSize != 4 {
		b = append(b, "ARP for hardware type "...)
		b = appendDec(b, uint64(a.AddrType))
		b = append(b, ", protocol "...)
		b = appendHex(b, uint64(a.Protocol), 4)
		b = append(b, ", opcode "...)
		return appendDec(b, uint64(a.Operation))
	}
	sender, target := a.SourceProtAddress, a.DstProtAddress
	gratuitous := string(sender) == string(target)
	switch a.Operation {
	case layers.ARPRequest:
		switch {
		case gratuitous && string(a.DstHwAddress) == "\x00\x00\x00\x00\x00\x00":
			// RFC 5227 2.3: announcing an address it now uses.
			b = append(b, "ARP Announcement for "...)
			return appendIP(b, target)
		case gratuitous:
			b = append(b, "Gratuitous ARP for "...)
			b = appendIP(b, target)
			return append(b, " (Request)"...)
		case string(sender) == "\x00\x00\x00\x00":
			b = append(b, "Who has "...)
			b = appendIP(b, target)
			return append(b, "? (ARP Probe)"...)
		}
		b = append(b, "Who has "...)
		b = appendIP(b, target)
		b = append(b, "? Tell "...)
		return appendIP(b, sender)
	case layers.ARPReply:
		if gratuitous {
			b = append(b, "Gratuitous ARP for "...)
			b = appendIP(b, sender)
			return append(b, " (Reply)"...)
		}
		b = appendIP(b, sender)
		b = append(b, " is at "...)
		return appendMAC(b, a.SourceHwAddress)
	}
	b = append(b, "ARP opcode "...)
	return appendDec(b, uint64(a.Operation))
}

func (d *Decoder) appendICMPInfo(b []byte) []byte {
	typ, code := d.icmp4.TypeCode.Type(), d.icmp4.TypeCode.Code()
	switch typ {
	case layers.ICMPv4TypeEchoRequest, layers.ICMPv4TypeEchoReply:
		if typ == layers.ICMPv4TypeEchoRequest {
			b = append(b, "Echo (ping) request id="...)
		} else {
			b = append(b, "Echo (ping) reply id="...)
		}
		b = appendHex(b, uint64(d.icmp4.Id), 4)
		b = append(b, ", seq="...)
		b = appendDec(b, uint64(d.icmp4.Seq))
		b = append(b, '/')
		// The other byte order, as Wireshark shows it: Windows and Linux
		// pings disagree on it.
		b = appendDec(b, uint64(d.icmp4.Seq>>8|d.icmp4.Seq<<8))
		return d.appendHopLimit(b)
	case layers.ICMPv4TypeDestinationUnreachable:
		b = append(b, "Destination unreachable ("...)
		if int(code) < len(icmpUnreachableCodes) && icmpUnreachableCodes[code] != "" {
			b = append(b, icmpUnreachableCodes[code]...)
		} else {
			b = append(b, "code "...)
			b = appendDec(b, uint64(code))
		}
		return append(b, ')')
	case layers.ICMPv4TypeTimeExceeded:
		if code == 0 {
			return append(b, "Time-to-live exceeded (Time to live exceeded in transit)"...)
		}
		return append(b, "Time-to-live exceeded (Fragment reassembly time exceeded)"...)
	case layers.ICMPv4TypeRedirect:
		return append(b, "Redirect"...)
	case layers.ICMPv4TypeTimestampRequest:
		return append(b, "Timestamp request"...)
	case layers.ICMPv4TypeTimestampReply:
		return append(b, "Timestamp reply"...)
	}
	return appendTypeCode(b, typ, code)
}

var icmpUnreachableCodes = [...]string{
	0:  "Network unreachable",
	1:  "Host unreachable",
	2:  "Protocol unreachable",
	3:  "Port unreachable",
	4:  "Fragmentation needed",
	9:  "Network administratively prohibited",
	10: "Host administratively prohibited",
	13: "Communication administratively filtered",
}

// appendHopLimit appends the IP header's TTL or hop limit. ICMP and
// ICMPv6 can each come over either IP version; only the one decoded for
// this frame holds its value.
func (d *Decoder) appendHopLimit(b []byte) []byte {
	switch {
	case d.has(layers.LayerTypeIPv4):
		b = append(b, ", ttl="...)
		return appendDec(b, uint64(d.ip4.TTL))
	case d.has(layers.LayerTypeIPv6):
		b = append(b, ", hop limit="...)
		return appendDec(b, uint64(d.ip6.HopLimit))
	}
	return b
}

func appendTypeCode(b []byte, typ, code uint8) []byte {
	b = append(b, "Type "...)
	b = appendDec(b, uint64(typ))
	b = append(b, ", code "...)
	return appendDec(b, uint64(code))
}

func (d *Decoder) appendICMPv6Info(b []byte) []byte {
	typ, code := d.icmp6.TypeCode.Type(), d.icmp6.TypeCode.Code()
	p := d.icmp6.Payload
	switch typ {
	case layers.ICMPv6TypeEchoRequest, layers.ICMPv6TypeEchoReply:
		if typ == layers.ICMPv6TypeEchoRequest {
			b = append(b, "Echo (ping) request"...)
		} else {
			b = append(b, "Echo (ping) reply"...)
		}
		if len(p) < 4 {
			return b
		}
		b = append(b, " id="...)
		b = appendHex(b, uint64(binary.BigEndian.Uint16(p[0:2])), 4)
		b = append(b, ", seq="...)
		b = appendDec(b, uint64(binary.BigEndian.Uint16(p[2:4])))
		return d.appendHopLimit(b)
	case layers.ICMPv6TypeNeighborSolicitation:
		b = append(b, "Neighbor Solicitation"...)
		if len(p) >= 20 {
			b = append(b, " for "...)
			b = appendIP(b, p[4:20])
			if mac := ndpLinkLayerAddr(p[20:], 1); mac != nil {
				b = append(b, " from "...)
				b = appendMAC(b, mac)
			}
		}
		return b
	case layers.ICMPv6TypeNeighborAdvertisement:
		b = append(b, "Neighbor Advertisement"...)
		if len(p) >= 20 {
			b = append(b, ' ')
			b = appendIP(b, p[4:20])
			b = append(b, " ("...)
			sep := false
			for i, name := range [...]string{"rtr", "sol", "ovr"} {
				if p[0]&(0x80>>i) != 0 {
					if sep {
						b = append(b, ", "...)
					}
					b = append(b, name...)
					sep = true
				}
			}
			b = append(b, ')')
			if mac := ndpLinkLayerAddr(p[20:], 2); mac != nil {
				b = append(b, " is at "...)
				b = appendMAC(b, mac)
			}
		}
		return b
	}
	if int(typ) < len(icmpv6TypeNames) && icmpv6TypeNames[typ] != "" {
		return append(b, icmpv6TypeNames[typ]...)
	}
	return appendTypeCode(b, typ, code)
}

// ndpLinkLayerAddr returns the Ethernet address in the neighbor discovery
// option of type typ (1 source, 2 target link-layer address; RFC 4861
// 4.6.1) among opts, or nil.
func ndpLinkLayerAddr(opts []byte, typ byte) []byte {
	for len(opts) >= 2 && opts[1] != 0 && len(opts) >= int(opts[1])*8 {
		if opts[0] == typ && opts[1] == 1 {
			return opts[2:8]
		}
		opts = opts[int(opts[1])*8:]
	}
	return nil
}

var icmpv6TypeNames = [...]string{
	1:   "Destination Unreachable",
	2:   "Packet Too Big",
	3:   "Time Exceeded",
	4:   "Parameter Problem",
	130: "Multicast Listener Query",
	131: "Multicast Listener Report",
	132: "Multicast Listener Done",
	133: "Router Solicitation",
	134: "Router Advertisement",
	137: "Redirect",
	143: "Multicast Listener Report Message v2",
}

// tcpFlagNames in Wireshark's order, lowest bit first; NS is bit 8.
var tcpFlagNames = [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"}

// tcpFlags returns the TCP flags as a 9-bit value: NS<<8 | the flag byte.
func tcpFlags(t *layers.TCP) uint16 {
	var f uint16
	for i, set := range [...]bool{t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG, t.ECE, t.CWR, t.NS} {
		if set {
			f |= 1 << i
		}
	}
	return f
}

// appendTCPFlags appends "SYN, ACK" style flag names, "<None>" for none.
func appendTCPFlags(b []byte, flags uint16) []byte {
	if flags == 0 {
		return append(b, "<None>"...)
	}
	sep := false
	for i, name := range tcpFlagNames {
		if flags&(1<<i) != 0 {
			if sep {
				b = append(b, ", "...)
			}
			b = append(b, name...)
			sep = true
		}
	}
	return b
}

// appendTCPInfo writes Wireshark's TCP line with absolute (not relative)
// sequence numbers: the table keeps no per-connection state.
func (d *Decoder) appendTCPInfo(b []byte) []byte {
	t := &d.tcp
	b = appendDec(b, uint64(t.SrcPort))
	b = append(b, " → "...)
	b = appendDec(b, uint64(t.DstPort))
	b = append(b, " ["...)
	b = appendTCPFlags(b, tcpFlags(t))
	b = append(b, "] Seq="...)
	b = appendDec(b, uint64(t.Seq))
	if t.ACK {
		b = append(b, " Ack="...)
		b = appendDec(b, uint64(t.Ack))
	}
	b = append(b, " Win="...)
	b = appendDec(b, uint64(t.Window))
	b = append(b, " Len="...)
	b = appendDec(b, uint64(d.tcpSegmentLen()))
	for _, o := range t.Options {
		switch {
		case o.OptionType == layers.TCPOptionKindMSS && len(o.OptionData) == 2:
			b = append(b, " MSS="...)
			b = appendDec(b, uint64(binary.BigEndian.Uint16(o.OptionData)))
		case o.OptionType == layers.TCPOptionKindWindowScale && len(o.OptionData) == 1:
			b = append(b, " WS="...)
			b = appendDec(b, 1<<min(o.OptionData[0], 14)) // RFC 7323: shifts above 14 mean 14
		case o.OptionType == layers.TCPOptionKindSACKPermitted:
			b = append(b, " SACK_PERM"...)
		case o.OptionType == layers.TCPOptionKindSACK:
			for blk := o.OptionData; len(blk) >= 8; blk = blk[8:] {
				b = append(b, " SLE="...)
				b = appendDec(b, uint64(binary.BigEndian.Uint32(blk[0:4])))
				b = append(b, " SRE="...)
				b = appendDec(b, uint64(binary.BigEndian.Uint32(blk[4:8])))
			}
		case o.OptionType == layers.TCPOptionKindTimestamps && len(o.OptionData) == 8:
			b = append(b, " TSval="...)
			b = appendDec(b, uint64(binary.BigEndian.Uint32(o.OptionData[0:4])))
			b = append(b, " TSecr="...)
			b = appendDec(b, uint64(binary.BigEndian.Uint32(o.OptionData[4:8])))
		}
	}
	return b
}

// tcpSegmentLen is the TCP payload length the IP header announces, which
// stays right when the capture truncated the frame.
func (d *Decoder) tcpSegmentLen() int {
	if d.has(layers.LayerTypeIPv4) {
		if n := int(d.ip4.Length) - int(d.ip4.IHL)*4 - int(d.tcp.DataOffset)*4; n >= 0 {
			return n
		}
	}
	return len(d.tcp.Payload)
}

func (d *Decoder) appendDHCPInfo(b []byte) []byte {
	msgType := -1
	for _, o := range d.dhcp.Options {
		if o.Type == layers.DHCPOptMessageType && len(o.Data) == 1 {
			msgType = int(o.Data[0])
		}
	}
	if msgType < 0 {
		// A plain BOOTP message.
		if d.dhcp.Operation == layers.DHCPOpReply {
			b = append(b, "Boot Reply"...)
		} else {
			b = append(b, "Boot Request"...)
		}
	} else {
		b = append(b, "DHCP "...)
		b = appendDHCPMsgType(b, msgType)
	}
	b = append(b, " - Transaction ID "...)
	return appendHex(b, uint64(d.dhcp.Xid), 8)
}

var dhcpMsgTypeNames = [...]string{
	1: "Discover", 2: "Offer", 3: "Request", 4: "Decline",
	5: "ACK", 6: "NAK", 7: "Release", 8: "Inform",
}

func appendDHCPMsgType(b []byte, t int) []byte {
	if t > 0 && t < len(dhcpMsgTypeNames) {
		return append(b, dhcpMsgTypeNames[t]...)
	}
	b = append(b, "Message type "...)
	return appendDec(b, uint64(t))
}

func (d *Decoder) appendDNSInfo(b []byte) []byte {
	m := &d.dns
	b = appendDNSOpCode(b, uint8(m.OpCode))
	if m.QR {
		b = append(b, " response"...)
	}
	b = append(b, ' ')
	b = appendHex(b, uint64(m.ID), 4)
	if m.QR && m.ResponseCode != 0 {
		b = append(b, ' ')
		b = appendDNSRcode(b, uint8(m.ResponseCode))
	}
	for i := range m.Questions {
		if len(b) > maxInfoText {
			return b
		}
		q := &m.Questions[i]
		b = append(b, ' ')
		b = appendDNSType(b, uint16(q.Type))
		b = append(b, ' ')
		b = appendDNSName(b, q.Name)
	}
	if !m.QR {
		return b
	}
	for i := range m.Answers {
		if len(b) > maxInfoText {
			return b
		}
		b = append(b, ' ')
		b = appendDNSRecordData(b, &m.Answers[i])
	}
	return b
}

func appendDNSOpCode(b []byte, op uint8) []byte {
	switch op {
	case 0:
		return append(b, "Standard query"...)
	case 1:
		return append(b, "Inverse query"...)
	case 2:
		return append(b, "Server status request"...)
	case 4:
		return append(b, "Zone change notification"...)
	case 5:
		return append(b, "Dynamic update"...)
	}
	b = append(b, "Unknown operation ("...)
	b = appendDec(b, uint64(op))
	return append(b, ')')
}

var dnsRcodeNames = [...]string{
	1: "Format error", 2: "Server failure", 3: "No such name",
	4: "Not implemented", 5: "Refused",
}

func appendDNSRcode(b []byte, rc uint8) []byte {
	if rc > 0 && int(rc) < len(dnsRcodeNames) {
		return append(b, dnsRcodeNames[rc]...)
	}
	b = append(b, "Unknown error ("...)
	b = appendDec(b, uint64(rc))
	return append(b, ')')
}

func dnsTypeName(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 2:
		return "NS"
	case 5:
		return "CNAME"
	case 6:
		return "SOA"
	case 12:
		return "PTR"
	case 13:
		return "HINFO"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 28:
		return "AAAA"
	case 33:
		return "SRV"
	case 35:
		return "NAPTR"
	case 41:
		return "OPT"
	case 43:
		return "DS"
	case 46:
		return "RRSIG"
	case 47:
		return "NSEC"
	case 48:
		return "DNSKEY"
	case 64:
		return "SVCB"
	case 65:
		return "HTTPS"
	case 255:
		return "ANY"
	case 257:
		return "CAA"
	}
	return ""
}

func appendDNSType(b []byte, t uint16) []byte {
	if name := dnsTypeName(t); name != "" {
		return append(b, name...)
	}
	b = append(b, "Unknown ("...)
	b = appendDec(b, uint64(t))
	return append(b, ')')
}

// appendDNSName appends a decoded name; the root (empty) name reads
// "<Root>".
func appendDNSName(b, name []byte) []byte {
	if len(name) == 0 {
		return append(b, "<Root>"...)
	}
	return append(b, name...)
}

// appendDNSRecordData appends "TYPE data" for an answer.
func appendDNSRecordData(b []byte, rr *layers.DNSResourceRecord) []byte {
	b = appendDNSType(b, uint16(rr.Type))
	switch rr.Type {
	case layers.DNSTypeA, layers.DNSTypeAAAA:
		b = append(b, ' ')
		return appendIP(b, rr.IP)
	case layers.DNSTypeCNAME:
		b = append(b, ' ')
		return appendDNSName(b, rr.CNAME)
	case layers.DNSTypeNS:
		b = append(b, ' ')
		return appendDNSName(b, rr.NS)
	case layers.DNSTypePTR:
		b = append(b, ' ')
		return appendDNSName(b, rr.PTR)
	case layers.DNSTypeMX:
		b = append(b, ' ')
		b = appendDec(b, uint64(rr.MX.Preference))
		b = append(b, ' ')
		return appendDNSName(b, rr.MX.Name)
	case layers.DNSTypeSOA:
		b = append(b, ' ')
		return appendDNSName(b, rr.SOA.MName)
	case layers.DNSTypeSRV:
		b = append(b, ' ')
		b = appendDec(b, uint64(rr.SRV.Priority))
		b = append(b, ' ')
		b = appendDec(b, uint64(rr.SRV.Weight))
		b = append(b, ' ')
		b = appendDec(b, uint64(rr.SRV.Port))
		b = append(b, ' ')
		return appendDNSName(b, rr.SRV.Name)
	}
	return b
}

// ipProtoNames names the IP protocol numbers seen on a LAN.
var ipProtoNames = [...]string{
	0: "IPv6 Hop-by-Hop", 1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 17: "UDP",
	41: "IPv6", 43: "IPv6 Routing", 44: "IPv6 Fragment", 47: "GRE", 50: "ESP",
	51: "AH", 58: "ICMPv6", 59: "IPv6 No Next Header", 60: "IPv6 Destination Options",
	89: "OSPF", 103: "PIM", 112: "VRRP", 132: "SCTP",
}

// appendIPProto appends "UDP 17" style protocol text, or the bare number.
func appendIPProto(b []byte, p uint8) []byte {
	if int(p) < len(ipProtoNames) && ipProtoNames[p] != "" {
		b = append(b, ipProtoNames[p]...)
		b = append(b, ' ')
	}
	return appendDec(b, uint64(p))
}
