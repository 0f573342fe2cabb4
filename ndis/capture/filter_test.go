package capture

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

// filterFrameNames are the frames the filter table runs against.
var filterFrameNames = []string{
	"arp_request", "arp_reply", "icmp_request", "icmp_reply", "tcp_synack", "tcp6_pshack",
	"udp", "vlan_udp", "dns_query", "dns_tcp", "icmp6_echo", "icmp6_ns", "ipv4_fragment",
	"lldp", "runt", "dhcp",
}

func filterFrames(t testing.TB) map[string][]byte {
	m := map[string][]byte{"dhcp": dhcpDiscoverFrame(t)}
	for _, name := range filterFrameNames {
		if name != "dhcp" {
			m[name] = frame(t, name)
		}
	}
	return m
}

func TestFilterMatchesFrames(t *testing.T) {
	all := strings.Join(filterFrameNames, " ")
	cases := []struct {
		expr, want string
	}{
		{"", all},
		{"   ", all},
		{"eth", "arp_request arp_reply icmp_request icmp_reply tcp_synack tcp6_pshack udp vlan_udp dns_query dns_tcp icmp6_echo icmp6_ns ipv4_fragment lldp dhcp"},
		{"arp", "arp_request arp_reply"},
		{"ip", "icmp_request icmp_reply tcp_synack udp vlan_udp dns_query dns_tcp ipv4_fragment dhcp"},
		{"ipv6", "tcp6_pshack icmp6_echo icmp6_ns"},
		{"ip6", "tcp6_pshack icmp6_echo icmp6_ns"},
		{"icmp", "icmp_request icmp_reply"},
		{"icmpv6", "icmp6_echo icmp6_ns"},
		{"tcp", "tcp_synack tcp6_pshack dns_tcp"},
		{"udp", "udp vlan_udp dns_query dhcp"},
		{"dns", "dns_query dns_tcp"},
		{"dhcp", "dhcp"},
		{"host 10.0.0.1", "arp_request arp_reply icmp_request icmp_reply tcp_synack udp vlan_udp dns_query dns_tcp ipv4_fragment"},
		{"src host 10.0.0.1", "arp_reply icmp_reply tcp_synack"},
		{"dst 10.0.0.1", "arp_request icmp_request udp vlan_udp dns_query dns_tcp ipv4_fragment"},
		{"host 2001:db8::2", "tcp6_pshack"},
		{"host fe80::1", "icmp6_echo"},
		{"host 255.255.255.255", "dhcp"},
		{"host 02:00:00:00:00:01", "arp_request arp_reply icmp_request icmp_reply tcp_synack tcp6_pshack udp vlan_udp dns_query dns_tcp icmp6_echo icmp6_ns ipv4_fragment dhcp"},
		{"src host 02-00-00-00-00-02", "arp_reply icmp_reply tcp_synack lldp"},
		{"port 53", "dns_query dns_tcp"},
		{"src port 443", "tcp_synack"},
		{"dst port 443", ""},
		{"port 9999", "udp vlan_udp"},
		{"tcp and port 53", "dns_tcp"},
		{"udp && !dns", "udp vlan_udp dhcp"},
		{"not ip and not ipv6", "arp_request arp_reply lldp runt"},
		{"arp or icmp", "arp_request arp_reply icmp_request icmp_reply"},
		{"icmp or tcp and port 443", "icmp_request icmp_reply tcp_synack"},
		{"(icmp or tcp) and port 443", "tcp_synack"},
		{"! ( arp || ip || ipv6 )", "lldp runt"},
		{"ARP Or ICMP6", "arp_request arp_reply icmp6_echo icmp6_ns"},
		{"10.0.0.2 and udp", "udp vlan_udp dns_query"},
		{"not not arp", "arp_request arp_reply"},
	}
	frames := filterFrames(t)
	for _, c := range cases {
		f, err := Compile(c.expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.expr, err)
			continue
		}
		var got []string
		for _, name := range filterFrameNames {
			if f.Match(frames[name]) {
				got = append(got, name)
			}
		}
		want := strings.Fields(c.want)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%q matches\n  %v\nwant\n  %v", c.expr, got, want)
		}
		if f.String() != c.expr {
			t.Errorf("String() = %q, want %q", f.String(), c.expr)
		}
	}
}

func TestFilterParseErrorsSayWhatAndWhere(t *testing.T) {
	cases := []struct {
		expr, want string
		pos        int
	}{
		{"port x", "expected port number at 5", 5},
		{"port", "expected port number at 4", 4},
		{"port 70000", "port number 70000 is above 65535 at 5", 5},
		{"tcp and port -1", "expected port number at 13", 13},
		{"host", "expected an address at 4", 4},
		{"host 10.0.0.256", `"10.0.0.256" is not an IPv4, IPv6 or MAC address at 5`, 5},
		{"host fe80::1%eth0", `"fe80::1%eth0" is not an IPv4, IPv6 or MAC address at 5`, 5},
		{"tcp and", "expected an expression at 7", 7},
		{"(tcp or udp", "expected ) at 11", 11},
		{"tcp)", "unexpected ) at 3", 3},
		{"tcp udp", `expected and, or or the end of the filter before "udp" at 4`, 4},
		{"tcp & udp", "expected && at 4", 4},
		{"tcp | udp", "expected || at 4", 4},
		{"foo", `unknown protocol or keyword "foo" at 0`, 0},
		{"src", "expected host, port or an address after src at 3", 3},
		{"dst (", "expected host, port or an address after dst at 4", 4},
		{"and tcp", `expected an expression, found "and" at 0`, 0},
		{"()", `expected an expression, found ")" at 1`, 1},
		{"tcp\x01", `unexpected character '\x01' at 3`, 3},
		{strings.Repeat("(", 200) + "tcp" + strings.Repeat(")", 200), "filter nests deeper than 100 levels at 101", 101},
		{strings.Repeat("!", 150) + "tcp", "filter nests deeper than 100 levels at 101", 101},
		{strings.Repeat("a", 4097), "filter longer than 4096 bytes at 4096", 4096},
	}
	for _, c := range cases {
		f, err := Compile(c.expr)
		var fe *FilterError
		if !errors.As(err, &fe) {
			t.Errorf("Compile(%.30q) = %v, %v; want a *FilterError", c.expr, f, err)
			continue
		}
		if err.Error() != c.want || fe.Pos != c.pos {
			t.Errorf("Compile(%.30q) error %q (pos %d), want %q (pos %d)", c.expr, err, fe.Pos, c.want, c.pos)
		}
	}
}

func TestFilterMatchDoesNotAllocate(t *testing.T) {
	f, err := Compile("(tcp and port 443) or (udp and not dns) or host 10.0.0.1 or host 02:00:00:00:00:01 or icmpv6")
	if err != nil {
		t.Fatal(err)
	}
	frames := filterFrames(t)
	if n := testing.AllocsPerRun(100, func() {
		for _, fr := range frames {
			f.Match(fr)
		}
	}); n != 0 {
		t.Fatalf("Match allocates %.1f times per round", n)
	}
}

func BenchmarkFilterMatch(b *testing.B) {
	f, err := Compile("tcp and port 443 and not host 10.0.0.9")
	if err != nil {
		b.Fatal(err)
	}
	fr := frame(b, "tcp_synack")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !f.Match(fr) {
			b.Fatal("no match")
		}
	}
}
