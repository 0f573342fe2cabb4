package pool

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// Several goroutines run the datapath, each with its own Cache, and hand NBLs to each other,
// while a reader takes the UI's views. Run with -race: the views must not race with the Caches.
func TestConcurrentCachesAndViews(t *testing.T) {
	const workers, rounds = 4, 3000
	p := newPool(t, Params{Name: "concurrent", AllocateNB: true, DataSize: 128, ContextSize: 16, Capacity: 256})
	nbs := newNBPool(t, NBPoolParams{Name: "concurrent NBs", Capacity: 16})
	handoff := make(chan NBL, 16) // ownership passes with the handle, as with NDIS
	var stop atomic.Bool
	var readerDone sync.WaitGroup
	readerDone.Add(1)
	go func() {
		defer readerDone.Done()
		owners := make([]byte, 256)
		rows := make([]Allocation, 0, 256)
		var view []byte
		for !stop.Load() {
			s := p.Stats()
			if s.Allocated+s.Free != s.Capacity || s.PerOwner[OwnerPool] != s.Free {
				t.Errorf("inconsistent snapshot %+v", s)
				return
			}
			p.CopyOwners(owners)
			rows = p.Allocations(rows)
			for i := range 256 {
				p.HandleAt(i)
			}
			view = p.AppendAllocationsView(view[:0], false)
			nbs.Stats()
			runtime.Gosched() // js/wasm runs one goroutine at a time and never preempts
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := p.NewCache(8)
			defer c.Flush()
			for r := range rounds {
				if r%64 == 0 {
					runtime.Gosched() // let the others, and the reader, in on js/wasm
				}
				var h NBL
				var err error
				if r%7 == 0 {
					h, err = p.AllocateNBL(16, 0)
				} else {
					h, err = c.AllocateNBL()
				}
				if errors.Is(err, ErrExhausted) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if err := p.SetOwner(h, Owner(2+w)); err != nil {
					t.Error(err)
					return
				}
				p.SetStatus(h, uint32(r))
				nb := p.FirstNB(h)
				if err := p.AdvanceDataStart(nb, 14, false); err != nil {
					t.Error(err)
					return
				}
				if err := p.RetreatDataStart(nb, 14, 0); err != nil {
					t.Error(err)
					return
				}
				if r%5 == 0 {
					if extra, err := nbs.AllocateNB(nil, 0, 0); err == nil {
						if err := FreeNB(extra); err != nil {
							t.Error(err)
						}
					}
				}
				// Every other NBL goes to another worker, which frees it into its own Cache.
				if r%2 == 0 {
					select {
					case handoff <- h:
						h = 0
					default:
					}
				}
				if h == 0 {
					select {
					case h = <-handoff:
					default:
						continue
					}
				}
				if p.Owner(h) < 2 {
					t.Errorf("%v lost its owner", h)
				}
				if err := c.FreeNBL(h); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(handoff)
	for h := range handoff {
		mustFree(t, h)
	}
	stop.Store(true)
	readerDone.Wait()
	if s := checkInvariants(t, p); s.Allocated != 0 || s.Misuses != 0 {
		t.Errorf("after the run: %+v", s)
	}
	if err := p.Free(); err != nil {
		t.Error(err)
	}
	if err := nbs.Free(); err != nil {
		t.Error(err)
	}
}
