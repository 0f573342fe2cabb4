package pool

import (
	"sync"
	"testing"
)

// The loops count to b.N rather than use b.Loop: the benchmark function is then called several
// times while b.N grows, so on js/wasm the engine has compiled it with its optimizing tier by
// the measured run (b.Loop calls it once, and the first -count run measures baseline code).
//
// The benchmarks compare one allocate-touch-free round of an NBL with its NB and data buffer
// against the same round through sync.Pool and through a buffered channel of preallocated
// objects. benchObject is the size class of one NBL's arena share: header, NB, context area,
// state words and a 2048-byte data buffer.
const (
	benchDataSize = 2048
	benchCapacity = 4096
	benchCache    = 64
)

type benchObject struct {
	status uint32
	_      [252]byte // header, NB, context and state words, rounded up
	data   [benchDataSize]byte
}

func newBenchPool(b *testing.B) *Pool {
	b.Helper()
	p, err := NewNBLPool(Params{Name: "bench", AllocateNB: true, DataSize: benchDataSize, Capacity: benchCapacity})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkPoolAllocFree(b *testing.B) {
	p := newBenchPool(b)
	c := p.NewCache(benchCache)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h, err := c.AllocateNBL()
		if err != nil {
			b.Fatal(err)
		}
		p.SetStatus(h, uint32(i))
		if err := c.FreeNBL(h); err != nil {
			b.Fatal(err)
		}
	}
	c.Flush()
}

func BenchmarkPoolAllocFreeParallel(b *testing.B) {
	p := newBenchPool(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := p.NewCache(benchCache)
		defer c.Flush()
		for i := uint32(0); pb.Next(); i++ {
			h, err := c.AllocateNBL()
			if err != nil {
				b.Error(err)
				return
			}
			p.SetStatus(h, i)
			if err := c.FreeNBL(h); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSyncPoolBaseline(b *testing.B) {
	sp := sync.Pool{New: func() any { return new(benchObject) }}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		o := sp.Get().(*benchObject)
		o.status = uint32(i)
		sp.Put(o)
	}
}

func BenchmarkChanPoolBaseline(b *testing.B) {
	ch := make(chan *benchObject, benchCache)
	for range benchCache {
		ch <- new(benchObject)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		o := <-ch
		o.status = uint32(i)
		ch <- o
	}
}
