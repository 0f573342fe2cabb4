package capture

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Node is one line of the layer tree of a selected frame: a layer or one
// of its fields. Offset and Length give the exact bytes of the frame it
// covers, so the page can highlight them in the hex dump; fields that share
// bytes (IPv4 version and header length, TCP flags) cover the whole bytes
// they live in.
type Node struct {
	Name     string
	Value    string
	Offset   int
	Length   int
	Children []Node
}

// Text returns the node as one line: "Name: Value", or Name alone.
func (n *Node) Text() string {
	if n.Value == "" {
		return n.Name
	}
	return n.Name + ": " + n.Value
}

func field(name string, off, n int, value string) Node {
	return Node{Name: name, Value: value, Offset: off, Length: n}
}

// Dissect decodes frame into a tree with one top node per layer, ending
// with the undecoded payload, an Ethernet trailer or the part that failed
// to decode. It allocates freely: it runs for the one frame the user
// selected, not per frame. The tree does not alias frame.
func (d *Decoder) Dissect(frame []byte) []Node {
	// With the capacity cut to the length, the offset of any slice the
	// layers took from frame is len(frame) - cap(slice).
	frame = frame[:len(frame):len(frame)]
	d.decode(frame)
	offsetOf := func(b []byte) int { return len(frame) - cap(b) }

	var nodes []Node
	rest := frame     // the bytes after the last layer dissected
	netEnd := -1      // end of the network layer, to find an Ethernet trailer
	consumed := false // the last layer's node covers its payload too
	for _, lt := range d.decoded {
		data, off := rest, offsetOf(rest)
		switch lt {
		case layers.LayerTypeEthernet:
			nodes = append(nodes, d.ethernetNode(off))
			if d.eth.EthernetType == layers.EthernetTypeLLC {
				netEnd = off + 14 + int(d.eth.Length)
			}
		case layers.LayerTypeDot1Q:
			nodes = append(nodes, d.vlanNode(off))
		case layers.LayerTypeARP:
			nodes = append(nodes, d.arpNode(off))
			netEnd = off + len(d.arp.Contents)
		case layers.LayerTypeIPv4:
			nodes = append(nodes, d.ipv4Node(off, data))
			netEnd = off + int(d.ip4.Length)
		case layers.LayerTypeIPv6:
			nodes = append(nodes, d.ipv6Node(off))
			if d.ip6.HopByHop != nil {
				nodes = append(nodes, d.hopByHopNode(off+40, data[40:offsetOf(d.ip6.Payload)-off]))
			}
			netEnd = offsetOf(d.ip6.Payload) + len(d.ip6.Payload)
		case layers.LayerTypeICMPv4:
			nodes = append(nodes, d.icmpNode(off, data))
		case layers.LayerTypeICMPv6:
			nodes = append(nodes, d.icmpv6Node(off, data))
		case layers.LayerTypeTCP:
			nodes = append(nodes, d.tcpNode(off, data))
		case layers.LayerTypeUDP:
			nodes = append(nodes, d.udpNode(off, data))
		case layers.LayerTypeDHCPv4:
			nodes = append(nodes, d.dhcpNode(off, data))
		}
		// ICMP and DHCP nodes cover their whole message.
		consumed = lt == layers.LayerTypeICMPv4 || lt == layers.LayerTypeICMPv6 || lt == layers.LayerTypeDHCPv4
		rest = d.layer(lt).LayerPayload()
	}
	if d.dnsMsg != nil {
		nodes = append(nodes, d.dnsNode(offsetOf(d.dnsMsg)))
		consumed = true
	}
	switch {
	case d.failed != gopacket.LayerTypeZero:
		off := offsetOf(rest)
		if d.failed == layers.LayerTypeDNS {
			// From the start of the transport payload: over TCP the
			// two-byte length before the message belongs to the DNS
			// layer that failed, and no other node covers it.
			off = offsetOf(d.tcpOrUDPPayload())
		}
		nodes = append(nodes, field("[Malformed Packet]", off, len(frame)-off, d.failedErr.Error()))
		return nodes
	case !consumed:
		// Undissected bytes up to the Ethernet trailer (ARP leaves its
		// trailer in its payload).
		off, n := offsetOf(rest), len(rest)
		if netEnd >= 0 {
			n = min(n, netEnd-off)
		}
		if n > 0 {
			nodes = append(nodes, field("Data", off, n, plural(n, "byte")))
		}
	}
	end := 0
	if len(nodes) > 0 {
		end = nodes[len(nodes)-1].Offset + nodes[len(nodes)-1].Length
	}
	netEnd = min(netEnd, len(frame)) // a truncated capture ends early
	if netEnd > end {
		// The network layer announces more than the layers above used
		// (a UDP length shorter than the IP payload).
		nodes = append(nodes, field("Extra bytes", end, netEnd-end, plural(netEnd-end, "byte")))
		end = netEnd
	}
	if end < len(frame) {
		nodes = append(nodes, field("Padding", end, len(frame)-end, plural(len(frame)-end, "byte")))
	}
	return nodes
}

// tcpOrUDPPayload returns the transport payload a DNS message came from.
func (d *Decoder) tcpOrUDPPayload() []byte {
	if d.top() == layers.LayerTypeTCP {
		return d.tcp.Payload
	}
	return d.udp.Payload
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func macString(b []byte) string { return string(appendMAC(nil, b)) }
func ipString(b []byte) string  { return string(appendIP(nil, b)) }

// addrString shows an ARP address: as MAC or IPv4 when it has that size.
func addrString(b []byte) string {
	if len(b) == 4 {
		return ipString(b)
	}
	return macString(b)
}

var etherTypeNames = map[uint16]string{
	0x0800: "IPv4", 0x0806: "ARP", 0x86dd: "IPv6", 0x8100: "802.1Q Virtual LAN",
	0x88a8: "802.1ad", 0x88cc: "LLDP", 0x888e: "802.1X Authentication", 0x8035: "RARP",
}

func etherTypeString(t uint16) string {
	if name, ok := etherTypeNames[t]; ok {
		return fmt.Sprintf("%s (0x%04x)", name, t)
	}
	return fmt.Sprintf("0x%04x", t)
}

func (d *Decoder) ethernetNode(off int) Node {
	e := &d.eth
	n := Node{Name: "Ethernet II", Offset: off, Length: 14,
		Value: fmt.Sprintf("Src: %s, Dst: %s", macString(e.SrcMAC), macString(e.DstMAC))}
	n.Children = []Node{
		field("Destination", off, 6, macString(e.DstMAC)),
		field("Source", off+6, 6, macString(e.SrcMAC)),
	}
	if e.EthernetType == layers.EthernetTypeLLC {
		n.Name = "IEEE 802.3 Ethernet"
		n.Children = append(n.Children, field("Length", off+12, 2, fmt.Sprint(e.Length)))
	} else {
		n.Children = append(n.Children, field("Type", off+12, 2, etherTypeString(uint16(e.EthernetType))))
	}
	return n
}

func (d *Decoder) vlanNode(off int) Node {
	v := &d.vlan
	dei := 0
	if v.DropEligible {
		dei = 1
	}
	return Node{Name: "802.1Q Virtual LAN", Offset: off, Length: 4,
		Value: fmt.Sprintf("PRI: %d, DEI: %d, ID: %d", v.Priority, dei, v.VLANIdentifier),
		Children: []Node{
			field("Priority", off, 2, fmt.Sprint(v.Priority)),
			field("DEI", off, 2, fmt.Sprint(dei)),
			field("ID", off, 2, fmt.Sprint(v.VLANIdentifier)),
			field("Type", off+2, 2, etherTypeString(uint16(v.Type))),
		}}
}

func (d *Decoder) arpNode(off int) Node {
	a := &d.arp
	op := fmt.Sprintf("opcode %d", a.Operation)
	switch a.Operation {
	case layers.ARPRequest:
		op = "request"
	case layers.ARPReply:
		op = "reply"
	}
	hs, ps := int(a.HwAddressSize), int(a.ProtAddressSize)
	hw := "Ethernet (1)"
	if a.AddrType != layers.LinkTypeEthernet {
		hw = fmt.Sprint(uint16(a.AddrType))
	}
	return Node{Name: "Address Resolution Protocol", Value: "(" + op + ")", Offset: off, Length: len(a.Contents),
		Children: []Node{
			field("Hardware type", off, 2, hw),
			field("Protocol type", off+2, 2, etherTypeString(uint16(a.Protocol))),
			field("Hardware size", off+4, 1, fmt.Sprint(hs)),
			field("Protocol size", off+5, 1, fmt.Sprint(ps)),
			field("Opcode", off+6, 2, fmt.Sprintf("%s (%d)", op, a.Operation)),
			field("Sender MAC address", off+8, hs, macString(a.SourceHwAddress)),
			field("Sender IP address", off+8+hs, ps, addrString(a.SourceProtAddress)),
			field("Target MAC address", off+8+hs+ps, hs, macString(a.DstHwAddress)),
			field("Target IP address", off+8+2*hs+ps, ps, addrString(a.DstProtAddress)),
		}}
}

func ipProtoString(p uint8) string {
	if int(p) < len(ipProtoNames) && ipProtoNames[p] != "" {
		return fmt.Sprintf("%s (%d)", ipProtoNames[p], p)
	}
	return fmt.Sprint(p)
}

// checksumText shows a stored checksum and whether data (with the
// checksum in it) sums correctly, starting from the pseudo-header sum.
func checksumText(stored uint16, data []byte, pseudo uint64) string {
	if foldChecksum(sumWords(data, pseudo)) == 0xffff {
		return fmt.Sprintf("0x%04x [correct]", stored)
	}
	// The checksum field is one aligned word of the sum: take it out.
	want := ^foldChecksum(sumWords(data, pseudo) - uint64(stored))
	return fmt.Sprintf("0x%04x [incorrect, should be 0x%04x]", stored, want)
}

func (d *Decoder) ipv4Node(off int, data []byte) Node {
	ip := &d.ip4
	hl := int(ip.IHL) * 4
	var flags []string
	if ip.Flags&layers.IPv4EvilBit != 0 {
		flags = append(flags, "Reserved bit")
	}
	if ip.Flags&layers.IPv4DontFragment != 0 {
		flags = append(flags, "Don't fragment")
	}
	if ip.Flags&layers.IPv4MoreFragments != 0 {
		flags = append(flags, "More fragments")
	}
	flagText := fmt.Sprintf("0x%02x", uint8(ip.Flags)<<5)
	if len(flags) > 0 {
		flagText += ", " + strings.Join(flags, ", ")
	}
	n := Node{Name: "Internet Protocol Version 4", Offset: off, Length: hl,
		Value: fmt.Sprintf("Src: %s, Dst: %s", ipString(ip.SrcIP), ipString(ip.DstIP)),
		Children: []Node{
			field("Version", off, 1, fmt.Sprint(ip.Version)),
			field("Header Length", off, 1, fmt.Sprintf("%d bytes (%d)", hl, ip.IHL)),
			field("Differentiated Services Field", off+1, 1, fmt.Sprintf("0x%02x (DSCP %d, ECN %d)", ip.TOS, ip.TOS>>2, ip.TOS&3)),
			field("Total Length", off+2, 2, fmt.Sprint(ip.Length)),
			field("Identification", off+4, 2, fmt.Sprintf("0x%04x (%d)", ip.Id, ip.Id)),
			field("Flags", off+6, 1, flagText),
			field("Fragment Offset", off+6, 2, fmt.Sprint(int(ip.FragOffset)*8)),
			field("Time to Live", off+8, 1, fmt.Sprint(ip.TTL)),
			field("Protocol", off+9, 1, ipProtoString(uint8(ip.Protocol))),
			field("Header Checksum", off+10, 2, checksumText(ip.Checksum, data[:hl], 0)),
			field("Source Address", off+12, 4, ipString(ip.SrcIP)),
			field("Destination Address", off+16, 4, ipString(ip.DstIP)),
		}}
	if hl > 20 {
		opts := Node{Name: "Options", Value: plural(hl-20, "byte"), Offset: off + 20, Length: hl - 20}
		at := off + 20
		for _, o := range ip.Options {
			size := max(int(o.OptionLength), 1)
			opts.Children = append(opts.Children, field("IP Option", at, size, fmt.Sprintf("type %d, %s", o.OptionType, plural(size, "byte"))))
			at += size
		}
		if at < off+hl {
			opts.Children = append(opts.Children, field("Padding", at, off+hl-at, plural(off+hl-at, "byte")))
		}
		n.Children = append(n.Children, opts)
	}
	return n
}

func (d *Decoder) ipv6Node(off int) Node {
	ip := &d.ip6
	return Node{Name: "Internet Protocol Version 6", Offset: off, Length: 40,
		Value: fmt.Sprintf("Src: %s, Dst: %s", ipString(ip.SrcIP), ipString(ip.DstIP)),
		Children: []Node{
			field("Version", off, 1, fmt.Sprint(ip.Version)),
			field("Traffic Class", off, 2, fmt.Sprintf("0x%02x", ip.TrafficClass)),
			field("Flow Label", off+1, 3, fmt.Sprintf("0x%05x", ip.FlowLabel)),
			field("Payload Length", off+4, 2, fmt.Sprint(ip.Length)),
			field("Next Header", off+6, 1, ipProtoString(uint8(ip.NextHeader))),
			field("Hop Limit", off+7, 1, fmt.Sprint(ip.HopLimit)),
			field("Source Address", off+8, 16, ipString(ip.SrcIP)),
			field("Destination Address", off+24, 16, ipString(ip.DstIP)),
		}}
}

// hopByHopNode dissects the hop-by-hop header in hbh (RFC 8200 4.3).
func (d *Decoder) hopByHopNode(off int, hbh []byte) Node {
	n := Node{Name: "IPv6 Hop-by-Hop Option", Offset: off, Length: len(hbh), Children: []Node{
		field("Next Header", off, 1, ipProtoString(hbh[0])),
		field("Length", off+1, 1, fmt.Sprintf("%d (%d bytes)", hbh[1], (int(hbh[1])+1)*8)),
	}}
	for i := 2; i < len(hbh); {
		typ := hbh[i]
		size := 1
		if typ != 0 && i+1 < len(hbh) {
			size = min(2+int(hbh[i+1]), len(hbh)-i)
		}
		name := fmt.Sprintf("Option type 0x%02x", typ)
		switch typ {
		case 0:
			name = "Pad1"
		case 1:
			name = "PadN"
		case 5:
			name = "Router Alert"
		case 0xc2:
			name = "Jumbo Payload"
		}
		n.Children = append(n.Children, field(name, off+i, size, plural(size, "byte")))
		i += size
	}
	return n
}

var icmpTypeNames = map[uint8]string{
	0: "Echo (ping) reply", 3: "Destination unreachable", 4: "Source quench", 5: "Redirect",
	8: "Echo (ping) request", 11: "Time-to-live exceeded", 12: "Parameter problem",
	13: "Timestamp request", 14: "Timestamp reply",
}

// icmpNode covers the whole ICMP message in data.
func (d *Decoder) icmpNode(off int, data []byte) Node {
	ic := &d.icmp4
	typ, code := ic.TypeCode.Type(), ic.TypeCode.Code()
	name, ok := icmpTypeNames[typ]
	typText := fmt.Sprint(typ)
	if ok {
		typText = fmt.Sprintf("%d (%s)", typ, name)
	}
	n := Node{Name: "Internet Control Message Protocol", Offset: off, Length: len(data), Children: []Node{
		field("Type", off, 1, typText),
		field("Code", off+1, 1, fmt.Sprint(code)),
		field("Checksum", off+2, 2, checksumOrUnverified(ic.Checksum, data, 0, d.ipPayloadComplete(len(data)))),
	}}
	if typ == layers.ICMPv4TypeEchoRequest || typ == layers.ICMPv4TypeEchoReply {
		n.Children = append(n.Children,
			field("Identifier", off+4, 2, fmt.Sprintf("0x%04x (%d)", ic.Id, ic.Id)),
			field("Sequence Number", off+6, 2, fmt.Sprintf("%d (0x%04x)", ic.Seq, ic.Seq)))
	} else {
		n.Children = append(n.Children, field("Rest of header", off+4, 4, fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(data[4:8]))))
	}
	if len(data) > 8 {
		n.Children = append(n.Children, field("Data", off+8, len(data)-8, plural(len(data)-8, "byte")))
	}
	return n
}

// ipPayloadComplete reports whether an IP payload of n bytes is all the
// IP header announced, so a checksum over it can be verified.
func (d *Decoder) ipPayloadComplete(n int) bool {
	if d.has(layers.LayerTypeIPv4) {
		return n == int(d.ip4.Length)-int(d.ip4.IHL)*4
	}
	return d.has(layers.LayerTypeIPv6) && d.ip6.HopByHop == nil && n == int(d.ip6.Length)
}

func checksumOrUnverified(stored uint16, data []byte, pseudo uint64, complete bool) string {
	if !complete {
		return fmt.Sprintf("0x%04x [unverified]", stored)
	}
	return checksumText(stored, data, pseudo)
}

// pseudoSum returns the pseudo-header sum for an upper-layer checksum
// over length bytes (RFC 768, RFC 8200 8.1).
func (d *Decoder) pseudoSum(proto uint8, length int) uint64 {
	if d.has(layers.LayerTypeIPv4) {
		return sumWords(d.ip4.SrcIP, sumWords(d.ip4.DstIP, uint64(proto)+uint64(length)))
	}
	return sumWords(d.ip6.SrcIP, sumWords(d.ip6.DstIP, uint64(proto)+uint64(length)))
}

var icmpv6Names = map[uint8]string{
	1: "Destination Unreachable", 2: "Packet Too Big", 3: "Time Exceeded", 4: "Parameter Problem",
	128: "Echo (ping) request", 129: "Echo (ping) reply", 130: "Multicast Listener Query",
	131: "Multicast Listener Report", 132: "Multicast Listener Done", 133: "Router Solicitation",
	134: "Router Advertisement", 135: "Neighbor Solicitation", 136: "Neighbor Advertisement",
	137: "Redirect", 143: "Multicast Listener Report Message v2",
}

var ndpOptionNames = map[uint8]string{
	1: "Source link-layer address", 2: "Target link-layer address", 3: "Prefix information",
	4: "Redirected header", 5: "MTU", 25: "Recursive DNS Server", 31: "DNS Search List",
}

// icmpv6Node covers the whole ICMPv6 message in data.
func (d *Decoder) icmpv6Node(off int, data []byte) Node {
	ic := &d.icmp6
	typ, code := ic.TypeCode.Type(), ic.TypeCode.Code()
	typText := fmt.Sprint(typ)
	if name, ok := icmpv6Names[typ]; ok {
		typText = fmt.Sprintf("%d (%s)", typ, name)
	}
	n := Node{Name: "Internet Control Message Protocol v6", Offset: off, Length: len(data), Children: []Node{
		field("Type", off, 1, typText),
		field("Code", off+1, 1, fmt.Sprint(code)),
		field("Checksum", off+2, 2, checksumOrUnverified(ic.Checksum, data, d.pseudoSum(58, len(data)), d.ipPayloadComplete(len(data)))),
	}}
	body := 4 // where the undissected rest starts
	switch typ {
	case layers.ICMPv6TypeEchoRequest, layers.ICMPv6TypeEchoReply:
		if len(data) >= 8 {
			id, seq := binary.BigEndian.Uint16(data[4:6]), binary.BigEndian.Uint16(data[6:8])
			n.Children = append(n.Children,
				field("Identifier", off+4, 2, fmt.Sprintf("0x%04x (%d)", id, id)),
				field("Sequence", off+6, 2, fmt.Sprint(seq)))
			body = 8
		}
	case layers.ICMPv6TypeNeighborSolicitation, layers.ICMPv6TypeNeighborAdvertisement:
		if len(data) >= 24 {
			n.Children = append(n.Children,
				field("Flags", off+4, 4, fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(data[4:8]))),
				field("Target Address", off+8, 16, ipString(data[8:24])))
			body = 24 + d.ndpOptions(&n, off+24, data[24:])
		}
	case layers.ICMPv6TypeRouterSolicitation:
		if len(data) >= 8 {
			n.Children = append(n.Children, field("Reserved", off+4, 4, fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(data[4:8]))))
			body = 8 + d.ndpOptions(&n, off+8, data[8:])
		}
	case layers.ICMPv6TypeRouterAdvertisement:
		if len(data) >= 16 {
			n.Children = append(n.Children,
				field("Cur hop limit", off+4, 1, fmt.Sprint(data[4])),
				field("Flags", off+5, 1, fmt.Sprintf("0x%02x", data[5])),
				field("Router lifetime (s)", off+6, 2, fmt.Sprint(binary.BigEndian.Uint16(data[6:8]))),
				field("Reachable time (ms)", off+8, 4, fmt.Sprint(binary.BigEndian.Uint32(data[8:12]))),
				field("Retrans timer (ms)", off+12, 4, fmt.Sprint(binary.BigEndian.Uint32(data[12:16]))))
			body = 16 + d.ndpOptions(&n, off+16, data[16:])
		}
	}
	if body < len(data) {
		n.Children = append(n.Children, field("Data", off+body, len(data)-body, plural(len(data)-body, "byte")))
	}
	return n
}

// ndpOptions adds the neighbor discovery options in b (RFC 4861 4.6) to n
// and returns how many bytes they took; it stops at a malformed one.
func (d *Decoder) ndpOptions(n *Node, off int, b []byte) int {
	i := 0
	for i+2 <= len(b) {
		size := int(b[i+1]) * 8
		if size == 0 || i+size > len(b) {
			break
		}
		typ := b[i]
		name, ok := ndpOptionNames[typ]
		if !ok {
			name = fmt.Sprintf("type %d", typ)
		}
		o := Node{Name: "ICMPv6 Option", Value: "(" + name + ")", Offset: off + i, Length: size, Children: []Node{
			field("Type", off+i, 1, fmt.Sprintf("%s (%d)", name, typ)),
			field("Length", off+i+1, 1, fmt.Sprintf("%d (%d bytes)", b[i+1], size)),
		}}
		if (typ == 1 || typ == 2) && size == 8 {
			o.Children = append(o.Children, field("Link-layer address", off+i+2, 6, macString(b[i+2:i+8])))
		} else {
			o.Children = append(o.Children, field("Data", off+i+2, size-2, plural(size-2, "byte")))
		}
		n.Children = append(n.Children, o)
		i += size
	}
	return i
}

var tcpFlagFieldNames = [...]string{"Fin", "Syn", "Reset", "Push", "Acknowledgment", "Urgent", "ECN-Echo", "Congestion Window Reduced", "Nonce"}

func setText(on bool) string {
	if on {
		return "Set"
	}
	return "Not set"
}

func (d *Decoder) tcpNode(off int, data []byte) Node {
	t := &d.tcp
	hl := int(t.DataOffset) * 4
	flags := tcpFlags(t)
	segLen := d.tcpSegmentLen()
	value := fmt.Sprintf("Src Port: %d, Dst Port: %d, Seq: %d", t.SrcPort, t.DstPort, t.Seq)
	if t.ACK {
		value += fmt.Sprintf(", Ack: %d", t.Ack)
	}
	value += fmt.Sprintf(", Len: %d", segLen)
	flagNode := field("Flags", off+12, 2, fmt.Sprintf("0x%03x (%s)", flags, appendTCPFlags(nil, flags)))
	for i := len(tcpFlagFieldNames) - 1; i >= 0; i-- {
		at, size := off+13, 1
		if i == 8 { // NS is the low bit of byte 12
			at = off + 12
		}
		flagNode.Children = append(flagNode.Children, field(tcpFlagFieldNames[i], at, size, setText(flags&(1<<i) != 0)))
	}
	segment := data[:min(len(data), hl+len(t.Payload))]
	n := Node{Name: "Transmission Control Protocol", Value: value, Offset: off, Length: hl, Children: []Node{
		field("Source Port", off, 2, fmt.Sprint(uint16(t.SrcPort))),
		field("Destination Port", off+2, 2, fmt.Sprint(uint16(t.DstPort))),
		field("Sequence Number", off+4, 4, fmt.Sprint(t.Seq)),
		field("Acknowledgment Number", off+8, 4, fmt.Sprint(t.Ack)),
		field("Header Length", off+12, 1, fmt.Sprintf("%d bytes (%d)", hl, t.DataOffset)),
		flagNode,
		field("Window", off+14, 2, fmt.Sprint(t.Window)),
		field("Checksum", off+16, 2, checksumOrUnverified(t.Checksum, segment, d.pseudoSum(6, len(segment)), d.ipPayloadComplete(len(segment)))),
		field("Urgent Pointer", off+18, 2, fmt.Sprint(t.Urgent)),
	}}
	if hl > 20 {
		n.Children = append(n.Children, tcpOptionsNode(off+20, data[20:hl]))
	}
	return n
}

// tcpOptionsNode dissects the TCP options in b (RFC 9293 3.2, RFC 7323,
// RFC 2018); gopacket has already checked their lengths.
func tcpOptionsNode(off int, b []byte) Node {
	n := Node{Name: "Options", Value: plural(len(b), "byte"), Offset: off, Length: len(b)}
	for i := 0; i < len(b); {
		kind := b[i]
		if kind == 0 || kind == 1 {
			name := "No-Operation (NOP)"
			if kind == 0 {
				name = "End of Option List (EOL)"
			}
			n.Children = append(n.Children, field(name, off+i, 1, ""))
			i++
			if kind == 0 && i < len(b) {
				n.Children = append(n.Children, field("Padding", off+i, len(b)-i, plural(len(b)-i, "byte")))
				break
			}
			continue
		}
		if i+2 > len(b) || int(b[i+1]) < 2 || i+int(b[i+1]) > len(b) {
			break
		}
		size := int(b[i+1])
		v := b[i+2 : i+size]
		o := Node{Offset: off + i, Length: size, Children: []Node{
			field("Kind", off+i, 1, fmt.Sprint(kind)),
			field("Length", off+i+1, 1, fmt.Sprint(size)),
		}}
		switch {
		case kind == 2 && len(v) == 2:
			mss := binary.BigEndian.Uint16(v)
			o.Name, o.Value = "Maximum segment size", fmt.Sprintf("%d bytes", mss)
			o.Children = append(o.Children, field("MSS Value", off+i+2, 2, fmt.Sprint(mss)))
		case kind == 3 && len(v) == 1:
			o.Name, o.Value = "Window scale", fmt.Sprintf("%d (multiply by %d)", v[0], 1<<min(v[0], 14))
			o.Children = append(o.Children, field("Shift count", off+i+2, 1, fmt.Sprint(v[0])))
		case kind == 4:
			o.Name = "SACK permitted"
		case kind == 5:
			o.Name, o.Value = "SACK", plural(len(v)/8, "block")
			for j := 0; j+8 <= len(v); j += 8 {
				o.Children = append(o.Children,
					field("left edge", off+i+2+j, 4, fmt.Sprint(binary.BigEndian.Uint32(v[j:]))),
					field("right edge", off+i+6+j, 4, fmt.Sprint(binary.BigEndian.Uint32(v[j+4:]))))
			}
		case kind == 8 && len(v) == 8:
			tsval, tsecr := binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])
			o.Name, o.Value = "Timestamps", fmt.Sprintf("TSval %d, TSecr %d", tsval, tsecr)
			o.Children = append(o.Children,
				field("Timestamp value", off+i+2, 4, fmt.Sprint(tsval)),
				field("Timestamp echo reply", off+i+6, 4, fmt.Sprint(tsecr)))
		default:
			o.Name, o.Value = fmt.Sprintf("Option %d", kind), plural(size, "byte")
			if len(v) > 0 {
				o.Children = append(o.Children, field("Data", off+i+2, len(v), fmt.Sprintf("%x", v)))
			}
		}
		n.Children = append(n.Children, o)
		i += size
	}
	return n
}

func (d *Decoder) udpNode(off int, data []byte) Node {
	u := &d.udp
	datagram := data[:min(len(data), 8+len(u.Payload))]
	sum := "0x0000 [zero-value ignored]"
	if u.Checksum != 0 || d.has(layers.LayerTypeIPv6) {
		sum = checksumOrUnverified(u.Checksum, datagram, d.pseudoSum(17, len(datagram)),
			d.ipPayloadComplete(len(datagram)) && int(u.Length) == len(datagram))
	}
	return Node{Name: "User Datagram Protocol", Offset: off, Length: 8,
		Value: fmt.Sprintf("Src Port: %d, Dst Port: %d", u.SrcPort, u.DstPort),
		Children: []Node{
			field("Source Port", off, 2, fmt.Sprint(uint16(u.SrcPort))),
			field("Destination Port", off+2, 2, fmt.Sprint(uint16(u.DstPort))),
			field("Length", off+4, 2, fmt.Sprint(u.Length)),
			field("Checksum", off+6, 2, sum),
		}}
}

var dnsClassNames = map[uint16]string{1: "IN", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}

func dnsClassString(c uint16) string {
	if name, ok := dnsClassNames[c]; ok {
		return fmt.Sprintf("%s (0x%04x)", name, c)
	}
	return fmt.Sprintf("0x%04x", c)
}

func dnsNameString(name []byte) string { return string(appendDNSName(nil, name)) }

// dnsNameEnd returns the offset just past the (possibly compressed) name
// at off in msg (RFC 1035 4.1.4): after its zero label or its pointer.
func dnsNameEnd(msg []byte, off int) (int, bool) {
	for off < len(msg) {
		l := int(msg[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xc0 == 0xc0:
			return off + 2, off+2 <= len(msg)
		}
		off += 1 + l
	}
	return 0, false
}

// dnsNode dissects the DNS message decoded into d.dns, found at off.
func (d *Decoder) dnsNode(off int) Node {
	m := &d.dns
	msg := d.dnsMsg
	kind := "query"
	if m.QR {
		kind = "response"
	}
	n := Node{Name: "Domain Name System", Value: "(" + kind + ")", Offset: off, Length: len(msg)}
	if d.dnsOff == 2 {
		n.Offset, n.Length = off-2, len(msg)+2
		n.Children = append(n.Children, field("Length", off-2, 2, fmt.Sprint(len(msg))))
	}
	flags := binary.BigEndian.Uint16(msg[2:4])
	flagText := string(appendDNSOpCode(nil, uint8(m.OpCode)))
	if m.QR {
		flagText += " response, " + dnsRcodeText(uint8(m.ResponseCode))
	}
	flagNode := field("Flags", off+2, 2, fmt.Sprintf("0x%04x %s", flags, flagText))
	flagNode.Children = []Node{
		field("Response", off+2, 1, "Message is a "+kind),
		field("Opcode", off+2, 1, fmt.Sprint(uint8(m.OpCode))),
	}
	if m.QR {
		flagNode.Children = append(flagNode.Children, field("Authoritative", off+2, 1, setText(m.AA)))
	}
	flagNode.Children = append(flagNode.Children,
		field("Truncated", off+2, 1, setText(m.TC)),
		field("Recursion desired", off+2, 1, setText(m.RD)))
	if m.QR {
		flagNode.Children = append(flagNode.Children,
			field("Recursion available", off+3, 1, setText(m.RA)),
			field("Reply code", off+3, 1, dnsRcodeText(uint8(m.ResponseCode))))
	}
	n.Children = append(n.Children,
		field("Transaction ID", off, 2, fmt.Sprintf("0x%04x", m.ID)),
		flagNode,
		field("Questions", off+4, 2, fmt.Sprint(m.QDCount)),
		field("Answer RRs", off+6, 2, fmt.Sprint(m.ANCount)),
		field("Authority RRs", off+8, 2, fmt.Sprint(m.NSCount)),
		field("Additional RRs", off+10, 2, fmt.Sprint(m.ARCount)))

	at := 12
	if len(m.Questions) > 0 {
		qs := Node{Name: "Queries", Offset: off + at}
		for i := range m.Questions {
			q := &m.Questions[i]
			nameEnd, ok := dnsNameEnd(msg, at)
			if !ok || nameEnd+4 > len(msg) {
				break
			}
			name := dnsNameString(q.Name)
			qs.Children = append(qs.Children, Node{
				Name:   name,
				Value:  fmt.Sprintf("type %s, class %s", dnsTypeString(uint16(q.Type)), dnsClassNames[uint16(q.Class)]),
				Offset: off + at, Length: nameEnd + 4 - at,
				Children: []Node{
					field("Name", off+at, nameEnd-at, name),
					field("Type", off+nameEnd, 2, fmt.Sprintf("%s (%d)", dnsTypeString(uint16(q.Type)), q.Type)),
					field("Class", off+nameEnd+2, 2, dnsClassString(uint16(q.Class))),
				}})
			at = nameEnd + 4
		}
		qs.Length = off + at - qs.Offset
		n.Children = append(n.Children, qs)
	}
	for _, sec := range []struct {
		name string
		rrs  []layers.DNSResourceRecord
	}{{"Answers", m.Answers}, {"Authoritative nameservers", m.Authorities}, {"Additional records", m.Additionals}} {
		if len(sec.rrs) == 0 {
			continue
		}
		s := Node{Name: sec.name, Offset: off + at}
		for i := range sec.rrs {
			rr, end := dnsRecordNode(msg, off, at, &sec.rrs[i])
			if end < 0 {
				break
			}
			s.Children = append(s.Children, rr)
			at = end
		}
		s.Length = off + at - s.Offset
		n.Children = append(n.Children, s)
	}
	return n
}

func dnsRcodeText(rc uint8) string {
	if rc == 0 {
		return "No error"
	}
	return string(appendDNSRcode(nil, rc))
}

func dnsTypeString(t uint16) string { return string(appendDNSType(nil, t)) }

// dnsRecordNode dissects the resource record at offset at of msg (which
// sits at base in the frame) and returns it with the offset after it, or
// -1 if it does not fit.
func dnsRecordNode(msg []byte, base, at int, rr *layers.DNSResourceRecord) (Node, int) {
	nameEnd, ok := dnsNameEnd(msg, at)
	if !ok || nameEnd+10 > len(msg) {
		return Node{}, -1
	}
	rdLen := int(binary.BigEndian.Uint16(msg[nameEnd+8:]))
	end := nameEnd + 10 + rdLen
	if end > len(msg) {
		return Node{}, -1
	}
	name := dnsNameString(rr.Name)
	typ := dnsTypeString(uint16(rr.Type))
	rd := base + nameEnd + 10
	n := Node{Name: name, Value: fmt.Sprintf("type %s, class %s", typ, dnsClassNames[uint16(rr.Class)]),
		Offset: base + at, Length: end - at,
		Children: []Node{
			field("Name", base+at, nameEnd-at, name),
			field("Type", base+nameEnd, 2, fmt.Sprintf("%s (%d)", typ, rr.Type)),
			field("Class", base+nameEnd+2, 2, dnsClassString(uint16(rr.Class))),
			field("Time to live", base+nameEnd+4, 4, fmt.Sprint(rr.TTL)),
			field("Data length", base+nameEnd+8, 2, fmt.Sprint(rdLen)),
		}}
	if rr.Type == layers.DNSTypeOPT {
		// OPT reuses the class and TTL fields (RFC 6891 6.1.2).
		n.Value = fmt.Sprintf("type OPT, UDP payload size %d", rr.Class)
	}
	var data Node
	switch rr.Type {
	case layers.DNSTypeA, layers.DNSTypeAAAA:
		data = field("Address", rd, rdLen, ipString(rr.IP))
		n.Value += ", addr " + data.Value
	case layers.DNSTypeCNAME:
		data = field("CNAME", rd, rdLen, dnsNameString(rr.CNAME))
		n.Value += ", cname " + data.Value
	case layers.DNSTypeNS:
		data = field("Name Server", rd, rdLen, dnsNameString(rr.NS))
		n.Value += ", ns " + data.Value
	case layers.DNSTypePTR:
		data = field("Domain Name", rd, rdLen, dnsNameString(rr.PTR))
		n.Value += ", " + data.Value
	case layers.DNSTypeMX:
		data = field("Mail Exchange", rd, rdLen, fmt.Sprintf("%d %s", rr.MX.Preference, dnsNameString(rr.MX.Name)))
		n.Value += ", mx " + data.Value
	default:
		data = field("Data", rd, rdLen, plural(rdLen, "byte"))
	}
	if rdLen > 0 {
		n.Children = append(n.Children, data)
	}
	return n, end
}

var dhcpOptionNames = map[uint8]string{
	1: "Subnet Mask", 3: "Router", 6: "Domain Name Server", 12: "Host Name", 15: "Domain Name",
	28: "Broadcast Address", 42: "Network Time Protocol Servers", 50: "Requested IP Address",
	51: "IP Address Lease Time", 53: "DHCP Message Type", 54: "DHCP Server Identifier",
	55: "Parameter Request List", 57: "Maximum DHCP Message Size", 58: "Renewal Time Value",
	59: "Rebinding Time Value", 60: "Vendor class identifier", 61: "Client identifier",
	81: "Client Fully Qualified Domain Name", 119: "Domain Search", 255: "End",
}

func dhcpOptionName(code uint8) string {
	if name, ok := dhcpOptionNames[code]; ok {
		return name
	}
	return "Unknown"
}

// cString shows a fixed-size, zero-padded BOOTP text field.
func cString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return "not given"
	}
	return fmt.Sprintf("%q", b)
}

// dhcpNode covers the whole BOOTP/DHCP message in data (RFC 2131,
// options RFC 2132).
func (d *Decoder) dhcpNode(off int, data []byte) Node {
	p := &d.dhcp
	op := "Boot Request (1)"
	if p.Operation == layers.DHCPOpReply {
		op = "Boot Reply (2)"
	} else if p.Operation != layers.DHCPOpRequest {
		op = fmt.Sprint(uint8(p.Operation))
	}
	hw := fmt.Sprintf("0x%02x", uint8(p.HardwareType))
	if p.HardwareType == layers.LinkTypeEthernet {
		hw = "Ethernet (0x01)"
	}
	bcast := "Unicast"
	if p.Flags&0x8000 != 0 {
		bcast = "Broadcast"
	}
	n := Node{Name: "Dynamic Host Configuration Protocol", Offset: off, Length: len(data), Children: []Node{
		field("Message type", off, 1, op),
		field("Hardware type", off+1, 1, hw),
		field("Hardware address length", off+2, 1, fmt.Sprint(p.HardwareLen)),
		field("Hops", off+3, 1, fmt.Sprint(p.HardwareOpts)),
		field("Transaction ID", off+4, 4, fmt.Sprintf("0x%08x", p.Xid)),
		field("Seconds elapsed", off+8, 2, fmt.Sprint(p.Secs)),
		field("Bootp flags", off+10, 2, fmt.Sprintf("0x%04x (%s)", p.Flags, bcast)),
		field("Client IP address", off+12, 4, ipString(data[12:16])),
		field("Your (client) IP address", off+16, 4, ipString(data[16:20])),
		field("Next server IP address", off+20, 4, ipString(data[20:24])),
		field("Relay agent IP address", off+24, 4, ipString(data[24:28])),
	}}
	hlen := min(int(p.HardwareLen), 16)
	if hlen == 6 && p.HardwareType == layers.LinkTypeEthernet {
		n.Children = append(n.Children, field("Client MAC address", off+28, 6, macString(data[28:34])))
	} else {
		n.Children = append(n.Children, field("Client hardware address", off+28, hlen, fmt.Sprintf("%x", data[28:28+hlen])))
	}
	if hlen < 16 {
		n.Children = append(n.Children, field("Client hardware address padding", off+28+hlen, 16-hlen, fmt.Sprintf("%x", data[28+hlen:44])))
	}
	n.Children = append(n.Children,
		field("Server host name", off+44, 64, cString(data[44:108])),
		field("Boot file name", off+108, 128, cString(data[108:236])),
		field("Magic cookie", off+236, 4, "DHCP"))

	opts := data[240:]
	for i := 0; i < len(opts); {
		code := opts[i]
		switch {
		case code == 0:
			j := i
			for j < len(opts) && opts[j] == 0 {
				j++
			}
			n.Children = append(n.Children, field("Padding", off+240+i, j-i, plural(j-i, "byte")))
			i = j
			continue
		case code == 255:
			n.Children = append(n.Children, Node{Name: "Option", Value: "(255) End", Offset: off + 240 + i, Length: 1,
				Children: []Node{field("Option End", off+240+i, 1, "255")}})
			if i+1 < len(opts) {
				n.Children = append(n.Children, field("Padding", off+240+i+1, len(opts)-i-1, plural(len(opts)-i-1, "byte")))
			}
			i = len(opts)
			continue
		case i+2 > len(opts) || i+2+int(opts[i+1]) > len(opts):
			// gopacket stopped here too: the option runs past the message.
			n.Children = append(n.Children, field("[Malformed option]", off+240+i, len(opts)-i, plural(len(opts)-i, "byte")))
			i = len(opts)
			continue
		}
		size := int(opts[i+1])
		at := off + 240 + i
		v := opts[i+2 : i+2+size]
		value, valueNode := dhcpOptionValue(code, at+2, v)
		o := Node{Name: "Option", Value: fmt.Sprintf("(%d) %s", code, dhcpOptionName(code)), Offset: at, Length: 2 + size,
			Children: []Node{
				field("Option", at, 1, fmt.Sprint(code)),
				field("Length", at+1, 1, fmt.Sprint(size)),
			}}
		if value != "" {
			o.Value += " (" + value + ")"
		}
		if size > 0 {
			o.Children = append(o.Children, valueNode)
		}
		n.Children = append(n.Children, o)
		i += 2 + size
		if code == 53 && size == 1 {
			n.Value = "(" + string(appendDHCPMsgType(nil, int(v[0]))) + ")"
		}
	}
	return n
}

// dhcpOptionValue returns a short value for the option line (or "") and
// the node for the option's value bytes v at off.
func dhcpOptionValue(code uint8, off int, v []byte) (string, Node) {
	name := dhcpOptionName(code)
	switch {
	case code == 53 && len(v) == 1:
		t := string(appendDHCPMsgType(nil, int(v[0])))
		return t, field("DHCP", off, 1, fmt.Sprintf("%s (%d)", t, v[0]))
	case (code == 1 || code == 3 || code == 6 || code == 28 || code == 42 || code == 50 || code == 54) && len(v) >= 4 && len(v)%4 == 0:
		var addrs []string
		for j := 0; j < len(v); j += 4 {
			addrs = append(addrs, netip.AddrFrom4([4]byte(v[j:j+4])).String())
		}
		s := strings.Join(addrs, ", ")
		return s, field(name, off, len(v), s)
	case (code == 51 || code == 58 || code == 59) && len(v) == 4:
		s := fmt.Sprintf("%ds", binary.BigEndian.Uint32(v))
		return s, field(name, off, 4, s)
	case code == 57 && len(v) == 2:
		s := fmt.Sprint(binary.BigEndian.Uint16(v))
		return s, field(name, off, 2, s)
	case code == 12 || code == 15 || code == 60:
		s := fmt.Sprintf("%q", v)
		return s, field(name, off, len(v), s)
	case code == 55:
		n := field(name, off, len(v), plural(len(v), "item"))
		for j, c := range v {
			n.Children = append(n.Children, field("Parameter Request List Item", off+j, 1, fmt.Sprintf("(%d) %s", c, dhcpOptionName(c))))
		}
		return "", n
	case code == 61 && len(v) == 7 && v[0] == 1:
		s := macString(v[1:])
		n := field(name, off, len(v), s)
		n.Children = []Node{
			field("Hardware type", off, 1, "Ethernet (0x01)"),
			field("Client MAC address", off+1, 6, s),
		}
		return s, n
	}
	return "", field("Value", off, len(v), fmt.Sprintf("%x", v))
}

// AppendHexDump appends a text hex dump of frame to dst, 16 bytes a line:
// the offset, the bytes in hex in two groups of eight, and the printable
// ASCII characters ('.' for the others), like Wireshark's bytes pane.
func AppendHexDump(dst, frame []byte) []byte {
	digits := 4
	if len(frame) > 0xffff {
		digits = 8
	}
	for off := 0; off < len(frame); off += 16 {
		line := frame[off:min(off+16, len(frame))]
		dst = appendHexDigits(dst, uint64(off), digits)
		dst = append(dst, ' ')
		for i := 0; i < 16; i++ {
			if i == 8 {
				dst = append(dst, ' ')
			}
			if i < len(line) {
				dst = append(dst, ' ', hexDigits[line[i]>>4], hexDigits[line[i]&0xf])
			} else {
				dst = append(dst, "   "...)
			}
		}
		dst = append(dst, "   "...)
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			dst = append(dst, c)
		}
		dst = append(dst, '\n')
	}
	return dst
}
