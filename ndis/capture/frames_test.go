package capture

import (
	"bytes"
	"testing"
)

// testFrames are hand-written frames, one per case the decoder, the filter
// and the file code must handle. Checksums were worked out independently
// of this package (RFC 1071 sums over the header and pseudo header).
// Addresses: client 02:00:00:00:00:01 / 10.0.0.2 / 2001:db8::1,
// peer 02:00:00:00:00:02 / 10.0.0.1 / 2001:db8::2.
var testFrames = map[string]string{
	"arp_request": `
		ff ff ff ff ff ff 02 00 00 00 00 01 08 06                    # eth: broadcast, ARP
		00 01 08 00 06 04 00 01                                      # Ethernet/IPv4, request
		02 00 00 00 00 01 0a 00 00 02                                # sender 10.0.0.2
		00 00 00 00 00 00 0a 00 00 01                                # target 10.0.0.1
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00        # pad
	`,
	"arp_reply": `
		02 00 00 00 00 01 02 00 00 00 00 02 08 06                    # eth
		00 01 08 00 06 04 00 02                                      # Ethernet/IPv4, reply
		02 00 00 00 00 02 0a 00 00 01                                # sender 10.0.0.1 at ..:02
		02 00 00 00 00 01 0a 00 00 02                                # target
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00        # pad
	`,
	"arp_announcement": `
		ff ff ff ff ff ff 02 00 00 00 00 02 08 06                    # eth
		00 01 08 00 06 04 00 01                                      # request
		02 00 00 00 00 02 0a 00 00 05                                # sender 10.0.0.5
		00 00 00 00 00 00 0a 00 00 05                                # target 10.0.0.5
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00        # pad
	`,
	"arp_gratuitous": `
		ff ff ff ff ff ff 02 00 00 00 00 02 08 06                    # eth
		00 01 08 00 06 04 00 01                                      # request
		02 00 00 00 00 02 0a 00 00 05                                # sender 10.0.0.5
		02 00 00 00 00 02 0a 00 00 05                                # target: itself
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00        # pad
	`,
	"arp_probe": `
		ff ff ff ff ff ff 02 00 00 00 00 01 08 06                    # eth
		00 01 08 00 06 04 00 01                                      # request
		02 00 00 00 00 01 00 00 00 00                                # sender 0.0.0.0
		00 00 00 00 00 00 0a 00 00 07                                # target 10.0.0.7
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00        # pad
	`,
	"icmp_request": `
		02 00 00 00 00 02 02 00 00 00 00 01 08 00                    # eth
		45 00 00 20 ab cd 40 00 40 01 7b 0d 0a 00 00 02 0a 00 00 01  # ipv4 DF ttl 64 ICMP
		08 00 e3 c6 12 34 00 01                                      # echo request id 0x1234 seq 1
		00 01 02 03                                                  # data
		00 00 00 00 00 00 00 00 00 00 00 00 00 00                    # pad
	`,
	"tcp_synack": `
		02 00 00 00 00 01 02 00 00 00 00 02 08 00                    # eth
		45 00 00 3c 00 00 40 00 40 06 26 ba 0a 00 00 01 0a 00 00 02  # ipv4
		01 bb c7 38 00 00 03 e8 00 00 07 d1 a0 12 fe 88 5f 8c 00 00  # tcp
		02 04 05 b4 04 02 08 0a 00 00 00 64 00 00 00 c8 01 03 03 07  # tcp options
	`,
	"tcp6_pshack": `
		02 00 00 00 00 02 02 00 00 00 00 01 86 dd                    # eth
		60 01 23 45 00 19 06 40 20 01 0d b8 00 00 00 00 00 00 00 00  # ipv6
		00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02  # ipv6 (cont.)
		9c 41 c3 50 00 00 00 01 00 00 00 01 50 18 01 f5 ae f7 00 00  # tcp
		68 65 6c 6c 6f                                               # payload
	`,
	"udp": `
		02 00 00 00 00 02 02 00 00 00 00 01 08 00                    # eth
		45 00 00 20 01 00 40 00 40 11 25 cb 0a 00 00 02 0a 00 00 01  # ipv4
		c7 38 27 0f 00 0c 5f ee                                      # udp
		de ad be ef                                                  # payload
		00 00 00 00 00 00 00 00 00 00 00 00 00 00                    # pad
	`,
	"dns_query": `
		02 00 00 00 00 02 02 00 00 00 00 01 08 00                    # eth
		45 00 00 39 01 01 40 00 40 11 25 b1 0a 00 00 02 0a 00 00 01  # ipv4
		c7 38 00 35 00 25 42 92                                      # udp
		12 34 01 00 00 01 00 00 00 00 00 00                          # dns header
		07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01           # question
	`,
	"dns_response": `
		02 00 00 00 00 01 02 00 00 00 00 02 08 00                    # eth
		45 00 00 49 02 00 40 00 40 11 24 a2 0a 00 00 01 0a 00 00 02  # ipv4
		00 35 c7 38 00 35 c3 ec                                      # udp
		12 34 81 80 00 01 00 01 00 00 00 00                          # dns header
		07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01           # question
		c0 0c 00 01 00 01 00 00 0e 10 00 04 5d b8 d8 22              # answer
	`,
	"dns_nxdomain": `
		02 00 00 00 00 01 02 00 00 00 00 02 08 00                    # eth
		45 00 00 3a 02 01 40 00 40 11 24 b0 0a 00 00 01 0a 00 00 02  # ipv4
		00 35 c7 39 00 26 d6 de                                      # udp
		56 78 81 83 00 01 00 00 00 00 00 00                          # dns header
		04 6e 6f 70 65 07 65 78 61 6d 70 6c 65 00 00 1c 00 01        # question
	`,
	"dns_tcp": `
		02 00 00 00 00 02 02 00 00 00 00 01 08 00                    # eth
		45 00 00 47 03 00 40 00 40 06 23 af 0a 00 00 02 0a 00 00 01  # ipv4
		c7 3a 00 35 00 00 13 88 00 00 17 70 50 18 01 f6 0d ef 00 00  # tcp
		00 1d                                                        # length
		ab cd 01 00 00 01 00 00 00 00 00 00                          # dns header
		07 65 78 61 6d 70 6c 65 03 6f 72 67 00 00 1c 00 01           # question
	`,
	"icmp_reply": `
		02 00 00 00 00 01 02 00 00 00 00 02 08 00                    # eth
		45 00 00 20 55 55 40 00 3f 01 d2 85 0a 00 00 01 0a 00 00 02  # ipv4
		00 00 eb c6 12 34 00 01                                      # icmp
		00 01 02 03                                                  # data
		00 00 00 00 00 00 00 00 00 00 00 00 00 00                    # pad
	`,
	"icmp_unreachable": `
		02 00 00 00 00 01 02 00 00 00 00 02 08 00                    # eth
		45 00 00 38 66 66 00 00 40 01 00 5d 0a 00 00 01 0a 00 00 02  # ipv4
		03 03 0e a9 00 00 00 00                                      # icmp
		45 00 00 20 01 00 40 00 40 11 25 cb 0a 00 00 02 0a 00 00 01  # quoted ipv4
		c7 38 27 0f 00 0c 00 00                                      # quoted udp
	`,
	"icmp6_echo": `
		02 00 00 00 00 02 02 00 00 00 00 01 86 dd                    # eth
		60 00 00 00 00 0c 3a 40 fe 80 00 00 00 00 00 00 00 00 00 00  # ipv6
		00 00 00 01 fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 02  # ipv6 (cont.)
		80 00 bd a4 00 42 00 07                                      # icmpv6
		61 62 63 64                                                  # data
	`,
	"icmp6_ns": `
		33 33 ff 00 00 02 02 00 00 00 00 01 86 dd                    # eth
		60 00 00 00 00 20 3a ff 20 01 0d b8 00 00 00 00 00 00 00 00  # ipv6
		00 00 00 01 ff 02 00 00 00 00 00 00 00 00 00 01 ff 00 00 02  # ipv6 (cont.)
		87 00 1c 27 00 00 00 00                                      # icmpv6
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02              # target
		01 01 02 00 00 00 00 01                                      # option
	`,
	"icmp6_na": `
		02 00 00 00 00 01 02 00 00 00 00 02 86 dd                    # eth
		60 00 00 00 00 20 3a ff 20 01 0d b8 00 00 00 00 00 00 00 00  # ipv6: 32 bytes, ICMPv6, hop limit 255
		00 00 00 02 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01  # 2001:db8::2 -> 2001:db8::1
		88 00 8a 71 60 00 00 00                                      # neighbor advertisement, S and O set
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02              # target 2001:db8::2
		02 01 02 00 00 00 00 02                                      # target link-layer address
	`,
	"ipv4_fragment": `
		02 00 00 00 00 02 02 00 00 00 00 01 08 00                    # eth
		45 00 00 1c ab cd 00 b9 40 11 ba 48 0a 00 00 02 0a 00 00 01  # ipv4
		00 01 02 03 04 05 06 07                                      # fragment data
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00        # pad
	`,
	"lldp": `
		01 80 c2 00 00 0e 02 00 00 00 00 02 88 cc                    # eth: LLDP multicast, LLDP
		02 07 04 02 00 00 00 00 02                                   # chassis ID: MAC
		04 02 07 31                                                  # port ID: "1"
		06 02 00 78                                                  # TTL 120
		00 00                                                        # end
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # pad to 60
		00 00 00 00 00 00 00
	`,
	"stp_llc": `
		01 80 c2 00 00 00 02 00 00 00 00 02 00 26                    # 802.3 length 38
		42 42 03                                                     # LLC: STP SAPs, UI
		00 00 00 00 00 80 00 02 00 00 00 00 02 00 00 00 00 80 00 02  # BPDU
		00 00 00 00 02 80 01 00 00 14 00 02 00 0f 00                 # BPDU (cont.)
		00 00 00 00 00 00 00 00                                      # pad
	`,
	"vlan_udp": `
		02 00 00 00 00 02 02 00 00 00 00 01 81 00                    # eth: 802.1Q
		00 05 08 00                                                  # VLAN 5, IPv4
		45 00 00 20 01 00 40 00 40 11 25 cb 0a 00 00 02 0a 00 00 01  # ipv4 (as in "udp")
		c7 38 27 0f 00 0c 5f ee                                      # udp 51000 -> 9999
		de ad be ef                                                  # payload
		00 00 00 00 00 00 00 00 00 00                                # pad
	`,
	"tcp_truncated": `
		02 00 00 00 00 02 02 00 00 00 00 01 08 00                    # eth
		45 00 00 28 00 01 40 00 40 06 26 cd 0a 00 00 02 0a 00 00 01  # ipv4 says 20 bytes of TCP
		c7 38 01 bb 00 00 00 01 00 00                                # only 10 of them
	`,
	"runt": `
		ff ff ff ff ff ff 02 00 00 00                                # 10 bytes: no Ethernet header
	`,
}

// frame returns the bytes of a test frame.
func frame(t testing.TB, name string) []byte {
	t.Helper()
	s, ok := testFrames[name]
	if !ok {
		t.Fatalf("no test frame %q", name)
	}
	return unhex(t, s)
}

// dhcpDiscoverFrame is the DHCP discover of TestBuildDHCPDiscoverGolden,
// spelled out again so the decoder is not tested with builder output.
func dhcpDiscoverFrame(t testing.TB) []byte {
	head := unhex(t, `
		ff ff ff ff ff ff  02 00 00 00 00 01  08 00
		45 00 01 48  00 01 00 00  40 11 79 a5  00 00 00 00  ff ff ff ff
		00 44 00 43  01 34 11 e3
		01 01 06 00  39 03 f3 26  00 00 80 00
		00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
		02 00 00 00 00 01  00 00 00 00 00 00 00 00 00 00
	`)
	options := unhex(t, `
		63 82 53 63  35 01 01  3d 07 01 02 00 00 00 00 01  0c 03 77 6d 70
		37 06 01 03 06 0f 1c 33  ff
	`)
	return bytes.Join([][]byte{head, make([]byte, 192), options, make([]byte, 300-240-26)}, nil)
}
