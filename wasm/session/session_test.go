package session

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/netip"
	"strings"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/ndis/capture"
	"webminiport/pool"
	"webminiport/wasm/station"
)

// newSession makes a session with a small ring and cleans it up after the test.
func newSession(t *testing.T, cfg Config) *Session {
	t.Helper()
	if cfg.Ring == nil {
		cfg.Ring = capture.NewRing(capture.RingConfig{Bytes: 4 << 20, Frames: 1 << 15})
	}
	s := New(cfg)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sample(s *Session) Sample {
	var smp Sample
	s.Sample(&smp)
	return smp
}

// rxPool returns the index of the miniport's receive pool in the current generation.
func rxPool(t *testing.T, s *Session) (gen uint64, i int, pv ndis.PoolView) {
	t.Helper()
	gen = sample(s).Gen
	for i, pv := range s.Pools(gen) {
		if pv.Component == ndis.ComponentMiniport {
			return gen, i, pv
		}
	}
	t.Fatal("no miniport receive pool")
	return 0, 0, ndis.PoolView{}
}

func startBound(t *testing.T, s *Session, model, profile string) {
	t.Helper()
	if err := s.StartVirtual(context.Background(), model, profile); err != nil {
		t.Fatalf("StartVirtual(%s, %s): %v", model, profile, err)
	}
	waitFor(t, 30*time.Second, "no DHCP lease", func() bool { return s.Adapter().Station.Phase == station.PhaseBound })
}

func TestVirtualAdapterRunsWithALeaseAndFrames(t *testing.T) {
	s := newSession(t, Config{})
	startBound(t, s, "CDC-ECM", "idle")
	a := s.Adapter()
	if a.State != ndis.Running || a.Source != SourceVirtual || a.Label != "CDC-ECM" || a.Driver != "cdc_ether" {
		t.Fatalf("adapter %+v", a)
	}
	if a.Station.IP != netip.MustParseAddr("192.168.77.100") {
		t.Fatalf("station address %v", a.Station.IP)
	}
	waitFor(t, 3*time.Second, "no idle chatter recorded", func() bool { return sample(s).Capture.Frames >= 3 })
	smp := sample(s)
	if smp.NumPools != 2 {
		t.Fatalf("%d pools, want the receive pool and the capture driver's send pool", smp.NumPools)
	}
}

func TestEveryModelOfThePickerComesUp(t *testing.T) {
	s := newSession(t, Config{})
	for _, m := range ModelNames() {
		if err := s.StartVirtual(context.Background(), m, "mix"); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		before := sample(s).Capture.Frames
		waitFor(t, 5*time.Second, m+": no frames received", func() bool { return sample(s).Capture.Frames > before+10 })
		if st := sample(s).State; st != ndis.Running {
			t.Fatalf("%s: state %v", m, st)
		}
		waitFor(t, time.Second, m+": the adapter bar never showed the link up", func() bool {
			a := s.Adapter()
			return a.Label == m && a.Info.Link.MediaConnect == ndis.MediaConnectConnected
		})
	}
}

func TestUnknownModelAndProfileAreRefused(t *testing.T) {
	s := newSession(t, Config{})
	if err := s.StartVirtual(context.Background(), "RTL8153", "idle"); err == nil || !strings.Contains(err.Error(), "AX88179") {
		t.Fatalf("unknown model: %v, want an error listing the models", err)
	}
	if err := s.StartVirtual(context.Background(), "CDC-ECM", "storm"); err == nil || !strings.Contains(err.Error(), "flood64") {
		t.Fatalf("unknown profile: %v, want an error listing the profiles", err)
	}
	if err := s.SetProfile("idle"); err == nil {
		t.Fatal("SetProfile with no virtual adapter succeeded")
	}
}

func TestPingTheGatewayThroughTheWholeStack(t *testing.T) {
	s := newSession(t, Config{})
	startBound(t, s, "CDC-NCM", "quiet")
	if err := s.Send("ping", SendOptions{Count: 3, Size: 1400}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "ping replies", func() bool { return s.Adapter().Station.PingReplies == 3 })
	if err := s.Send("arp", SendOptions{Target: netip.MustParseAddr("192.168.77.80")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "ARP answer", func() bool { return s.Adapter().Station.ARPAnswers >= 1 })
	if err := s.Send("dhcp", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "second DHCP exchange", func() bool { return s.Adapter().Station.Acks == 2 })
	if err := s.Send("smoke", SendOptions{}); err == nil {
		t.Fatal("unknown send kind accepted")
	}
}

func TestHoldingNBLsGivesResourcesThenDropsAndReleaseBringsThemHome(t *testing.T) {
	s := newSession(t, Config{})
	startBound(t, s, "AX88179", "mix")
	if err := s.Hold(DefaultRxNBLs); err != nil {
		t.Fatal(err)
	}
	// Small chains of the web mix are held until the free list falls below the low watermark
	// (RxNBLs/8); from then on the miniport indicates with RESOURCES and takes them back.
	waitFor(t, 5*time.Second, "no RESOURCES indication", func() bool { return sample(s).Capture.ResourcesIndications > 0 })
	held := sample(s).Capture.Held
	if held < DefaultRxNBLs-2*DefaultRxNBLs/8 || held > DefaultRxNBLs {
		t.Fatalf("holding %d NBLs at the first RESOURCES indication, want about the pool less the low watermark", held)
	}
	if p := s.Pending(); len(p.Pending) < held {
		t.Fatalf("pendingnbls lists %d, want at least the %d held", len(p.Pending), held)
	}
	// A flood brings transfers with more frames than are free: the rest are dropped.
	if err := s.SetProfile("flood64"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "no drop", func() bool { return sample(s).Stats.RxNoBuffer > 0 })
	if err := s.SetProfile("quiet"); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "NBLs still away after Release", func() bool {
		smp := sample(s)
		return smp.Outstanding == 0 && smp.Capture.Held == 0 && len(s.Pending().Pending) == 0
	})
	gen, i, pv := rxPool(t, s)
	owners := make([]byte, pv.Stats.Capacity)
	if n := s.CopyOwners(gen, i, owners); n != len(owners) {
		t.Fatalf("copied %d owners, want %d", n, len(owners))
	}
	for k, o := range owners {
		if o == byte(ndis.OwnerProtocol) || o == byte(ndis.OwnerLentResources) || o == byte(ndis.OwnerReclaim) {
			t.Fatalf("NBL %d still away from the miniport: %s", k, ndis.OwnerName(pool.Owner(o)))
		}
	}
}

func TestPauseWaitsForHeldNBLsThenRestarts(t *testing.T) {
	s := newSession(t, Config{})
	startBound(t, s, "CDC-ECM", "mix")
	if err := s.Hold(5); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "nothing held", func() bool { return sample(s).Capture.Held == 5 })
	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if st := sample(s).State; st != ndis.Pausing {
		t.Fatalf("state %v while the protocol holds NBLs, want Pausing", st)
	}
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "pause did not complete", func() bool { return sample(s).State == ndis.Paused })
	if smp := sample(s); smp.Outstanding != 0 || smp.SendsPending != 0 {
		t.Fatalf("paused with %d NBLs and %d sends outstanding", smp.Outstanding, smp.SendsPending)
	}
	before := sample(s).Capture.Frames
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "no frames after restart", func() bool { return sample(s).Capture.Frames > before })
}

func TestHaltThenInitializeAndReconfigure(t *testing.T) {
	s := newSession(t, Config{})
	startBound(t, s, "CDC-NCM", "idle")
	if err := s.Halt(context.Background()); err != nil {
		t.Fatal(err)
	}
	smp := sample(s)
	if smp.State != ndis.Halted || smp.NumPools != 0 {
		t.Fatalf("after halt: state %v, %d pools", smp.State, smp.NumPools)
	}
	if err := s.Pause(); err == nil {
		t.Fatal("pause of a halted adapter succeeded")
	}
	if err := s.Initialize(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := sample(s).State; st != ndis.Paused {
		t.Fatalf("after initialize: %v, want Paused", st)
	}
	if err := s.Initialize(context.Background()); err == nil {
		t.Fatal("initialize of an initialized adapter succeeded")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.Reconfigure(context.Background(), 128, 3); err != nil {
		t.Fatal(err)
	}
	_, _, pv := rxPool(t, s)
	a := s.Adapter()
	if pv.Stats.Capacity != 128 || a.Info.RxTransfers != 3 || a.State != ndis.Running {
		t.Fatalf("after reconfigure: pool of %d, %d transfers, %v; want 128, 3, Running", pv.Stats.Capacity, a.Info.RxTransfers, a.State)
	}
	if err := s.Reconfigure(context.Background(), 4, 0); err == nil {
		t.Fatal("a pool of 4 NBLs was accepted")
	}
}

// testFrames are frames to replay: UDP datagrams between two stations that are not the host,
// built by hand.
func testFrames() []capture.Frame {
	var out []capture.Frame
	t0 := time.Unix(1700000000, 0)
	for i := range 5 {
		f := make([]byte, 60+i*100)
		copy(f, []byte{0x02, 0xaa, 0, 0, 0, 1, 0x02, 0xbb, 0, 0, 0, 2, 0x88, 0xb5}) // local experimental EtherType
		for k := 14; k < len(f); k++ {
			f[k] = byte(k * (i + 1))
		}
		out = append(out, capture.Frame{Number: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond), OrigLen: len(f), Data: f})
	}
	return out
}

func seqOf(frames []capture.Frame) iter.Seq[capture.Frame] {
	return func(yield func(capture.Frame) bool) {
		for _, f := range frames {
			if !yield(f) {
				return
			}
		}
	}
}

func TestReplayDeliversTheCaptureByteForByte(t *testing.T) {
	s := newSession(t, Config{})
	startBound(t, s, "AX88772", "quiet")
	var pcap bytes.Buffer
	frames := testFrames()
	if err := capture.WritePcap(&pcap, 65535, false, seqOf(frames)); err != nil {
		t.Fatal(err)
	}
	n, err := s.Replay(context.Background(), pcap.Bytes())
	if err != nil || n != len(frames) {
		t.Fatalf("Replay: %d, %v", n, err)
	}
	var got [][]byte
	waitFor(t, 3*time.Second, "replayed frames not all received", func() bool {
		got = got[:0]
		_, bodies := s.Frames(200, true)
		for _, b := range bodies {
			if len(b) >= 14 && b[12] == 0x88 && b[13] == 0xb5 {
				got = append(got, b)
			}
		}
		return len(got) == len(frames)
	})
	for i, f := range frames {
		if !bytes.Equal(got[i], f.Data) {
			t.Fatalf("frame %d differs:\n% x\nwant\n% x", i, got[i], f.Data)
		}
	}
	if a := s.Adapter(); a.Profile != "replay" || a.Replay != len(frames) {
		t.Fatalf("profile %q replaying %d", a.Profile, a.Replay)
	}
	if _, err := s.Replay(context.Background(), []byte("not a capture")); err == nil {
		t.Fatal("garbage accepted as a capture")
	}
}

func TestExportIsReadBackFrameForFrame(t *testing.T) {
	s := newSession(t, Config{})
	startBound(t, s, "CDC-ECM", "mix")
	waitFor(t, 3*time.Second, "too few frames", func() bool { return sample(s).Ring.Held > 20 })
	if err := s.Pause(); err != nil { // a still ring, so the export and the listing agree
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "pause", func() bool { return sample(s).State == ndis.Paused })
	time.Sleep(2 * housekeepingEvery) // the station's last answers
	held := sample(s).Ring.Held
	_, want := s.Frames(held, true)
	for _, format := range []string{"pcap", "pcapng"} {
		b, err := s.Export(format)
		if err != nil {
			t.Fatal(err)
		}
		got, err := capture.ReadFrames(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d frames, want %d", format, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i].Data, want[i]) {
				t.Fatalf("%s: frame %d differs", format, i)
			}
		}
	}
	if _, err := s.Export("csv"); err == nil {
		t.Fatal("csv export accepted")
	}
}

func TestSurpriseRemovalBringsEveryNBLHome(t *testing.T) {
	s := newSession(t, Config{})
	startBound(t, s, "CDC-ECM", "mix")
	if err := s.Hold(3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "nothing held", func() bool { return sample(s).Capture.Held == 3 })
	s.mu.Lock()
	dev := s.stack.dev
	s.mu.Unlock()
	dev.RemoveNow()
	waitFor(t, 5*time.Second, "removal not noticed", func() bool {
		a := s.Adapter()
		return a.State == ndis.Halted && strings.Contains(a.Err, "unplugged")
	})
	if smp := sample(s); smp.NumPools != 0 || smp.Outstanding != 0 {
		t.Fatalf("after removal: %d pools, %d outstanding", smp.NumPools, smp.Outstanding)
	}
	for _, r := range s.Reports() {
		if r.Err != nil && r.Err.Class == pool.LeakedNBL {
			t.Fatalf("leak reported after removal: %v", r.Err)
		}
	}
	if err := s.Initialize(context.Background()); err == nil {
		t.Fatal("initialize of a removed adapter succeeded")
	}
}

func TestStateIsJSONWithTheWholeOwnerMap(t *testing.T) {
	s := newSession(t, Config{RxNBLs: 96})
	startBound(t, s, "CDC-NCM", "idle")
	b, err := json.Marshal(s.State())
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if st.Source != "virtual" || st.Model != "CDC-NCM" || st.Adapter.State != "Running" || st.Adapter.VIDPID != "1d6b:0104" {
		t.Fatalf("state %s", b)
	}
	if len(st.Pools) != 2 {
		t.Fatalf("%d pools in the state", len(st.Pools))
	}
	for _, p := range st.Pools {
		total := 0
		for _, c := range p.Owners {
			total += c
		}
		if total != p.Capacity || len(p.OwnerMap) != p.Capacity {
			t.Fatalf("pool %s: owners add up to %d, map of %d, capacity %d", p.Name, total, len(p.OwnerMap), p.Capacity)
		}
	}
	if st.Pools[0].Capacity != 96 || st.Station.DHCP != "bound" || st.Station.Address != "192.168.77.100/24" {
		t.Fatalf("state %s", b)
	}
}

func TestSampleDoesNotAllocate(t *testing.T) {
	s := newSession(t, Config{})
	startBound(t, s, "CDC-ECM", "quiet")
	var smp Sample
	owners := make([]byte, 4096)
	s.Sample(&smp)
	if n := testing.AllocsPerRun(50, func() {
		s.Sample(&smp)
		for i := range smp.NumPools {
			s.CopyOwners(smp.Gen, i, owners)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per sample, want 0", n)
	}
}

func TestGate(t *testing.T) {
	now := time.Unix(0, 0)
	g := NewGate(10*time.Millisecond, func() time.Time { return now })
	if err := g.Wait(context.Background()); err != nil || g.Waits() != 0 {
		t.Fatalf("within the budget: %v, %d waits", err, g.Waits())
	}
	now = now.Add(11 * time.Millisecond)
	done := make(chan error)
	go func() { done <- g.Wait(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("past the budget Wait returned %v before the tick", err)
	case <-time.After(20 * time.Millisecond):
	}
	g.Tick(0, 0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	now = now.Add(11 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Wait(ctx); err == nil {
		t.Fatal("a cancelled wait returned nil")
	}
	if g.Waits() != 2 {
		t.Fatalf("%d waits counted, want 2", g.Waits())
	}
}

func TestGateBudgetCountsFromTheFrameTime(t *testing.T) {
	now := time.Unix(0, 0)
	g := NewGate(10*time.Millisecond, func() time.Time { return now })
	g.Tick(0, 6*time.Millisecond) // the page's frame ended 6 ms after the frame's time
	now = now.Add(3 * time.Millisecond)
	if err := g.Wait(context.Background()); err != nil || g.Waits() != 0 {
		t.Fatalf("9 ms after the frame's time: %v, %d waits", err, g.Waits())
	}
	now = now.Add(2 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Wait(ctx); err == nil || g.Waits() != 1 {
		t.Fatalf("11 ms after the frame's time a submission did not wait: %v, %d waits", err, g.Waits())
	}
}

func TestGateBudgetFollowsLateAndTimelyFrames(t *testing.T) {
	g := NewGate(10*time.Millisecond, nil)
	const frame = 16 * time.Millisecond
	var at time.Duration
	tick := func(after time.Duration) {
		at += after
		g.Tick(at, 0)
	}
	tick(0)
	for range 64 {
		tick(frame)
	}
	if b := g.Budget(); b != frame {
		t.Fatalf("after 64 frames on time the budget is %v, want the whole %v period", b, frame)
	}
	tick(2 * frame)
	if b, want := g.Budget(), frame*3/4; b != want {
		t.Fatalf("after a late frame the budget is %v, want %v", b, want)
	}
	tick(frame)
	if b, want := g.Budget(), frame*3/4+frame/64; b != want {
		t.Fatalf("after a frame on time again the budget is %v, want %v", b, want)
	}
	for range 10 {
		tick(frame * 3 / 2)
	}
	if b := g.Budget(); b != frame*3/4+frame/64+10*frame/64 {
		t.Fatalf("frames half a period late count as on time: budget %v", b)
	}
	for range 20 {
		tick(5 * frame)
	}
	if b, want := g.Budget(), frame/4; b != want {
		t.Fatalf("after many late frames the budget is %v, want the floor %v", b, want)
	}
}

func TestGateDoesNotLearnSlowFramesAsThePeriod(t *testing.T) {
	now := time.Unix(0, 0)
	g := NewGate(10*time.Millisecond, func() time.Time { return now })
	for i := range 100 {
		g.Tick(time.Duration(i)*50*time.Millisecond, 0) // every frame late: the receive path holds the thread
	}
	if b, want := g.Budget(), maxPeriod/4; b != want {
		t.Fatalf("with every frame 50 ms apart the budget is %v, want %v (a quarter of the longest period assumed)", b, want)
	}
	now = now.Add(maxPeriod / 8)
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if g.Waits() != 0 {
		t.Fatal("a submission within the budget waited")
	}
}

func TestGatedSessionStillRuns(t *testing.T) {
	g := NewGate(2*time.Millisecond, nil)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the page's animation frames
		start := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-time.After(16 * time.Millisecond):
				g.Tick(time.Since(start), 0)
			}
		}
	}()
	s := newSession(t, Config{Gate: g})
	startBound(t, s, "CDC-NCM", "quiet")
	if err := s.SetProfile("flood1514"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "no flood frames through the gate", func() bool { return sample(s).Capture.Frames > 1000 })
	if g.Waits() == 0 {
		t.Fatal("a line-rate flood never waited for the gate")
	}
}

func TestGateAsksForANudgeOncePerWait(t *testing.T) {
	now := time.Unix(0, 0)
	g := NewGate(10*time.Millisecond, func() time.Time { return now })
	asked := 0
	g.OnWait(func() { asked++ })
	if err := g.Wait(context.Background()); err != nil || asked != 0 {
		t.Fatalf("within the budget: %v, asked %d times", err, asked)
	}
	now = now.Add(11 * time.Millisecond)
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- g.Wait(context.Background()) }()
	}
	for deadline := time.Now().Add(5 * time.Second); g.Waits() < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 submissions waiting", g.Waits())
		}
		time.Sleep(time.Millisecond)
	}
	g.Nudge()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if asked != 1 {
		t.Fatalf("two waits before one nudge asked %d times, want once", asked)
	}
	if err := g.Wait(context.Background()); err != nil || asked != 1 {
		t.Fatalf("a nudge starts a budget: %v, asked %d times", err, asked)
	}
	now = now.Add(11 * time.Millisecond)
	go func() { done <- g.Wait(context.Background()) }()
	for deadline := time.Now().Add(5 * time.Second); g.Waits() < 3; {
		if time.Now().After(deadline) {
			t.Fatal("the third submission never waited")
		}
		time.Sleep(time.Millisecond)
	}
	g.Tick(16*time.Millisecond, 0)
	if err := <-done; err != nil || asked != 2 {
		t.Fatalf("a wait after the nudge: %v, asked %d times, want 2", err, asked)
	}
}

// A ping count above the capture driver's send buffers (16): the pings beyond them wait for a
// buffer to come home instead of failing the whole send, and each is counted once.
func TestPingMoreThanTheSendBuffersAtOnce(t *testing.T) {
	s := newSession(t, Config{})
	startBound(t, s, "AX88179", "quiet")
	before := s.Adapter().Station
	if err := s.Send("ping", SendOptions{Count: 100, Size: 1400}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "100 ping replies", func() bool { return s.Adapter().Station.PingReplies-before.PingReplies == 100 })
	after := s.Adapter().Station
	if sent := after.PingsSent - before.PingsSent; sent != 100 || after.SendErrors != before.SendErrors {
		t.Errorf("%d pings sent, %d send errors; want 100 and none", sent, after.SendErrors-before.SendErrors)
	}
}
