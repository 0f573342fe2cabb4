package pool

import (
	"errors"
	"testing"
)

// The per-frame path must not allocate: Cache allocate/free, the pool's own allocate/free, every
// field accessor, data moves and the UI's views with a reused buffer.
func TestPerFramePathDoesNotAllocate(t *testing.T) {
	p := newPool(t, Params{Name: "allocs", AllocateNB: true, DataSize: 256, ContextSize: 16, Capacity: 64})
	c := p.NewCache(16)
	owners := make([]byte, 64)
	rows := make([]Allocation, 0, 64)
	var sink uint64
	var pair [2]NBL
	for _, tt := range []struct {
		name string
		fn   func()
	}{
		{"Cache allocate and free", func() {
			h, err := c.AllocateNBL()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.FreeNBL(h); err != nil {
				t.Fatal(err)
			}
		}},
		{"pool allocate and free", func() {
			h, err := p.AllocateNBL(16, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := FreeNBL(h); err != nil {
				t.Fatal(err)
			}
		}},
		{"field accessors", func() {
			h, _ := c.AllocateNBL()
			p.SetStatus(h, 1)
			p.SetFlags(h, 2)
			p.SetNblFlags(h, 3)
			p.SetScratch(h, 4)
			p.SetSourceHandle(h, 5)
			p.MiniportReserved(h)[0] = 6
			p.ProtocolReserved(h)[0] = 7
			_ = p.SetNext(h, 0)
			_ = p.SetOwner(h, 9)
			sink += uint64(p.Status(h)+p.Flags(h)+p.NblFlags(h)+p.SourceHandle(h)) + p.Scratch(h) +
				uint64(p.Next(h)) + uint64(p.Owner(h)) + uint64(p.Index(h)) + uint64(len(p.Context(h)))
			_ = p.Check(h)
			_ = c.FreeNBL(h)
		}},
		{"NB data moves", func() {
			h, _ := c.AllocateNBL()
			nb := p.FirstNB(h)
			_ = p.SetData(nb, 32, 100)
			_ = p.RetreatDataStart(nb, 14, 0)
			_ = p.AdvanceDataStart(nb, 14, false)
			head, tail := p.DataParts(nb)
			sink += uint64(len(p.Data(nb)) + len(head) + len(tail) + len(p.Buffer(nb)))
			sink += uint64(p.DataOffset(nb) + p.DataLength(nb) + uint32(p.NextNB(nb)))
			_ = p.CheckEthernet(h, 1514)
			_ = c.FreeNBL(h)
		}},
		{"receive path: FirstBuffer, Layout, Rearm, Link, SetOwners", func() {
			h, _ := c.AllocateNBL()
			g, _ := c.AllocateNBL()
			pair[0], pair[1] = h, g
			sink += uint64(len(p.FirstBuffer(h)) + len(p.Rearm(h, 64, 1, 0)) + len(p.Rearm(g, 60, 1, 0)))
			head, _ := p.Link(pair[:])
			l, _ := p.Layout(head)
			sink += uint64(l.Next) + uint64(len(l.Data))
			_ = p.SetOwners(pair[:], 5)
			_ = c.FreeNBL(h)
			_ = c.FreeNBL(g)
		}},
		{"context", func() {
			h, _ := c.AllocateNBL()
			_ = p.AllocateContext(h, 16, 0)
			_ = p.FreeContext(h, 16)
			_ = c.FreeNBL(h)
		}},
		{"views", func() {
			p.CopyOwners(owners)
			rows = p.Allocations(rows)
			s := p.Stats()
			sink += uint64(s.Allocated) + uint64(p.HandleAt(3)) + uint64(ChainLength(p, 0))
		}},
	} {
		if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
			t.Errorf("%s: %v allocations per run", tt.name, n)
		}
	}
	_ = sink
}

func TestExhaustionDoesNotAllocate(t *testing.T) {
	p := newPool(t, Params{Name: "empty", Capacity: 1})
	mustAlloc(t, p)
	c := p.NewCache(1)
	n := testing.AllocsPerRun(100, func() {
		if _, err := c.AllocateNBL(); !errors.Is(err, ErrExhausted) {
			t.Fatal(err)
		}
		if _, err := p.AllocateNBL(0, 0); !errors.Is(err, ErrExhausted) {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per failed allocation", n)
	}
}
