package pool

import (
	"strings"
	"testing"
)

// §9 item 14: a VERIFY pool does not hand a freed NBL out again while any other free NBL exists,
// and touching it reports use after free.
func TestVerifyQuarantinesFreedNBLs(t *testing.T) {
	p := newPool(t, Params{Name: "verify", AllocateNB: true, Capacity: 4, Verify: true})
	a := mustAlloc(t, p)
	mustFree(t, a)
	if s := checkInvariants(t, p); s.Quarantined != 1 || s.Free != 4 {
		t.Fatalf("after one free: %+v", s)
	}
	seen := map[int]bool{}
	var hs []NBL
	for range 3 {
		h := mustAlloc(t, p)
		seen[p.Index(h)] = true
		hs = append(hs, h)
	}
	if seen[p.Index(a)] {
		t.Fatal("quarantined slot handed out while fresh slots were free")
	}
	err := p.SetOwner(a, 2)
	if m := wantMisuse(t, err, UseAfterFree); !strings.Contains(m.Detail, "quarantine") {
		t.Errorf("detail %q does not name the quarantine", m.Detail)
	}
	// Only when nothing else is free does the oldest freed slot come back.
	last := mustAlloc(t, p)
	if p.Index(last) != p.Index(a) {
		t.Errorf("last allocation took slot %d, want the quarantined %d", p.Index(last), p.Index(a))
	}
	if s := checkInvariants(t, p); s.Quarantined != 0 {
		t.Errorf("%+v", s)
	}
	// Caches pass through: frees still go to the quarantine.
	c := p.NewCache(4)
	if err := c.FreeNBL(last); err != nil {
		t.Fatal(err)
	}
	if s := checkInvariants(t, p); s.Quarantined != 1 || s.CacheHeld != 0 || c.Len() != 0 {
		t.Errorf("Cache on VERIFY: %+v", s)
	}
	if h, err := c.AllocateNBL(); err != nil || p.Index(h) != p.Index(last) {
		t.Errorf("Cache allocation on VERIFY: %v %v", h, err)
	}
	wantMisuse(t, c.FreeNBL(last), DoubleFree)
}
