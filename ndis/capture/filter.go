package capture

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// A display filter selects frames for the frame table. The language is a
// small mix of tcpdump and Wireshark:
//
//	filter  = [ or ]
//	or      = and { ("or" | "||") and }
//	and     = not { ("and" | "&&") not }
//	not     = ("not" | "!") not | primary
//	primary = "(" or ")" | protocol | [ "src" | "dst" ] ( "host" ADDR | "port" N | ADDR )
//	protocol = eth | ether | arp | ip | ipv6 | ip6 | icmp | icmpv6 | icmp6 | tcp | udp | dns | dhcp | bootp
//
// "not" binds tighter than "and", which binds tighter than "or". Keywords
// are case-insensitive. ADDR is an IPv4 or IPv6 address (matched against
// the IP header, and for IPv4 also the ARP sender and target) or a MAC
// address (matched against the Ethernet header). "ip" is IPv4 only; icmp,
// tcp and udp match a first (or only) fragment; dns is UDP or TCP port 53
// (over TCP only segments that carry data), dhcp is UDP port 67 or 68.

// FilterError is a filter that does not parse: Pos is the byte offset in
// the expression where the problem is.
type FilterError struct {
	Pos int
	Msg string
}

// Error returns the message and position: "expected port number at 5".
func (e *FilterError) Error() string { return fmt.Sprintf("%s at %d", e.Msg, e.Pos) }

// Limits keep a pasted or fuzzed expression from building a deep tree.
const (
	maxFilterLen   = 4096
	maxFilterDepth = 100
)

type filterOp uint8

const (
	opAnd filterOp = iota
	opOr
	opNot
	opProto
	opHost
	opPort
)

// protoBit is one protocol a frame can carry, as a bit of frameFacts.protos.
type protoBit uint16

const (
	bitEth protoBit = 1 << iota
	bitARP
	bitIPv4
	bitIPv6
	bitICMP
	bitICMPv6
	bitTCP
	bitUDP
	bitDNS
	bitDHCP
)

var filterProtocols = map[string]protoBit{
	"eth": bitEth, "ether": bitEth, "arp": bitARP, "ip": bitIPv4, "ipv6": bitIPv6, "ip6": bitIPv6,
	"icmp": bitICMP, "icmpv6": bitICMPv6, "icmp6": bitICMPv6, "tcp": bitTCP, "udp": bitUDP,
	"dns": bitDNS, "dhcp": bitDHCP, "bootp": bitDHCP,
}

// direction says which addresses or ports a primitive looks at.
type direction uint8

const (
	dirEither direction = iota
	dirSrc
	dirDst
)

type filterNode struct {
	op      filterOp
	dir     direction
	a, b    int // operands of and/or/not: indexes into Filter.nodes
	proto   protoBit
	port    uint16
	addr    [16]byte
	addrLen int // 4 (IPv4), 16 (IPv6) or 6 (MAC)
}

// Filter is a compiled display filter. Match may be called from several
// goroutines at once: it keeps no state between calls.
type Filter struct {
	expr  string
	nodes []filterNode
	root  int // -1: the empty filter, which matches every frame
}

// String returns the expression the filter was compiled from.
func (f *Filter) String() string { return f.expr }

// Compile parses a display filter. An empty (or all blank) expression
// matches every frame. A filter that does not parse returns a
// *FilterError.
func Compile(expr string) (*Filter, error) {
	if len(expr) > maxFilterLen {
		return nil, &FilterError{Pos: maxFilterLen, Msg: fmt.Sprintf("filter longer than %d bytes", maxFilterLen)}
	}
	toks, err := lexFilter(expr)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, f: &Filter{expr: expr, root: -1}}
	if p.peek().kind == tokEOF {
		return p.f, nil
	}
	root, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		if t.kind == tokRParen {
			return nil, &FilterError{Pos: t.pos, Msg: "unexpected )"}
		}
		return nil, &FilterError{Pos: t.pos, Msg: fmt.Sprintf("expected and, or or the end of the filter before %q", t.text)}
	}
	p.f.root = root
	return p.f, nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokNot
)

type token struct {
	kind tokKind
	pos  int
	text string
}

// isWordByte reports whether c can be part of a word: keywords, numbers
// and addresses are runs of anything but blanks and operators.
func isWordByte(c byte) bool {
	return c > ' ' && !strings.ContainsRune("()!&|", rune(c))
}

func lexFilter(expr string) ([]token, error) {
	var toks []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, i, "("})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, i, ")"})
			i++
		case c == '!':
			toks = append(toks, token{tokNot, i, "!"})
			i++
		case c == '&' || c == '|':
			if i+1 >= len(expr) || expr[i+1] != c {
				return nil, &FilterError{Pos: i, Msg: fmt.Sprintf("expected %c%c", c, c)}
			}
			kind := tokAnd
			if c == '|' {
				kind = tokOr
			}
			toks = append(toks, token{kind, i, expr[i : i+2]})
			i += 2
		case isWordByte(c):
			j := i
			for j < len(expr) && isWordByte(expr[j]) {
				j++
			}
			w := expr[i:j]
			kind := tokWord
			switch {
			case strings.EqualFold(w, "and"):
				kind = tokAnd
			case strings.EqualFold(w, "or"):
				kind = tokOr
			case strings.EqualFold(w, "not"):
				kind = tokNot
			}
			toks = append(toks, token{kind, i, w})
			i = j
		default:
			return nil, &FilterError{Pos: i, Msg: fmt.Sprintf("unexpected character %q", c)}
		}
	}
	return append(toks, token{tokEOF, len(expr), ""}), nil
}

type filterParser struct {
	toks []token
	i    int
	f    *Filter
}

func (p *filterParser) peek() token { return p.toks[p.i] }
func (p *filterParser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *filterParser) add(n filterNode) int {
	p.f.nodes = append(p.f.nodes, n)
	return len(p.f.nodes) - 1
}

func (p *filterParser) parseOr(depth int) (int, error) {
	left, err := p.parseAnd(depth)
	if err != nil {
		return 0, err
	}
	for p.peek().kind == tokOr {
		p.next()
		right, err := p.parseAnd(depth)
		if err != nil {
			return 0, err
		}
		left = p.add(filterNode{op: opOr, a: left, b: right})
	}
	return left, nil
}

func (p *filterParser) parseAnd(depth int) (int, error) {
	left, err := p.parseNot(depth)
	if err != nil {
		return 0, err
	}
	for p.peek().kind == tokAnd {
		p.next()
		right, err := p.parseNot(depth)
		if err != nil {
			return 0, err
		}
		left = p.add(filterNode{op: opAnd, a: left, b: right})
	}
	return left, nil
}

func (p *filterParser) parseNot(depth int) (int, error) {
	if depth > maxFilterDepth {
		return 0, &FilterError{Pos: p.peek().pos, Msg: fmt.Sprintf("filter nests deeper than %d levels", maxFilterDepth)}
	}
	if p.peek().kind == tokNot {
		p.next()
		x, err := p.parseNot(depth + 1)
		if err != nil {
			return 0, err
		}
		return p.add(filterNode{op: opNot, a: x}), nil
	}
	return p.parsePrimary(depth)
}

func (p *filterParser) parsePrimary(depth int) (int, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		x, err := p.parseOr(depth + 1)
		if err != nil {
			return 0, err
		}
		if c := p.next(); c.kind != tokRParen {
			return 0, &FilterError{Pos: c.pos, Msg: "expected )"}
		}
		return x, nil
	case tokWord:
	case tokEOF:
		return 0, &FilterError{Pos: t.pos, Msg: "expected an expression"}
	default:
		return 0, &FilterError{Pos: t.pos, Msg: fmt.Sprintf("expected an expression, found %q", t.text)}
	}
	word := strings.ToLower(t.text)
	if bit, ok := filterProtocols[word]; ok {
		return p.add(filterNode{op: opProto, proto: bit}), nil
	}
	dir := dirEither
	switch word {
	case "src", "dst":
		dir = dirSrc
		if word == "dst" {
			dir = dirDst
		}
		t = p.next()
		if t.kind != tokWord {
			return 0, &FilterError{Pos: t.pos, Msg: "expected host, port or an address after " + word}
		}
		word = strings.ToLower(t.text)
		if word != "host" && word != "port" {
			// "src 10.0.0.1" is short for "src host 10.0.0.1".
			return p.addHost(dir, t)
		}
	}
	switch word {
	case "host":
		a := p.next()
		if a.kind != tokWord {
			return 0, &FilterError{Pos: a.pos, Msg: "expected an address"}
		}
		return p.addHost(dir, a)
	case "port":
		n := p.next()
		if n.kind != tokWord {
			return 0, &FilterError{Pos: n.pos, Msg: "expected port number"}
		}
		port, err := strconv.ParseUint(n.text, 10, 16)
		if err != nil {
			if _, numErr := strconv.ParseUint(n.text, 10, 64); numErr == nil {
				return 0, &FilterError{Pos: n.pos, Msg: fmt.Sprintf("port number %s is above 65535", n.text)}
			}
			return 0, &FilterError{Pos: n.pos, Msg: "expected port number"}
		}
		return p.add(filterNode{op: opPort, dir: dir, port: uint16(port)}), nil
	}
	if dir == dirEither {
		if _, ok := parseFilterAddr(t.text); ok {
			// A bare address is short for "host ADDR".
			return p.addHost(dirEither, t)
		}
	}
	return 0, &FilterError{Pos: t.pos, Msg: fmt.Sprintf("unknown protocol or keyword %q", t.text)}
}

func (p *filterParser) addHost(dir direction, t token) (int, error) {
	n, ok := parseFilterAddr(t.text)
	if !ok {
		return 0, &FilterError{Pos: t.pos, Msg: fmt.Sprintf("%q is not an IPv4, IPv6 or MAC address", t.text)}
	}
	n.op, n.dir = opHost, dir
	return p.add(n), nil
}

// parseFilterAddr parses a MAC, IPv4 or IPv6 address into a host node.
func parseFilterAddr(s string) (filterNode, bool) {
	var n filterNode
	if mac, err := net.ParseMAC(s); err == nil && len(mac) == 6 {
		n.addrLen = copy(n.addr[:], mac)
		return n, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return n, false
	}
	if a.Is4() {
		b := a.As4()
		n.addrLen = copy(n.addr[:], b[:])
	} else {
		b := a.As16()
		n.addrLen = copy(n.addr[:], b[:])
	}
	return n, true
}

// frameFacts is what the filter needs to know about a frame, read
// straight from its bytes. Slices alias the frame.
type frameFacts struct {
	protos           protoBit
	srcMAC, dstMAC   []byte
	srcIP, dstIP     []byte // IPv4 or IPv6 header; for ARP, sender and target IPv4
	srcPort, dstPort uint16
	hasPorts         bool
}

// Match reports whether frame passes the filter. It does not allocate.
func (f *Filter) Match(frame []byte) bool {
	if f.root < 0 {
		return true
	}
	var ff frameFacts
	ff.read(frame)
	return f.eval(f.root, &ff)
}

func (f *Filter) eval(i int, ff *frameFacts) bool {
	n := &f.nodes[i]
	switch n.op {
	case opAnd:
		return f.eval(n.a, ff) && f.eval(n.b, ff)
	case opOr:
		return f.eval(n.a, ff) || f.eval(n.b, ff)
	case opNot:
		return !f.eval(n.a, ff)
	case opProto:
		return ff.protos&n.proto != 0
	case opPort:
		return ff.hasPorts && (n.dir != dirDst && ff.srcPort == n.port || n.dir != dirSrc && ff.dstPort == n.port)
	case opHost:
		var src, dst []byte
		if n.addrLen == 6 {
			src, dst = ff.srcMAC, ff.dstMAC
		} else {
			src, dst = ff.srcIP, ff.dstIP
		}
		want := n.addr[:n.addrLen]
		return n.dir != dirDst && string(src) == string(want) || n.dir != dirSrc && string(dst) == string(want)
	}
	return false
}

// read fills ff from an Ethernet frame, checking every length against the
// bytes there are before using it.
func (ff *frameFacts) read(frame []byte) {
	if len(frame) < 14 {
		return // not an Ethernet frame at all
	}
	ff.protos = bitEth
	ff.dstMAC, ff.srcMAC = frame[0:6], frame[6:12]
	etherType := binary.BigEndian.Uint16(frame[12:14])
	p := frame[14:]
	// Up to two VLAN tags (802.1Q, 802.1ad QinQ).
	for tags := 0; tags < 2 && (etherType == 0x8100 || etherType == 0x88a8); tags++ {
		if len(p) < 4 {
			return
		}
		etherType = binary.BigEndian.Uint16(p[2:4])
		p = p[4:]
	}
	switch etherType {
	case 0x0806:
		ff.protos |= bitARP
		// Ethernet/IPv4 ARP: hardware type 1, protocol 0x0800, sizes 6 and 4.
		if len(p) >= 28 && binary.BigEndian.Uint16(p[0:2]) == 1 && binary.BigEndian.Uint16(p[2:4]) == 0x0800 && p[4] == 6 && p[5] == 4 {
			ff.srcIP, ff.dstIP = p[14:18], p[24:28]
		}
	case 0x0800:
		if len(p) < 20 || p[0]>>4 != 4 {
			return
		}
		ihl := int(p[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(p[2:4]))
		if ihl < 20 || len(p) < ihl {
			return
		}
		ff.protos |= bitIPv4
		ff.srcIP, ff.dstIP = p[12:16], p[16:20]
		if binary.BigEndian.Uint16(p[6:8])&0x1fff != 0 {
			return // a later fragment: no transport header here
		}
		// The payload ends where the IP header says, or where the capture
		// does; total 0 is TCP segmentation offload and means "all".
		end := len(p)
		if total >= ihl && total < end {
			end = total
		}
		ff.readTransport(p[9], p[ihl:end], false)
	case 0x86dd:
		if len(p) < 40 || p[0]>>4 != 6 {
			return
		}
		ff.protos |= bitIPv6
		ff.srcIP, ff.dstIP = p[8:24], p[24:40]
		end := min(len(p), 40+int(binary.BigEndian.Uint16(p[4:6])))
		next, l4 := p[6], p[40:end]
		// Skip extension headers (RFC 8200 4): hop-by-hop, routing,
		// destination options and authentication header; stop at a
		// later fragment.
		for hops := 0; hops < 8; hops++ {
			var size int
			switch next {
			case 0, 43, 60:
				if len(l4) < 2 {
					return
				}
				size = (int(l4[1]) + 1) * 8
			case 51:
				if len(l4) < 2 {
					return
				}
				size = (int(l4[1]) + 2) * 4
			case 44:
				if len(l4) < 8 || binary.BigEndian.Uint16(l4[2:4])&0xfff8 != 0 {
					return
				}
				size = 8
			default:
				ff.readTransport(next, l4, true)
				return
			}
			if len(l4) < size {
				return
			}
			next, l4 = l4[0], l4[size:]
		}
	}
}

// readTransport notes the transport protocol and ports of an IP payload.
func (ff *frameFacts) readTransport(proto byte, l4 []byte, v6 bool) {
	switch {
	case proto == 1 && !v6:
		ff.protos |= bitICMP
		return
	case proto == 58 && v6:
		ff.protos |= bitICMPv6
		return
	case proto == 6:
		ff.protos |= bitTCP
	case proto == 17:
		ff.protos |= bitUDP
	default:
		return
	}
	if len(l4) < 4 {
		return
	}
	ff.srcPort, ff.dstPort = binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	ff.hasPorts = true
	switch {
	case ff.srcPort == 53 || ff.dstPort == 53:
		if proto == 17 {
			ff.protos |= bitDNS
		} else if len(l4) >= 13 {
			// Over TCP only a segment with data is DNS.
			if hl := int(l4[12]>>4) * 4; hl >= 20 && len(l4) > hl {
				ff.protos |= bitDNS
			}
		}
	case proto == 17 && (ff.srcPort == 67 || ff.srcPort == 68 || ff.dstPort == 67 || ff.dstPort == 68):
		ff.protos |= bitDHCP
	}
}
