package pool

import (
	"errors"
	"runtime"
	"testing"
)

// A pool nobody references any more gives its id back, so leaked pools cannot run the 255 ids
// out, and its handles stop resolving.
func TestDroppedPoolsGiveTheirIDsBack(t *testing.T) {
	h := func() NBL {
		p := newPool(t, Params{Name: "dropped", Capacity: 1})
		return mustAlloc(t, p)
	}()
	runtime.GC()
	if PoolOf(h) != nil {
		t.Error("PoolOf finds a collected pool")
	}
	for i := range 3 * maxPoolID {
		p, err := NewNBLPool(Params{Name: "leaked", Capacity: 1})
		if err != nil {
			t.Fatalf("pool %d: %v", i, err)
		}
		mustAlloc(t, p) // never freed
	}
}

func TestAtMost255PoolsLive(t *testing.T) {
	runtime.GC()
	var live []*Pool
	ids := map[uint32]bool{}
	for {
		p, err := NewNBLPool(Params{Name: "live", Capacity: 1})
		if err != nil {
			if !errors.Is(err, ErrExhausted) {
				t.Fatalf("after %d pools: %v", len(live), err)
			}
			break
		}
		if ids[p.id] {
			t.Fatalf("id %#x given twice", p.id)
		}
		ids[p.id] = true
		live = append(live, p)
		if len(live) > maxPoolID {
			t.Fatal("more than 255 pools live")
		}
	}
	if len(live) < maxPoolID-8 { // a few may belong to pools other tests still hold
		t.Errorf("only %d pools fit", len(live))
	}
	if _, err := NewNBPool(NBPoolParams{Name: "nb", Capacity: 1}); !errors.Is(err, ErrExhausted) {
		t.Errorf("NB pool with the ids taken: %v", err)
	}
	if err := live[7].Free(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewNBLPool(Params{Name: "reuse", Capacity: 1}); err != nil {
		t.Errorf("freed id not reused: %v", err)
	}
	runtime.KeepAlive(live)
}
