package wire

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

func TestIdleChatterSendsOneFramePerIntervalInItsCycle(t *testing.T) {
	w, clk := newTestWire(t, Config{})
	drainReady(w)
	w.Idle()
	if !drainReady(w) {
		t.Fatal("Idle did not signal Ready")
	}
	next := func(step string) []byte {
		t.Helper()
		got := pull(w, 10)
		if len(got) != 1 {
			t.Fatalf("%s: got %d frames, want 1", step, len(got))
		}
		return got[0]
	}
	wait := func() {
		t.Helper()
		clk.Advance(199 * time.Millisecond)
		if drainReady(w) || len(pull(w, 1)) != 0 {
			t.Fatal("a frame came before the interval was over")
		}
		clk.Advance(time.Millisecond)
		if !drainReady(w) {
			t.Fatal("the timer did not signal Ready when the interval was over")
		}
	}

	garp := next("gratuitous ARP")
	if !bytes.Equal(garp[0:6], Broadcast[:]) || !bytes.Equal(garp[6:12], gwMAC[:]) || garp[21] != 1 ||
		!bytes.Equal(garp[28:32], gwIP[:]) || !bytes.Equal(garp[38:42], gwIP[:]) || len(garp) != 60 {
		t.Errorf("gratuitous ARP % x", garp)
	}

	wait()
	mdns := next("mDNS")
	if !bytes.Equal(mdns[0:6], []byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}) || !bytes.Equal(mdns[6:12], webMAC[:]) {
		t.Errorf("mDNS from %x to %x", mdns[6:12], mdns[0:6])
	}
	hdr, u := ipv4Of(t, mdns)
	if hdr[8] != 255 || !bytes.Equal(hdr[16:20], []byte{224, 0, 0, 251}) {
		t.Errorf("mDNS TTL %d to %v", hdr[8], hdr[16:20])
	}
	sport, dport, d := udpOf(t, hdr, u)
	wantMDNS := []byte{
		0, 0, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, // ID 0, response+AA, one answer
		3, 'w', 'e', 'b', 5, 'l', 'o', 'c', 'a', 'l', 0,
		0, 1, 0x80, 0x01, 0, 0, 0, 120, 0, 4, 192, 168, 77, 80, // A, cache-flush IN, TTL 120
	}
	if sport != 5353 || dport != 5353 || !bytes.Equal(d, wantMDNS) {
		t.Errorf("mDNS %d->%d % x, want % x", sport, dport, d, wantMDNS)
	}

	wait()
	whoHas := next("who-has")
	if !bytes.Equal(whoHas[0:6], Broadcast[:]) || whoHas[21] != 1 || !bytes.Equal(whoHas[38:42], hostIP[:]) {
		t.Errorf("who-has % x", whoHas)
	}

	wait()
	ssdp := next("SSDP")
	hdr, u = ipv4Of(t, ssdp)
	_, dport, d = udpOf(t, hdr, u)
	if !bytes.Equal(ssdp[0:6], []byte{0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa}) || dport != 1900 ||
		!strings.HasPrefix(string(d), "NOTIFY * HTTP/1.1\r\n") || !strings.Contains(string(d), "LOCATION: http://192.168.77.1/") {
		t.Errorf("SSDP to %x port %d: %q", ssdp[0:6], dport, d)
	}

	wait()
	ping := next("ping")
	hdr, m := ipv4Of(t, ping)
	if !bytes.Equal(ping[0:6], Broadcast[:]) || !bytes.Equal(hdr[12:16], gwIP[:]) || !bytes.Equal(hdr[16:20], hostIP[:]) {
		t.Errorf("ping from %v to %x %v", hdr[12:16], ping[0:6], hdr[16:20])
	}
	if m[0] != 8 || len(m) != 64 || binary.BigEndian.Uint16(m[4:]) != 0x7701 || binary.BigEndian.Uint16(m[6:]) != 0 ||
		binary.BigEndian.Uint16(m[2:]) != inetChecksum(withZeroAt(m, 2)) {
		t.Errorf("ping % x", m)
	}
	// The host answers the ping.
	reply := append([]byte(nil), m...)
	reply[0] = 0
	reply[2], reply[3] = 0, 0
	c := inetChecksum(reply)
	reply[2], reply[3] = byte(c>>8), byte(c)
	w.FromHost(ethFrame(gwMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, gwIP, reply)))

	wait()
	if again := next("gratuitous ARP again"); !bytes.Equal(again, garp) {
		t.Errorf("the cycle did not start again: % x", again)
	}
	s := w.Snapshot()
	if s.PingReplies != 1 {
		t.Errorf("ping replies %d, want 1", s.PingReplies)
	}
	wantKinds := map[Kind]uint64{KindARP: 3, KindDNS: 1, KindUDP: 1, KindICMP: 1}
	for k := range NumKinds {
		if s.ToHostByKind[k].Frames != wantKinds[k] {
			t.Errorf("%v frames to host %d, want %d", k, s.ToHostByKind[k].Frames, wantKinds[k])
		}
	}
	if s.Missed != 0 {
		t.Errorf("missed %d", s.Missed)
	}
}

// floodSeq reads a flood frame's sequence number after checking its addressing and checksums.
func floodSeq(t *testing.T, f []byte) uint64 {
	t.Helper()
	if !bytes.Equal(f[6:12], webMAC[:]) {
		t.Errorf("flood from %x", f[6:12])
	}
	hdr, u := ipv4Of(t, f)
	if hdr[9] != 17 || !bytes.Equal(hdr[12:16], webIP[:]) || !bytes.Equal(hdr[16:20], hostIP[:]) {
		t.Errorf("flood IP header % x", hdr)
	}
	sport, dport, p := udpOf(t, hdr, u)
	if sport != 9 || dport != 9 {
		t.Errorf("flood ports %d->%d", sport, dport)
	}
	for i := 8; i < len(p); i++ {
		if p[i] != byte(i) {
			t.Fatalf("flood payload byte %d = %#x, want %#x", i, p[i], byte(i))
		}
	}
	return binary.BigEndian.Uint64(p)
}

func TestFloodFramesHaveTheirSizeSequenceNumbersAndChecksums(t *testing.T) {
	for _, size := range []int{60, 64, 1000, 1514} {
		w, _ := newTestWire(t, Config{})
		if err := w.Flood(size, 0); err != nil {
			t.Fatal(err)
		}
		got := pull(w, 100)
		if len(got) != 100 {
			t.Fatalf("size %d: an unpaced flood gave %d of 100 frames", size, len(got))
		}
		for i, f := range got {
			if len(f) != size {
				t.Fatalf("size %d: frame %d is %d bytes", size, i, len(f))
			}
			if seq := floodSeq(t, f); seq != uint64(i) {
				t.Fatalf("size %d: frame %d carries sequence number %d", size, i, seq)
			}
		}
		s := w.Snapshot()
		if s.ToHostByKind[KindFlood] != (Count{100, uint64(100 * size)}) || s.FloodSeq != 100 || s.Profile != ProfileFlood || s.FloodSize != size {
			t.Errorf("size %d: snapshot %+v", size, s)
		}
	}
}

func TestFloodChecksumStaysRightAcrossSequenceNumberCarries(t *testing.T) {
	w, _ := newTestWire(t, Config{})
	if err := w.Flood(64, 0); err != nil {
		t.Fatal(err)
	}
	for _, start := range []uint64{0xfffe, 0xffff_fffe, 0xffff_ffff_fffe, 0xffff_ffff_ffff_fffe} {
		w.mu.Lock()
		w.flood.seq = start
		w.mu.Unlock()
		for i, f := range pull(w, 4) {
			if seq := floodSeq(t, f); seq != start+uint64(i) {
				t.Errorf("sequence number %#x, want %#x", seq, start+uint64(i))
			}
		}
	}
}

func TestFloodRejectsSizesAndRatesOutOfRange(t *testing.T) {
	w, _ := newTestWire(t, Config{})
	for _, c := range []struct{ size, rate int }{{59, 0}, {1515, 0}, {64, -1}} {
		if err := w.Flood(c.size, c.rate); err == nil {
			t.Errorf("Flood(%d, %d) accepted", c.size, c.rate)
		}
	}
	if err := w.Web(-1); err == nil {
		t.Error("Web(-1) accepted")
	}
	if s := w.Snapshot(); s.Profile != ProfileQuiet {
		t.Errorf("profile %v after refused switches", s.Profile)
	}
}

func TestLineRate(t *testing.T) {
	// 125,000,000 bytes/s over frame + FCS 4 + preamble 8 + gap 12.
	for _, c := range []struct{ size, want int }{{60, 1_488_095}, {64, 1_420_454}, {1514, 81_274}} {
		if got := LineRate(c.size); got != c.want {
			t.Errorf("LineRate(%d) = %d, want %d", c.size, got, c.want)
		}
	}
}

func TestPacedFloodFollowsTheClockAndCountsWhatTheHostMissed(t *testing.T) {
	w, clk := newTestWire(t, Config{})
	drainReady(w)
	if err := w.Flood(64, 1000); err != nil {
		t.Fatal(err)
	}
	if !drainReady(w) {
		t.Fatal("Flood did not signal Ready")
	}
	seqs := func(want int) []uint64 {
		t.Helper()
		got := pull(w, 100000)
		if len(got) != want {
			t.Fatalf("pulled %d frames, want %d", len(got), want)
		}
		var s []uint64
		for _, f := range got {
			s = append(s, floodSeq(t, f))
		}
		return s
	}
	if s := seqs(1); s[0] != 0 {
		t.Errorf("first frame seq %d", s[0])
	}
	clk.Advance(999 * time.Microsecond)
	if drainReady(w) {
		t.Error("Ready before the next frame was due")
	}
	seqs(0)
	clk.Advance(time.Microsecond)
	if !drainReady(w) {
		t.Error("no Ready when the frame fell due")
	}
	if s := seqs(1); s[0] != 1 {
		t.Errorf("second frame seq %d", s[0])
	}
	clk.Advance(10 * time.Millisecond)
	if s := seqs(10); s[0] != 2 || s[9] != 11 {
		t.Errorf("seqs %v", s)
	}
	// A second without pulling: frames 12..1011 fall due, those due 50 ms or more before now
	// (12..961) are missed, and the host sees the gap in the sequence numbers.
	clk.Advance(time.Second)
	if s := w.Snapshot(); s.Missed != 950 {
		t.Errorf("missed %d before the host pulls again, want 950", s.Missed)
	}
	if s := seqs(50); s[0] != 962 || s[49] != 1011 {
		t.Errorf("after the gap: seqs %d..%d, want 962..1011", s[0], s[49])
	}
	if s := w.Snapshot(); s.Missed != 950 || s.Rate != 1000 {
		t.Errorf("missed %d rate %d, want 950 1000", s.Missed, s.Rate)
	}
}

func TestWebMixIsWellFormedAndMixed(t *testing.T) {
	w, _ := newTestWire(t, Config{})
	if err := w.Web(0); err != nil {
		t.Fatal(err)
	}
	frames := pull(w, 3000)
	if len(frames) != 3000 {
		t.Fatalf("an unpaced web mix gave %d of 3000 frames", len(frames))
	}
	kinds := map[Kind]uint64{}
	var full, small, synAcks, fins int
	type conn struct {
		next uint32 // expected sequence number
		open bool
	}
	conns := map[uint16]*conn{}
	for i, f := range frames {
		if len(f) < 60 || len(f) > 1514 || !bytes.Equal(f[0:6], Broadcast[:]) {
			t.Fatalf("frame %d: %d bytes to %x", i, len(f), f[0:6])
		}
		hdr, p := ipv4Of(t, f)
		switch hdr[9] {
		case 6:
			kinds[KindTCP]++
			if !bytes.Equal(f[6:12], webMAC[:]) || !bytes.Equal(hdr[12:16], webIP[:]) {
				t.Fatalf("frame %d: TCP not from the web server", i)
			}
			hl, data := tcpOf(t, hdr, p)
			sport, dport := binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:])
			seq, flags := binary.BigEndian.Uint32(p[4:]), p[13]
			if sport != 80 || dport < 49152 {
				t.Fatalf("frame %d: TCP %d->%d", i, sport, dport)
			}
			c := conns[dport]
			switch flags {
			case 0x12: // SYN-ACK with the MSS option
				synAcks++
				if hl != 24 || !bytes.Equal(p[20:24], []byte{2, 4, 0x05, 0xb4}) {
					t.Errorf("frame %d: SYN-ACK options % x", i, p[20:hl])
				}
				conns[dport] = &conn{next: seq + 1, open: true}
			case 0x18, 0x11: // data, FIN
				if c == nil || !c.open || seq != c.next {
					t.Fatalf("frame %d: segment seq %d on a connection expecting %+v", i, seq, c)
				}
				c.next += uint32(len(data))
				if flags == 0x11 {
					fins++
					c.open = false
				} else if len(f) == 1514 {
					full++
				} else {
					small++
				}
			default:
				t.Fatalf("frame %d: TCP flags %#02x", i, flags)
			}
		case 17:
			sport, dport, d := udpOf(t, hdr, p)
			switch sport {
			case 53:
				kinds[KindDNS]++
				if !bytes.Equal(hdr[12:16], dnsIP[:]) || !bytes.Contains(d, []byte("\x03web\x04wire\x04test\x00")) || !bytes.HasSuffix(d, webIP[:]) {
					t.Fatalf("frame %d: DNS answer % x", i, d)
				}
			case 443:
				kinds[KindUDP]++
				if dport < 49152 {
					t.Fatalf("frame %d: UDP to port %d", i, dport)
				}
			default:
				t.Fatalf("frame %d: UDP from port %d", i, sport)
			}
		default:
			t.Fatalf("frame %d: IP protocol %d", i, hdr[9])
		}
	}
	if synAcks == 0 || fins == 0 || full == 0 || small == 0 || kinds[KindDNS] == 0 || kinds[KindUDP] == 0 {
		t.Errorf("not a mix: %d SYN-ACKs, %d FINs, %d full and %d smaller data segments, %d DNS, %d UDP", synAcks, fins, full, small, kinds[KindDNS], kinds[KindUDP])
	}
	s := w.Snapshot()
	for _, k := range []Kind{KindTCP, KindDNS, KindUDP} {
		if s.ToHostByKind[k].Frames != kinds[k] {
			t.Errorf("%v: snapshot counts %d, the frames %d", k, s.ToHostByKind[k].Frames, kinds[k])
		}
	}
	t.Logf("%d SYN-ACKs, %d FINs, %d full and %d smaller data segments, %d DNS, %d UDP", synAcks, fins, full, small, kinds[KindDNS], kinds[KindUDP])
}

func TestWebMixRepeatsForASeed(t *testing.T) {
	run := func(seed uint64) [][]byte {
		w, _ := newTestWire(t, Config{Seed: seed})
		if err := w.Web(0); err != nil {
			t.Fatal(err)
		}
		return pull(w, 200)
	}
	a, b, c := run(5), run(5), run(6)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("seed 5 differs from itself at frame %d", i)
		}
	}
	same := 0
	for i := range a {
		if bytes.Equal(a[i], c[i]) {
			same++
		}
	}
	if same == len(a) {
		t.Error("seeds 5 and 6 gave the same traffic")
	}
}

func TestPacedWebMixDeliversRateFramesPerSecond(t *testing.T) {
	w, clk := newTestWire(t, Config{})
	if err := w.Web(100); err != nil {
		t.Fatal(err)
	}
	n := len(pull(w, 1000))
	for range 100 {
		clk.Advance(10 * time.Millisecond)
		n += len(pull(w, 1000))
	}
	if n != 101 { // frames due at 0, 10 ms, ..., 1 s
		t.Errorf("a second at 100 frames/s gave %d frames, want 101", n)
	}
}

func TestRepliesGoBeforeGeneratedTraffic(t *testing.T) {
	w, _ := newTestWire(t, Config{})
	if err := w.Flood(1514, 0); err != nil {
		t.Fatal(err)
	}
	w.FromHost(arpWhoHasGateway)
	got := pull(w, 2)
	if len(got[0]) != 60 || got[0][21] != 2 || len(got[1]) != 1514 {
		t.Errorf("first frames are %d and %d bytes, want the ARP reply then the flood", len(got[0]), len(got[1]))
	}
}

func TestQuietStopsTrafficButThePeersStillAnswer(t *testing.T) {
	w, clk := newTestWire(t, Config{})
	clk.Advance(time.Hour)
	if s := w.Snapshot(); s.Missed != 0 || s.ToHost.Frames != 0 {
		t.Errorf("a new wire an hour on: %d missed, %d sent", s.Missed, s.ToHost.Frames)
	}
	if err := w.Flood(64, 0); err != nil {
		t.Fatal(err)
	}
	w.Quiet()
	if got := pull(w, 10); len(got) != 0 {
		t.Errorf("quiet wire sent %d frames", len(got))
	}
	w.FromHost(arpWhoHasGateway)
	if got := pull(w, 10); len(got) != 1 {
		t.Errorf("quiet wire answered with %d frames", len(got))
	}
}

func TestCloseStopsTheTimerAndTheTraffic(t *testing.T) {
	w, clk := newTestWire(t, Config{})
	if err := w.Flood(64, 10); err != nil {
		t.Fatal(err)
	}
	pull(w, 10) // the first frame, then the timer is armed for the next
	if clk.armedTimers() != 1 {
		t.Fatalf("%d timers armed, want 1", clk.armedTimers())
	}
	w.Close()
	w.Close()
	if clk.armedTimers() != 0 {
		t.Errorf("%d timers armed after Close", clk.armedTimers())
	}
	before := w.Snapshot()
	w.FromHost(arpWhoHasGateway)
	w.Idle()
	if err := w.Flood(64, 0); err != nil {
		t.Error(err)
	}
	clk.Advance(time.Second)
	if got := pull(w, 10); len(got) != 0 {
		t.Errorf("closed wire sent %d frames", len(got))
	}
	if after := w.Snapshot(); after != before {
		t.Errorf("closed wire changed: %+v -> %+v", before, after)
	}
}

func TestToHostCheckedVouchesForFloodFramesOnly(t *testing.T) {
	w, clk := newTestWire(t, Config{})
	buf := make([]byte, MaxFrameLen)
	w.Idle()
	clk.Advance(time.Hour)
	if n, good := w.ToHostChecked(buf); n == 0 || good {
		t.Fatalf("idle chatter: %d bytes, vouched %v; want a frame the wire does not vouch for", n, good)
	}
	if err := w.Flood(1514, 0); err != nil {
		t.Fatal(err)
	}
	w.FromHost(arpWhoHasGateway)
	if n, good := w.ToHostChecked(buf); n != 60 || good {
		t.Fatalf("the ARP reply: %d bytes, vouched %v", n, good)
	}
	// The checksums it vouches for are right (floodSeq checks them), also across the carries
	// of the incremental checksum.
	for _, start := range []uint64{0, 0xfffe, 0xffff_fffe, 0xffff_ffff_ffff_fffe} {
		w.mu.Lock()
		w.flood.seq = start
		w.mu.Unlock()
		for i := range 4 {
			n, good := w.ToHostChecked(buf)
			if n != 1514 || !good {
				t.Fatalf("flood frame: %d bytes, vouched %v", n, good)
			}
			if seq := floodSeq(t, buf[:n]); seq != start+uint64(i) {
				t.Fatalf("sequence number %#x, want %#x", seq, start+uint64(i))
			}
		}
	}
}

// A run of ToHostFlood gives the frames ToHost would have given one by one, counted alike.
func TestToHostFloodGivesWhatToHostWould(t *testing.T) {
	for _, size := range []int{60, 1514} {
		one, _ := newTestWire(t, Config{})
		run, _ := newTestWire(t, Config{})
		for _, w := range []*Wire{one, run} {
			if err := w.Flood(size, 0); err != nil {
				t.Fatal(err)
			}
		}
		want := pull(one, 10)
		stride := size + 5
		dst := make([]byte, 10*stride)
		if n, got := run.ToHostFlood(dst, stride, 7); n != 7 || got != size {
			t.Fatalf("size %d: ToHostFlood = %d frames of %d bytes, want 7 of %d", size, n, got, size)
		}
		if n, _ := run.ToHostFlood(dst[7*stride:], stride, 3); n != 3 {
			t.Fatalf("size %d: the second run gave %d frames, want 3", size, n)
		}
		for i, f := range want {
			if !bytes.Equal(dst[i*stride:i*stride+size], f) {
				t.Fatalf("size %d: frame %d of the runs differs from ToHost's", size, i)
			}
		}
		if a, b := one.Snapshot(), run.Snapshot(); a.ToHost != b.ToHost || a.ToHostByKind != b.ToHostByKind || a.FloodSeq != b.FloodSeq {
			t.Errorf("size %d: counted %+v %+v seq %d one by one, %+v %+v seq %d in runs", size,
				a.ToHost, a.ToHostByKind[KindFlood], a.FloodSeq, b.ToHost, b.ToHostByKind[KindFlood], b.FloodSeq)
		}
	}
}

func TestToHostFloodLeavesRepliesAndOtherTrafficToToHost(t *testing.T) {
	w, clk := newTestWire(t, Config{})
	dst := make([]byte, 64*10)
	w.Idle()
	clk.Advance(time.Hour)
	if n, _ := w.ToHostFlood(dst, 64, 10); n != 0 || w.FloodSize() != 0 {
		t.Fatalf("idle chatter: ToHostFlood gave %d frames, FloodSize %d", n, w.FloodSize())
	}
	if err := w.Flood(64, 0); err != nil {
		t.Fatal(err)
	}
	w.FromHost(arpWhoHasGateway)
	if n, _ := w.ToHostFlood(dst, 64, 10); n != 0 || w.FloodSize() != 0 {
		t.Fatalf("with a reply waiting: ToHostFlood gave %d frames, FloodSize %d", n, w.FloodSize())
	}
	if got := pull(w, 1); len(got) != 1 || len(got[0]) != 60 || got[0][21] != 2 {
		t.Fatalf("the reply did not come first: %d frames", len(got))
	}
	if w.FloodSize() != 64 {
		t.Fatalf("FloodSize %d after the reply, want 64", w.FloodSize())
	}
	for _, tc := range []struct {
		name        string
		dst         []byte
		stride, max int
	}{
		{"a stride shorter than a frame", dst, 63, 2},
		{"dst too short for max frames", dst[:64*3-1], 64, 3},
		{"max 0", dst, 64, 0},
	} {
		if n, _ := w.ToHostFlood(tc.dst, tc.stride, tc.max); n != 0 {
			t.Errorf("%s: ToHostFlood gave %d frames", tc.name, n)
		}
	}
	if s := w.Snapshot(); s.FloodSeq != 0 {
		t.Errorf("refused runs used sequence numbers: FloodSeq %d", s.FloodSeq)
	}
}

func TestToHostFloodTakesOnlyTheDueFramesOfAPacedFlood(t *testing.T) {
	w, clk := newTestWire(t, Config{})
	if err := w.Flood(64, 1000); err != nil { // one frame a millisecond
		t.Fatal(err)
	}
	dst := make([]byte, 64*100)
	if n, _ := w.ToHostFlood(dst, 64, 100); n != 1 {
		t.Fatalf("at the start: %d frames, want the one due at once", n)
	}
	if n, _ := w.ToHostFlood(dst, 64, 100); n != 0 {
		t.Fatalf("nothing due: %d frames", n)
	}
	clk.Advance(5 * time.Millisecond)
	if !drainReady(w) {
		t.Error("no Ready signal for the next due frame")
	}
	if n, _ := w.ToHostFlood(dst, 64, 3); n != 3 {
		t.Fatalf("5 ms on, max 3: %d frames", n)
	}
	if n, _ := w.ToHostFlood(dst, 64, 100); n != 2 {
		t.Fatalf("the other 2 due: %d frames", n)
	}
	for i := range 2 {
		if seq := floodSeq(t, dst[i*64:i*64+64]); seq != uint64(4+i) {
			t.Errorf("frame %d has sequence number %d, want %d", i, seq, 4+i)
		}
	}
}
