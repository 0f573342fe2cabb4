package capture

import (
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf8"
)

type summaryCase struct {
	frame      string
	proto      Protocol
	src, dst   string
	info       string
	malformed  bool
	commonPath bool // must summarize without allocating
}

var summaryCases = []summaryCase{
	{"arp_request", ProtoARP, "02:00:00:00:00:01", "Broadcast", "Who has 10.0.0.1? Tell 10.0.0.2", false, true},
	{"arp_reply", ProtoARP, "02:00:00:00:00:02", "02:00:00:00:00:01", "10.0.0.1 is at 02:00:00:00:00:02", false, true},
	{"arp_gratuitous", ProtoARP, "02:00:00:00:00:02", "Broadcast", "Gratuitous ARP for 10.0.0.5 (Request)", false, true},
	{"arp_announcement", ProtoARP, "02:00:00:00:00:02", "Broadcast", "ARP Announcement for 10.0.0.5", false, true},
	{"arp_probe", ProtoARP, "02:00:00:00:00:01", "Broadcast", "Who has 10.0.0.7? (ARP Probe)", false, true},
	{"icmp_request", ProtoICMP, "10.0.0.2", "10.0.0.1", "Echo (ping) request id=0x1234, seq=1/256, ttl=64", false, true},
	{"icmp_reply", ProtoICMP, "10.0.0.1", "10.0.0.2", "Echo (ping) reply id=0x1234, seq=1/256, ttl=63", false, true},
	{"icmp_unreachable", ProtoICMP, "10.0.0.1", "10.0.0.2", "Destination unreachable (Port unreachable)", false, true},
	{"tcp_synack", ProtoTCP, "10.0.0.1", "10.0.0.2",
		"443 → 51000 [SYN, ACK] Seq=1000 Ack=2001 Win=65160 Len=0 MSS=1460 SACK_PERM TSval=100 TSecr=200 WS=128", false, true},
	{"tcp6_pshack", ProtoTCP, "2001:db8::1", "2001:db8::2", "40001 → 50000 [PSH, ACK] Seq=1 Ack=1 Win=501 Len=5", false, true},
	{"udp", ProtoUDP, "10.0.0.2", "10.0.0.1", "Source port: 51000 Destination port: 9999", false, true},
	{"vlan_udp", ProtoUDP, "10.0.0.2", "10.0.0.1", "Source port: 51000 Destination port: 9999", false, true},
	{"dns_query", ProtoDNS, "10.0.0.2", "10.0.0.1", "Standard query 0x1234 A example.com", false, true},
	{"dns_response", ProtoDNS, "10.0.0.1", "10.0.0.2", "Standard query response 0x1234 A example.com A 93.184.216.34", false, true},
	{"dns_nxdomain", ProtoDNS, "10.0.0.1", "10.0.0.2", "Standard query response 0x5678 No such name AAAA nope.example", false, true},
	{"dns_tcp", ProtoDNS, "10.0.0.2", "10.0.0.1", "Standard query 0xabcd AAAA example.org", false, true},
	{"icmp6_echo", ProtoICMPv6, "fe80::1", "fe80::2", "Echo (ping) request id=0x0042, seq=7, hop limit=64", false, true},
	{"icmp6_ns", ProtoICMPv6, "2001:db8::1", "ff02::1:ff00:2", "Neighbor Solicitation for 2001:db8::2 from 02:00:00:00:00:01", false, true},
	{"icmp6_na", ProtoICMPv6, "2001:db8::2", "2001:db8::1", "Neighbor Advertisement 2001:db8::2 (sol, ovr) is at 02:00:00:00:00:02", false, true},
	{"ipv4_fragment", ProtoIPv4, "10.0.0.2", "10.0.0.1", "Fragmented IP protocol (proto=UDP 17, off=1480, ID=abcd)", false, true},
	{"lldp", ProtoEthernet, "02:00:00:00:00:02", "01:80:c2:00:00:0e", "Ethernet II, type 0x88cc", false, true},
	{"stp_llc", ProtoEthernet, "02:00:00:00:00:02", "01:80:c2:00:00:00", "IEEE 802.3, length 38", false, true},
	{"tcp_truncated", ProtoTCP, "10.0.0.2", "10.0.0.1", "[Malformed Packet]", true, false},
	{"runt", ProtoEthernet, "", "", "[Malformed Packet]", true, false},
}

func TestSummarizeNamesEachProtocolLikeWireshark(t *testing.T) {
	d := NewDecoder()
	for _, c := range summaryCases {
		t.Run(c.frame, func(t *testing.T) {
			f := frame(t, c.frame)
			var s Summary
			d.Summarize(f, len(f), &s)
			checkSummary(t, &s, c.proto, c.src, c.dst, c.info, c.malformed, len(f))
		})
	}
}

func checkSummary(t *testing.T, s *Summary, proto Protocol, src, dst, info string, malformed bool, length int) {
	t.Helper()
	if s.Protocol != proto || string(s.Source()) != src || string(s.Destination()) != dst ||
		string(s.Info()) != info || s.Malformed != malformed || s.Length != length {
		t.Errorf("got  %v %q -> %q %q malformed=%v len=%d\nwant %v %q -> %q %q malformed=%v len=%d",
			s.Protocol, s.Source(), s.Destination(), s.Info(), s.Malformed, s.Length,
			proto, src, dst, info, malformed, length)
	}
}

func TestSummarizeDHCPDiscover(t *testing.T) {
	var s Summary
	f := dhcpDiscoverFrame(t)
	NewDecoder().Summarize(f, len(f), &s)
	checkSummary(t, &s, ProtoDHCP, "0.0.0.0", "255.255.255.255", "DHCP Discover - Transaction ID 0x3903f326", false, 342)
}

func TestSummarizeBootpWithoutMessageTypeIsBootRequest(t *testing.T) {
	f := dhcpDiscoverFrame(t)
	// Replace option 53 (35 01 01 at BOOTP offset 240) by three pads.
	copy(f[14+20+8+240:], []byte{0, 0, 0})
	var s Summary
	NewDecoder().Summarize(f, len(f), &s)
	if got := string(s.Info()); got != "Boot Request - Transaction ID 0x3903f326" {
		t.Errorf("info %q", got)
	}
}

func TestSummarizeKeepsWireLengthOfTruncatedFrame(t *testing.T) {
	d := NewDecoder()
	var s Summary
	// Cut inside the payload: every header decodes, Len comes from IP.
	f := frame(t, "tcp_synack")
	f = append(f[:len(f):len(f)], make([]byte, 100)...)
	binary.BigEndian.PutUint16(f[14+2:], 20+40+100)
	d.Summarize(f[:80], len(f), &s)
	checkSummary(t, &s, ProtoTCP, "10.0.0.1", "10.0.0.2",
		"443 → 51000 [SYN, ACK] Seq=1000 Ack=2001 Win=65160 Len=100 MSS=1460 SACK_PERM TSval=100 TSecr=200 WS=128", false, len(f))
	// Cut inside the TCP options: the TCP header cannot decode.
	f = frame(t, "tcp_synack")
	d.Summarize(f[:54], len(f), &s)
	checkSummary(t, &s, ProtoTCP, "10.0.0.1", "10.0.0.2", "[Packet size limited during capture]", true, len(f))
}

func TestSummarizeDoesNotCarryStateBetweenFrames(t *testing.T) {
	// A DNS response then a plain UDP frame: the second must not show the
	// first one's DNS text, nor an IP address after an ARP frame.
	d := NewDecoder()
	var s Summary
	for _, name := range []string{"dns_response", "udp", "arp_request", "runt", "icmp6_echo"} {
		f := frame(t, name)
		d.Summarize(f, len(f), &s)
	}
	checkSummary(t, &s, ProtoICMPv6, "fe80::1", "fe80::2", "Echo (ping) request id=0x0042, seq=7, hop limit=64", false, 66)
	f := frame(t, "udp")
	d.Summarize(f, len(f), &s)
	checkSummary(t, &s, ProtoUDP, "10.0.0.2", "10.0.0.1", "Source port: 51000 Destination port: 9999", false, 60)
}

func TestSummarizeICMPOverTheOtherIPVersionShowsItsOwnHopLimit(t *testing.T) {
	// An ICMPv4 echo inside IPv6 (next header 1) and an ICMPv6 echo inside
	// IPv4 (protocol 58): odd, but the hop limit must come from the IP
	// header of this frame, not from the last frame of the other version.
	icmpIn6 := frame(t, "icmp6_echo")
	icmpIn6[14+6] = 1                                     // next header: ICMP
	copy(icmpIn6[54:], []byte{8, 0, 0, 0, 0, 0x42, 0, 7}) // echo request id 0x42 seq 7
	icmp6In4 := frame(t, "icmp_request")
	icmp6In4[14+9] = 58
	icmp6In4[34] = 128 // echo request
	d := NewDecoder()
	var s Summary
	d.Summarize(frame(t, "icmp_reply"), 60, &s) // leaves TTL 63 behind
	d.Summarize(icmpIn6, len(icmpIn6), &s)
	checkSummary(t, &s, ProtoICMP, "fe80::1", "fe80::2", "Echo (ping) request id=0x0042, seq=7/1792, hop limit=64", false, len(icmpIn6))
	d.Summarize(frame(t, "icmp6_echo"), 66, &s) // leaves hop limit 64 behind
	d.Summarize(icmp6In4, len(icmp6In4), &s)
	checkSummary(t, &s, ProtoICMPv6, "10.0.0.2", "10.0.0.1", "Echo (ping) request id=0x1234, seq=1, ttl=64", false, 60)
}

func TestDecoderKeepsTheOuterHeaderOfATunnel(t *testing.T) {
	// IPv4 in IPv4 (protocol 4): the inner header must not overwrite the
	// outer one; decoding stops at it.
	inner := frame(t, "icmp_request")[14:46]
	outer := unhex(t, `
		02 00 00 00 00 02 02 00 00 00 00 01 08 00
		45 00 00 34 00 07 00 00 40 04 00 00 c0 00 02 01 c0 00 02 02   # 192.0.2.1 -> 192.0.2.2, IPIP
	`)
	f := append(outer, inner...)
	d := NewDecoder()
	var s Summary
	d.Summarize(f, len(f), &s)
	checkSummary(t, &s, ProtoIPv4, "192.0.2.1", "192.0.2.2", "IPv4 protocol IPIP 4", false, len(f))
	tree := d.Dissect(f)
	if len(tree) != 3 || tree[2].Name != "Data" || tree[2].Offset != 34 || tree[2].Length != 32 {
		t.Fatalf("tree %+v", tree)
	}
	if src := findNode(t, tree, "Internet Protocol Version 4", "Source Address"); src.Value != "192.0.2.1" {
		t.Fatalf("outer source %q", src.Value)
	}
}

func TestSummarizeCutsLongInfoAtCharacterBoundary(t *testing.T) {
	// A DNS query with 10 questions of 60-byte names: far more than fits.
	msg := []byte{0x77, 0x77, 0x01, 0x00, 0x00, 10, 0, 0, 0, 0, 0, 0}
	for i := 0; i < 10; i++ {
		msg = append(msg, 60)
		msg = append(msg, strings.Repeat(string(rune('a'+i)), 60)...)
		msg = append(msg, 0, 0, 1, 0, 1)
	}
	f := udpFrame(msg, 51000, 53)
	var s Summary
	NewDecoder().Summarize(f, len(f), &s)
	info := s.Info()
	if len(info) > maxInfoText || !strings.HasPrefix(string(info), "Standard query 0x7777 A aaaa") ||
		!strings.HasSuffix(string(info), "…") || !utf8.Valid(info) {
		t.Fatalf("info %q (%d bytes)", info, len(info))
	}
}

// udpFrame wraps payload in Ethernet/IPv4/UDP headers (checksums zero:
// the decoder does not check them).
func udpFrame(payload []byte, src, dst uint16) []byte {
	f := make([]byte, 14+20+8, 14+20+8+len(payload))
	copy(f, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0})
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	copy(ip[12:], []byte{10, 0, 0, 2, 10, 0, 0, 1})
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:], src)
	binary.BigEndian.PutUint16(u[2:], dst)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	return append(f, payload...)
}

func TestSummarizeCommonFramesDoesNotAllocate(t *testing.T) {
	d := NewDecoder()
	var s Summary
	frames := [][]byte{dhcpDiscoverFrame(t)}
	for _, c := range summaryCases {
		if c.commonPath {
			frames = append(frames, frame(t, c.frame))
		}
	}
	// The first round grows the reused layer slices (TCP options, DNS
	// questions and names, DHCP options) to their working size.
	for _, f := range frames {
		d.Summarize(f, len(f), &s)
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, f := range frames {
			d.Summarize(f, len(f), &s)
		}
	}); n != 0 {
		t.Errorf("%.1f allocations per round of %d frames", n, len(frames))
		for _, f := range frames {
			if n := testing.AllocsPerRun(10, func() { d.Summarize(f, len(f), &s) }); n != 0 {
				t.Errorf("%.1f allocations summarizing %q", n, s.Info())
			}
		}
	}
}

func TestProtocolStringNamesColumns(t *testing.T) {
	if ProtoICMPv6.String() != "ICMPv6" || ProtoDHCP.String() != "DHCP" || Protocol(200).String() != "Protocol(200)" {
		t.Fatal("protocol names wrong")
	}
}

func BenchmarkCaptureSummary(b *testing.B) {
	f := frame(b, "tcp_synack")
	d := NewDecoder()
	var s Summary
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Summarize(f, len(f), &s)
	}
	if s.Protocol != ProtoTCP {
		b.Fatalf("summarized as %v", s.Protocol)
	}
}
