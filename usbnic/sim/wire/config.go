package wire

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// MAC is an Ethernet address.
type MAC [6]byte

// Broadcast is the all-ones Ethernet address.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// String formats m as six colon-separated lower-case hex pairs.
func (m MAC) String() string {
	const hex = "0123456789abcdef"
	var b [17]byte
	for i, v := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		b[3*i] = hex[v>>4]
		b[3*i+1] = hex[v&0x0f]
	}
	return string(b[:])
}

func (m MAC) isMulticast() bool { return m[0]&1 != 0 }

// Peer is one station on the wire.
type Peer struct {
	MAC MAC
	IP  netip.Addr
}

// Config describes the peer network. Every zero field takes the default its comment names, so
// Config{} is the network the page shows on first load.
type Config struct {
	// Subnet is the segment's IPv4 prefix: 192.168.77.0/24.
	Subnet netip.Prefix
	// Gateway is the router and the DHCP server: 192.168.77.1 at 02:77:00:00:00:01.
	Gateway Peer
	// WebServer sends the web-like mix and the floods: 192.168.77.80 at 02:77:00:00:00:50.
	WebServer Peer
	// DNSServer answers A queries for Names: 192.168.77.53 at 02:77:00:00:00:35.
	DNSServer Peer
	// LeaseFirst and LeaseCount are the DHCP pool: 100 addresses from 192.168.77.100.
	LeaseFirst netip.Addr
	LeaseCount int
	// LeaseTime is the lease the DHCP server grants: one hour.
	LeaseTime time.Duration
	// Names are the DNS server's A records, matched without regard to case: web.wire.test,
	// gateway.wire.test and dns.wire.test, pointing at the three peers.
	Names map[string]netip.Addr
	// HostMAC and HostIP are where traffic for the host goes until the wire has learnt the host's
	// addresses from its frames: the broadcast address (so any receive filter passes it) and
	// LeaseFirst (the address DHCP offers first).
	HostMAC MAC
	HostIP  netip.Addr
	// ReplyQueue is how many replies may wait for the host; more are dropped and counted: 64.
	ReplyQueue int
	// IdleInterval is the gap between two frames of idle chatter: 200 ms.
	IdleInterval time.Duration
	// MaxLag is how late a paced frame may fall before it is counted as missed instead of
	// delivered, because a real wire does not wait for a slow host: 50 ms.
	MaxLag time.Duration
	// Seed seeds the web-like mix so that a run can be repeated; zero means 1.
	Seed uint64
	// Clock is the source of time for pacing: the system clock.
	Clock Clock
}

// Limits on the configuration; they keep the preallocated tables small.
const (
	maxLeaseCount = 1024
	maxReplyQueue = 4096
)

func (c Config) withDefaults() Config {
	if !c.Subnet.IsValid() {
		c.Subnet = netip.MustParsePrefix("192.168.77.0/24")
	}
	c.Subnet = c.Subnet.Masked()
	if c.Gateway == (Peer{}) {
		c.Gateway = Peer{MAC{0x02, 0x77, 0, 0, 0, 0x01}, netip.MustParseAddr("192.168.77.1")}
	}
	if c.WebServer == (Peer{}) {
		c.WebServer = Peer{MAC{0x02, 0x77, 0, 0, 0, 0x50}, netip.MustParseAddr("192.168.77.80")}
	}
	if c.DNSServer == (Peer{}) {
		c.DNSServer = Peer{MAC{0x02, 0x77, 0, 0, 0, 0x35}, netip.MustParseAddr("192.168.77.53")}
	}
	if !c.LeaseFirst.IsValid() {
		c.LeaseFirst = netip.MustParseAddr("192.168.77.100")
	}
	if c.LeaseCount == 0 {
		c.LeaseCount = 100
	}
	if c.LeaseTime == 0 {
		c.LeaseTime = time.Hour
	}
	if c.Names == nil {
		c.Names = map[string]netip.Addr{
			"web.wire.test":     c.WebServer.IP,
			"gateway.wire.test": c.Gateway.IP,
			"dns.wire.test":     c.DNSServer.IP,
		}
	}
	if c.HostMAC == (MAC{}) {
		c.HostMAC = Broadcast
	}
	if !c.HostIP.IsValid() {
		c.HostIP = c.LeaseFirst
	}
	if c.ReplyQueue == 0 {
		c.ReplyQueue = 64
	}
	if c.IdleInterval == 0 {
		c.IdleInterval = 200 * time.Millisecond
	}
	if c.MaxLag == 0 {
		c.MaxLag = 50 * time.Millisecond
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	return c
}

// check reports the first thing wrong with a configuration that has its defaults filled in.
func (c Config) check() error {
	if !c.Subnet.Addr().Is4() || c.Subnet.Bits() < 8 || c.Subnet.Bits() > 30 {
		return fmt.Errorf("wire: subnet %v is not an IPv4 prefix of length 8 to 30", c.Subnet)
	}
	peers := []struct {
		name string
		p    Peer
	}{{"gateway", c.Gateway}, {"web server", c.WebServer}, {"DNS server", c.DNSServer}}
	for i, a := range peers {
		if err := c.checkHostAddr(a.name, a.p.IP); err != nil {
			return err
		}
		if a.p.MAC == (MAC{}) || a.p.MAC.isMulticast() {
			return fmt.Errorf("wire: %s MAC %v is not a unicast address", a.name, a.p.MAC)
		}
		for _, b := range peers[:i] {
			if a.p.IP == b.p.IP || a.p.MAC == b.p.MAC {
				return fmt.Errorf("wire: %s and %s share an address", b.name, a.name)
			}
		}
	}
	if c.LeaseCount < 1 || c.LeaseCount > maxLeaseCount {
		return fmt.Errorf("wire: lease count %d is outside 1..%d", c.LeaseCount, maxLeaseCount)
	}
	if err := c.checkHostAddr("first lease address", c.LeaseFirst); err != nil {
		return err
	}
	first := addr4(c.LeaseFirst).uint32()
	last := netip.AddrFrom4(be32Bytes(first + uint32(c.LeaseCount) - 1))
	if err := c.checkHostAddr("last lease address", last); err != nil {
		return err
	}
	for _, p := range peers {
		if v := addr4(p.p.IP).uint32(); v >= first && v <= first+uint32(c.LeaseCount)-1 {
			return fmt.Errorf("wire: %s address %v lies inside the lease pool", p.name, p.p.IP)
		}
	}
	if c.LeaseTime < time.Second || c.LeaseTime/time.Second > 0xfffffffe {
		return fmt.Errorf("wire: lease time %v is outside 1 s..2^32-2 s", c.LeaseTime)
	}
	for name, a := range c.Names {
		if !a.Is4() {
			return fmt.Errorf("wire: DNS name %q maps to %v, not an IPv4 address", name, a)
		}
		if err := checkName(name); err != nil {
			return err
		}
	}
	if !c.HostIP.Is4() {
		return fmt.Errorf("wire: host IP %v is not an IPv4 address", c.HostIP)
	}
	if c.ReplyQueue < 1 || c.ReplyQueue > maxReplyQueue {
		return fmt.Errorf("wire: reply queue %d is outside 1..%d", c.ReplyQueue, maxReplyQueue)
	}
	if c.IdleInterval <= 0 || c.MaxLag <= 0 {
		return errors.New("wire: idle interval and maximum lag must be positive")
	}
	return nil
}

// checkHostAddr reports whether a is an IPv4 address in the subnet that is neither the
// network's own address nor its broadcast address.
func (c Config) checkHostAddr(what string, a netip.Addr) error {
	if !a.Is4() || !c.Subnet.Contains(a) {
		return fmt.Errorf("wire: %s %v is not an IPv4 address in %v", what, a, c.Subnet)
	}
	v := addr4(a).uint32()
	host := uint32(1)<<(32-c.Subnet.Bits()) - 1
	if v&host == 0 || v&host == host {
		return fmt.Errorf("wire: %s %v is the network or broadcast address of %v", what, a, c.Subnet)
	}
	return nil
}

// checkName accepts a DNS name that fits a query: dot-separated labels of 1 to 63 bytes, 253
// bytes at most, with or without the final dot.
func checkName(name string) error {
	n := strings.TrimSuffix(name, ".")
	if n == "" || len(n) > 253 {
		return fmt.Errorf("wire: DNS name %q is empty or longer than 253 bytes", name)
	}
	for _, l := range strings.Split(n, ".") {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("wire: DNS name %q has a label that is empty or longer than 63 bytes", name)
		}
	}
	return nil
}

// normalNames returns the A records keyed by lower-case name without the final dot, the form
// a query's name is decoded into, and the name the web-like mix resolves: the first in sort
// order that points at the web server, or "" when none does.
func normalNames(names map[string]netip.Addr, web netip.Addr) (map[string]ip4, string) {
	m := make(map[string]ip4, len(names))
	var webNames []string
	for name, a := range names {
		n := strings.ToLower(strings.TrimSuffix(name, "."))
		m[n] = addr4(a)
		if a == web {
			webNames = append(webNames, n)
		}
	}
	sort.Strings(webNames)
	if len(webNames) == 0 {
		return m, ""
	}
	return m, webNames[0]
}
