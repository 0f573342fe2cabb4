package wire

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// The helpers here build and check frames independently of the package: they write fields
// one by one and compute checksums byte by byte, so a shared mistake is unlikely.

// simWire is the Wire interface of usbnic/sim, which this package implements without importing
// it (sim imports the wire, not the other way round).
type simWire interface {
	FromHost(frame []byte)
	ToHost(buf []byte) int
	Ready() <-chan struct{}
}

var _ simWire = (*Wire)(nil)

// fakeClock is a manual Clock: time moves only by Advance, which runs the timers that fall due.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c     *fakeClock
	when  time.Time
	f     func()
	armed bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, when: c.now.Add(d), f: f, armed: true}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.armed
	t.when, t.armed = t.c.now.Add(d), true
	return was
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.armed
	t.armed = false
	return was
}

// Advance moves time on by d and runs, outside the clock's lock, every timer now due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for _, t := range c.timers {
		if t.armed && !t.when.After(c.now) {
			t.armed = false
			due = append(due, t.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// armedTimers returns how many timers wait to fire.
func (c *fakeClock) armedTimers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if t.armed {
			n++
		}
	}
	return n
}

// Addresses of the default network and of the host in the tests, written out.
var (
	hostMAC = MAC{0x00, 0x0e, 0xc6, 0x12, 0x34, 0x56}
	gwMAC   = MAC{0x02, 0x77, 0x00, 0x00, 0x00, 0x01}
	webMAC  = MAC{0x02, 0x77, 0x00, 0x00, 0x00, 0x50}
	dnsMAC  = MAC{0x02, 0x77, 0x00, 0x00, 0x00, 0x35}
	hostIP  = [4]byte{192, 168, 77, 100}
	gwIP    = [4]byte{192, 168, 77, 1}
	webIP   = [4]byte{192, 168, 77, 80}
	dnsIP   = [4]byte{192, 168, 77, 53}
	bcastIP = [4]byte{255, 255, 255, 255}
)

func newTestWire(t testing.TB, cfg Config) (*Wire, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	if cfg.Clock == nil {
		cfg.Clock = clk
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w, clk
}

// pull returns the frames waiting for the host, at most max of them.
func pull(w *Wire, max int) [][]byte {
	var out [][]byte
	buf := make([]byte, 9216)
	for len(out) < max {
		n := w.ToHost(buf)
		if n == 0 {
			break
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
	return out
}

// drainReady empties the Ready channel and reports whether it held a value.
func drainReady(w *Wire) bool {
	select {
	case <-w.Ready():
		return true
	default:
		return false
	}
}

// inetChecksum is RFC 1071's checksum, a byte at a time: even bytes are high halves.
func inetChecksum(parts ...[]byte) uint16 {
	var s uint32
	i := 0
	for _, p := range parts {
		for _, c := range p {
			if i%2 == 0 {
				s += uint32(c) << 8
			} else {
				s += uint32(c)
			}
			i++
		}
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// pseudoHeader is the IPv4 pseudo-header of a TCP or UDP checksum.
func pseudoHeader(src, dst [4]byte, proto byte, length int) []byte {
	return []byte{src[0], src[1], src[2], src[3], dst[0], dst[1], dst[2], dst[3], 0, proto, byte(length >> 8), byte(length)}
}

// withZeroAt returns a copy of b with the two bytes at off zeroed: a checksum field as it was
// when the checksum was computed.
func withZeroAt(b []byte, off int) []byte {
	c := append([]byte(nil), b...)
	c[off], c[off+1] = 0, 0
	return c
}

// ethFrame joins an Ethernet header and a payload, without padding.
func ethFrame(dst, src MAC, etherType uint16, payload []byte) []byte {
	f := append(append(append([]byte{}, dst[:]...), src[:]...), byte(etherType>>8), byte(etherType))
	return append(f, payload...)
}

// ipv4Packet builds an IPv4 header of 20 bytes with TTL 64 and a correct checksum in front of
// payload.
func ipv4Packet(proto byte, src, dst [4]byte, payload []byte) []byte {
	total := 20 + len(payload)
	h := []byte{
		0x45, 0x00, byte(total >> 8), byte(total),
		0x12, 0x34, 0x00, 0x00,
		64, proto, 0, 0,
		src[0], src[1], src[2], src[3],
		dst[0], dst[1], dst[2], dst[3],
	}
	c := inetChecksum(h)
	h[10], h[11] = byte(c>>8), byte(c)
	return append(h, payload...)
}

// udpDatagram builds a UDP header with a correct checksum in front of payload.
func udpDatagram(src, dst [4]byte, sport, dport uint16, payload []byte) []byte {
	n := 8 + len(payload)
	u := append([]byte{byte(sport >> 8), byte(sport), byte(dport >> 8), byte(dport), byte(n >> 8), byte(n), 0, 0}, payload...)
	c := inetChecksum(pseudoHeader(src, dst, 17, n), u)
	if c == 0 {
		c = 0xffff
	}
	u[6], u[7] = byte(c>>8), byte(c)
	return u
}

// echoRequest builds an ICMP echo request with data bytes of (i*7) mod 256.
func echoRequest(id, seq uint16, dataLen int) []byte {
	m := []byte{8, 0, 0, 0, byte(id >> 8), byte(id), byte(seq >> 8), byte(seq)}
	for i := 0; i < dataLen; i++ {
		m = append(m, byte(i*7))
	}
	c := inetChecksum(m)
	m[2], m[3] = byte(c>>8), byte(c)
	return m
}

// ipv4Of checks the Ethernet and IPv4 headers of a frame the wire sent: EtherType, version,
// header length, total length against the frame, and header checksum. It returns the header
// and what follows it up to the total length.
func ipv4Of(t testing.TB, f []byte) (hdr, payload []byte) {
	t.Helper()
	if len(f) < 34 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		t.Fatalf("not an IPv4 frame: % x", f)
	}
	ip := f[14:]
	if ip[0] != 0x45 {
		t.Fatalf("IPv4 version/IHL %#02x, want 0x45", ip[0])
	}
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total < 20 || total > len(ip) {
		t.Fatalf("IPv4 total length %d, frame has %d bytes after Ethernet", total, len(ip))
	}
	if want := len(f) - 14; total != want && !(len(f) == 60 && total < want) {
		t.Fatalf("IPv4 total length %d, want %d (or a padded minimum frame)", total, want)
	}
	if got, want := binary.BigEndian.Uint16(ip[10:]), inetChecksum(withZeroAt(ip[:20], 10)); got != want {
		t.Fatalf("IPv4 header checksum %#04x, want %#04x", got, want)
	}
	return ip[:20], ip[20:total]
}

// udpOf checks a UDP datagram's length and checksum and returns ports and payload.
func udpOf(t testing.TB, ipHdr, u []byte) (sport, dport uint16, payload []byte) {
	t.Helper()
	if len(u) < 8 || int(binary.BigEndian.Uint16(u[4:])) != len(u) {
		t.Fatalf("UDP length field does not match the %d bytes of the datagram", len(u))
	}
	src, dst := [4]byte(ipHdr[12:16]), [4]byte(ipHdr[16:20])
	want := inetChecksum(pseudoHeader(src, dst, 17, len(u)), withZeroAt(u, 6))
	if want == 0 {
		want = 0xffff
	}
	if got := binary.BigEndian.Uint16(u[6:]); got != want {
		t.Fatalf("UDP checksum %#04x, want %#04x", got, want)
	}
	return binary.BigEndian.Uint16(u), binary.BigEndian.Uint16(u[2:]), u[8:]
}

// tcpOf checks a TCP segment's checksum and returns its header length and payload.
func tcpOf(t testing.TB, ipHdr, s []byte) (hdrLen int, payload []byte) {
	t.Helper()
	if len(s) < 20 {
		t.Fatalf("TCP segment of %d bytes", len(s))
	}
	src, dst := [4]byte(ipHdr[12:16]), [4]byte(ipHdr[16:20])
	want := inetChecksum(pseudoHeader(src, dst, 6, len(s)), withZeroAt(s, 16))
	if got := binary.BigEndian.Uint16(s[16:]); got != want && !(want == 0 && got == 0xffff) {
		t.Fatalf("TCP checksum %#04x, want %#04x", got, want)
	}
	hdrLen = int(s[12]>>4) * 4
	return hdrLen, s[hdrLen:]
}

func addr(b [4]byte) netip.Addr { return netip.AddrFrom4(b) }
