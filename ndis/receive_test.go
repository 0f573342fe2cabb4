package ndis_test

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/pool"
)

var seedFlag = flag.Uint64("ndis.seed", 0, "seed for the property tests (0: from the clock)")

func testSeed(t *testing.T) uint64 {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -ndis.seed=%d)", seed, seed)
	return seed
}

// TestReturnsInAnyOrderAndGroupingConserveNBLs is the property test of specs/ndis.md §9 items 5,
// 7 and 9: a random protocol scheduler returns held NBLs in any order and grouping, mixing NBLs
// of different indications, while frames keep arriving (some filtered, some dropped when the free
// list is empty). After every step the engine, the pool's owner map and a reference model agree.
func TestReturnsInAnyOrderAndGroupingConserveNBLs(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 1))
	const n = 24
	r := newRig(t, n, 0, true)
	a, m, proto := r.a, r.m, r.p

	// The reference model: which frames the protocol holds, in arrival order, and how many
	// frames were dropped for want of a buffer.
	var model struct {
		held            [][]byte
		dropped, filter uint64
	}
	dsts := [][6]byte{ourMAC, ourMAC, bcastMAC, mcastMAC, otherMAC}
	r.setFilter(t, ndis.FilterDirected|ndis.FilterBroadcast)

	for step := 0; step < 3000; step++ {
		switch op := rng.IntN(10); {
		case op < 5: // a USB transfer with 1..8 frames arrives
			k := 1 + rng.IntN(8)
			var frames [][]byte
			free := n - len(model.held)
			for range k {
				d := dsts[rng.IntN(len(dsts))]
				f := frame(d, 60+rng.IntN(1455), byte(step))
				frames = append(frames, f)
				switch {
				case free == 0:
					model.dropped++
				case d == mcastMAC || d == otherMAC: // filtered: back to the free list at once
					model.filter++
				default:
					model.held = append(model.held, f)
					free--
				}
			}
			m.receive(t, frames...)
		default: // the protocol returns a random subset, shuffled, in 1..3 calls
			h := proto.heldCount()
			if h == 0 {
				continue
			}
			pick := rng.Perm(h)[:1+rng.IntN(h)]
			for len(pick) > 0 {
				cut := 1 + rng.IntN(len(pick))
				proto.mu.Lock()
				frames := make([][]byte, 0, cut)
				for _, i := range pick[:cut] {
					frames = append(frames, frameOf(proto.held[i]))
				}
				proto.mu.Unlock()
				if err := proto.giveBack(pick[:cut]...); err != nil {
					t.Fatalf("step %d: return: %v", step, err)
				}
				for _, f := range frames {
					model.held = removeFrame(t, model.held, f)
				}
				pick = renumber(pick[cut:], pick[:cut])
			}
		}

		// The invariant, checked three ways.
		if err := m.rx.Audit(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		c := m.rx.Counts()
		if c.Outstanding != len(model.held) || a.Outstanding() != len(model.held) || proto.heldCount() != len(model.held) {
			t.Fatalf("step %d: engine %d, adapter %d, protocol %d outstanding; model %d", step, c.Outstanding, a.Outstanding(), proto.heldCount(), len(model.held))
		}
		if c.Free != n-len(model.held) || c.Dropped != model.dropped || c.Filtered != model.filter {
			t.Fatalf("step %d: counts %+v; model: free %d, dropped %d, filtered %d", step, c, n-len(model.held), model.dropped, model.filter)
		}
	}
	if len(a.Reports()) != 0 {
		t.Fatalf("reports: %v", a.Reports()[0].Err)
	}
	st := a.Statistics()
	if st.RxNoBuffer != model.dropped || st.InDiscards != model.dropped {
		t.Fatalf("RxNoBuffer %d, ifInDiscards %d; %d frames were dropped", st.RxNoBuffer, st.InDiscards, model.dropped)
	}
	if err := proto.giveBackAll(); err != nil {
		t.Fatal(err)
	}
	if err := a.Pause(); err != nil || a.State() != ndis.Paused {
		t.Fatalf("pause: %v (%v)", err, a.State())
	}
}

// frameOf returns the frame a receive NBL holds.
func frameOf(h pool.NBL) []byte {
	p := pool.PoolOf(h)
	return p.Data(p.FirstNB(h))
}

// removeFrame deletes one frame equal to f from held; the frame must be there.
func removeFrame(t *testing.T, held [][]byte, f []byte) [][]byte {
	t.Helper()
	for i, h := range held {
		if string(h) == string(f) {
			return append(held[:i], held[i+1:]...)
		}
	}
	t.Fatalf("the protocol returned a frame it was never indicated")
	return nil
}

// renumber maps held-list positions in rest to positions after the positions in gone are removed.
func renumber(rest, gone []int) []int {
	out := make([]int, len(rest))
	for j, i := range rest {
		shift := 0
		for _, g := range gone {
			if g < i {
				shift++
			}
		}
		out[j] = i - shift
	}
	return out
}

// TestIndicateWithResourcesReturnsChainUnchanged: below the low watermark the engine indicates
// with RESOURCES; the protocol sees the flag and copies; when the call returns every NBL is on the
// free list again, ReturnNBLs was never called for them, and the chain was walked back through the
// links it had before the call.
func TestIndicateWithResourcesReturnsChainUnchanged(t *testing.T) {
	const n, low = 8, 3
	r := newRig(t, n, low, true)
	a, m, proto := r.a, r.m, r.p

	m.receive(t, frame(ourMAC, 60, 1), frame(ourMAC, 60, 2), frame(ourMAC, 60, 3), frame(ourMAC, 60, 4))
	if proto.resourcesSeen != 0 || proto.heldCount() != 4 {
		t.Fatalf("with 4 of 8 free: %d RESOURCES indications, %d held; want a normal indication", proto.resourcesSeen, proto.heldCount())
	}

	var during []pool.NBL
	proto.tamper = func(p *pool.Pool, chain pool.NBL) {
		for h := chain; h != 0; h = p.Next(h) {
			during = append(during, h)
			if o := p.Owner(h); o != ndis.OwnerLentResources {
				t.Errorf("during the call %v has owner %s", h, ndis.OwnerName(o))
			}
		}
	}
	m.receive(t, frame(ourMAC, 61, 5), frame(bcastMAC, 62, 6))
	if proto.resourcesSeen != 1 || len(during) != 2 {
		t.Fatalf("with 2 of 8 free: %d RESOURCES indications of %d NBLs; want 1 of 2", proto.resourcesSeen, len(during))
	}
	if proto.heldCount() != 4 || m.returned != 0 {
		t.Fatalf("protocol holds %d (want 4), ReturnNBLs saw %d (want 0)", proto.heldCount(), m.returned)
	}
	if c := m.rx.Counts(); c.Free != n-4 || c.LentResources != 0 || c.ResourcesIndications != 1 {
		t.Fatalf("after the RESOURCES call: %+v", c)
	}
	checkConserved(t, m.rx)
	if got := string(proto.frames[len(proto.frames)-1]); got != string(frame(bcastMAC, 62, 6)) {
		t.Fatalf("the protocol's copy of the last frame differs")
	}
	// The log: indicated with RESOURCES, reclaimed in chain order, recycled; never Returned.
	var reclaimed []pool.NBL
	for _, e := range a.NBLLog(0) {
		switch {
		case e.Kind == ndis.LogReclaimed:
			reclaimed = append(reclaimed, e.NBL)
		case e.Kind == ndis.LogReturned && (e.NBL == during[0] || e.NBL == during[1]):
			t.Errorf("%v of a RESOURCES indication was returned", e.NBL)
		}
	}
	if len(reclaimed) != 2 || reclaimed[0] != during[0] || reclaimed[1] != during[1] {
		t.Fatalf("reclaimed %v, want the chain %v in order", reclaimed, during)
	}
	if len(a.Reports()) != 0 {
		t.Fatalf("reports: %v", a.Reports()[0].Err)
	}
}

// TestResourcesChainTamperedIsRestoredAndReported: a protocol that cuts the chain during a
// RESOURCES indication is CHAIN_NOT_RESTORED; the miniport still gets every NBL back.
func TestResourcesChainTamperedIsRestoredAndReported(t *testing.T) {
	r := newRig(t, 4, 4, true) // every flush uses RESOURCES
	r.p.tamper = func(p *pool.Pool, chain pool.NBL) { _ = p.SetNext(chain, 0) }
	r.m.receive(t, frame(ourMAC, 60, 1), frame(ourMAC, 60, 2), frame(ourMAC, 60, 3))
	if !hasReport(r.a, pool.ChainNotRestored) {
		t.Fatalf("no CHAIN_NOT_RESTORED; reports %v", r.a.Reports())
	}
	if c := r.m.rx.Counts(); c.Free != 4 {
		t.Fatalf("after a tampered RESOURCES indication %d of 4 NBLs are free", c.Free)
	}
	checkConserved(t, r.m.rx)
}

// TestFreeListEmptyDropsAndCounts: with every NBL held, an arriving frame is dropped and
// RxNoBuffer / ifInDiscards go up by exactly one (§9 item 5).
func TestFreeListEmptyDropsAndCounts(t *testing.T) {
	r := newRig(t, 2, 0, true)
	r.m.receive(t, frame(ourMAC, 60, 1), frame(ourMAC, 60, 2))
	before := r.a.Statistics()
	r.m.receive(t, frame(ourMAC, 60, 3))
	after := r.a.Statistics()
	if after.RxNoBuffer-before.RxNoBuffer != 1 || after.InDiscards-before.InDiscards != 1 {
		t.Fatalf("RxNoBuffer %d→%d, ifInDiscards %d→%d; want +1 each", before.RxNoBuffer, after.RxNoBuffer, before.InDiscards, after.InDiscards)
	}
	if after.InUcastPkts != 2 {
		t.Fatalf("ifHCInUcastPkts %d, want 2 (the dropped frame is not received)", after.InUcastPkts)
	}
	found := false
	for _, e := range r.a.NBLLog(0) {
		found = found || e.Kind == ndis.LogDropped
	}
	if !found {
		t.Fatal("no Dropped event in the log")
	}
}

// TestStatisticsCountIndicatedFrames: the in-packet counters add up to the indicated frames and
// the octet counters to their lengths (§9 item 23).
func TestStatisticsCountIndicatedFrames(t *testing.T) {
	r := newRig(t, 16, 0, true)
	r.setFilter(t, ndis.FilterDirected|ndis.FilterBroadcast|ndis.FilterAllMulticast)
	r.m.receive(t, frame(ourMAC, 60, 1), frame(ourMAC, 1514, 2), frame(bcastMAC, 342, 3), frame(mcastMAC, 90, 4), frame(otherMAC, 70, 5))
	s := r.a.Statistics()
	want := ndis.Statistics{InOctets: 60 + 1514 + 342 + 90, InUcastPkts: 2, InMulticastPkts: 1, InBroadcastPkts: 1,
		InUcastOctets: 1574, InMulticastOctets: 90, InBroadcastOctets: 342}
	if s != want {
		t.Fatalf("statistics\n got %+v\nwant %+v", s, want)
	}
	if got := s.InUcastPkts + s.InMulticastPkts + s.InBroadcastPkts; got != uint64(len(r.p.frames)) {
		t.Fatalf("%d frames counted, %d indicated", got, len(r.p.frames))
	}
}

// TestPostedBuffersCountTowardConservation: NBLs posted to the device are part of the invariant,
// and a posted NBL the device filled is indicated like a taken one.
func TestPostedBuffersCountTowardConservation(t *testing.T) {
	r := newRig(t, 4, 0, true)
	h1, buf := r.m.rx.Post()
	h2, _ := r.m.rx.Post()
	if c := r.m.rx.Counts(); c.Posted != 2 || c.Free != 2 {
		t.Fatalf("after posting 2: %+v", c)
	}
	checkConserved(t, r.m.rx)
	n := copy(buf, frame(ourMAC, 60, 9))
	if err := r.m.rx.Commit(h1, n); err != nil {
		t.Fatal(err)
	}
	if err := r.m.rx.Flush(0); err != nil {
		t.Fatal(err)
	}
	if err := r.m.rx.Recycle(h2); err != nil {
		t.Fatal(err)
	}
	if c := r.m.rx.Counts(); c.Posted != 0 || c.Outstanding != 1 || c.Free != 3 {
		t.Fatalf("after fill, flush, recycle: %+v", c)
	}
	checkConserved(t, r.m.rx)
	hist := r.a.NBLHistory(h1)
	kinds := []ndis.LogKind{}
	for _, e := range hist {
		kinds = append(kinds, e.Kind)
	}
	want := []ndis.LogKind{ndis.LogAllocated, ndis.LogPosted, ndis.LogDeviceFilled, ndis.LogIndicated}
	if len(kinds) != len(want) {
		t.Fatalf("history %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("history %v, want %v", kinds, want)
		}
	}
}
