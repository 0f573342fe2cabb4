package pool

import (
	"errors"
	"testing"
)

func TestCacheRefillsAndFlushesInBulk(t *testing.T) {
	p := newPool(t, Params{Name: "c", AllocateNB: true, DataSize: 8, Capacity: 16})
	c := p.NewCache(8)
	h, err := c.AllocateNBL()
	if err != nil {
		t.Fatal(err)
	}
	// One refill of half a Cache: 4 out of the pool, 3 parked.
	if s := checkInvariants(t, p); s.Allocated != 4 || s.CacheHeld != 4 || s.PerOwner[OwnerAllocated] != 4 || c.Len() != 3 {
		t.Fatalf("after first allocation: %+v, Len %d", s, c.Len())
	}
	if p.Index(h) != 0 || p.HandleAt(0) != 0 {
		t.Errorf("Index %d HandleAt(0) %v: a Cache NBL has no published handle", p.Index(h), p.HandleAt(0))
	}
	if err := p.SetOwner(h, 7); err != nil {
		t.Fatal(err)
	}
	if p.HandleAt(0) != h || p.Stats().CacheHeld != 3 {
		t.Errorf("SetOwner did not publish the handle: %v", p.HandleAt(0))
	}
	// The fields of a Cache NBL are fresh like a pool NBL's.
	if p.Next(h) != 0 || p.DataLength(p.FirstNB(h)) != 8 || len(p.Context(h)) != 0 {
		t.Error("Cache NBL not reset")
	}
	if err := c.FreeNBL(h); err != nil {
		t.Fatal(err)
	}
	if s := checkInvariants(t, p); s.CacheHeld != 4 || s.PerOwner[7] != 0 || c.Len() != 4 {
		t.Errorf("after free: %+v", s)
	}
	// 4 parked: allocations 1-4 use them, the 5th and the 9th refill 4 each (12 out of the pool).
	// Freeing all 9 fills the Cache after 5 frees; the 6th flushes the older half (4) first.
	var hs []NBL
	for range 9 {
		h, err := c.AllocateNBL()
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	for _, h := range hs {
		if err := c.FreeNBL(h); err != nil {
			t.Fatal(err)
		}
	}
	if s := checkInvariants(t, p); c.Len() != 8 || s.Allocated != 8 || s.HighWater != 12 {
		t.Errorf("after 9 frees: Len %d, %+v", c.Len(), s)
	}
	c.Flush()
	if s := checkInvariants(t, p); c.Len() != 0 || s.Allocated != 0 || s.CacheHeld != 0 || s.HighWater != 12 {
		t.Errorf("after Flush: %+v", s)
	}
	if err := p.Free(); err != nil {
		t.Fatal(err)
	}
}

func TestCacheAndPoolShareHandles(t *testing.T) {
	p := newPool(t, shapeB)
	c := p.NewCache(2)
	fromPool := mustAlloc(t, p)
	fromCache, err := c.AllocateNBL()
	if err != nil {
		t.Fatal(err)
	}
	// Either path frees what the other allocated.
	if err := c.FreeNBL(fromPool); err != nil {
		t.Fatal(err)
	}
	mustFree(t, fromCache)
	wantMisuse(t, FreeNBL(fromPool), DoubleFree)
	wantMisuse(t, c.FreeNBL(fromCache), DoubleFree)
	if err := p.Check(fromPool); !errors.Is(err, &MisuseError{Class: UseAfterFree}) {
		t.Errorf("Check: %v", err)
	}
	c.Flush()
	if err := p.Free(); err != nil {
		t.Fatal(err)
	}
}

// An NBL freed into a Cache can carry a retreat block; the Cache gives the NBL to the pool path,
// which gives the block back.
func TestCacheFreeReturnsRetreatBlock(t *testing.T) {
	p := newPool(t, shapeC)
	c := p.NewCache(2)
	for range RetreatBlocks + 1 {
		h, err := c.AllocateNBL()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.RetreatDataStart(p.FirstNB(h), 1, 0); err != nil {
			t.Fatal(err)
		}
		if err := c.FreeNBL(h); err != nil {
			t.Fatal(err)
		}
	}
	checkInvariants(t, p)
}

func TestCacheSizeIsClamped(t *testing.T) {
	p := newPool(t, Params{Name: "two", Capacity: 2})
	c := p.NewCache(100)
	a, _ := c.AllocateNBL()
	b, err := c.AllocateNBL()
	if err != nil || a == b {
		t.Fatalf("%v %v %v", a, b, err)
	}
	if _, err := c.AllocateNBL(); !errors.Is(err, ErrExhausted) {
		t.Errorf("third allocation: %v", err)
	}
	one := p.NewCache(0)
	if len(one.slots) != 1 {
		t.Errorf("size 0 gives %d slots", len(one.slots))
	}
}
