package pool

import (
	"errors"
	"testing"
)

// misuseCase provokes one misuse of specs/ndis.md §10. prepare builds the scene and returns the
// offending call and a snapshot of the state that call must leave alone.
type misuseCase struct {
	name    string
	class   MisuseClass
	prepare func(t *testing.T) (act func() error, state func() any)
}

// nblState is everything a misuse must not change: the counters (but Misuses) and the owner map.
func nblState(p *Pool) func() any {
	return func() any {
		s := p.Stats()
		s.Misuses = 0
		owners := make([]byte, s.Capacity)
		p.CopyOwners(owners)
		return struct {
			Stats
			owners string
		}{s, string(owners)}
	}
}

func nbState(p *NBPool) func() any {
	return func() any { s := p.Stats(); s.Misuses = 0; return s }
}

// freed returns a handle that was allocated from p and freed.
func freed(t *testing.T, p *Pool) NBL {
	h := mustAlloc(t, p)
	mustFree(t, h)
	return h
}

var misuseCases = []misuseCase{
	// Row 1.
	{"free twice", DoubleFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeB)
		h := freed(t, p)
		return func() error { return FreeNBL(h) }, nblState(p)
	}},
	{"free twice after the slot was reused", DoubleFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeB)
		h := freed(t, p)
		if again := mustAlloc(t, p); p.Index(again) != p.Index(h) {
			t.Fatal("slot not reused")
		}
		return func() error { return FreeNBL(h) }, nblState(p)
	}},
	{"free twice into a Cache", DoubleFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeC)
		c := p.NewCache(4)
		h, err := c.AllocateNBL()
		if err != nil || c.FreeNBL(h) != nil {
			t.Fatal(err)
		}
		return func() error { return c.FreeNBL(h) }, nblState(p)
	}},
	{"free an NB twice", DoubleFree, func(t *testing.T) (func() error, func() any) {
		p := newNBPool(t, NBPoolParams{Name: "nbs", Capacity: 2})
		nb, err := p.AllocateNB(nil, 0, 0)
		if err != nil || FreeNB(nb) != nil {
			t.Fatal(err)
		}
		return func() error { return FreeNB(nb) }, nbState(p)
	}},
	{"free a pool twice", DoubleFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		if err := p.Free(); err != nil {
			t.Fatal(err)
		}
		return p.Free, nblState(p)
	}},
	// Row 2.
	{"set Next on a freed NBL", UseAfterFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		h := freed(t, p)
		return func() error { return p.SetNext(h, 0) }, nblState(p)
	}},
	{"check a freed NBL", UseAfterFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		h := freed(t, p)
		return func() error { return p.Check(h) }, nblState(p)
	}},
	{"set the owner of a freed NBL", UseAfterFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		h := freed(t, p)
		return func() error { return p.SetOwner(h, 3) }, nblState(p)
	}},
	{"link a chain holding a freed NBL", UseAfterFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		a, b := mustAlloc(t, p), mustAlloc(t, p)
		h := freed(t, p)
		return func() error { _, err := p.Link([]NBL{a, h, b}); return err }, func() any {
			return []any{nblState(p)(), p.Next(a), p.Next(b)}
		}
	}},
	{"set the owners of a freed NBL", UseAfterFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		h := freed(t, p)
		return func() error { return p.SetOwners([]NBL{h}, 3) }, nblState(p)
	}},
	{"allocate context on an NBL freed into a Cache", UseAfterFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		c := p.NewCache(2)
		h, _ := c.AllocateNBL()
		if err := c.FreeNBL(h); err != nil {
			t.Fatal(err)
		}
		return func() error { return p.AllocateContext(h, 8, 0) }, nblState(p)
	}},
	{"retreat the NB of a freed NBL", UseAfterFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeC)
		h := mustAlloc(t, p)
		nb := p.NBOf(h)
		mustFree(t, h)
		return func() error { return p.RetreatDataStart(nb, 4, 0) }, nblState(p)
	}},
	{"touch a quarantined NBL", UseAfterFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, Params{Name: "verify", Capacity: 4, Verify: true})
		h := freed(t, p)
		return func() error { return p.SetFirstNB(h, 0) }, nblState(p)
	}},
	// Row 3.
	{"free a pool with an NBL allocated", PoolFreeWithOutstanding, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeC)
		mustAlloc(t, p)
		return p.Free, nblState(p)
	}},
	{"free a pool while a Cache holds NBLs", PoolFreeWithOutstanding, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeC)
		c := p.NewCache(4)
		h, _ := c.AllocateNBL()
		if err := c.FreeNBL(h); err != nil {
			t.Fatal(err)
		}
		return p.Free, nblState(p)
	}},
	{"free an NB pool with an NB allocated", PoolFreeWithOutstanding, func(t *testing.T) (func() error, func() any) {
		p := newNBPool(t, NBPoolParams{Name: "nbs", DataSize: 16, Capacity: 2})
		if _, err := p.AllocateNBMdlAndData(); err != nil {
			t.Fatal(err)
		}
		return p.Free, nbState(p)
	}},
	// Row 4.
	{"free another pool's NBL into a Cache", ForeignNBLFree, func(t *testing.T) (func() error, func() any) {
		p, q := newPool(t, Params{Name: "cache's", AllocateNB: true, Capacity: 4}), newPool(t, Params{Name: "owner", AllocateNB: true, Capacity: 4})
		h := mustAlloc(t, q)
		c := p.NewCache(4)
		return func() error { return c.FreeNBL(h) }, func() any { return []any{nblState(p)(), nblState(q)()} }
	}},
	{"check another pool's NBL", ForeignNBLFree, func(t *testing.T) (func() error, func() any) {
		p, q := newPool(t, Params{Name: "checker", Capacity: 4}), newPool(t, Params{Name: "owner", Capacity: 4})
		h := mustAlloc(t, q)
		return func() error { return p.Check(h) }, nblState(q)
	}},
	{"free an NB with FreeNBL", WrongFreeFunction, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeB)
		h := mustAlloc(t, p)
		return func() error { return FreeNBL(NBL(p.NBOf(h))) }, nblState(p)
	}},
	{"free an NBL with FreeNB", WrongFreeFunction, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeB)
		h := mustAlloc(t, p)
		return func() error { return FreeNB(NB(h)) }, nblState(p)
	}},
	{"free an NB-pool NB with FreeNBL", WrongFreeFunction, func(t *testing.T) (func() error, func() any) {
		p := newNBPool(t, NBPoolParams{Name: "nbs", Capacity: 2})
		nb, _ := p.AllocateNB(nil, 0, 0)
		return func() error { return FreeNBL(NBL(nb)) }, nbState(p)
	}},
	// Row 12.
	{"Ethernet NBL with two NBs", BadEthernetNBL, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeC)
		a, b := mustAlloc(t, p), mustAlloc(t, p)
		if err := p.SetNextNB(p.NBOf(a), p.NBOf(b)); err != nil {
			t.Fatal(err)
		}
		return func() error { return p.CheckEthernet(a, 1514) }, nblState(p)
	}},
	// Row 13.
	{"free the NB preallocated with an NBL", FreeEmbeddedNB, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeC)
		h := mustAlloc(t, p)
		return func() error { return FreeNB(p.NBOf(h)) }, nblState(p)
	}},
	// Row 14.
	{"free an NBL with allocated context", ContextLeak, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		h := mustAlloc(t, p)
		if err := p.AllocateContext(h, 16, 0); err != nil {
			t.Fatal(err)
		}
		return func() error { return FreeNBL(h) }, nblState(p)
	}},
	{"free an NBL with allocated context into a Cache", ContextLeak, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		c := p.NewCache(2)
		h, _ := c.AllocateNBL()
		if err := p.AllocateContext(h, 8, 8); err != nil {
			t.Fatal(err)
		}
		return func() error { return c.FreeNBL(h) }, nblState(p)
	}},
	{"free preallocated context", BadContextFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, Params{Name: "ctx", ContextSize: 32, Capacity: 2})
		h, err := p.AllocateNBL(32, 0)
		if err != nil {
			t.Fatal(err)
		}
		return func() error { return p.FreeContext(h, 32) }, nblState(p)
	}},
	{"free more context than allocated", BadContextFree, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		h := mustAlloc(t, p)
		if err := p.AllocateContext(h, 8, 0); err != nil {
			t.Fatal(err)
		}
		return func() error { return p.FreeContext(h, 16) }, nblState(p)
	}},
	// Row 15.
	{"AndNetBufferList on shape A", InvalidAllocArgs, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		return func() error { _, err := p.AllocateNBLAndNB(0, 0, nil, 0, 0); return err }, nblState(p)
	}},
	{"AndNetBufferList on shape C", InvalidAllocArgs, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeC)
		return func() error { _, err := p.AllocateNBLAndNB(0, 0, nil, 0, 0); return err }, nblState(p)
	}},
	{"nil MDL with a length", InvalidAllocArgs, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeB)
		return func() error { _, err := p.AllocateNBLAndNB(0, 0, nil, 0, 14); return err }, nblState(p)
	}},
	{"nil MDL with an offset", InvalidAllocArgs, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeB)
		return func() error { _, err := p.AllocateNBLAndNB(0, 0, nil, 2, 0); return err }, nblState(p)
	}},
	{"data past the MDL", InvalidAllocArgs, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeB)
		return func() error { _, err := p.AllocateNBLAndNB(0, 0, make([]byte, 10), 4, 7); return err }, nblState(p)
	}},
	{"context size not aligned", InvalidAllocArgs, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		return func() error { _, err := p.AllocateNBL(8, 0); return err }, nblState(p)
	}},
	{"context backfill not aligned", InvalidAllocArgs, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		return func() error { _, err := p.AllocateNBL(0, 24); return err }, nblState(p)
	}},
	{"AllocateNB on a data pool", InvalidAllocArgs, func(t *testing.T) (func() error, func() any) {
		p := newNBPool(t, NBPoolParams{Name: "nbs", DataSize: 32, Capacity: 2})
		return func() error { _, err := p.AllocateNB(nil, 0, 0); return err }, nbState(p)
	}},
	{"AllocateNBMdlAndData without DataSize", InvalidAllocArgs, func(t *testing.T) (func() error, func() any) {
		p := newNBPool(t, NBPoolParams{Name: "nbs", Capacity: 2})
		return func() error { _, err := p.AllocateNBMdlAndData(); return err }, nbState(p)
	}},
	{"owner 0 on a live NBL", InvalidAllocArgs, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		h := mustAlloc(t, p)
		return func() error { return p.SetOwner(h, OwnerPool) }, nblState(p)
	}},
	{"owner past NumOwners on a chain", InvalidAllocArgs, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		hs := []NBL{mustAlloc(t, p), mustAlloc(t, p)}
		return func() error { return p.SetOwners(hs, NumOwners) }, nblState(p)
	}},
	// Row 16.
	{"free the nil NBL", NonPoolNBL, func(t *testing.T) (func() error, func() any) {
		return func() error { return FreeNBL(0) }, func() any { return nil }
	}},
	{"free an NBL of no pool", NonPoolNBL, func(t *testing.T) (func() error, func() any) {
		return func() error { return FreeNBL(NBL(0xff000001)) }, func() any { return nil }
	}},
	{"free an NBL past the pool's slots", NonPoolNBL, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, Params{Name: "three", Capacity: 3})
		h := mustAlloc(t, p)
		return func() error { return FreeNBL(h | 3) }, nblState(p) // index 3 of a 3-slot pool
	}},
	{"free a handle the pool never handed out", NonPoolNBL, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		h := mustAlloc(t, p)
		return func() error { return FreeNBL(h + 1) }, nblState(p) // the next slot, not allocated
	}},
	{"free a generation from the future", NonPoolNBL, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeA)
		h := mustAlloc(t, p)
		return func() error { return FreeNBL(h + NBL(p.genOne)) }, nblState(p)
	}},
	{"use an NB handle as an NBL", NonPoolNBL, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeB)
		h := mustAlloc(t, p)
		return func() error { return p.Check(NBL(p.NBOf(h))) }, nblState(p)
	}},
	{"use an NBL handle as an NB", NonPoolNBL, func(t *testing.T) (func() error, func() any) {
		p := newPool(t, shapeB)
		h := mustAlloc(t, p)
		return func() error { return p.SetData(NB(h), 0, 0) }, nblState(p)
	}},
	{"free an NB of no pool", NonPoolNBL, func(t *testing.T) (func() error, func() any) {
		return func() error { return FreeNB(NB(0xff800001)) }, func() any { return nil }
	}},
}

func TestMisuseIsReportedAndChangesNothing(t *testing.T) {
	for _, tt := range misuseCases {
		t.Run(tt.name, func(t *testing.T) {
			act, state := tt.prepare(t)
			before := state()
			err := act()
			m := wantMisuse(t, err, tt.class)
			if m.Class.String() != tt.class.String() || m.Class.Bugcheck() != tt.class.Bugcheck() {
				t.Errorf("class %v", m.Class)
			}
			if m.Detail == "" {
				t.Errorf("%v has no detail", err)
			}
			var ex *ExhaustedError
			if errors.As(err, &ex) {
				t.Errorf("misuse also reports exhaustion")
			}
			after := state()
			if !equalState(before, after) {
				t.Errorf("misuse changed state:\nbefore %+v\nafter  %+v", before, after)
			}
			t.Log(err)
		})
	}
}

func equalState(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		for i := range as {
			if as[i] != bs[i] {
				return false
			}
		}
		return len(as) == len(bs)
	}
	return a == b
}

func TestMisuseIsCountedInStats(t *testing.T) {
	p := newPool(t, shapeA)
	h := freed(t, p)
	p.SetStatus(h, 1) // no error result: counted only
	p.SetScratch(h, 1)
	_ = FreeNBL(h)
	if got := p.Stats().Misuses; got != 3 {
		t.Errorf("Misuses = %d, want 3", got)
	}
	if p.Status(h) != 0 || p.Scratch(h) != 0 || p.MiniportReserved(h) != nil || p.Context(h) != nil {
		t.Error("getters on a freed handle return values")
	}
}
