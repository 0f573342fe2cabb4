package capture

import (
	"bytes"
	"encoding/binary"
	"flag"
	"math/rand"
	"sync"
	"testing"
	"time"
)

var ringSeed = flag.Int64("ring.seed", 0, "seed for TestRingMatchesReferenceModel (0: from the clock)")

// frameWithNumber returns a frame of n bytes whose first 8 bytes (as far as
// they fit) carry num and whose other bytes derive from it, so a reader can
// tell a torn or misplaced copy.
func frameWithNumber(num uint64, n int) []byte {
	b := make([]byte, n)
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], num)
	copy(b, hdr[:])
	for i := 8; i < n; i++ {
		b[i] = byte(num) + byte(i)
	}
	return b
}

func TestRingRecordNumbersFromOne(t *testing.T) {
	r := NewRing(RingConfig{Bytes: 1024, Frames: 8})
	if _, _, ok := r.Span(); ok {
		t.Fatal("empty ring reports a span")
	}
	ts := time.Unix(1700000000, 123456789)
	for want := uint64(1); want <= 3; want++ {
		if got := r.Record(ts, []byte{byte(want)}); got != want {
			t.Fatalf("Record returned %d, want %d", got, want)
		}
	}
	first, last, ok := r.Span()
	if !ok || first != 1 || last != 3 {
		t.Fatalf("Span = %d, %d, %v; want 1, 3, true", first, last, ok)
	}
	f, ok := r.Frame(2, nil)
	if !ok || f.Number != 2 || !bytes.Equal(f.Data, []byte{2}) || f.OrigLen != 1 || !f.Time.Equal(ts) {
		t.Fatalf("Frame(2) = %+v, %v", f, ok)
	}
	if _, ok := r.Frame(0, nil); ok {
		t.Error("Frame(0) found")
	}
	if _, ok := r.Frame(4, nil); ok {
		t.Error("Frame(4) found before it was recorded")
	}
}

func TestRingTruncatesToSnapLenAndKeepsOriginalLength(t *testing.T) {
	r := NewRing(RingConfig{Bytes: 1024, Frames: 8, SnapLen: 10})
	data := frameWithNumber(1, 100)
	r.Record(time.Unix(0, 0), data)
	f, ok := r.Frame(1, nil)
	if !ok || f.OrigLen != 100 || !bytes.Equal(f.Data, data[:10]) {
		t.Fatalf("Frame(1) = %+v, %v; want 10 bytes of 100", f, ok)
	}
	if s := r.Stats(); s.Bytes != 10 || s.HeldBytes != 10 {
		t.Errorf("Stats = %+v, want 10 captured bytes", s)
	}
}

func TestRingSnapLenIsCappedAtRingSize(t *testing.T) {
	r := NewRing(RingConfig{Bytes: 64, Frames: 8, SnapLen: 1000})
	if r.SnapLen() != 64 {
		t.Fatalf("SnapLen = %d, want 64", r.SnapLen())
	}
	r.Record(time.Unix(0, 0), frameWithNumber(1, 200))
	if f, ok := r.Frame(1, nil); !ok || len(f.Data) != 64 || f.OrigLen != 200 {
		t.Fatalf("Frame(1) = %d bytes of %d, %v", len(f.Data), f.OrigLen, ok)
	}
}

func TestRingEvictsOldestWhenIndexIsFull(t *testing.T) {
	r := NewRing(RingConfig{Bytes: 1 << 16, Frames: 4})
	for i := uint64(1); i <= 6; i++ {
		r.Record(time.Unix(0, int64(i)), frameWithNumber(i, 20))
	}
	first, last, _ := r.Span()
	if first != 3 || last != 6 {
		t.Fatalf("Span = %d..%d, want 3..6", first, last)
	}
	s := r.Stats()
	if s.Recorded != 6 || s.Evicted != 2 || s.Held != 4 || s.Bytes != 120 || s.HeldBytes != 80 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestRingEvictsOldestWhenBytesAreFull(t *testing.T) {
	// 100 bytes hold three 30-byte frames; the fourth wraps to the start
	// and overwrites the first; the 10-byte tail is skipped.
	r := NewRing(RingConfig{Bytes: 100, Frames: 16})
	for i := uint64(1); i <= 4; i++ {
		r.Record(time.Unix(0, 0), frameWithNumber(i, 30))
	}
	first, last, _ := r.Span()
	if first != 2 || last != 4 {
		t.Fatalf("Span = %d..%d, want 2..4", first, last)
	}
	for i := uint64(2); i <= 4; i++ {
		f, ok := r.Frame(i, nil)
		if !ok || !bytes.Equal(f.Data, frameWithNumber(i, 30)) {
			t.Fatalf("frame %d damaged: %x", i, f.Data)
		}
	}
}

func TestRingFrameReusesBuffer(t *testing.T) {
	r := NewRing(RingConfig{Bytes: 1024, Frames: 8})
	r.Record(time.Unix(0, 0), frameWithNumber(1, 40))
	buf := make([]byte, 0, 64)
	f, _ := r.Frame(1, buf)
	if &f.Data[0] != &buf[:1][0] {
		t.Error("Frame did not copy into the caller's buffer")
	}
}

func TestRingLastAndFramesYieldInOrder(t *testing.T) {
	r := NewRing(RingConfig{Bytes: 1 << 12, Frames: 8})
	for i := uint64(1); i <= 10; i++ {
		r.Record(time.Unix(0, 0), frameWithNumber(i, 16))
	}
	collect := func(seq func(func(Frame) bool)) []uint64 {
		var nums []uint64
		for f := range seq {
			if !bytes.Equal(f.Data, frameWithNumber(f.Number, 16)) {
				t.Fatalf("frame %d has wrong bytes", f.Number)
			}
			nums = append(nums, f.Number)
		}
		return nums
	}
	cases := []struct {
		name string
		seq  func(func(Frame) bool)
		want []uint64
	}{
		{"last 3", r.Last(3, nil), []uint64{8, 9, 10}},
		{"last more than held", r.Last(100, nil), []uint64{3, 4, 5, 6, 7, 8, 9, 10}},
		{"last 0", r.Last(0, nil), nil},
		{"all", r.All(nil), []uint64{3, 4, 5, 6, 7, 8, 9, 10}},
		{"range clipped at both ends", r.Frames(1, 4, nil), []uint64{3, 4}},
		{"range beyond newest", r.Frames(9, 1<<64-1, nil), []uint64{9, 10}},
		{"empty range", r.Frames(6, 5, nil), nil},
	}
	for _, c := range cases {
		got := collect(c.seq)
		if len(got) != len(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}

func TestRingRecordDoesNotAllocate(t *testing.T) {
	r := NewRing(RingConfig{Bytes: 1 << 16, Frames: 64})
	small, big := frameWithNumber(1, 64), frameWithNumber(2, 1514)
	ts := time.Unix(1700000000, 0)
	if n := testing.AllocsPerRun(1000, func() {
		r.Record(ts, small)
		r.Record(ts, big)
	}); n != 0 {
		t.Fatalf("Record allocates %.1f times per call pair", n)
	}
}

func TestRingFrameIntoLargeEnoughBufferDoesNotAllocate(t *testing.T) {
	r := NewRing(RingConfig{Bytes: 1 << 16, Frames: 64})
	r.Record(time.Unix(0, 0), frameWithNumber(1, 1514))
	buf := make([]byte, 0, 2048)
	if n := testing.AllocsPerRun(1000, func() { r.Frame(1, buf) }); n != 0 {
		t.Fatalf("Frame allocates %.1f times per call", n)
	}
}

// refRing is the reference model for the ring: it places frames the same
// documented way (contiguously, starting over at offset 0 when a frame does
// not fit before the end), but decides what is held by asking, slot by slot,
// whether a newer frame has written over a frame's bytes. Each slot
// remembers the absolute stream position last written to it. A zero-length
// frame has no bytes; it counts as overwritten once its slot has been
// written a lap later. The frames held are the longest run of newest frames
// that are all intact and fit in the index.
type refRing struct {
	size, frames, snap int
	lastWrite          []int // per slot: absolute position last written there, -1 if none
	lap, pos           int
	recs               []refFrame // every frame ever recorded; index = number-1
}

type refFrame struct {
	ts   int64
	data []byte
	orig int
	abs  int // absolute stream position of the first byte
}

func newRefRing(size, frames, snap int) *refRing {
	m := &refRing{size: size, frames: frames, snap: min(snap, size), lastWrite: make([]int, size)}
	for i := range m.lastWrite {
		m.lastWrite[i] = -1
	}
	return m
}

func (m *refRing) record(ts int64, data []byte) {
	n := min(len(data), m.snap)
	if m.pos+n > m.size {
		m.lap++
		m.pos = 0
	}
	abs := m.lap*m.size + m.pos
	for i := 0; i < n; i++ {
		m.lastWrite[m.pos+i] = abs + i
	}
	m.recs = append(m.recs, refFrame{ts: ts, data: append([]byte(nil), data[:n]...), orig: len(data), abs: abs})
	m.pos += n
}

func (m *refRing) intact(num uint64) bool {
	f := m.recs[num-1]
	if len(f.data) == 0 {
		return m.lastWrite[f.abs%m.size] < f.abs+m.size
	}
	for i := range f.data {
		if m.lastWrite[(f.abs+i)%m.size] != f.abs+i {
			return false
		}
	}
	return true
}

// span returns the numbers of the oldest and newest frames held.
func (m *refRing) span() (first, last uint64) {
	last = uint64(len(m.recs))
	first = last + 1
	for first > 1 && last-first+2 <= uint64(m.frames) && m.intact(first-1) {
		first--
	}
	return first, last
}

func TestRingMatchesReferenceModel(t *testing.T) {
	seed := *ringSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (rerun with -ring.seed=%d)", seed, seed)
	rng := rand.New(rand.NewSource(seed))

	for round := 0; round < 200; round++ {
		cfg := RingConfig{Bytes: 1 + rng.Intn(300), Frames: 1 + rng.Intn(24), SnapLen: 1 + rng.Intn(120)}
		r := NewRing(cfg)
		m := newRefRing(cfg.Bytes, cfg.Frames, cfg.SnapLen)
		var buf []byte
		for step := 0; step < 300; step++ {
			var n int
			switch rng.Intn(6) {
			case 0:
				n = 0
			case 1:
				n = cfg.Bytes + rng.Intn(10)
			default:
				n = rng.Intn(cfg.SnapLen + 10)
			}
			num := uint64(len(m.recs) + 1)
			data := frameWithNumber(num, n)
			ts := rng.Int63()
			if rng.Intn(3) == 0 {
				// A batch of this frame and up to two more, all at ts.
				b := r.Batch(time.Unix(0, ts))
				for k := rng.Intn(3); ; k-- {
					if got := b.Add(data); got != num {
						t.Fatalf("seed %d round %d: RingBatch.Add returned %d, want %d", seed, round, got, num)
					}
					m.record(ts, data)
					if k == 0 {
						break
					}
					num++
					data = frameWithNumber(num, rng.Intn(cfg.SnapLen+10))
				}
				b.Done()
			} else {
				if got := r.Record(time.Unix(0, ts), data); got != num {
					t.Fatalf("seed %d round %d: Record returned %d, want %d", seed, round, got, num)
				}
				m.record(ts, data)
			}

			first, last := m.span()
			gFirst, gLast, ok := r.Span()
			if gFirst != first || gLast != last || ok != (first <= last) {
				t.Fatalf("seed %d round %d step %d (cfg %+v, frame %d bytes): Span = %d..%d, model %d..%d",
					seed, round, step, cfg, n, gFirst, gLast, first, last)
			}
			st := r.Stats()
			var heldBytes, allBytes int
			for i := first; i <= last; i++ {
				heldBytes += len(m.recs[i-1].data)
			}
			for _, f := range m.recs {
				allBytes += len(f.data)
			}
			if st.Recorded != last || st.Evicted != first-1 || st.Held != int(last-first+1) ||
				st.HeldBytes != heldBytes || st.Bytes != uint64(allBytes) || st.HeldBytes > cfg.Bytes {
				t.Fatalf("seed %d round %d step %d: Stats = %+v, model held %d..%d (%d bytes of %d)",
					seed, round, step, st, first, last, heldBytes, allBytes)
			}
			// Look up a random frame, held or not, and check its contents.
			probe := uint64(1 + rng.Intn(int(last)+1))
			f, found := r.Frame(probe, buf)
			if found != (probe >= first && probe <= last) {
				t.Fatalf("seed %d round %d step %d: Frame(%d) found=%v, model holds %d..%d", seed, round, step, probe, found, first, last)
			}
			if found {
				want := m.recs[probe-1]
				if !bytes.Equal(f.Data, want.data) || f.OrigLen != want.orig || f.Time.UnixNano() != want.ts || f.Number != probe {
					t.Fatalf("seed %d round %d step %d: Frame(%d) = %+v, want %+v", seed, round, step, probe, f, want)
				}
				buf = f.Data
			}
		}
	}
}

func TestRingConcurrentWriterAndReaders(t *testing.T) {
	r := NewRing(RingConfig{Bytes: 4096, Frames: 32})
	const frames = 5000
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := uint64(1); i <= frames; i++ {
			r.Record(time.Unix(0, int64(i)), frameWithNumber(i, 8+int(i%200)))
		}
	}()
	check := func(f Frame) {
		if want := frameWithNumber(f.Number, 8+int(f.Number%200)); !bytes.Equal(f.Data, want) || f.Time.UnixNano() != int64(f.Number) {
			t.Errorf("frame %d read torn or misplaced", f.Number)
		}
	}
	for reader := 0; reader < 2; reader++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				select {
				case <-done:
					return
				default:
				}
				prev := uint64(0)
				for f := range r.Last(10, buf) {
					check(f)
					if f.Number <= prev {
						t.Errorf("Last yielded %d after %d", f.Number, prev)
					}
					prev = f.Number
					buf = f.Data
				}
				if first, last, ok := r.Span(); ok {
					if f, ok := r.Frame(first+(last-first)/2, buf); ok {
						check(f)
					}
				}
			}
		}()
	}
	wg.Wait()
	if s := r.Stats(); s.Recorded != frames || s.Evicted+uint64(s.Held) != frames {
		t.Fatalf("Stats after the run = %+v", s)
	}
}

func TestRingBatchDoesNotAllocate(t *testing.T) {
	r := NewRing(RingConfig{Bytes: 1 << 16, Frames: 64})
	small, big := frameWithNumber(1, 60), frameWithNumber(2, 1514)
	ts := time.Unix(0, 0)
	if n := testing.AllocsPerRun(1000, func() {
		b := r.Batch(ts)
		b.Add(small)
		b.Add(big)
		b.Done()
	}); n != 0 {
		t.Fatalf("a batch allocates %.1f times", n)
	}
}

func BenchmarkCaptureRecordBatch(b *testing.B) {
	for _, size := range []int{64, 1514} {
		b.Run(map[int]string{64: "64B", 1514: "1514B"}[size], func(b *testing.B) {
			r := NewRing(RingConfig{})
			data := frameWithNumber(1, size)
			ts := time.Unix(1700000000, 0)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			// Batches of 32, a typical indication of small frames.
			for i := 0; i < b.N; i += 32 {
				batch := r.Batch(ts)
				for k := 0; k < 32 && i+k < b.N; k++ {
					batch.Add(data)
				}
				batch.Done()
			}
		})
	}
}

func BenchmarkCaptureRecord(b *testing.B) {
	for _, size := range []int{64, 1514} {
		b.Run(map[int]string{64: "64B", 1514: "1514B"}[size], func(b *testing.B) {
			r := NewRing(RingConfig{})
			data := frameWithNumber(1, size)
			ts := time.Unix(1700000000, 0)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.Record(ts, data)
			}
		})
	}
}
