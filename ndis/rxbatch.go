package ndis

import "webminiport/pool"

// rxBatchSize is how many frames an RxBatch fills between two acquisitions of the bookkeeping
// lock: a 16 KiB bulk-IN transfer of 64-byte frames holds about 215.
const rxBatchSize = 64

// RxBatch fills receive NBLs with a burst of frames (those of one bulk-IN transfer) for the
// engine's pending chain, taking the bookkeeping lock once per rxBatchSize frames instead of
// twice per frame (Take, Commit). The next Flush indicates them, as it does frames committed
// one by one.
//
// A batch works ahead: it reserves up to rxBatchSize NBLs of the free list at once and fills
// them without the lock; at End (or when the reserve runs out) it commits what it filled under
// one lock. Reserved NBLs are still free: they keep owner OwnerMiniportFree, Counts and Audit
// count them as free, and nothing about them is logged. Committing makes every event of the
// frame-by-frame path, in the same order (Taken, then Filtered or Recycled for a frame that is
// not indicated), and a filled NBL changes owner then. What a batch changes is who can take the
// reserved NBLs meanwhile: nobody else, so another goroutine taking from the same engine may
// find the free list empty while a batch holds NBLs it will not use.
//
// A batch belongs to one goroutine at a time; make one per receive path with NewBatch and call
// End after each burst. Until End, the frames it filled are in no chain and its reserve is out
// of the free list, so End must come before Flush, Drain and Free.
type RxBatch struct {
	r *RxEngine
	// Arrays with counts rather than slices: a slice field appended to costs a write barrier
	// per frame.
	spare   [rxBatchSize]pool.NBL // reserved, not given out; spare[nspare-1] is given out next
	nspare  int
	held    int                 // NBLs of the batch the engine counts as reserved: nspare at the last sync
	taken   pool.NBL            // given out by Take and not yet committed
	filled  [rxBatchSize]filled // committed to the batch since the last sync, in order
	nfilled int
}

// filled is a frame committed to a batch: to be indicated (kind 0), or refused by the filter
// (LogFiltered, arg the length) or for its length (LogRecycled).
type filled struct {
	h    pool.NBL
	arg  uint32
	kind LogKind
}

// NewBatch makes a batch for the engine. It allocates; make one per receive path, not per burst.
func (r *RxEngine) NewBatch() *RxBatch { return &RxBatch{r: r} }

// Take gives the caller a free NBL and its whole data buffer to write a frame into, like
// RxEngine.Take; Commit it next. With the free list empty it returns 0 and counts the drop
// (RxNoBuffer, ifInDiscards). The batch gives out one NBL at a time: taking again before
// committing gives the same NBL again.
func (b *RxBatch) Take() (pool.NBL, []byte) {
	b.untake()
	h := b.next()
	if h == 0 {
		return 0, nil
	}
	b.taken = h
	return h, b.r.p.FirstBuffer(h)
}

// next takes an NBL off the reserve, refilling it (and committing what was filled) when it is
// empty or the frames filled since the last sync fill the batch; 0 when the free list is empty
// (the drop is counted).
func (b *RxBatch) next() pool.NBL {
	if (b.nspare == 0 || b.nfilled == rxBatchSize) && !b.sync(true) {
		return 0
	}
	b.nspare--
	return b.spare[b.nspare]
}

// untake puts the NBL Take gave out and nobody committed back in the reserve.
func (b *RxBatch) untake() {
	if b.taken != 0 {
		b.spare[b.nspare] = b.taken
		b.nspare++
		b.taken = 0
	}
}

// fill records a frame committed to the batch.
func (b *RxBatch) fill(h pool.NBL, kind LogKind, length int) {
	b.filled[b.nfilled] = filled{h: h, arg: refusedArg(kind, length), kind: kind}
	b.nfilled++
}

// Commit queues the NBL the last Take gave, holding a frame of length bytes, as RxEngine.Commit
// does: set up for the indication, or refused by the packet filter, or refused for its length
// (counted in ifInErrors, and the error says why). An NBL the batch did not give out is misuse.
func (b *RxBatch) Commit(h pool.NBL, length int) error {
	if h == 0 || h != b.taken {
		return b.r.misuseNotHeld(h, "committed to a batch that did not give it out")
	}
	b.taken = 0
	kind, err := b.r.arm(h, nil, length)
	b.fill(h, kind, length)
	return err
}

// CopyFrame is Take, copy and Commit for a frame that arrived in some other buffer (a USB
// transfer), as RxEngine.CopyFrame. A frame dropped for want of a buffer is counted and is no
// error.
func (b *RxBatch) CopyFrame(frame []byte) error {
	b.untake()
	h := b.next()
	if h == 0 {
		return nil
	}
	kind, err := b.r.arm(h, frame, len(frame))
	b.fill(h, kind, len(frame))
	return err
}

// End commits every frame filled since the last End to the engine (the frames to indicate join
// the pending chain) and gives the reserve back to the free list. An NBL taken and not
// committed goes back too.
func (b *RxBatch) End() {
	b.untake()
	if b.nfilled != 0 || b.nspare != 0 {
		b.sync(false)
	}
}

// sync commits the filled frames under one acquisition of the lock. With more it then tops the
// reserve up, and reports whether it holds an NBL; when it does not, the frame that needed one
// is dropped and counted. Without more it gives the reserve back.
func (b *RxBatch) sync(more bool) bool {
	r := b.r
	m := r.a.beginFrameMoves(ComponentMiniport)
	r.reserved -= b.held // those given out since are the filled frames, accounted for below
	// Frame by frame, in order, as CopyFrame would have logged them: the frames to indicate
	// change owner in runs, one pool call per run.
	pending, free := r.pending, r.free
	start := len(pending)
	for _, f := range b.filled[:b.nfilled] {
		if f.kind == 0 {
			pending = append(pending, f.h)
			continue
		}
		m.moveAll(r.e, pending[start:], OwnerMiniport, LogTaken, 0)
		start = len(pending)
		m.move(r.e, f.h, OwnerMiniport, LogTaken, 0)
		m.move(r.e, f.h, r.home, f.kind, f.arg)
		free = append(free, f.h)
		if f.kind == LogFiltered {
			r.filtered++
		}
	}
	m.moveAll(r.e, pending[start:], OwnerMiniport, LogTaken, 0)
	r.inHand += len(pending) - len(r.pending)
	r.pending = pending
	b.nfilled = 0

	if !more {
		r.free = append(free, b.spare[:b.nspare]...)
		b.nspare, b.held = 0, 0
		m.done()
		return false
	}
	// The top of the free list (the warmest buffers) goes on top of the reserve, to be given
	// out first, as Take would.
	k := min(rxBatchSize-b.nspare, len(free))
	copy(b.spare[b.nspare:], free[len(free)-k:])
	r.free = free[:len(free)-k]
	b.nspare += k
	b.held = b.nspare
	r.reserved += b.held
	ok := b.held != 0
	if !ok {
		r.dropped++
		m.note(r.e, LogDropped)
	}
	m.done()
	if !ok {
		r.a.countNoBuffer()
	}
	return ok
}
