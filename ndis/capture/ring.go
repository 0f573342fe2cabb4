package capture

import (
	"iter"
	"sync"
	"time"
)

// Ring defaults. 32 MiB holds about 22 000 full-size frames or half a
// million minimum-size ones; the index is sized for an average frame of
// 128 bytes, so a run of small frames evicts by count before the bytes
// run out, which keeps the index (24 bytes a frame) at 6 MiB.
const (
	DefaultRingBytes   = 32 << 20
	DefaultRingFrames  = DefaultRingBytes / 128
	DefaultRingSnapLen = 65535
)

// RingConfig sizes a Ring. Zero fields take the defaults above.
type RingConfig struct {
	// Bytes is the size of the byte ring that holds the frame contents.
	Bytes int
	// Frames is the number of frames the index can hold.
	Frames int
	// SnapLen is the most bytes kept of one frame; longer frames are
	// truncated and keep their original length. It is capped at Bytes.
	SnapLen int
}

// Frame is one recorded frame.
type Frame struct {
	// Number counts frames from 1 in the order they were recorded.
	Number uint64
	// Time is when the frame was recorded (or captured, for a file).
	Time time.Time
	// OrigLen is the frame's length on the wire; it is larger than
	// len(Data) when the frame was truncated to the snap length.
	OrigLen int
	// Data holds the captured bytes.
	Data []byte
}

// RingStats is a snapshot of a Ring's counters.
type RingStats struct {
	Recorded  uint64 // frames recorded since the ring was made
	Evicted   uint64 // frames dropped from the ring to make room
	Bytes     uint64 // captured bytes recorded since the ring was made
	Held      int    // frames in the ring now
	HeldBytes int    // captured bytes of the frames in the ring now
	First     uint64 // number of the oldest frame held (Last+1 when empty)
	Last      uint64 // number of the newest frame held (0 before the first)
}

// ringRecord is one index entry. pos is an absolute position in the
// stream of bytes ever written; the frame's bytes sit contiguously at
// data[pos%len(data):], because Record never splits a frame across the end.
type ringRecord struct {
	ts      int64
	pos     uint64
	capLen  uint32
	origLen uint32
}

// Ring is a bounded capture buffer: frame contents in one preallocated byte
// ring and their index in a preallocated record ring, the oldest frames
// evicted when either is full. One writer (the receive path) and any number
// of readers (the UI, an export) may use it at once; readers copy frames out
// under the lock, one frame at a time, so the writer never waits longer than
// one frame copy.
type Ring struct {
	mu      sync.Mutex
	data    []byte
	recs    []ringRecord
	snapLen int

	first uint64 // number of the oldest held frame; == next when empty
	next  uint64 // number the next recorded frame gets
	wpos  uint64 // absolute byte position just past the newest frame
	// Where first, next and wpos fall in recs and data, kept along with them: the receive
	// path records every frame, and three divisions a frame cost more than the bookkeeping.
	firstSlot, nextSlot int
	woff                uint64 // wpos % len(data), or len(data) when the last frame ended there

	recorded  uint64
	evicted   uint64
	bytes     uint64
	heldBytes int
}

// NewRing makes a ring and allocates all its memory.
func NewRing(cfg RingConfig) *Ring {
	if cfg.Bytes <= 0 {
		cfg.Bytes = DefaultRingBytes
	}
	if cfg.Frames <= 0 {
		cfg.Frames = DefaultRingFrames
	}
	if cfg.SnapLen <= 0 {
		cfg.SnapLen = DefaultRingSnapLen
	}
	// A frame longer than the byte ring could never be held whole.
	cfg.SnapLen = min(cfg.SnapLen, cfg.Bytes)
	return &Ring{
		data:      make([]byte, cfg.Bytes),
		recs:      make([]ringRecord, cfg.Frames),
		snapLen:   cfg.SnapLen,
		first:     1,
		next:      1,
		firstSlot: 1 % cfg.Frames,
		nextSlot:  1 % cfg.Frames,
	}
}

// SnapLen returns the most bytes the ring keeps of one frame.
func (r *Ring) SnapLen() int { return r.snapLen }

// Record copies a frame into the ring, evicting the oldest frames to make
// room, and returns the frame's number. It does not allocate.
func (r *Ring) Record(ts time.Time, data []byte) uint64 {
	r.mu.Lock()
	num := r.recordLocked(ts.UnixNano(), data)
	r.mu.Unlock()
	return num
}

// RingBatch records several frames under one lock of the ring: the receive
// path records a whole indication at a time. Get one from Ring.Batch, Add
// the frames, then Done; nothing else may use the ring in between (the lock
// is held).
type RingBatch struct {
	r  *Ring
	ts int64
}

// Batch locks the ring and returns a batch whose frames all get time ts.
func (r *Ring) Batch(ts time.Time) RingBatch {
	r.mu.Lock()
	return RingBatch{r: r, ts: ts.UnixNano()}
}

// Add records one frame as Record does and returns its number.
func (b RingBatch) Add(data []byte) uint64 { return b.r.recordLocked(b.ts, data) }

// Done unlocks the ring.
func (b RingBatch) Done() { b.r.mu.Unlock() }

// recordLocked copies one frame in and returns its number. The caller holds
// r.mu.
func (r *Ring) recordLocked(ts int64, data []byte) uint64 {
	n := uint64(min(len(data), r.snapLen))
	size := uint64(len(r.data))
	start, off := r.wpos, r.woff
	if off+n > size {
		// Keep the frame contiguous: skip the tail and start at the beginning.
		start += size - off
		off = 0
	}
	end := start + n
	// A held frame stays intact while its first byte is within the last
	// size bytes written; frames are in position order, so evict from the
	// oldest until that holds (and until the index has a free slot).
	for r.first < r.next {
		old := &r.recs[r.firstSlot]
		if old.pos+size >= end && r.next-r.first < uint64(len(r.recs)) {
			break
		}
		r.heldBytes -= int(old.capLen)
		r.first++
		if r.firstSlot++; r.firstSlot == len(r.recs) {
			r.firstSlot = 0
		}
		r.evicted++
	}
	copy(r.data[off:off+n], data)
	num := r.next
	r.recs[r.nextSlot] = ringRecord{
		ts:      ts,
		pos:     start,
		capLen:  uint32(n),
		origLen: uint32(len(data)),
	}
	if r.nextSlot++; r.nextSlot == len(r.recs) {
		r.nextSlot = 0
	}
	r.next++
	r.wpos, r.woff = end, off+n
	r.recorded++
	r.bytes += n
	r.heldBytes += int(n)
	return num
}

// Span returns the numbers of the oldest and newest frames held; ok is
// false when the ring is empty.
func (r *Ring) Span() (first, last uint64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first, r.next - 1, r.first < r.next
}

// Stats returns a snapshot of the ring's counters.
func (r *Ring) Stats() RingStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RingStats{
		Recorded:  r.recorded,
		Evicted:   r.evicted,
		Bytes:     r.bytes,
		Held:      int(r.next - r.first),
		HeldBytes: r.heldBytes,
		First:     r.first,
		Last:      r.next - 1,
	}
}

// Frame copies frame number num into buf (reusing its capacity, growing it
// only when the frame does not fit) and returns it; ok is false when the
// frame is not held (evicted, or not recorded yet).
func (r *Ring) Frame(num uint64, buf []byte) (f Frame, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if num < r.first || num >= r.next {
		return Frame{}, false
	}
	return r.copyOut(num, buf), true
}

// copyOut copies held frame num into buf. The caller holds r.mu.
func (r *Ring) copyOut(num uint64, buf []byte) Frame {
	rec := r.recs[num%uint64(len(r.recs))]
	off := rec.pos % uint64(len(r.data))
	return Frame{
		Number:  num,
		Time:    time.Unix(0, rec.ts),
		OrigLen: int(rec.origLen),
		Data:    append(buf[:0], r.data[off:off+uint64(rec.capLen)]...),
	}
}

// Frames yields the held frames numbered from through to, oldest first.
// Frames evicted while the loop runs are skipped. Each Frame's Data lives in
// one buffer, starting as buf, that is reused for the next frame: copy it to
// keep it past the loop body.
func (r *Ring) Frames(from, to uint64, buf []byte) iter.Seq[Frame] {
	return func(yield func(Frame) bool) {
		for num := from; ; num++ {
			r.mu.Lock()
			if num < r.first {
				num = r.first
			}
			if num > to || num >= r.next {
				r.mu.Unlock()
				return
			}
			f := r.copyOut(num, buf)
			r.mu.Unlock()
			buf = f.Data
			// num == to ends the loop before num++ could wrap past MaxUint64.
			if !yield(f) || num == to {
				return
			}
		}
	}
}

// All yields every frame held when the loop starts, oldest first, like
// Frames.
func (r *Ring) All(buf []byte) iter.Seq[Frame] {
	first, last, _ := r.Span()
	return r.Frames(first, last, buf)
}

// Last yields the newest n frames held when the loop starts, oldest first,
// like Frames.
func (r *Ring) Last(n int, buf []byte) iter.Seq[Frame] {
	first, last, _ := r.Span()
	if n <= 0 {
		return r.Frames(1, 0, buf)
	}
	if held := last - first + 1; uint64(n) < held {
		first = last - uint64(n) + 1
	}
	return r.Frames(first, last, buf)
}
