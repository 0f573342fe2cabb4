package pool

import (
	"errors"
	"testing"
)

// §1.5: context grows downward from the preallocated context, and what AllocateContext took
// must be given back before the NBL is freed.
func TestContextGrowsDownwardAndFreesInOrder(t *testing.T) {
	p := newPool(t, Params{Name: "ctx", ContextSize: 16, Capacity: 2})
	h, err := p.AllocateNBL(16, 0)
	if err != nil {
		t.Fatal(err)
	}
	pre := p.Context(h)
	if len(pre) != 16 {
		t.Fatalf("preallocated context %d bytes", len(pre))
	}
	copy(pre, "preallocated....")
	if err := p.AllocateContext(h, 24, 8); err != nil {
		t.Fatal(err)
	}
	ctx := p.Context(h)
	if len(ctx) != 40 || string(ctx[24:]) != "preallocated...." {
		t.Fatalf("context after growth: %d bytes %q", len(ctx), ctx)
	}
	// 16 + 64 = 80 bytes per NBL: 40 used, 40 unused.
	if err := p.AllocateContext(h, 48, 0); !errors.Is(err, ErrExhausted) {
		t.Errorf("allocating past the area: %v", err)
	}
	if err := p.AllocateContext(h, 40, 0); err != nil {
		t.Fatal(err)
	}
	wantMisuse(t, p.AllocateContext(h, 4, 0), InvalidAllocArgs)
	wantMisuse(t, p.FreeContext(h, 12), InvalidAllocArgs)
	wantMisuse(t, FreeNBL(h), ContextLeak)
	if err := p.FreeContext(h, 64); err != nil {
		t.Fatal(err)
	}
	wantMisuse(t, p.FreeContext(h, 8), BadContextFree)
	if string(p.Context(h)) != "preallocated...." {
		t.Errorf("context back to %q", p.Context(h))
	}
	mustFree(t, h)
}

func TestAllocateNBLContextBackfillLeavesRoom(t *testing.T) {
	p := newPool(t, Params{Name: "ctx", ContextSize: 32, Capacity: 1})
	h, err := p.AllocateNBL(16, 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Context(h)) != 16 {
		t.Errorf("used context %d", len(p.Context(h)))
	}
	if err := p.AllocateContext(h, 80, 0); err != nil { // 96 - 16
		t.Errorf("unused context not available: %v", err)
	}
}
