package sim

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// ipFrame builds an IPv4 or IPv6 frame with a TCP or UDP payload to dst, checksums computed by
// gopacket (an implementation independent of the model's).
func ipFrame(t *testing.T, dst [6]byte, v6, tcp bool) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr(peerMAC[:]), DstMAC: net.HardwareAddr(dst[:]), EthernetType: layers.EthernetTypeIPv4}
	var ip gopacket.NetworkLayer
	var l3 gopacket.SerializableLayer
	proto := layers.IPProtocolUDP
	if tcp {
		proto = layers.IPProtocolTCP
	}
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		x := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.ParseIP("fd00::1"), DstIP: net.ParseIP("fd00::2")}
		ip, l3 = x, x
	} else {
		x := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.IP{192, 168, 78, 1}, DstIP: net.IP{192, 168, 78, 2}}
		ip, l3 = x, x
	}
	payload := gopacket.Payload("usbcap-udp 0001 ........")
	var l4 gopacket.SerializableLayer
	if tcp {
		x := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1, ACK: true, Ack: 1, Window: 512}
		x.SetNetworkLayerForChecksum(ip)
		l4 = x
	} else {
		x := &layers.UDP{SrcPort: 40000, DstPort: 9001}
		x.SetNetworkLayerForChecksum(ip)
		l4 = x
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, l3, l4, payload); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// With RXCOE_CTL 0x67 (as Linux sets it) the metadata carries the L4 type (4 UDP, 16 TCP) and
// the L3/L4 checksum error bits (2, 1) of §1.8; with RXCOE off, none of them.
func TestAX88179RxChecksumMetadata(t *testing.T) {
	udp := ipFrame(t, ax179MAC, false, false)
	badUDP := append([]byte(nil), udp...)
	badUDP[len(badUDP)-1] ^= 0xFF
	badIP := append([]byte(nil), udp...)
	badIP[14+8] ^= 0x01 // TTL: header checksum now wrong, UDP checksum does not cover it
	for _, tc := range []struct {
		name    string
		coe     byte
		frame   []byte
		vouched bool // the wire vouches for the frame's checksums (checkedWire)
		bits    uint32
	}{
		{"UDP", 0x67, udp, false, 0x04},
		{"UDP with a bad checksum", 0x67, badUDP, false, 0x04 | 0x01},
		{"IPv4 header with a bad checksum", 0x67, badIP, false, 0x04 | 0x02},
		{"TCP", 0x67, ipFrame(t, ax179MAC, false, true), false, 0x10},
		{"UDP over IPv6", 0x67, ipFrame(t, ax179MAC, true, false), false, 0x04},
		{"TCP over IPv6 without TCPv6 offload", 0x07, ipFrame(t, ax179MAC, true, true), false, 0},
		{"offload off", 0x00, badUDP, false, 0},
		{"not IP", 0x67, frame(ax179MAC, 60, 0), false, 0},
		// A wire that vouches for its checksums is taken at its word: no error bits, only
		// the type (the flood of wire.Wire, whose checksums are computed, not checked).
		{"UDP the wire vouches for", 0x67, udp, true, 0x04},
		{"bad UDP the wire vouches for", 0x67, badUDP, true, 0x04},
		{"TCP the wire vouches for", 0x67, ipFrame(t, ax179MAC, false, true), true, 0x10},
		{"not IP the wire vouches for", 0x67, frame(ax179MAC, 60, 0), true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &vouchingQueue{Queue: NewQueue(4), vouch: tc.vouched}
			d := plug(t, AX88179, q, WithLinkDelay(time.Millisecond))
			ax179Start(t, d)
			macWrite(t, d, 0x34, tc.coe)
			q.Push(tc.frame)
			got, _ := in(t, d, 0x82, 20480)
			hdrOff := int(binary.LittleEndian.Uint32(got[len(got)-4:]) >> 16)
			meta := binary.LittleEndian.Uint32(got[hdrOff:])
			if meta>>16 != uint32(len(tc.frame)+2) || meta&0x1F != tc.bits {
				t.Errorf("metadata %#08x: want length %d, bits %#02x", meta, len(tc.frame)+2, tc.bits)
			}
		})
	}
}

// vouchingQueue is a Queue that says (checkedWire) whether it vouches for its frames' checksums.
type vouchingQueue struct {
	*Queue
	vouch bool
}

func (q *vouchingQueue) ToHostChecked(buf []byte) (int, bool) {
	n := q.ToHost(buf)
	return n, q.vouch && n > 0
}

// With TXCOE_CTL 0x67 the chip fills in the checksums the host left zero; the frame on the wire
// equals the one gopacket computed.
func TestAX88179TxChecksumOffloadFillsChecksums(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		q := NewQueue(4)
		d := plug(t, AX88179, q, WithLinkDelay(time.Millisecond))
		ax179Start(t, d)
		macWrite(t, d, 0x35, 0x67)
		want := ipFrame(t, peerMAC, false, tcp)
		f := append([]byte(nil), want...)
		f[14+10], f[14+11] = 0, 0 // IPv4 header checksum
		if tcp {
			f[34+16], f[34+17] = 0, 0
		} else {
			f[34+6], f[34+7] = 0, 0
		}
		hdr := make([]byte, 8)
		binary.LittleEndian.PutUint32(hdr, uint32(len(f)))
		out(t, d, 0x03, append(hdr, f...))
		if got := sent(t, q); len(got) != 1 || !bytes.Equal(got[0], want) {
			t.Errorf("tcp=%v: wire frame differs from gopacket's", tcp)
		}
	}
}

// onesSumWords is the reference one's-complement sum: one big-endian 16-bit word at a time.
func onesSumWords(sum uint32, b []byte) uint32 {
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// onesSum folds to what the word-at-a-time sum folds to, and is zero exactly when it is, for
// every length and alignment (odd tails, fewer than eight bytes, all zeros, all ones).
func TestOnesSumMatchesTheWordSum(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	buf := make([]byte, 4096)
	for i := range 20000 {
		n := r.IntN(len(buf) - 8)
		off := r.IntN(8)
		b := buf[off : off+n]
		switch i % 10 {
		case 0:
			clear(b)
		case 1:
			for k := range b {
				b[k] = 0xFF
			}
		default:
			for k := range b {
				b[k] = byte(r.Uint32())
			}
		}
		start := uint32(r.IntN(1 << 20))
		if i%7 == 0 {
			start = 0
		}
		got, want := onesSum(start, b), onesSumWords(start, b)
		if fold(got) != fold(want) || (got == 0) != (want == 0) {
			t.Fatalf("seed %d, case %d: %d bytes at offset %d from %#x: onesSum %#x (folds to %#04x), the word sum %#x (folds to %#04x)",
				seed, i, n, off, start, got, fold(got), want, fold(want))
		}
	}
}

func BenchmarkOnesSum1480(b *testing.B) {
	buf := make([]byte, 1480)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var s uint32
	for b.Loop() {
		s += onesSum(0, buf)
	}
	if s == 1 {
		b.Log(s)
	}
}
