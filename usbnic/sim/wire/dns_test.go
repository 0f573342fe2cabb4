package wire

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// dnsQuery writes a query with one question (RFC 1035 §4.1) from labels.
func dnsQuery(id, flags uint16, qdcount uint16, qtype uint16, labels ...string) []byte {
	q := []byte{byte(id >> 8), byte(id), byte(flags >> 8), byte(flags), byte(qdcount >> 8), byte(qdcount), 0, 0, 0, 0, 0, 0}
	for _, l := range labels {
		q = append(q, byte(len(l)))
		q = append(q, l...)
	}
	return append(q, 0, byte(qtype>>8), byte(qtype), 0, 1)
}

func dnsFrame(dstMAC MAC, dstIP [4]byte, q []byte) []byte {
	return ethFrame(dstMAC, hostMAC, 0x0800, ipv4Packet(17, hostIP, dstIP, udpDatagram(hostIP, dstIP, 40000, 53, q)))
}

// dnsAnswer reads the DNS server's answer: ports, header fields and the rest.
func dnsAnswer(t *testing.T, f []byte) (id, flags, qd, an uint16, body []byte) {
	t.Helper()
	if !bytes.Equal(f[0:6], hostMAC[:]) || !bytes.Equal(f[6:12], dnsMAC[:]) {
		t.Errorf("answer from %x to %x", f[6:12], f[0:6])
	}
	hdr, u := ipv4Of(t, f)
	if !bytes.Equal(hdr[12:16], dnsIP[:]) || !bytes.Equal(hdr[16:20], hostIP[:]) {
		t.Errorf("answer from %v to %v", hdr[12:16], hdr[16:20])
	}
	sport, dport, d := udpOf(t, hdr, u)
	if sport != 53 || dport != 40000 {
		t.Errorf("answer from port %d to %d, want 53 to 40000", sport, dport)
	}
	if len(d) < 12 {
		t.Fatalf("answer of %d bytes", len(d))
	}
	if !bytes.Equal(d[8:12], []byte{0, 0, 0, 0}) {
		t.Errorf("authority/additional counts % x, want zero", d[8:12])
	}
	return binary.BigEndian.Uint16(d), binary.BigEndian.Uint16(d[2:]), binary.BigEndian.Uint16(d[4:]), binary.BigEndian.Uint16(d[6:]), d[12:]
}

func TestDNSQueryForKnownNameGetsARecord(t *testing.T) {
	for _, labels := range [][]string{{"web", "wire", "test"}, {"WEB", "Wire", "TEST"}} {
		w, _ := newTestWire(t, Config{})
		q := dnsQuery(0xbeef, 0x0100, 1, 1, labels...) // RD set, as stub resolvers send
		w.FromHost(dnsFrame(dnsMAC, dnsIP, q))
		got := pull(w, 10)
		if len(got) != 1 {
			t.Fatalf("%v: got %d frames", labels, len(got))
		}
		id, flags, qd, an, body := dnsAnswer(t, got[0])
		// QR, opcode 0, AA, RD copied, RA, NOERROR.
		if id != 0xbeef || flags != 0x8580 || qd != 1 || an != 1 {
			t.Errorf("%v: id %#x flags %#04x qd %d an %d, want 0xbeef 0x8580 1 1", labels, id, flags, qd, an)
		}
		question := q[12:]
		if !bytes.HasPrefix(body, question) {
			t.Fatalf("%v: question not echoed as sent (case kept): % x", labels, body)
		}
		wantRecord := []byte{
			0xc0, 0x0c, // name: pointer to the question's
			0x00, 0x01, // type A
			0x00, 0x01, // class IN
			0x00, 0x00, 0x01, 0x2c, // TTL 300
			0x00, 0x04, // RDLENGTH
			192, 168, 77, 80,
		}
		if rec := body[len(question):]; !bytes.Equal(rec, wantRecord) {
			t.Errorf("%v: answer record % x, want % x", labels, rec, wantRecord)
		}
	}
}

func TestDNSAnswers(t *testing.T) {
	compressed := dnsQuery(7, 0, 1, 1, "web")
	compressed[12] = 0xc0 // a pointer where the name should start
	// The queries leave RD clear, so the answers carry QR, AA and RA: 0x8480 and the RCODE.
	tests := []struct {
		name          string
		cfg           Config
		q             []byte
		flags, qd, an uint16
		answer        []byte
	}{
		{"unknown name is NXDOMAIN", Config{}, dnsQuery(7, 0, 1, 1, "nowhere", "wire", "test"), 0x8483, 1, 0, nil},
		{"AAAA for a known name is NOERROR without answers", Config{}, dnsQuery(7, 0, 1, 28, "web", "wire", "test"), 0x8480, 1, 0, nil},
		{"ANY for a known name gets the A record", Config{}, dnsQuery(7, 0, 1, 255, "gateway", "wire", "test"), 0x8480, 1, 1, []byte{192, 168, 77, 1}},
		{"a configured name", Config{Names: map[string]netip.Addr{"Printer.LAN.": netip.MustParseAddr("10.1.2.3")}}, dnsQuery(7, 0, 1, 1, "printer", "lan"), 0x8480, 1, 1, []byte{10, 1, 2, 3}},
		{"another opcode is NOTIMP", Config{}, dnsQuery(7, 2<<11, 1, 1, "web", "wire", "test"), 0x8480 | 2<<11 | 4, 0, 0, nil},
		{"two questions are FORMERR", Config{}, dnsQuery(7, 0, 2, 1, "web", "wire", "test"), 0x8481, 0, 0, nil},
		{"a compressed question name is FORMERR", Config{}, compressed, 0x8481, 0, 0, nil},
		{"a question cut before its type is FORMERR", Config{}, dnsQuery(7, 0, 1, 1, "web")[:17], 0x8481, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWire(t, tt.cfg)
			w.FromHost(dnsFrame(dnsMAC, dnsIP, tt.q))
			got := pull(w, 10)
			if len(got) != 1 {
				t.Fatalf("got %d frames", len(got))
			}
			id, flags, qd, an, body := dnsAnswer(t, got[0])
			if id != 7 || flags != tt.flags || qd != tt.qd || an != tt.an {
				t.Errorf("id %d flags %#04x qd %d an %d, want 7 %#04x %d %d", id, flags, qd, an, tt.flags, tt.qd, tt.an)
			}
			if tt.answer != nil && !bytes.HasSuffix(body, tt.answer) {
				t.Errorf("answer % x does not end in % x", body, tt.answer)
			}
		})
	}
}

func TestDNSQueriesTheServerDoesNotAnswer(t *testing.T) {
	response := dnsQuery(7, 0x8000, 1, 1, "web", "wire", "test")
	tests := []struct {
		name               string
		frame              []byte
		malformed, ignored uint64
	}{
		{"a query to the gateway", dnsFrame(gwMAC, gwIP, dnsQuery(7, 0, 1, 1, "web")), 0, 1},
		{"a response", dnsFrame(dnsMAC, dnsIP, response), 0, 1},
		{"shorter than a header", dnsFrame(dnsMAC, dnsIP, []byte{1, 2, 3}), 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWire(t, Config{})
			w.FromHost(tt.frame)
			if got := pull(w, 10); len(got) != 0 {
				t.Errorf("got %d frames", len(got))
			}
			if s := w.Snapshot(); s.Malformed != tt.malformed || s.Ignored != tt.ignored || s.FromHostByKind[KindDNS].Frames != 1 {
				t.Errorf("malformed %d ignored %d dns %d, want %d %d 1", s.Malformed, s.Ignored, s.FromHostByKind[KindDNS].Frames, tt.malformed, tt.ignored)
			}
		})
	}
}
