package ndis_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"webminiport/ndis"
	"webminiport/pool"
)

// event is a tracking-log entry without what differs between two adapters that did the same
// thing: the NBL handle (the pool ids differ, and a batch may pick another free NBL after a
// refused frame), the pool handle and Seq.
type event struct {
	Kind      ndis.LogKind
	Component ndis.Component
	Owner     pool.Owner
	Arg       uint32
	Time      int64
}

// eventsSince returns the events of a's log after Seq seq, and the Seq of the last one.
func eventsSince(a *ndis.Adapter, seq uint64) ([]event, uint64) {
	var out []event
	for _, e := range a.NBLLog(0) {
		if e.Seq > seq {
			out = append(out, event{e.Kind, e.Component, e.Owner, e.Arg, e.Time})
			seq = e.Seq
		}
	}
	return out, seq
}

// TestBatchAndFrameByFrameAgree is the property test of RxBatch against RxEngine.CopyFrame,
// frame by frame, as the reference: two adapters get the same bursts (frames to us, to others,
// broadcast, runts, oversized and bigger than the buffer), one frame by frame and one through a
// batch, with the same returns in between. After every step both give the same counts,
// statistics, frames to the protocol, errors and tracking log, event for event; a batch changes
// how often the lock is taken, nothing a reader can see.
func TestBatchAndFrameByFrameAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 3))
	const n = 12
	low := rng.IntN(4)
	ref, bat := newRig(t, n, low, true), newRig(t, n, low, true)
	batch := bat.m.rx.NewBatch()
	dsts := [][6]byte{ourMAC, ourMAC, ourMAC, bcastMAC, otherMAC}
	lengths := []int{60, 64, 1514, 10, 1515, 2049}
	var refSeq, batSeq uint64
	for step := 0; step < 400; step++ {
		if rng.IntN(3) > 0 { // a burst of 1..140 frames: some bursts span several batch syncs
			k := 1 + rng.IntN(140)
			if rng.IntN(4) > 0 {
				k = 1 + rng.IntN(6)
			}
			var refErrs, batErrs []string
			for i := range k {
				size := lengths[rng.IntN(len(lengths))]
				if rng.IntN(2) == 0 {
					size = 14 + rng.IntN(1500)
				}
				f := frame(dsts[rng.IntN(len(dsts))], max(size, 14), byte(step+i))[:size]
				refErrs = append(refErrs, fmt.Sprint(ref.m.rx.CopyFrame(f)))
				batErrs = append(batErrs, fmt.Sprint(batch.CopyFrame(f)))
			}
			batch.End()
			if fmt.Sprint(refErrs) != fmt.Sprint(batErrs) {
				t.Fatalf("step %d: errors\nframe by frame %q\nbatch          %q", step, refErrs, batErrs)
			}
			for _, r := range []*rig{ref, bat} {
				if err := r.m.rx.Flush(0); err != nil {
					t.Fatalf("step %d: flush: %v", step, err)
				}
			}
		} else if h := ref.p.heldCount(); h > 0 { // the protocol returns some held NBLs
			pick := rng.Perm(h)[:1+rng.IntN(h)]
			for _, r := range []*rig{ref, bat} {
				if err := r.p.giveBack(pick...); err != nil {
					t.Fatalf("step %d: return: %v", step, err)
				}
			}
		}
		if rc, bc := ref.m.rx.Counts(), bat.m.rx.Counts(); rc != bc {
			t.Fatalf("step %d: counts\nframe by frame %+v\nbatch          %+v", step, rc, bc)
		}
		if rs, bs := ref.a.Statistics(), bat.a.Statistics(); rs != bs {
			t.Fatalf("step %d: statistics\nframe by frame %+v\nbatch          %+v", step, rs, bs)
		}
		var re, be []event
		re, refSeq = eventsSince(ref.a, refSeq)
		be, batSeq = eventsSince(bat.a, batSeq)
		if fmt.Sprint(re) != fmt.Sprint(be) {
			t.Fatalf("step %d: logs differ\nframe by frame %v\nbatch          %v", step, re, be)
		}
		if err := bat.m.rx.Audit(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	if fmt.Sprint(ref.p.frames) != fmt.Sprint(bat.p.frames) {
		t.Fatal("the protocols saw different frames")
	}
	for _, r := range []*rig{ref, bat} {
		if len(r.a.Reports()) != 0 {
			t.Fatalf("reports: %v", r.a.Reports()[0].Err)
		}
	}
}

// TestBatchReserveIsFree: NBLs a batch holds are counted as free, keep their free-list owner and
// are logged only when committed; End gives back the ones not used.
func TestBatchReserveIsFree(t *testing.T) {
	r := newRig(t, 8, 0, true)
	b := r.m.rx.NewBatch()
	before := len(r.a.NBLLog(0))
	h, buf := b.Take()
	if h == 0 || len(buf) != 2048 {
		t.Fatalf("Take = %v, %d-byte buffer", h, len(buf))
	}
	n := copy(buf, frame(ourMAC, 60, 1))
	if err := b.Commit(h, n); err != nil {
		t.Fatal(err)
	}
	if c := r.m.rx.Counts(); c.Free != 8 || c.InHand != 0 || c.Pending != 0 {
		t.Fatalf("during the batch: %+v; want every NBL counted free", c)
	}
	if err := r.m.rx.Audit(); err != nil {
		t.Fatalf("during the batch: %v", err)
	}
	if len(r.a.NBLLog(0)) != before {
		t.Fatal("a batch logged before End")
	}
	b.End()
	if c := r.m.rx.Counts(); c.Free != 7 || c.InHand != 1 || c.Pending != 1 {
		t.Fatalf("after End: %+v", c)
	}
	kinds := []ndis.LogKind{}
	for _, e := range r.a.NBLHistory(h) {
		kinds = append(kinds, e.Kind)
	}
	if fmt.Sprint(kinds) != fmt.Sprint([]ndis.LogKind{ndis.LogAllocated, ndis.LogTaken}) {
		t.Fatalf("history %v", kinds)
	}
	if err := r.m.rx.Flush(0); err != nil {
		t.Fatal(err)
	}
	if err := r.m.rx.Audit(); err != nil {
		t.Fatal(err)
	}
	if len(r.p.frames) != 1 || string(r.p.frames[0]) != string(frame(ourMAC, 60, 1)) {
		t.Fatalf("indicated %d frames", len(r.p.frames))
	}
}

// TestBatchTakeGivesOneNBLAtATime: taking again before committing gives the same NBL again, so
// only one is ever out; End gives back an NBL taken and never committed.
func TestBatchTakeGivesOneNBLAtATime(t *testing.T) {
	r := newRig(t, 4, 0, true)
	b := r.m.rx.NewBatch()
	first, _ := b.Take()
	second, _ := b.Take()
	if first == 0 || second != first {
		t.Fatalf("Take, Take = %v, %v; want the same NBL twice", first, second)
	}
	b.End()
	if c := r.m.rx.Counts(); c.Free != 4 || c.Pending != 0 {
		t.Fatalf("after End with an NBL taken: %+v", c)
	}
	checkConserved(t, r.m.rx)
}

// TestBatchCommitOfAnNBLItDidNotGiveIsMisuse: every NBL that is not the one the batch gave out
// is refused and reported, and the engine stays consistent.
func TestBatchCommitOfAnNBLItDidNotGiveIsMisuse(t *testing.T) {
	for _, tt := range []struct {
		name  string
		class pool.MisuseClass
		nbl   func(t *testing.T, r *rig, b *ndis.RxBatch) pool.NBL
	}{
		{"the nil NBL", pool.NonPoolNBL, func(*testing.T, *rig, *ndis.RxBatch) pool.NBL { return 0 }},
		{"an NBL lent to the protocol", pool.AccessWhileLent, func(t *testing.T, r *rig, _ *ndis.RxBatch) pool.NBL {
			r.m.receive(t, frame(ourMAC, 60, 1))
			return r.p.held[0]
		}},
		{"an NBL on the free list", pool.DoubleFree, func(t *testing.T, r *rig, _ *ndis.RxBatch) pool.NBL {
			h, _ := r.m.rx.Take()
			if err := r.m.rx.Recycle(h); err != nil {
				t.Fatal(err)
			}
			return h
		}},
		{"an NBL committed already", pool.DoubleFree, func(t *testing.T, r *rig, b *ndis.RxBatch) pool.NBL {
			h, _ := b.Take()
			if err := b.Commit(h, 60); err != nil {
				t.Fatal(err)
			}
			return h
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, 4, 0, true)
			b := r.m.rx.NewBatch()
			h := tt.nbl(t, r, b)
			if err := b.Commit(h, 60); misuseClass(err) != tt.class {
				t.Fatalf("got %v, want %v", err, tt.class)
			}
			if !hasReport(r.a, tt.class) {
				t.Fatalf("no %v report", tt.class)
			}
			b.End()
			checkConserved(t, r.m.rx)
		})
	}
}

// TestBatchDropsWhenFreeListIsEmpty: with every NBL held by the protocol, each frame of a burst
// is dropped and counted once (§9 item 5), as frame by frame.
func TestBatchDropsWhenFreeListIsEmpty(t *testing.T) {
	r := newRig(t, 2, 0, true)
	r.m.receive(t, frame(ourMAC, 60, 1), frame(ourMAC, 60, 2))
	b := r.m.rx.NewBatch()
	for i := range 3 {
		if err := b.CopyFrame(frame(ourMAC, 60, byte(3+i))); err != nil {
			t.Fatal(err)
		}
	}
	if h, buf := b.Take(); h != 0 || buf != nil {
		t.Fatalf("Take with the free list empty = %v", h)
	}
	b.End()
	if s := r.a.Statistics(); s.RxNoBuffer != 4 || s.InDiscards != 4 {
		t.Fatalf("RxNoBuffer %d, ifInDiscards %d; want 4", s.RxNoBuffer, s.InDiscards)
	}
	dropped := 0
	for _, e := range r.a.NBLLog(0) {
		if e.Kind == ndis.LogDropped {
			dropped++
		}
	}
	if c := r.m.rx.Counts(); dropped != 4 || c.Dropped != 4 {
		t.Fatalf("%d Dropped events, %d counted; want 4", dropped, c.Dropped)
	}
}
