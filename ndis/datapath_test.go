package ndis_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"webminiport/ndis"
	"webminiport/pool"
)

// returningProtocol returns every indication at once, from inside ReceiveNBLs, and allocates
// nothing: the protocol of the datapath benchmarks.
type returningProtocol struct{ a *ndis.Adapter }

func (p returningProtocol) ReceiveNBLs(_ *pool.Pool, chain pool.NBL, _ int, flags ndis.ReceiveFlags) {
	if flags&ndis.ReceiveResources == 0 {
		_ = p.a.ReturnNBLs(chain, 0)
	}
}
func (returningProtocol) SendComplete(pool.NBL, ndis.SendCompleteFlags)    {}
func (returningProtocol) Status(ndis.StatusIndication)                     {}
func (returningProtocol) OIDRequestComplete(*ndis.OIDRequest, ndis.Status) {}

// newDatapath is a running adapter with n receive NBLs whose buffers all hold a 64-byte frame to
// us, bound to a protocol that returns at once.
func newDatapath(t testing.TB, n int) (*ndis.Adapter, *testMiniport) {
	m := newTestMiniport(n, 0)
	a := ndis.New(m, ndis.Config{Name: "bench0"})
	if err := a.Initialize(); err != nil {
		t.Fatal(err)
	}
	if err := a.Bind(returningProtocol{a}); err != nil {
		t.Fatal(err)
	}
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	if st, err := a.OIDRequest(filterSet(ndis.FilterDirected)); st != ndis.StatusSuccess || err != nil {
		t.Fatal(st, err)
	}
	f := frame(ourMAC, 64, 0)
	for range n {
		if err := m.rx.CopyFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.rx.Flush(0); err != nil {
		t.Fatal(err)
	}
	return a, m
}

// indicateChain takes k NBLs (their buffers already hold a frame) through a batch, commits
// them and indicates them as one chain.
func indicateChain(t testing.TB, rx *ndis.RxEngine, b *ndis.RxBatch, k int) {
	for range k {
		h, _ := b.Take()
		if err := b.Commit(h, 64); err != nil {
			t.Fatal(err)
		}
	}
	b.End()
	if err := rx.Flush(0); err != nil {
		t.Fatal(err)
	}
}

// indicateFrameByFrame is indicateChain with the engine's own Take and Commit: the lock twice
// per frame.
func indicateFrameByFrame(t testing.TB, rx *ndis.RxEngine, k int) {
	for range k {
		h, _ := rx.Take()
		if err := rx.Commit(h, 64); err != nil {
			t.Fatal(err)
		}
	}
	if err := rx.Flush(0); err != nil {
		t.Fatal(err)
	}
}

// TestIndicateReturnDoesNotAllocate: the per-frame path (take, commit, indicate, return, recycle,
// with ownership tracking and statistics), batched or not, makes no heap allocation.
func TestIndicateReturnDoesNotAllocate(t *testing.T) {
	a, m := newDatapath(t, 64)
	b := m.rx.NewBatch()
	f := frame(ourMAC, 64, 0)
	for _, tt := range []struct {
		name string
		fn   func()
	}{
		{"batch Take and Commit", func() { indicateChain(t, m.rx, b, 32) }},
		{"Take and Commit", func() { indicateFrameByFrame(t, m.rx, 32) }},
		{"batch CopyFrame", func() {
			for range 32 {
				_ = b.CopyFrame(f)
			}
			b.End()
			_ = m.rx.Flush(0)
		}},
		{"CopyFrame", func() {
			for range 32 {
				_ = m.rx.CopyFrame(f)
			}
			_ = m.rx.Flush(0)
		}},
	} {
		if allocs := testing.AllocsPerRun(200, tt.fn); allocs != 0 {
			t.Errorf("%s: %v allocations per chain of 32, want 0", tt.name, allocs)
		}
	}
	if c := m.rx.Counts(); c.Free != 64 || a.Outstanding() != 0 {
		t.Fatalf("counts %+v, outstanding %d", c, a.Outstanding())
	}
	// The send path: take, send, complete, recycle.
	sp, err := ndis.NewSendPool(a, ndis.SendPoolConfig{Count: 8, DataSize: 1536})
	if err != nil {
		t.Fatal(err)
	}
	f = frame(peerMAC, 64, 0)
	if allocs := testing.AllocsPerRun(200, func() {
		h, buf := sp.Take()
		copy(buf, f)
		_ = sp.SetLength(h, len(f))
		_ = a.Send(h, 0)
		m.sends = m.sends[:0] // the test completes it here instead
		sp.Pool().SetStatus(h, uint32(ndis.StatusSuccess))
		_ = a.SendComplete(h, 0)
		_ = sp.Recycle(h)
	}); allocs != 0 {
		t.Fatalf("%v allocations per send, want 0", allocs)
	}
}

// BenchmarkIndicateReturn fills a chain of 32 preallocated NBLs through a batch, indicates it
// and returns it, with the whole bookkeeping (ownership, log, statistics, filter). ns/frame is
// the cost per frame.
func BenchmarkIndicateReturn(b *testing.B) {
	_, m := newDatapath(b, 64)
	batch := m.rx.NewBatch()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		indicateChain(b, m.rx, batch, 32)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/32, "ns/frame")
}

// BenchmarkIndicateReturnFrameByFrame is BenchmarkIndicateReturn with the engine's own Take and
// Commit for each frame instead of a batch.
func BenchmarkIndicateReturnFrameByFrame(b *testing.B) {
	_, m := newDatapath(b, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		indicateFrameByFrame(b, m.rx, 32)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/32, "ns/frame")
}

// chanProtocol hands every NBL it receives to a returner goroutine.
type chanProtocol struct {
	returningProtocol
	ch chan pool.NBL
}

func (p chanProtocol) ReceiveNBLs(pl *pool.Pool, chain pool.NBL, n int, flags ndis.ReceiveFlags) {
	if flags&ndis.ReceiveResources != 0 {
		return
	}
	nbls := make([]pool.NBL, 0, n)
	for h := chain; h != 0; h = pl.Next(h) {
		nbls = append(nbls, h)
	}
	for _, h := range nbls {
		p.ch <- h
	}
}

// TestConcurrentReceiveAndReturnConserveNBLs: several receive goroutines (bulk-IN completions)
// and a protocol returning on its own goroutine, in random groups; run it with -race.
func TestConcurrentReceiveAndReturnConserveNBLs(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 2))
	const n = 64
	m := newTestMiniport(n, 8)
	a := ndis.New(m, ndis.Config{Name: "conc0"})
	proto := chanProtocol{returningProtocol{a}, make(chan pool.NBL, n)}
	if err := a.Initialize(); err != nil {
		t.Fatal(err)
	}
	if err := a.Bind(proto); err != nil {
		t.Fatal(err)
	}
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.OIDRequest(filterSet(ndis.FilterDirected | ndis.FilterBroadcast)); st != ndis.StatusSuccess {
		t.Fatal(st)
	}

	returnerDone := make(chan struct{})
	groupSize := 1 + rng.IntN(6)
	go func() {
		defer close(returnerDone)
		var batch []pool.NBL
		for h := range proto.ch {
			batch = append(batch, h)
			if len(batch) >= groupSize || len(proto.ch) == 0 {
				if err := a.ReturnNBLs(linkChain(batch), 0); err != nil {
					t.Error(err)
				}
				batch = batch[:0]
			}
		}
	}()

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				for k := range 1 + i%7 {
					dst := ourMAC
					if k%3 == 2 {
						dst = bcastMAC
					}
					if err := m.rx.CopyFrame(frame(dst, 60+k, byte(g))); err != nil {
						t.Error(err)
						return
					}
				}
				if err := m.rx.Flush(0); err != nil {
					t.Error(err)
					return
				}
				if err := m.rx.Conservation(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	done := make(chan struct{})
	if !m.rx.Drain(func() { close(done) }) {
		<-done
	}
	close(proto.ch)
	<-returnerDone
	if err := m.rx.Audit(); err != nil {
		t.Fatal(err)
	}
	if a.Outstanding() != 0 || len(a.Reports()) != 0 {
		t.Fatalf("outstanding %d, reports %v", a.Outstanding(), a.Reports())
	}
	if err := a.Pause(); err != nil {
		t.Fatal(err)
	}
}
