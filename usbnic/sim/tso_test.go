package sim

import (
	"bytes"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// tcpFrame builds a TCP frame to dst with gopacket (checksums computed by it, an implementation
// independent of the model's): IPv4 with identification id, or IPv6; sequence number seq,
// the given flags and payload.
func tcpFrame(t *testing.T, dst [6]byte, v6 bool, id uint16, seq uint32, fin, psh, cwr bool, payload []byte) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr(peerMAC[:]), DstMAC: net.HardwareAddr(dst[:]), EthernetType: layers.EthernetTypeIPv4}
	var ip gopacket.NetworkLayer
	var l3 gopacket.SerializableLayer
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		x := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: net.ParseIP("fd00::1"), DstIP: net.ParseIP("fd00::2")}
		ip, l3 = x, x
	} else {
		x := &layers.IPv4{Version: 4, TTL: 64, Id: id, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP,
			SrcIP: net.IP{192, 168, 77, 100}, DstIP: net.IP{192, 168, 77, 80}}
		ip, l3 = x, x
	}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: seq, Ack: 7, ACK: true, FIN: fin, PSH: psh, CWR: cwr, Window: 502}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, l3, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A TSO transfer as Linux's ax88179_tx_fixup builds it (ax88179_178a.c: tx_hdr1 = skb->len,
// tx_hdr2 = gso_size): the model must put the segments Linux's own tcp_gso_segment would have
// made on the wire, byte for byte. Before this, the model refused every transfer with an MSS
// while Linux advertises NETIF_F_TSO for the chip.
func TestAX88179SegmentsTSOTransfersAsLinuxWould(t *testing.T) {
	payload := make([]byte, 3000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		v6  bool
		mss int // what Linux's TCP picks for a 1500-byte MTU and no options: 1460, 1440 over IPv6
	}{{false, 1460}, {true, 1440}} {
		v6, mss := tc.v6, tc.mss
		q := NewQueue(8)
		d := plug(t, AX88179, q, WithLinkDelay(time.Millisecond))
		ax179Start(t, d)
		big := tcpFrame(t, peerMAC, v6, 0x1234, 1000, true, true, true, payload)
		hdr := make([]byte, 8)
		binary.LittleEndian.PutUint32(hdr, uint32(len(big)))
		binary.LittleEndian.PutUint32(hdr[4:], uint32(mss))
		out(t, d, 0x03, append(hdr, big...))
		// The IPv6 header has no identification: gopacket ignores the id there.
		want := [][]byte{
			tcpFrame(t, peerMAC, v6, 0x1234, 1000, false, false, true, payload[:mss]),
			tcpFrame(t, peerMAC, v6, 0x1235, 1000+uint32(mss), false, false, false, payload[mss:2*mss]),
			tcpFrame(t, peerMAC, v6, 0x1236, 1000+2*uint32(mss), true, true, false, payload[2*mss:]),
		}
		got := sent(t, q)
		if len(got) != len(want) {
			t.Fatalf("v6 %v: %d segments on the wire, want %d (last error %q)", v6, len(got), len(want), d.Stats().LastTxError)
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("v6 %v: segment %d\n got % x\nwant % x", v6, i, got[i][:74], want[i][:74])
			}
		}
		if s := d.Stats(); s.TxFrames != 3 || s.TxErrors != 0 || s.TxBytes != uint64(len(want[0])+len(want[1])+len(want[2])) {
			t.Errorf("v6 %v: stats %+v", v6, s)
		}
	}
}

// A TSO transfer whose payload fits one segment goes out as one frame, checksums filled.
func TestAX88179TSOOfOneSegment(t *testing.T) {
	q := NewQueue(4)
	d := plug(t, AX88179, q, WithLinkDelay(time.Millisecond))
	ax179Start(t, d)
	f := tcpFrame(t, peerMAC, false, 9, 5, false, true, false, []byte("one segment, no more"))
	bad := append([]byte(nil), f...)
	bad[14+10], bad[14+11] = 0, 0 // IPv4 header checksum left to the chip
	// 14 + 20 + 20 + 20 = 74 bytes; MSS 1448.
	out(t, d, 0x03, append(hx(t, "4a 00 00 00 a8 05 00 00"), bad...))
	if got := sent(t, q); len(got) != 1 || !bytes.Equal(got[0], f) {
		t.Fatalf("wire got %d frames, want the one segment with its checksums (len %d, last error %q)", len(got), len(f), d.Stats().LastTxError)
	}
}

func TestAX88179RefusesTSOItCannotDo(t *testing.T) {
	q := NewQueue(4)
	d := plug(t, AX88179, q, WithLinkDelay(time.Millisecond))
	ax179Start(t, d)
	udp := ipFrame(t, peerMAC, false, false)
	tcp := tcpFrame(t, peerMAC, false, 1, 1, false, false, false, make([]byte, 100))
	lenHdr := func(f []byte, mss uint32) []byte {
		h := make([]byte, 8)
		binary.LittleEndian.PutUint32(h, uint32(len(f)))
		binary.LittleEndian.PutUint32(h[4:], mss)
		return append(h, f...)
	}
	for _, tc := range []struct {
		name, err string
		data      []byte
	}{
		{"UDP", "not a whole TCP segment", lenHdr(udp, 1448)},
		{"MSS beyond the frame limit", "exceeds the 1518-byte frame limit", lenHdr(tcp, 1500)},
		{"longer than Linux's TSO limit", "16384-byte TSO limit", append(hx(t, "01 40 00 00 a8 05 00 00"), make([]byte, 16385)...)},
	} {
		before := d.Stats().TxErrors
		out(t, d, 0x03, tc.data)
		if s := d.Stats(); s.TxErrors != before+1 || !strings.Contains(s.LastTxError, tc.err) {
			t.Errorf("%s: errors %d→%d, last %q", tc.name, before, s.TxErrors, s.LastTxError)
		}
	}
	if got := sent(t, q); len(got) != 0 {
		t.Errorf("refused transfers put %d frames on the wire", len(got))
	}
}
