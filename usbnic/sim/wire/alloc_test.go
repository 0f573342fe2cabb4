package wire

import (
	"testing"
	"time"
)

// The per-frame paths must not allocate: every reply is built in the preallocated ring and
// every generated frame straight into the caller's buffer.

func assertNoAllocs(t *testing.T, what string, f func()) {
	t.Helper()
	if a := testing.AllocsPerRun(1000, f); a != 0 {
		t.Errorf("%s: %v allocations per run, want 0", what, a)
	}
}

func TestFloodToHostAllocatesNothing(t *testing.T) {
	for _, size := range []int{64, 1514} {
		w, _ := newTestWire(t, Config{})
		if err := w.Flood(size, 0); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 9216)
		assertNoAllocs(t, "unpaced flood", func() {
			if n := w.ToHost(buf); n != size {
				t.Fatalf("ToHost = %d, want %d", n, size)
			}
		})
	}
}

func TestPacedFloodToHostAllocatesNothing(t *testing.T) {
	w, clk := newTestWire(t, Config{})
	if err := w.Flood(64, 1000); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 9216)
	w.ToHost(buf)
	w.ToHost(buf) // nothing due: creates the timer once
	assertNoAllocs(t, "paced flood", func() {
		clk.mu.Lock()
		clk.now = clk.now.Add(time.Millisecond)
		clk.mu.Unlock()
		if n := w.ToHost(buf); n != 64 {
			t.Fatalf("ToHost = %d, want a due frame", n)
		}
		if n := w.ToHost(buf); n != 0 {
			t.Fatalf("ToHost = %d, want nothing due", n)
		}
	})
}

func TestRepliesAllocateNothing(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
	}{
		{"ARP", arpWhoHasGateway},
		{"ICMP echo 64", ethFrame(gwMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, gwIP, echoRequest(1, 1, 64-42)))},
		{"ICMP echo 1400", ethFrame(gwMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, gwIP, echoRequest(1, 1, 1400-42)))},
		{"DHCP discover", dhcpFrame(hostMAC, [4]byte{}, buildDHCP(1, 1, 0, [4]byte{}, hostMAC))},
		{"DNS query", dnsFrame(dnsMAC, dnsIP, dnsQuery(1, 0x0100, 1, 1, "Web", "wire", "test"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWire(t, Config{})
			buf := make([]byte, 9216)
			assertNoAllocs(t, tt.name, func() {
				w.FromHost(tt.frame)
				if w.ToHost(buf) == 0 {
					t.Fatal("no reply")
				}
			})
		})
	}
}

func TestGeneratedTrafficAllocatesNothing(t *testing.T) {
	buf := make([]byte, 9216)
	short := make([]byte, 1000) // the web mix builds into the scratch frame, then copies or drops
	var long []Frame            // more frames than AllocsPerRun pulls
	for len(long) < 2000 {
		long = append(long, captureFrames()...)
	}
	tests := []struct {
		name  string
		start func(w *Wire) error
		step  time.Duration // how far the clock moves before each pull
		buf   []byte
	}{
		{"web mix", func(w *Wire) error { return w.Web(0) }, 0, buf},
		{"web mix into a short buffer", func(w *Wire) error { return w.Web(0) }, 0, short},
		{"idle chatter", func(w *Wire) error { w.Idle(); return nil }, 200 * time.Millisecond, buf},
		{"replay", func(w *Wire) error { return w.Replay(long, AsFastAsPulled) }, 0, buf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, clk := newTestWire(t, Config{})
			if err := tt.start(w); err != nil {
				t.Fatal(err)
			}
			assertNoAllocs(t, tt.name, func() {
				clk.mu.Lock()
				clk.now = clk.now.Add(tt.step)
				clk.mu.Unlock()
				w.ToHost(tt.buf)
			})
			if s := w.Snapshot(); s.ToHost.Frames+s.TooBig < 1000 {
				t.Errorf("only %d frames were generated (%d too big for the buffer)", s.ToHost.Frames+s.TooBig, s.TooBig)
			}
		})
	}
}

func TestToHostFloodAllocatesNothing(t *testing.T) {
	w, _ := newTestWire(t, Config{})
	if err := w.Flood(64, 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64*200)
	assertNoAllocs(t, "a run of an unpaced flood", func() {
		if n, size := w.ToHostFlood(buf, 64, 200); n != 200 || size != 64 {
			t.Fatalf("ToHostFlood = %d frames of %d bytes, want 200 of 64", n, size)
		}
	})
}
