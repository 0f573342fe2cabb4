package pool

import (
	"strings"
	"testing"
)

func TestStatsCopyOwnersAndAllocationsAgree(t *testing.T) {
	p := newPool(t, Params{Name: "v", AllocateNB: true, Capacity: 6})
	a, b := mustAlloc(t, p), mustAlloc(t, p)
	freedOne := mustAlloc(t, p)
	mustFree(t, freedOne)
	if err := p.SetOwner(b, 12); err != nil {
		t.Fatal(err)
	}
	c := p.NewCache(2)
	parked, err := c.AllocateNBL()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.FreeNBL(parked); err != nil {
		t.Fatal(err)
	}
	s := checkInvariants(t, p)
	want := Stats{Capacity: 6, Allocated: 3, Free: 3, HighWater: 3, CacheHeld: 1}
	want.PerOwner[OwnerPool] = 3
	want.PerOwner[OwnerAllocated] = 2
	want.PerOwner[12] = 1
	if s != want {
		t.Errorf("Stats\n got %+v\nwant %+v", s, want)
	}
	owners := make([]byte, 8)
	if n := p.CopyOwners(owners); n != 6 {
		t.Errorf("CopyOwners copied %d", n)
	}
	// Slot 0: a, slot 1: b, slot 2: freed, slot 2 again for the Cache (LIFO), rest never used.
	if got := owners[:6]; string(got) != string([]byte{1, 12, 1, 0, 0, 0}) {
		t.Errorf("owners %v", got)
	}
	if n := p.CopyOwners(owners[:2]); n != 2 {
		t.Errorf("short dst: %d", n)
	}
	allocs := p.Allocations(make([]Allocation, 0, 6))
	wantAllocs := []Allocation{
		{Handle: a, Index: 0, Active: true, Owner: OwnerAllocated},
		{Handle: b, Index: 1, Active: true, Owner: 12},
		{Index: 2, Active: true, Owner: OwnerAllocated, Cached: true},
		{Index: 3}, {Index: 4}, {Index: 5},
	}
	if len(allocs) != len(wantAllocs) {
		t.Fatalf("Allocations: %+v", allocs)
	}
	for i := range allocs {
		if allocs[i] != wantAllocs[i] {
			t.Errorf("row %d: %+v, want %+v", i, allocs[i], wantAllocs[i])
		}
	}
	for i, want := range []NBL{a, b, 0, 0, 0, 0, 0} {
		if got := p.HandleAt(i); got != want {
			t.Errorf("HandleAt(%d) = %v, want %v", i, got, want)
		}
	}
	if p.HandleAt(-1) != 0 || p.Index(0) != -1 || p.Index(a|NBL(kindNB)) != -1 {
		t.Error("out-of-range slot or handle accepted")
	}
	c.Flush()
	// The flushed slot shows the handle last freed.
	if row := p.Allocations(allocs)[2]; row.Active || row.Cached || row.Handle != parked {
		t.Errorf("flushed row %+v, want handle %v", row, parked)
	}
}

// The layout follows the !ndiskd.nblpool example of specs/ndis.md §7 (debugger docs): 4-space
// indent, names padded to 19 columns, 0n for nonzero decimals.
func TestAppendViewRendersNdiskdNblpool(t *testing.T) {
	p := newPool(t, Params{Name: "usbnic rx", Tag: MakeTag("WmRx"), AllocateNB: true, DataSize: 2048, Capacity: 8})
	h := mustAlloc(t, p)
	id := string(appendHex8(nil, uint32(h)&0xff000000))
	size := strings.TrimPrefix(windbgDecimal(uint64(structSizeNBL(p))), "0n")
	want := "NBL POOL\n" +
		"\n" +
		"    Ndis handle        " + id + "\n" +
		"    Allocation tag     WmRx\n" +
		"    Allocated by       usbnic rx\n" +
		"\n" +
		"    Flags              CONTAINS_NET_BUFFER\n" +
		"    Structure size     0n" + size + "\n" +
		"    Context size       0\n" +
		"    Data size          0n2048\n" +
		"\n" +
		"    All allocated NBLs\n"
	if got := string(p.AppendView(nil)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	v := newPool(t, Params{Name: "v", ContextSize: 16, Capacity: 1, Verify: true})
	if got := string(v.AppendView(nil)); !strings.Contains(got, "    Flags              VERIFY\n") || !strings.Contains(got, "    Context size       0n16\n") {
		t.Errorf("verify pool view:\n%s", got)
	}
	a := newPool(t, Params{Name: "a", Capacity: 1})
	if got := string(a.AppendView(nil)); !strings.Contains(got, "    Flags              [No flags set]\n") {
		t.Errorf("plain pool view:\n%s", got)
	}
	nbp := newNBPool(t, NBPoolParams{Name: "hdr", Tag: MakeTag("Nnbf"), Capacity: 1})
	nbView := string(nbp.AppendView(nil))
	for _, line := range []string{"NB POOL\n\n", "    Allocation tag     Nnbf\n", "    Flags              [No flags set]\n", "    Data size          0\n", "    All allocated NBs\n"} {
		if !strings.Contains(nbView, line) {
			t.Errorf("NB pool view lacks %q:\n%s", line, nbView)
		}
	}
	if nbp.String() != "NB pool "+string(appendHex8(nil, nbp.id)[:2])+` "hdr"` {
		t.Errorf("NB pool String %q", nbp.String())
	}
}

// structSizeNBL recomputes what the view calls Structure size, from the field sizes the
// package documentation lists.
func structSizeNBL(p *Pool) int {
	const nblHeaderBytes = 6*4 + 8 + 2*8 + 4*8 + 2*4
	nbHeaderBytes := 3*ptrSize + 6*4
	return nblHeaderBytes + 2*4 + int(p.ctxCap) + nbHeaderBytes
}

const ptrSize = 4 << (^uintptr(0) >> 63)

func TestAppendAllocationsViewListsAndStopsAt1024(t *testing.T) {
	p := newPool(t, Params{Name: "big", Capacity: 1100})
	h := mustAlloc(t, p)
	mustFree(t, mustAlloc(t, p)) // slot 1, on top of the free list
	c := p.NewCache(4)
	fromCache, err := c.AllocateNBL() // refills slots 1 and 2, hands out 1
	if err != nil {
		t.Fatal(err)
	}
	want := "ALL ALLOCATED NBLs\n\n    NBL                Active?\n" +
		"    " + string(appendHex8(nil, uint32(h))) + "           Allocated\n" +
		"    slot 1             Cached\n" +
		"    slot 2             Cached\n"
	if got := string(p.AppendAllocationsView(nil, false)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := c.FreeNBL(fromCache); err != nil {
		t.Fatal(err)
	}
	c.Flush()
	want = "ALL ALLOCATED NBLs\n\n    NBL                Active?\n" +
		"    " + string(appendHex8(nil, uint32(h))) + "           Allocated\n" +
		"    " + string(appendHex8(nil, uint32(fromCache))) + "           Freed\n"
	if got := string(p.AppendAllocationsView(nil, false)); got != want {
		t.Errorf("after flush got\n%s\nwant\n%s", got, want)
	}
	for range 1100 - 1 {
		mustAlloc(t, p)
	}
	limited := string(p.AppendAllocationsView(nil, false))
	if strings.Count(limited, "Allocated\n") != 1024 || !strings.HasSuffix(limited, "    [Maximum of 1024 items read; quitting early. Rerun with the '-force' option\n    to bypass this limit.]\n") {
		t.Errorf("limit: %d rows, tail %q", strings.Count(limited, "Allocated\n"), limited[len(limited)-120:])
	}
	if forced := string(p.AppendAllocationsView(nil, true)); strings.Count(forced, "Allocated\n") != 1100 {
		t.Errorf("-force: %d rows", strings.Count(forced, "Allocated\n"))
	}
}
