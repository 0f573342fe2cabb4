package capture

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

// unhex decodes a hand-written hex dump; spaces, newlines and comments
// after '#' on a line are ignored.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var clean strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// onesComplementVerifies checks an Internet checksum the way a receiver
// does (RFC 1071 section 1): the ones' complement sum of all words,
// checksum included, is 0xffff. It carries after every add, unlike the
// builders' deferred fold.
func onesComplementVerifies(parts ...[]byte) bool {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var sum uint32
	for i := 0; i < len(all); i += 2 {
		sum += uint32(all[i])<<8 | uint32(all[i+1])
		if sum > 0xffff {
			sum -= 0xffff
		}
	}
	return sum == 0xffff
}

func ipv4PseudoHeader(ip []byte, proto byte, length int) []byte {
	p := append([]byte(nil), ip[12:20]...)
	return append(p, 0, proto, byte(length>>8), byte(length))
}

var (
	macClient = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	macPeer   = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
	ipClient  = netip.MustParseAddr("10.0.0.2")
	ipPeer    = netip.MustParseAddr("10.0.0.1")
)

func TestBuildARPRequestGolden(t *testing.T) {
	want := unhex(t, `
		ff ff ff ff ff ff  02 00 00 00 00 01  08 06   # broadcast, from client, ARP
		00 01  08 00  06  04  00 01                   # Ethernet, IPv4, 6, 4, request
		02 00 00 00 00 01  0a 00 00 02                # sender MAC, 10.0.0.2
		00 00 00 00 00 00  0a 00 00 01                # target MAC unknown, 10.0.0.1
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00   # pad to 60
	`)
	buf := bytes.Repeat([]byte{0xee}, 100)
	n, err := BuildARPRequest(buf, macClient, ipClient, ipPeer)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("ARP request\n got %x\nwant %x", buf[:n], want)
	}
}

func TestBuildEchoRequestGolden(t *testing.T) {
	want := unhex(t, `
		02 00 00 00 00 02  02 00 00 00 00 01  08 00
		45 00 00 20  ab cd 40 00  40 01 7b 0d  0a 00 00 02  0a 00 00 01   # DF, TTL 64, ICMP
		08 00 e3 c6  12 34 00 01                                          # echo request id 0x1234 seq 1
		00 01 02 03                                                       # payload
		00 00 00 00 00 00 00 00 00 00 00 00 00 00                         # pad to 60
	`)
	buf := bytes.Repeat([]byte{0xee}, 100)
	n, err := BuildEchoRequest(buf, &EchoRequest{
		SrcMAC: macClient, DstMAC: macPeer, SrcIP: ipClient, DstIP: ipPeer,
		ID: 0x1234, Seq: 1, IPID: 0xabcd, PayloadLen: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("echo request\n got %x\nwant %x", buf[:n], want)
	}
}

func TestBuildEchoRequestChecksumsHoldForEveryPayloadSize(t *testing.T) {
	buf := make([]byte, 1514)
	for _, size := range []int{0, 1, 2, 3, 17, 18, 56, 1000, 1471, 1472} {
		n, err := BuildEchoRequest(buf, &EchoRequest{
			SrcMAC: macClient, DstMAC: macPeer, SrcIP: ipClient, DstIP: ipPeer,
			ID: 0xffff, Seq: uint16(size), IPID: 0xffff, TTL: 255, PayloadLen: size,
		})
		if err != nil {
			t.Fatalf("payload %d: %v", size, err)
		}
		if wantLen := max(14+20+8+size, 60); n != wantLen {
			t.Fatalf("payload %d: frame of %d bytes, want %d", size, n, wantLen)
		}
		ip := buf[14 : 14+20+8+size]
		if !onesComplementVerifies(ip[:20]) {
			t.Errorf("payload %d: IPv4 header checksum wrong: %x", size, ip[:20])
		}
		if !onesComplementVerifies(ip[20:]) {
			t.Errorf("payload %d: ICMP checksum wrong", size)
		}
		if total := int(ip[2])<<8 | int(ip[3]); total != 28+size {
			t.Errorf("payload %d: IPv4 total length %d", size, total)
		}
		for i, b := range ip[28:] {
			if b != byte(i) {
				t.Fatalf("payload %d: byte %d is %#x", size, i, b)
			}
		}
	}
}

func TestBuildDHCPDiscoverGolden(t *testing.T) {
	head := unhex(t, `
		ff ff ff ff ff ff  02 00 00 00 00 01  08 00
		45 00 01 48  00 01 00 00  40 11 79 a5  00 00 00 00  ff ff ff ff   # 328 bytes, TTL 64, UDP
		00 44 00 43  01 34 11 e3                                          # 68 -> 67, 308 bytes
		01 01 06 00  39 03 f3 26  00 00 80 00                             # BOOTREQUEST, xid, broadcast flag
		00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00                # ciaddr yiaddr siaddr giaddr
		02 00 00 00 00 01  00 00 00 00 00 00 00 00 00 00                  # chaddr
	`)
	snameAndFile := make([]byte, 64+128)
	options := unhex(t, `
		63 82 53 63                                                       # magic cookie
		35 01 01                                                          # 53: discover
		3d 07 01 02 00 00 00 00 01                                        # 61: hw type 1 + MAC
		0c 03 77 6d 70                                                    # 12: "wmp"
		37 06 01 03 06 0f 1c 33                                           # 55: 1 3 6 15 28 51
		ff                                                                # end
	`)
	padTo300 := make([]byte, 300-240-26)
	want := bytes.Join([][]byte{head, snameAndFile, options, padTo300}, nil)
	buf := make([]byte, 600)
	n, err := BuildDHCPDiscover(buf, &DHCPDiscover{ClientMAC: macClient, XID: 0x3903f326, IPID: 1, HostName: "wmp"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("DHCP discover\n got %x\nwant %x", buf[:n], want)
	}
}

func TestBuildDHCPDiscoverChecksumsWithLongHostName(t *testing.T) {
	buf := make([]byte, 1514)
	for _, name := range []string{"", "a", strings.Repeat("h", 100), strings.Repeat("x", 255)} {
		n, err := BuildDHCPDiscover(buf, &DHCPDiscover{ClientMAC: macPeer, XID: 0xffffffff, IPID: 0xfffe, HostName: name})
		if err != nil {
			t.Fatalf("host name of %d bytes: %v", len(name), err)
		}
		ip := buf[14:n]
		if !onesComplementVerifies(ip[:20]) {
			t.Errorf("host name of %d bytes: IPv4 checksum wrong", len(name))
		}
		udpLen := n - 14 - 20
		if !onesComplementVerifies(ipv4PseudoHeader(ip, 17, udpLen), ip[20:]) {
			t.Errorf("host name of %d bytes: UDP checksum wrong", len(name))
		}
		if bootp := udpLen - 8; bootp < 300 {
			t.Errorf("host name of %d bytes: BOOTP message of %d bytes, below 300", len(name), bootp)
		}
	}
}

func TestBuildersReportWhatWasWrong(t *testing.T) {
	small := make([]byte, 59)
	big := make([]byte, 2000)
	v6 := netip.MustParseAddr("fe80::1")
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"ARP into a short buffer", func() error { _, err := BuildARPRequest(small, macClient, ipClient, ipPeer); return err }, "needs 60 bytes, buffer has 59"},
		{"ARP for an IPv6 address", func() error { _, err := BuildARPRequest(big, macClient, ipClient, v6); return err }, "needs IPv4 addresses"},
		{"echo too big for the buffer", func() error {
			_, err := BuildEchoRequest(big, &EchoRequest{SrcIP: ipClient, DstIP: ipPeer, PayloadLen: 1999})
			return err
		}, "needs 2041 bytes, buffer has 2000"},
		{"echo payload beyond IPv4", func() error {
			_, err := BuildEchoRequest(big, &EchoRequest{SrcIP: ipClient, DstIP: ipPeer, PayloadLen: MaxEchoPayload + 1})
			return err
		}, "outside 0..65507"},
		{"echo without addresses", func() error { _, err := BuildEchoRequest(big, &EchoRequest{}); return err }, "needs IPv4 addresses"},
		{"DHCP into a short buffer", func() error { _, err := BuildDHCPDiscover(small, &DHCPDiscover{}); return err }, "needs 342 bytes, buffer has 59"},
		{"DHCP host name too long", func() error {
			_, err := BuildDHCPDiscover(big, &DHCPDiscover{HostName: strings.Repeat("n", 256)})
			return err
		}, "256 bytes does not fit option 12"},
	}
	for _, c := range cases {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestBuildersDoNotAllocate(t *testing.T) {
	buf := make([]byte, 1514)
	echo := &EchoRequest{SrcMAC: macClient, DstMAC: macPeer, SrcIP: ipClient, DstIP: ipPeer, PayloadLen: 1472}
	dhcp := &DHCPDiscover{ClientMAC: macClient, XID: 7, HostName: "webminiport"}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := BuildARPRequest(buf, macClient, ipClient, ipPeer); err != nil {
			t.Fatal(err)
		}
		if _, err := BuildEchoRequest(buf, echo); err != nil {
			t.Fatal(err)
		}
		if _, err := BuildDHCPDiscover(buf, dhcp); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("builders allocate %.1f times per round", n)
	}
}
