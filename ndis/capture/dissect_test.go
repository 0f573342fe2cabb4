package capture

import (
	"sort"
	"strings"
	"testing"
)

// findNode returns the node reached by following names from the top level;
// each name matches a node's Name or Text().
func findNode(t *testing.T, nodes []Node, path ...string) Node {
	t.Helper()
	var n Node
	for depth, name := range path {
		found := false
		for _, c := range nodes {
			if c.Name == name || c.Text() == name {
				n, nodes, found = c, c.Children, true
				break
			}
		}
		if !found {
			t.Fatalf("no node %q under %q", name, strings.Join(path[:depth], " / "))
		}
	}
	return n
}

type rangeCase struct {
	path        []string
	off, length int
	value       string
}

func checkRanges(t *testing.T, tree []Node, cases []rangeCase) {
	t.Helper()
	for _, c := range cases {
		n := findNode(t, tree, c.path...)
		if n.Offset != c.off || n.Length != c.length || (c.value != "" && n.Value != c.value) {
			t.Errorf("%s: bytes %d+%d value %q, want %d+%d %q",
				strings.Join(c.path, " / "), n.Offset, n.Length, n.Value, c.off, c.length, c.value)
		}
	}
}

func TestDissectTCPFieldRanges(t *testing.T) {
	tree := NewDecoder().Dissect(frame(t, "tcp_synack"))
	const tcp = "Transmission Control Protocol"
	checkRanges(t, tree, []rangeCase{
		{[]string{"Ethernet II"}, 0, 14, "Src: 02:00:00:00:00:02, Dst: 02:00:00:00:00:01"},
		{[]string{"Ethernet II", "Type"}, 12, 2, "IPv4 (0x0800)"},
		{[]string{"Internet Protocol Version 4"}, 14, 20, "Src: 10.0.0.1, Dst: 10.0.0.2"},
		{[]string{"Internet Protocol Version 4", "Header Length"}, 14, 1, "20 bytes (5)"},
		{[]string{"Internet Protocol Version 4", "Total Length"}, 16, 2, "60"},
		{[]string{"Internet Protocol Version 4", "Flags"}, 20, 1, "0x40, Don't fragment"},
		{[]string{"Internet Protocol Version 4", "Time to Live"}, 22, 1, "64"},
		{[]string{"Internet Protocol Version 4", "Protocol"}, 23, 1, "TCP (6)"},
		{[]string{"Internet Protocol Version 4", "Header Checksum"}, 24, 2, "0x26ba [correct]"},
		{[]string{"Internet Protocol Version 4", "Destination Address"}, 30, 4, "10.0.0.2"},
		{[]string{tcp}, 34, 40, "Src Port: 443, Dst Port: 51000, Seq: 1000, Ack: 2001, Len: 0"},
		{[]string{tcp, "Source Port"}, 34, 2, "443"},
		{[]string{tcp, "Destination Port"}, 36, 2, "51000"},
		{[]string{tcp, "Sequence Number"}, 38, 4, "1000"},
		{[]string{tcp, "Acknowledgment Number"}, 42, 4, "2001"},
		{[]string{tcp, "Header Length"}, 46, 1, "40 bytes (10)"},
		{[]string{tcp, "Flags"}, 46, 2, "0x012 (SYN, ACK)"},
		{[]string{tcp, "Flags", "Syn"}, 47, 1, "Set"},
		{[]string{tcp, "Flags", "Fin"}, 47, 1, "Not set"},
		{[]string{tcp, "Flags", "Nonce"}, 46, 1, "Not set"},
		{[]string{tcp, "Window"}, 48, 2, "65160"},
		{[]string{tcp, "Checksum"}, 50, 2, "0x5f8c [correct]"},
		{[]string{tcp, "Urgent Pointer"}, 52, 2, "0"},
		{[]string{tcp, "Options"}, 54, 20, "20 bytes"},
		{[]string{tcp, "Options", "Maximum segment size"}, 54, 4, "1460 bytes"},
		{[]string{tcp, "Options", "Maximum segment size", "MSS Value"}, 56, 2, "1460"},
		{[]string{tcp, "Options", "SACK permitted"}, 58, 2, ""},
		{[]string{tcp, "Options", "Timestamps"}, 60, 10, "TSval 100, TSecr 200"},
		{[]string{tcp, "Options", "Timestamps", "Timestamp echo reply"}, 66, 4, "200"},
		{[]string{tcp, "Options", "No-Operation (NOP)"}, 70, 1, ""},
		{[]string{tcp, "Options", "Window scale"}, 71, 3, "7 (multiply by 128)"},
	})
	if len(tree) != 3 {
		t.Errorf("%d top nodes, want Ethernet, IPv4, TCP", len(tree))
	}
}

func TestDissectARPFieldRangesAndTrailer(t *testing.T) {
	tree := NewDecoder().Dissect(frame(t, "arp_request"))
	const arp = "Address Resolution Protocol"
	checkRanges(t, tree, []rangeCase{
		{[]string{"Ethernet II", "Destination"}, 0, 6, "ff:ff:ff:ff:ff:ff"},
		{[]string{"Ethernet II", "Type"}, 12, 2, "ARP (0x0806)"},
		{[]string{arp}, 14, 28, "(request)"},
		{[]string{arp, "Opcode"}, 20, 2, "request (1)"},
		{[]string{arp, "Sender MAC address"}, 22, 6, "02:00:00:00:00:01"},
		{[]string{arp, "Sender IP address"}, 28, 4, "10.0.0.2"},
		{[]string{arp, "Target MAC address"}, 32, 6, "00:00:00:00:00:00"},
		{[]string{arp, "Target IP address"}, 38, 4, "10.0.0.1"},
		{[]string{"Padding"}, 42, 18, "18 bytes"},
	})
}

func TestDissectICMPAndIPv6Ranges(t *testing.T) {
	tree := NewDecoder().Dissect(frame(t, "icmp_request"))
	checkRanges(t, tree, []rangeCase{
		{[]string{"Internet Control Message Protocol"}, 34, 12, ""},
		{[]string{"Internet Control Message Protocol", "Type"}, 34, 1, "8 (Echo (ping) request)"},
		{[]string{"Internet Control Message Protocol", "Checksum"}, 36, 2, "0xe3c6 [correct]"},
		{[]string{"Internet Control Message Protocol", "Identifier"}, 38, 2, "0x1234 (4660)"},
		{[]string{"Internet Control Message Protocol", "Sequence Number"}, 40, 2, "1 (0x0001)"},
		{[]string{"Internet Control Message Protocol", "Data"}, 42, 4, "4 bytes"},
		{[]string{"Padding"}, 46, 14, "14 bytes"},
	})
	tree = NewDecoder().Dissect(frame(t, "icmp6_ns"))
	const icmp6 = "Internet Control Message Protocol v6"
	checkRanges(t, tree, []rangeCase{
		{[]string{"Internet Protocol Version 6", "Flow Label"}, 15, 3, "0x00000"},
		{[]string{"Internet Protocol Version 6", "Hop Limit"}, 21, 1, "255"},
		{[]string{"Internet Protocol Version 6", "Source Address"}, 22, 16, "2001:db8::1"},
		{[]string{"Internet Protocol Version 6", "Destination Address"}, 38, 16, "ff02::1:ff00:2"},
		{[]string{icmp6}, 54, 32, ""},
		{[]string{icmp6, "Checksum"}, 56, 2, ""},
		{[]string{icmp6, "Target Address"}, 62, 16, "2001:db8::2"},
		{[]string{icmp6, "ICMPv6 Option", "Link-layer address"}, 80, 6, "02:00:00:00:00:01"},
	})
	if v := findNode(t, tree, icmp6, "Checksum").Value; !strings.HasSuffix(v, "[correct]") {
		t.Errorf("ICMPv6 checksum %q", v)
	}
}

func TestDissectDNSRecordRanges(t *testing.T) {
	tree := NewDecoder().Dissect(frame(t, "dns_response"))
	const dns = "Domain Name System"
	checkRanges(t, tree, []rangeCase{
		{[]string{"User Datagram Protocol", "Length"}, 38, 2, "53"},
		{[]string{dns}, 42, 45, "(response)"},
		{[]string{dns, "Transaction ID"}, 42, 2, "0x1234"},
		{[]string{dns, "Flags"}, 44, 2, "0x8180 Standard query response, No error"},
		{[]string{dns, "Answer RRs"}, 48, 2, "1"},
		{[]string{dns, "Queries"}, 54, 17, ""},
		{[]string{dns, "Queries", "example.com", "Name"}, 54, 13, "example.com"},
		{[]string{dns, "Queries", "example.com", "Type"}, 67, 2, "A (1)"},
		{[]string{dns, "Queries", "example.com", "Class"}, 69, 2, "IN (0x0001)"},
		{[]string{dns, "Answers"}, 71, 16, ""},
		{[]string{dns, "Answers", "example.com"}, 71, 16, "type A, class IN, addr 93.184.216.34"},
		{[]string{dns, "Answers", "example.com", "Name"}, 71, 2, "example.com"},
		{[]string{dns, "Answers", "example.com", "Time to live"}, 77, 4, "3600"},
		{[]string{dns, "Answers", "example.com", "Address"}, 83, 4, "93.184.216.34"},
	})
	tree = NewDecoder().Dissect(frame(t, "dns_tcp"))
	checkRanges(t, tree, []rangeCase{
		{[]string{dns}, 54, 31, "(query)"},
		{[]string{dns, "Length"}, 54, 2, "29"},
		{[]string{dns, "Transaction ID"}, 56, 2, "0xabcd"},
		{[]string{dns, "Queries", "example.org", "Type"}, 81, 2, "AAAA (28)"},
	})
}

func TestDissectDHCPOptionRanges(t *testing.T) {
	tree := NewDecoder().Dissect(dhcpDiscoverFrame(t))
	const dhcp = "Dynamic Host Configuration Protocol"
	const b = 42 // BOOTP starts after Ethernet, IPv4 and UDP
	checkRanges(t, tree, []rangeCase{
		{[]string{"User Datagram Protocol", "Checksum"}, 40, 2, "0x11e3 [correct]"},
		{[]string{dhcp}, b, 300, "(Discover)"},
		{[]string{dhcp, "Transaction ID"}, b + 4, 4, "0x3903f326"},
		{[]string{dhcp, "Bootp flags"}, b + 10, 2, "0x8000 (Broadcast)"},
		{[]string{dhcp, "Your (client) IP address"}, b + 16, 4, "0.0.0.0"},
		{[]string{dhcp, "Client MAC address"}, b + 28, 6, "02:00:00:00:00:01"},
		{[]string{dhcp, "Client hardware address padding"}, b + 34, 10, ""},
		{[]string{dhcp, "Server host name"}, b + 44, 64, "not given"},
		{[]string{dhcp, "Magic cookie"}, b + 236, 4, "DHCP"},
		{[]string{dhcp, "Option: (53) DHCP Message Type (Discover)"}, b + 240, 3, ""},
		{[]string{dhcp, "Option: (53) DHCP Message Type (Discover)", "DHCP"}, b + 242, 1, "Discover (1)"},
		{[]string{dhcp, "Option: (61) Client identifier (02:00:00:00:00:01)", "Client identifier", "Client MAC address"}, b + 246, 6, ""},
		{[]string{dhcp, `Option: (12) Host Name ("wmp")`}, b + 252, 5, ""},
		{[]string{dhcp, "Option: (55) Parameter Request List"}, b + 257, 8, ""},
		{[]string{dhcp, "Option: (55) Parameter Request List", "Parameter Request List", "Parameter Request List Item"}, b + 259, 1, "(1) Subnet Mask"},
		{[]string{dhcp, "Option: (255) End"}, b + 265, 1, ""},
		{[]string{dhcp, "Padding"}, b + 266, 34, "34 bytes"},
	})
}

func TestDissectMalformedCoversTheRest(t *testing.T) {
	tree := NewDecoder().Dissect(frame(t, "tcp_truncated"))
	last := tree[len(tree)-1]
	if last.Name != "[Malformed Packet]" || last.Offset != 34 || last.Length != 10 || last.Value == "" {
		t.Fatalf("last node %+v", last)
	}
	tree = NewDecoder().Dissect(frame(t, "runt"))
	if len(tree) != 1 || tree[0].Name != "[Malformed Packet]" || tree[0].Offset != 0 || tree[0].Length != 10 {
		t.Fatalf("runt tree %+v", tree)
	}
}

// TestDissectTreesTileTheFrame checks every test frame: the top nodes
// cover the frame exactly, in order, without gaps or overlaps; every child
// lies within its parent; checksums of the hand-written frames verify.
func TestDissectTreesTileTheFrame(t *testing.T) {
	names := make([]string, 0, len(testFrames))
	for name := range testFrames {
		names = append(names, name)
	}
	sort.Strings(names)
	frames := map[string][]byte{"dhcp_discover": dhcpDiscoverFrame(t)}
	for _, name := range names {
		frames[name] = frame(t, name)
	}
	d := NewDecoder()
	for name, f := range frames {
		tree := d.Dissect(f)
		at := 0
		for _, n := range tree {
			if n.Offset != at {
				t.Errorf("%s: %q starts at %d, previous node ended at %d", name, n.Name, n.Offset, at)
			}
			at = n.Offset + n.Length
			checkInside(t, name, n, len(f), true)
		}
		if at != len(f) {
			t.Errorf("%s: nodes end at %d of %d bytes", name, at, len(f))
		}
	}
}

// checkInside checks that n and its children lie within the frame and
// their parents, and, if checksums is set, that no checksum is wrong.
func checkInside(t *testing.T, frameName string, n Node, frameLen int, checksums bool) {
	t.Helper()
	if n.Offset < 0 || n.Length < 0 || n.Offset+n.Length > frameLen {
		t.Errorf("%s: %q covers %d+%d of a %d-byte frame", frameName, n.Text(), n.Offset, n.Length, frameLen)
	}
	if checksums && strings.Contains(n.Name, "Checksum") && strings.Contains(n.Value, "incorrect") {
		t.Errorf("%s: %s", frameName, n.Text())
	}
	for _, c := range n.Children {
		if c.Offset < n.Offset || c.Offset+c.Length > n.Offset+n.Length {
			t.Errorf("%s: %q (%d+%d) is outside %q (%d+%d)", frameName, c.Text(), c.Offset, c.Length, n.Text(), n.Offset, n.Length)
		}
		checkInside(t, frameName, c, frameLen, checksums)
	}
}

func TestDissectReportsAWrongChecksum(t *testing.T) {
	f := frame(t, "icmp_request")
	f[36] ^= 0xff // ICMP checksum high byte
	n := findNode(t, NewDecoder().Dissect(f), "Internet Control Message Protocol", "Checksum")
	if n.Value != "0x1cc6 [incorrect, should be 0xe3c6]" {
		t.Fatalf("checksum %q", n.Value)
	}
}

func TestAppendHexDump(t *testing.T) {
	f := []byte("\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x01\x08\x06\x00\x01ABCDEFGH ~\x7f")
	want := "" +
		"0000  ff ff ff ff ff ff 02 00  00 00 00 01 08 06 00 01   ................\n" +
		"0010  41 42 43 44 45 46 47 48  20 7e 7f                  ABCDEFGH ~.\n"
	if got := string(AppendHexDump(nil, f)); got != want {
		t.Fatalf("hex dump\n%s\nwant\n%s", got, want)
	}
	if got := AppendHexDump([]byte("x"), nil); string(got) != "x" {
		t.Fatalf("empty frame dump %q", got)
	}
}
