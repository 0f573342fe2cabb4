package ndis_test

import (
	"strings"
	"testing"

	"webminiport/ndis"
	"webminiport/pool"
)

// TestSeedReceiveBufferStory runs the WDK page "Miniport Driver Buffer Management" step by step:
// the miniport creates an NBL pool with NET_BUFFERs in its initialize handler, preallocates every
// receive NBL, indicates received frames, takes the returned NBLs back onto its own free list (not
// into the pool), and when halted frees every NBL and then the pool.
func TestSeedReceiveBufferStory(t *testing.T) {
	const n = 8
	r := newRig(t, n, 0, false)
	a, m, proto := r.a, r.m, r.p

	// 1. Initialize made one pool with AllocateNB (shape C: NBL + NB + data) and preallocated all
	//    n NBLs onto the miniport's free list.
	pools := a.NBLPools()
	if len(pools) != 1 {
		t.Fatalf("after initialize: %d pools, want the miniport's receive pool", len(pools))
	}
	rxPool := pools[0]
	if rxPool.Flags != "CONTAINS_NET_BUFFER" || rxPool.Shape != pool.ShapeNBLWithData || rxPool.DataSize != 2048 {
		t.Fatalf("receive pool %+v: want CONTAINS_NET_BUFFER, shape C, data size 2048", rxPool)
	}
	if !strings.Contains(rxPool.AllocatedBy, "Initialize") {
		t.Errorf("pool allocated by %q, want the miniport's initialize handler", rxPool.AllocatedBy)
	}
	if st := rxPool.Stats; st.Allocated != n || st.PerOwner[ndis.OwnerMiniportFree] != n {
		t.Fatalf("after initialize: %d allocated, %d on the free list; want %d and %d", st.Allocated, st.PerOwner[ndis.OwnerMiniportFree], n, n)
	}

	// 2. The adapter runs; three frames arrive and are indicated as one chain.
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	r.setFilter(t, ndis.FilterDirected|ndis.FilterBroadcast)
	m.receive(t, frame(ourMAC, 60, 1), frame(bcastMAC, 342, 2), frame(ourMAC, 1514, 3))
	if got := proto.heldCount(); got != 3 {
		t.Fatalf("protocol holds %d NBLs, want 3", got)
	}
	if c := m.rx.Counts(); c.Free != n-3 || c.Outstanding != 3 {
		t.Fatalf("after indicating 3: %+v", c)
	}
	checkConserved(t, m.rx)

	// 3. The protocol returns them, one by one and out of order; each goes back onto the free
	//    list, and the pool never sees them: it still has all n allocated.
	for _, i := range []int{2, 0, 0} {
		if err := proto.giveBack(i); err != nil {
			t.Fatal(err)
		}
		checkConserved(t, m.rx)
	}
	if c := m.rx.Counts(); c.Free != n || c.Outstanding != 0 || m.returned != 3 {
		t.Fatalf("after the returns: %+v, %d through ReturnNBLs", c, m.returned)
	}
	st := m.rx.Pool().Stats()
	if st.Allocated != n || st.PerOwner[ndis.OwnerMiniportFree] != n {
		t.Fatalf("returned NBLs must go to the free list, not the pool: %d allocated, %d on the free list", st.Allocated, st.PerOwner[ndis.OwnerMiniportFree])
	}

	// 4. The NBLs are reused: the next frame takes the most recently returned NBL.
	m.receive(t, frame(ourMAC, 100, 4))
	if st := m.rx.Pool().Stats(); st.Allocated != n {
		t.Fatalf("reuse allocated from the pool: %d allocated", st.Allocated)
	}
	if err := proto.giveBackAll(); err != nil {
		t.Fatal(err)
	}

	// 5. Pause, then halt: every free-list NBL is freed, then the pool.
	if err := a.Pause(); err != nil || a.State() != ndis.Paused {
		t.Fatalf("pause: %v, state %v", err, a.State())
	}
	if err := a.Unbind(); err != nil {
		t.Fatal(err)
	}
	if err := a.Halt(ndis.HaltDeviceDisabled); err != nil {
		t.Fatalf("halt: %v", err)
	}
	if m.haltErr != nil {
		t.Fatalf("halt handler: %v", m.haltErr)
	}
	if len(a.NBLPools()) != 0 {
		t.Fatalf("after halt pools remain: %+v", a.NBLPools())
	}
	// The pool could only be freed after every NBL (FreeNBLPool fails otherwise, and would be
	// in Reports): halt freed all n, and nothing was reported.
	freed := 0
	for _, e := range a.NBLLog(0) {
		if e.Kind == ndis.LogFreed {
			freed++
		}
	}
	if freed != n || len(a.Reports()) != 0 {
		t.Fatalf("halt freed %d NBLs (want %d); reports: %+v", freed, n, a.Reports())
	}
	// Every NBL's life reads Allocated ... Freed.
	for _, e := range a.NBLLog(0) {
		if e.Kind != ndis.LogAllocated {
			continue
		}
		h := a.NBLHistory(e.NBL)
		if h[0].Kind != ndis.LogAllocated || h[len(h)-1].Kind != ndis.LogFreed {
			t.Errorf("history of %v: %v ... %v, want Allocated ... Freed", e.NBL, h[0].Kind, h[len(h)-1].Kind)
		}
	}
}

func checkConserved(t testing.TB, rx *ndis.RxEngine) {
	t.Helper()
	if err := rx.Audit(); err != nil {
		t.Fatal(err)
	}
}
