package capture_test

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/ndis/capture"
	"webminiport/pool"
)

var (
	nicMAC  = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	peerMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
)

// fakeNIC is a small miniport for the driver's tests: receive through an ndis.RxEngine, sends
// queued until the test completes them.
type fakeNIC struct {
	count, low int
	a          *ndis.Adapter
	rx         *ndis.RxEngine

	mu    sync.Mutex
	sends []pool.NBL

	// setFilter, if set, answers the packet filter set in place of StatusSuccess.
	setFilter func(req *ndis.OIDRequest) ndis.Status
}

func (n *fakeNIC) Initialize(a *ndis.Adapter) (ndis.Attributes, ndis.Status) {
	rx, err := ndis.NewRxEngine(a, ndis.RxConfig{Name: "fake rx", Count: n.count, DataSize: 2048, LowWatermark: n.low})
	if err != nil {
		return ndis.Attributes{}, ndis.StatusResources
	}
	n.a, n.rx = a, rx
	return ndis.Attributes{MAC: nicMAC, PermanentMAC: nicMAC, MaxFrameSize: 1500, MaxMulticastList: 8,
		SupportedPacketFilters: ndis.FilterDirected | ndis.FilterMulticast | ndis.FilterAllMulticast | ndis.FilterBroadcast | ndis.FilterPromiscuous,
		Link:                   ndis.LinkState{MediaConnect: ndis.MediaConnectConnected, XmitSpeed: 1e9, RcvSpeed: 1e9}}, ndis.StatusSuccess
}

func (n *fakeNIC) Halt(ndis.HaltAction) { _ = n.rx.Free() }

func (n *fakeNIC) Pause() ndis.Status {
	if n.rx.Drain(func() { _ = n.a.PauseComplete() }) {
		return ndis.StatusSuccess
	}
	return ndis.StatusPending
}

func (n *fakeNIC) Restart() ndis.Status { return ndis.StatusSuccess }

func (n *fakeNIC) Send(chain pool.NBL, _ ndis.SendFlags) {
	p := pool.PoolOf(chain)
	n.mu.Lock()
	defer n.mu.Unlock()
	for h := chain; h != 0; h = p.Next(h) {
		n.sends = append(n.sends, h)
	}
}

func (n *fakeNIC) ReturnNBLs(chain pool.NBL, _ ndis.ReturnFlags) { _ = n.rx.Return(chain) }

func (n *fakeNIC) OIDRequest(req *ndis.OIDRequest) ndis.Status {
	if req.OID == ndis.OIDGenCurrentPacketFilter && n.setFilter != nil {
		return n.setFilter(req)
	}
	if req.OID == ndis.OIDGenCurrentPacketFilter || req.OID == ndis.OID8023MulticastList {
		return ndis.StatusSuccess
	}
	return ndis.StatusNotSupported
}

func (n *fakeNIC) CancelSend(uint64) {}

// deliver receives frames as one USB transfer: copied into NBLs and indicated as one chain.
func (n *fakeNIC) deliver(t testing.TB, frames ...[]byte) {
	for _, f := range frames {
		if err := n.rx.CopyFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.rx.Flush(0); err != nil {
		t.Fatal(err)
	}
}

// wire returns the frames queued for sending, and completes them with st.
func (n *fakeNIC) wire(t testing.TB, st ndis.Status) [][]byte {
	n.mu.Lock()
	sends := n.sends
	n.sends = nil
	n.mu.Unlock()
	var frames [][]byte
	for i, h := range sends {
		f, err := n.a.SendFrame(h)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), f...))
		p := pool.PoolOf(h)
		p.SetStatus(h, uint32(st))
		next := pool.NBL(0)
		if i+1 < len(sends) {
			next = sends[i+1]
		}
		_ = p.SetNext(h, next)
	}
	if len(sends) > 0 {
		if err := n.a.SendComplete(sends[0], 0); err != nil {
			t.Fatal(err)
		}
	}
	return frames
}

// ethFrame is a frame of size bytes to dst, with its first payload byte set to tag.
func ethFrame(dst [6]byte, size int, tag byte) []byte {
	f := make([]byte, size)
	copy(f, dst[:])
	copy(f[6:], peerMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x88b5) // local experimental EtherType
	f[14] = tag
	return f
}

// setup makes a running adapter with count receive NBLs (low watermark low) and a bound driver.
func setup(t testing.TB, count, low int, cfg capture.DriverConfig) (*fakeNIC, *ndis.Adapter, *capture.Driver) {
	nic := &fakeNIC{count: count, low: low}
	a := ndis.New(nic, ndis.Config{Name: "fake0"})
	if err := a.Initialize(); err != nil {
		t.Fatal(err)
	}
	if cfg.Ring == nil {
		cfg.Ring = capture.NewRing(capture.RingConfig{Bytes: 1 << 20, Frames: 1024})
	}
	d := capture.NewDriver(cfg)
	if err := d.Bind(a); err != nil {
		t.Fatal(err)
	}
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	return nic, a, d
}

func recorded(t testing.TB, r *capture.Ring) [][]byte {
	var out [][]byte
	for f := range r.All(nil) {
		out = append(out, append([]byte(nil), f.Data...))
	}
	return out
}

// TestDriverRecordsEveryFrameAndReturnsAtOnce: every indicated frame is in the ring, byte for
// byte and in order, and nothing is left outstanding.
func TestDriverRecordsEveryFrameAndReturnsAtOnce(t *testing.T) {
	nic, a, d := setup(t, 8, 0, capture.DriverConfig{})
	want := [][]byte{ethFrame(nicMAC, 60, 1), ethFrame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 342, 2), ethFrame(nicMAC, 1514, 3)}
	nic.deliver(t, want[:2]...)
	nic.deliver(t, want[2])
	got := recorded(t, d.Ring())
	if len(got) != 3 {
		t.Fatalf("ring holds %d frames, want 3", len(got))
	}
	for i := range want {
		if string(got[i]) != string(want[i]) {
			t.Errorf("frame %d differs", i+1)
		}
	}
	c := d.Counters()
	if c.Indications != 2 || c.Frames != 3 || c.Bytes != 60+342+1514 || c.Returned != 3 || a.Outstanding() != 0 {
		t.Fatalf("counters %+v, outstanding %d", c, a.Outstanding())
	}
	if c.FilterStatus != ndis.StatusSuccess || a.PacketFilter() != ndis.FilterDirected|ndis.FilterMulticast|ndis.FilterAllMulticast|ndis.FilterBroadcast {
		t.Fatalf("packet filter %#x (status %v)", a.PacketFilter(), c.FilterStatus)
	}
}

// TestDriverHoldPushesMiniportIntoResources: holding most NBLs drives the miniport below its
// watermark; the RESOURCES indications are still recorded (copied during the call); Release
// gives the held NBLs back so that a pause can finish.
func TestDriverHoldPushesMiniportIntoResources(t *testing.T) {
	nic, a, d := setup(t, 8, 3, capture.DriverConfig{Policy: capture.ReturnHold, Hold: 8})
	for i := range 5 {
		nic.deliver(t, ethFrame(nicMAC, 60, byte(i)))
	}
	if c := d.Counters(); c.Held != 5 || c.ResourcesIndications != 0 || a.Outstanding() != 5 {
		t.Fatalf("after 5 frames: %+v, outstanding %d", c, a.Outstanding())
	}
	nic.deliver(t, ethFrame(nicMAC, 60, 5)) // 2 free after taking one < watermark 3: RESOURCES
	if c := d.Counters(); c.ResourcesIndications != 1 || c.Held != 5 || c.Frames != 6 {
		t.Fatalf("after the 6th frame: %+v", c)
	}
	if got := recorded(t, d.Ring()); len(got) != 6 || got[5][14] != 5 {
		t.Fatalf("ring holds %d frames; the RESOURCES frame must be copied in", len(got))
	}
	if rc := nic.rx.Counts(); rc.Free != 3 || rc.ResourcesIndications != 1 {
		t.Fatalf("engine %+v: the RESOURCES NBL must be back on the free list", rc)
	}
	if err := a.Pause(); err != nil || a.State() != ndis.Pausing {
		t.Fatalf("pause while holding: %v, %v", err, a.State())
	}
	if err := d.Release(); err != nil {
		t.Fatal(err)
	}
	if a.State() != ndis.Paused || d.Counters().Held != 0 {
		t.Fatalf("after Release: state %v, held %d", a.State(), d.Counters().Held)
	}
	if err := d.Unbind(); err != nil {
		t.Fatal(err)
	}
	if err := a.Halt(ndis.HaltDeviceDisabled); err != nil {
		t.Fatal(err)
	}
	if len(a.Reports()) != 0 {
		t.Fatalf("reports: %v", a.Reports()[0].Err)
	}
}

// TestDriverHoldsUpToTheLimitAndReturnsTheRest: a chain longer than what is left of the hold
// budget is split.
func TestDriverHoldsUpToTheLimitAndReturnsTheRest(t *testing.T) {
	nic, a, d := setup(t, 16, 0, capture.DriverConfig{Policy: capture.ReturnHold, Hold: 3})
	nic.deliver(t, ethFrame(nicMAC, 60, 1), ethFrame(nicMAC, 60, 2))
	nic.deliver(t, ethFrame(nicMAC, 60, 3), ethFrame(nicMAC, 60, 4), ethFrame(nicMAC, 60, 5))
	if c := d.Counters(); c.Held != 3 || c.Returned != 2 || a.Outstanding() != 3 {
		t.Fatalf("counters %+v, outstanding %d", c, a.Outstanding())
	}
	if err := d.SetReturnPolicy(capture.ReturnAtOnce, 0, 0); err != nil {
		t.Fatal(err)
	}
	if a.Outstanding() != 0 {
		t.Fatalf("leaving hold left %d outstanding", a.Outstanding())
	}
}

// TestDriverReturnsAfterDelay: under ReturnAfterDelay the NBLs stay out until the timer fires.
func TestDriverReturnsAfterDelay(t *testing.T) {
	var mu sync.Mutex
	var timers []func()
	var delays []time.Duration
	after := func(d time.Duration, f func()) {
		mu.Lock()
		timers, delays = append(timers, f), append(delays, d)
		mu.Unlock()
	}
	nic, a, d := setup(t, 8, 0, capture.DriverConfig{Policy: capture.ReturnAfterDelay, Delay: 50 * time.Millisecond, AfterFunc: after})
	nic.deliver(t, ethFrame(nicMAC, 60, 1), ethFrame(nicMAC, 60, 2))
	nic.deliver(t, ethFrame(nicMAC, 60, 3))
	if len(timers) != 2 || delays[0] != 50*time.Millisecond || a.Outstanding() != 3 || d.Counters().Delayed != 3 {
		t.Fatalf("%d timers (%v), outstanding %d, counters %+v", len(timers), delays, a.Outstanding(), d.Counters())
	}
	timers[1]()
	if a.Outstanding() != 2 {
		t.Fatalf("after the second timer: outstanding %d, want 2", a.Outstanding())
	}
	timers[0]()
	if c := d.Counters(); a.Outstanding() != 0 || c.Delayed != 0 || c.Returned != 3 {
		t.Fatalf("after both timers: outstanding %d, counters %+v", a.Outstanding(), c)
	}
}

// TestDriverSendsBuiltFramesAndCountsCompletions: the ARP, echo and DHCP builders go out through
// the send pool, the miniport sees the frames, and completions are counted and recycled.
func TestDriverSendsBuiltFramesAndCountsCompletions(t *testing.T) {
	nic, a, d := setup(t, 8, 0, capture.DriverConfig{SendCount: 4, RecordSent: true})
	src, dst := netip.MustParseAddr("192.168.7.2"), netip.MustParseAddr("192.168.7.1")
	if err := d.SendARPRequest(src, dst); err != nil {
		t.Fatal(err)
	}
	if err := d.SendEchoRequest(capture.EchoRequest{DstMAC: peerMAC, SrcIP: src, DstIP: dst, ID: 1, Seq: 1, PayloadLen: 56}); err != nil {
		t.Fatal(err)
	}
	if err := d.SendDHCPDiscover(capture.DHCPDiscover{XID: 0x1234}); err != nil {
		t.Fatal(err)
	}
	if a.SendsPending() != 3 {
		t.Fatalf("%d sends pending, want 3", a.SendsPending())
	}
	frames := nic.wire(t, ndis.StatusSuccess)
	dec := capture.NewDecoder()
	var s capture.Summary
	for i, want := range []capture.Protocol{capture.ProtoARP, capture.ProtoICMP, capture.ProtoDHCP} {
		dec.Summarize(frames[i], len(frames[i]), &s)
		if s.Protocol != want || s.Malformed {
			t.Errorf("frame %d: %v (malformed %v) %q, want %v", i, s.Protocol, s.Malformed, s.Info(), want)
		}
		if string(frames[i][6:12]) != string(nicMAC[:]) {
			t.Errorf("frame %d sent from % x, want the adapter's address", i, frames[i][6:12])
		}
	}
	c := d.Counters()
	if c.Sent != 3 || c.SendOK != 3 || c.LastSendStatus != ndis.StatusSuccess || a.SendsPending() != 0 {
		t.Fatalf("counters %+v", c)
	}
	if n := len(recorded(t, d.Ring())); n != 3 {
		t.Fatalf("RecordSent: ring holds %d frames, want the 3 sent", n)
	}
	// A failed completion is counted, and all four buffers are reusable.
	for range 4 {
		if err := d.SendFrame(ethFrame(peerMAC, 60, 9)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.SendFrame(ethFrame(peerMAC, 60, 9)); err == nil {
		t.Fatal("a fifth send with 4 buffers in flight succeeded")
	}
	nic.wire(t, ndis.StatusFailure)
	if c := d.Counters(); c.SendFailed != 4 || c.LastSendStatus != ndis.StatusFailure {
		t.Fatalf("counters %+v", c)
	}
	if err := d.SendFrame(make([]byte, 4000)); err == nil {
		t.Fatal("a frame larger than the send buffer was accepted")
	}
}

// TestDriverReceiveAtOnceDoesNotAllocate: record and return allocate nothing per frame.
func TestDriverReceiveAtOnceDoesNotAllocate(t *testing.T) {
	nic, _, _ := setup(t, 64, 0, capture.DriverConfig{})
	frames := make([][]byte, 32)
	for i := range frames {
		frames[i] = ethFrame(nicMAC, 64+i, byte(i))
	}
	if allocs := testing.AllocsPerRun(100, func() { nic.deliver(t, frames...) }); allocs != 0 {
		t.Fatalf("%v allocations per chain of 32", allocs)
	}
}

// TestDriverFollowsLinkState: link-state indications reach the counters for the adapter bar.
func TestDriverFollowsLinkState(t *testing.T) {
	_, a, d := setup(t, 4, 0, capture.DriverConfig{})
	down := ndis.LinkState{MediaConnect: ndis.MediaConnectDisconnected}
	if err := a.IndicateStatus(ndis.StatusIndication{Code: ndis.StatusLinkState, Link: down}); err != nil {
		t.Fatal(err)
	}
	if got := d.Counters().Link; got != down {
		t.Fatalf("link %+v, want %+v", got, down)
	}
}

// TestDriverFilterStatusIsTheCompletions: when the miniport pends the packet filter set, the
// status the driver shows ends as the completion's, whether the completion runs before
// OIDRequest returns PENDING (from inside the miniport's OIDRequest), after Bind returned, or
// on another goroutine at any time.
func TestDriverFilterStatusIsTheCompletions(t *testing.T) {
	for _, tc := range []struct {
		name string
		// pend is the miniport's answer to the set before it returns PENDING: complete req
		// now, or start a goroutine that does (after release, if it waits); done closes
		// once the completion has run.
		pend func(nic *fakeNIC, req *ndis.OIDRequest, release <-chan struct{}, done chan<- struct{})
		// pendingAfterBind: the status must still read PENDING when Bind returns.
		pendingAfterBind bool
	}{
		{"completed inside OIDRequest", func(nic *fakeNIC, req *ndis.OIDRequest, _ <-chan struct{}, done chan<- struct{}) {
			if err := nic.a.OIDComplete(req, ndis.StatusSuccess); err != nil {
				t.Error(err)
			}
			close(done)
		}, false},
		{"completed after Bind returned", func(nic *fakeNIC, req *ndis.OIDRequest, release <-chan struct{}, done chan<- struct{}) {
			go func() {
				<-release
				if err := nic.a.OIDComplete(req, ndis.StatusSuccess); err != nil {
					t.Error(err)
				}
				close(done)
			}()
		}, true},
		{"completed concurrently", func(nic *fakeNIC, req *ndis.OIDRequest, _ <-chan struct{}, done chan<- struct{}) {
			go func() {
				if err := nic.a.OIDComplete(req, ndis.StatusSuccess); err != nil {
					t.Error(err)
				}
				close(done)
			}()
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release, done := make(chan struct{}), make(chan struct{})
			nic := &fakeNIC{count: 4}
			nic.setFilter = func(req *ndis.OIDRequest) ndis.Status {
				tc.pend(nic, req, release, done)
				return ndis.StatusPending
			}
			a := ndis.New(nic, ndis.Config{Name: "fake0"})
			if err := a.Initialize(); err != nil {
				t.Fatal(err)
			}
			d := capture.NewDriver(capture.DriverConfig{Ring: capture.NewRing(capture.RingConfig{Bytes: 1 << 16, Frames: 16})})
			if err := d.Bind(a); err != nil {
				t.Fatal(err)
			}
			if st := d.Counters().FilterStatus; tc.pendingAfterBind && st != ndis.StatusPending {
				t.Fatalf("filter status %v before the completion, want PENDING", st)
			}
			close(release)
			<-done
			if st := d.Counters().FilterStatus; st != ndis.StatusSuccess {
				t.Fatalf("filter status %v after the completion, want SUCCESS", st)
			}
			if a.PacketFilter() != ndis.FilterDirected|ndis.FilterMulticast|ndis.FilterAllMulticast|ndis.FilterBroadcast {
				t.Fatalf("packet filter %#x", a.PacketFilter())
			}
			if err := d.Unbind(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
