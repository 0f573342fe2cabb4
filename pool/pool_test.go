package pool

import (
	"bytes"
	"errors"
	"testing"
)

// specs/ndis.md §9 item 2: a fresh NBL names its pool, has Next and Scratch nil and, for shapes B
// and C, exactly one NB.
func TestAllocateNBLGivesFreshNBLPerShape(t *testing.T) {
	for _, tt := range []struct {
		params  Params
		wantNB  bool
		dataLen uint32
	}{
		{shapeA, false, 0},
		{shapeB, true, 0},
		{shapeC, true, 64},
	} {
		t.Run(tt.params.Name, func(t *testing.T) {
			p := newPool(t, tt.params)
			h := mustAlloc(t, p)
			// Dirty every field, free, and allocate the same slot again.
			p.SetNext(h, h)
			p.SetScratch(h, 7)
			p.SetStatus(h, 0xC000009A)
			p.SetFlags(h, 0xF000)
			p.SetNblFlags(h, 0x200)
			p.SetSourceHandle(h, 42)
			p.MiniportReserved(h)[1] = 5
			p.ProtocolReserved(h)[3] = 6
			if err := p.SetOwner(h, 9); err != nil {
				t.Fatal(err)
			}
			mustFree(t, h)
			h2 := mustAlloc(t, p)
			if p.Index(h2) != p.Index(h) || h2 == h {
				t.Fatalf("slot reuse: %v then %v", h, h2)
			}
			if PoolOf(h2) != p {
				t.Errorf("PoolOf = %v", PoolOf(h2))
			}
			if p.Next(h2) != 0 || p.Scratch(h2) != 0 || p.Status(h2) != 0 || p.Flags(h2) != 0 ||
				p.NblFlags(h2) != 0 || p.SourceHandle(h2) != 0 || *p.MiniportReserved(h2) != [2]uint64{} ||
				*p.ProtocolReserved(h2) != [4]uint64{} || p.Owner(h2) != OwnerAllocated || len(p.Context(h2)) != 0 {
				t.Errorf("reallocated NBL keeps old fields")
			}
			nb := p.FirstNB(h2)
			if (nb != 0) != tt.wantNB || p.NBOf(h2) != nb {
				t.Fatalf("FirstNB %v, NBOf %v, want NB: %v", nb, p.NBOf(h2), tt.wantNB)
			}
			if !tt.wantNB {
				return
			}
			if p.NextNB(nb) != 0 || p.DataOffset(nb) != 0 || p.DataLength(nb) != tt.dataLen || len(p.Buffer(nb)) != int(tt.dataLen) {
				t.Errorf("NB: next %v offset %d length %d buffer %d", p.NextNB(nb), p.DataOffset(nb), p.DataLength(nb), len(p.Buffer(nb)))
			}
			if err := p.CheckNB(nb); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestNBLFieldsRoundTrip(t *testing.T) {
	p := newPool(t, shapeB)
	h, other := mustAlloc(t, p), mustAlloc(t, p)
	p.SetSourceHandle(h, 0x1234)
	p.SetStatus(h, 0x103)
	p.SetFlags(h, 0xFFF00003)
	p.SetNblFlags(h, 0x2)
	p.SetScratch(h, 1<<40)
	p.MiniportReserved(h)[0] = 11
	p.ProtocolReserved(h)[2] = 22
	if err := p.SetNext(h, other); err != nil {
		t.Fatal(err)
	}
	if err := p.SetFirstNB(h, p.NBOf(other)); err != nil {
		t.Fatal(err)
	}
	if err := p.SetOwner(h, 63); err != nil {
		t.Fatal(err)
	}
	if p.SourceHandle(h) != 0x1234 || p.Status(h) != 0x103 || p.Flags(h) != 0xFFF00003 || p.NblFlags(h) != 2 ||
		p.Scratch(h) != 1<<40 || p.MiniportReserved(h)[0] != 11 || p.ProtocolReserved(h)[2] != 22 ||
		p.Next(h) != other || p.FirstNB(h) != p.NBOf(other) || p.Owner(h) != 63 {
		t.Error("a field did not keep its value")
	}
	if p.Status(other) != 0 || p.Owner(other) != OwnerAllocated {
		t.Error("writing h changed another NBL")
	}
	if err := p.SetFirstNB(h, 0); err != nil || p.FirstNB(h) != 0 {
		t.Errorf("SetFirstNB(0): %v", err)
	}
}

// §9 item 4 (exhaustion: nil and no counter change but Failures) and item 13.
func TestExhaustionReturnsNilAndKeepsCounters(t *testing.T) {
	p := newPool(t, shapeC)
	var hs []NBL
	for range 4 {
		hs = append(hs, mustAlloc(t, p))
	}
	before := p.Stats()
	h, err := p.AllocateNBL(0, 0)
	if h != 0 || !errors.Is(err, ErrExhausted) {
		t.Fatalf("got %v, %v; want 0, ErrExhausted", h, err)
	}
	var ex *ExhaustedError
	if !errors.As(err, &ex) || ex.Pool != "shape C" || ex.Resource != "NBL" {
		t.Errorf("error %v does not name pool and resource", err)
	}
	c := p.NewCache(2)
	if h, err := c.AllocateNBL(); h != 0 || !errors.Is(err, ErrExhausted) {
		t.Fatalf("cache: got %v, %v", h, err)
	}
	after := p.Stats()
	if after.Failures != before.Failures+2 {
		t.Errorf("Failures %d -> %d", before.Failures, after.Failures)
	}
	after.Failures = before.Failures
	if after != before {
		t.Errorf("stats changed on exhaustion:\n%+v\n%+v", before, after)
	}
	for _, h := range hs {
		mustFree(t, h)
	}
	if err := p.Free(); err != nil {
		t.Fatal(err)
	}
}

func TestContextThatDoesNotFitIsExhaustion(t *testing.T) {
	p := newPool(t, Params{Name: "ctx", ContextSize: 32, Capacity: 2})
	before := p.Stats()
	// 32 preallocated + 64 growth = 96 bytes per NBL.
	if h, err := p.AllocateNBL(96, 16); h != 0 || !errors.Is(err, ErrExhausted) {
		t.Fatalf("got %v, %v", h, err)
	}
	if s := p.Stats(); s.Failures != before.Failures+1 || s.Allocated != 0 {
		t.Errorf("stats %+v", s)
	}
	h, err := p.AllocateNBL(80, 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Context(h)) != 80 {
		t.Errorf("context %d bytes, want 80", len(p.Context(h)))
	}
}

// §9 item 3 and §2.3: NdisAllocateNetBufferAndNetBufferList.
func TestAllocateNBLAndNBAttachesCallerMDL(t *testing.T) {
	p := newPool(t, shapeB)
	mdl := []byte("0123456789abcdef")
	h, err := p.AllocateNBLAndNB(0, 0, mdl, 4, 8)
	if err != nil {
		t.Fatal(err)
	}
	nb := p.FirstNB(h)
	if got := p.Data(nb); string(got) != "456789ab" {
		t.Errorf("Data = %q", got)
	}
	if p.DataOffset(nb) != 4 || p.DataLength(nb) != 8 || &p.Buffer(nb)[0] != &mdl[0] {
		t.Error("NB does not describe the caller's MDL")
	}
	h0, err := p.AllocateNBLAndNB(0, 0, nil, 0, 0)
	if err != nil || p.Data(p.FirstNB(h0)) != nil {
		t.Fatalf("nil MDL: %v, %q", err, p.Data(p.FirstNB(h0)))
	}
	// §9 item 12: freeing frees the NB, not the caller's buffer.
	mustFree(t, h)
	if string(mdl) != "0123456789abcdef" {
		t.Error("free touched the caller's buffer")
	}
}

func TestFreeWithOutstandingListsThem(t *testing.T) {
	p := newPool(t, shapeB)
	a, b := mustAlloc(t, p), mustAlloc(t, p)
	if err := p.SetOwner(b, 5); err != nil {
		t.Fatal(err)
	}
	c := p.NewCache(4)
	fromCache, err := c.AllocateNBL()
	if err != nil {
		t.Fatal(err)
	}
	err = p.Free()
	m := wantMisuse(t, err, PoolFreeWithOutstanding)
	want := map[NBL]bool{a: true, b: true, fromCache: true}
	if len(m.Handles) != 3 {
		t.Fatalf("Handles %v, want %v", m.Handles, want)
	}
	for _, h := range m.Handles {
		if !want[h] {
			t.Errorf("listed %v, want %v", h, want)
		}
	}
	// Free refused: everything still works.
	mustFree(t, a)
	mustFree(t, b)
	if err := c.FreeNBL(fromCache); err != nil {
		t.Fatal(err)
	}
	m = wantMisuse(t, p.Free(), PoolFreeWithOutstanding)
	if len(m.Handles) != 0 || !bytes.Contains([]byte(m.Detail), []byte("parked in Caches")) {
		t.Errorf("parked NBLs: %v", m)
	}
	c.Flush()
	if err := p.Free(); err != nil {
		t.Fatal(err)
	}
	// After Free every handle is dead and allocation is refused.
	wantMisuse(t, FreeNBL(a), NonPoolNBL)
	if PoolOf(a) != nil {
		t.Error("PoolOf finds a freed pool")
	}
	_, err = p.AllocateNBL(0, 0)
	wantMisuse(t, err, UseAfterFree)
	_, err = c.AllocateNBL()
	wantMisuse(t, err, UseAfterFree)
	wantMisuse(t, p.Free(), DoubleFree)
}

func TestChainsCrossPoolsAndCyclesAreCaught(t *testing.T) {
	p, q := newPool(t, shapeB), newPool(t, shapeA)
	a, b := mustAlloc(t, p), mustAlloc(t, p)
	x := mustAlloc(t, q)
	if n := ChainLength(p, a); n != 1 {
		t.Errorf("single NBL: %d", n)
	}
	for _, link := range [][2]NBL{{a, b}, {b, x}} {
		pool := PoolOf(link[0])
		if err := pool.SetNext(link[0], link[1]); err != nil {
			t.Fatal(err)
		}
	}
	if n := ChainLength(p, a); n != 3 {
		t.Errorf("a->b->x: %d", n)
	}
	if n := ChainLength(p, 0); n != 0 {
		t.Errorf("nil chain: %d", n)
	}
	if err := q.SetNext(x, a); err != nil { // a->b->x->a
		t.Fatal(err)
	}
	if n := ChainLength(p, a); n != -1 {
		t.Errorf("cycle: %d", n)
	}
	if err := q.SetNext(x, x); err != nil {
		t.Fatal(err)
	}
	if n := ChainLength(q, x); n != -1 {
		t.Errorf("self loop: %d", n)
	}
	if err := q.SetNext(x, 0); err != nil {
		t.Fatal(err)
	}
	mustFree(t, x)
	if n := ChainLength(p, a); n != -1 {
		t.Errorf("chain through a freed NBL: %d", n)
	}
	wantMisuse(t, p.SetNext(a, x), UseAfterFree)
	wantMisuse(t, p.SetNext(a, NBL(0x00000001)), NonPoolNBL)
}

// §3.5 and §10 row 12.
func TestCheckEthernetNeedsOneNBWithinMaxSize(t *testing.T) {
	p := newPool(t, shapeC)
	a, b := mustAlloc(t, p), mustAlloc(t, p)
	if err := p.CheckEthernet(a, 64); err != nil {
		t.Errorf("one 64-byte NB: %v", err)
	}
	wantMisuse(t, p.CheckEthernet(a, 63), BadEthernetNBL)
	if err := p.SetNextNB(p.FirstNB(a), p.NBOf(b)); err != nil {
		t.Fatal(err)
	}
	wantMisuse(t, p.CheckEthernet(a, 1514), BadEthernetNBL)
	if err := p.SetFirstNB(a, 0); err != nil {
		t.Fatal(err)
	}
	wantMisuse(t, p.CheckEthernet(a, 1514), BadEthernetNBL)
	onlyNBL := newPool(t, shapeA)
	wantMisuse(t, onlyNBL.CheckEthernet(mustAlloc(t, onlyNBL), 1514), BadEthernetNBL)
}

func TestStringsNameHandlesAndPools(t *testing.T) {
	if got := NBL(0x03000001).String(); got != "NBL 0x03000001" {
		t.Errorf("NBL String = %q", got)
	}
	if got := NB(0x03800001).String(); got != "NB 0x03800001" {
		t.Errorf("NB String = %q", got)
	}
	p := newPool(t, shapeA)
	h := mustAlloc(t, p)
	want := "NBL pool " + string(appendHex8(nil, uint32(h))[:2]) + ` "shape A"`
	if p.String() != want {
		t.Errorf("String = %q, want %q", p.String(), want)
	}
}
