package ndis

import (
	"errors"
	"fmt"
	"math"

	"webminiport/pool"
)

// RxConfig sets up a receive engine.
type RxConfig struct {
	// Name of the pool in views; default "<adapter> rx".
	Name string
	// Tag is the pool tag; default "WmRx".
	Tag uint32
	// Count is how many receive NBLs to preallocate (netvmini: 256). The free list never grows.
	Count int
	// DataSize is the size of each NBL's data buffer: at least the largest frame the miniport
	// indicates (1514 for standard Ethernet; 2048 is a round choice).
	DataSize uint32
	// LowWatermark: when fewer NBLs than this are free at a Flush, the chain is indicated with
	// ReceiveResources so it comes back at once. 0 never uses RESOURCES.
	LowWatermark int
}

// RxEngine is the seed's receive-buffer pattern (WDK "Miniport Driver Buffer Management") for a
// miniport: in its initialize handler the miniport makes an NBL pool with NBs and data buffers,
// preallocates every receive NBL onto its own free list, fills them with frames (Take, copy,
// Commit; CopyFrame; or, a burst at a time, an RxBatch), indicates them in chains (Flush), takes
// returned NBLs back onto the free list (Return, from its ReturnNBLs handler) and, in its halt
// handler, frees every NBL and then the pool (Free).
//
// The engine keeps the count that must always hold (Conservation): free + held by the miniport +
// posted to the device + outstanding at the protocol (+ lent with RESOURCES during a call) = Count.
//
// Every method is safe for concurrent use: several bulk-IN completions may Take and Commit at
// once; frames committed by any of them go into the one pending chain that the next Flush
// indicates.
type RxEngine struct {
	*stock
	low int

	// Guarded by the adapter's bookkeeping lock (a.log.mu), with stock.free.
	inHand      int // taken or reclaimed, not on the free list, not indicated (includes pending)
	posted      int
	outstanding int        // indicated without RESOURCES, not returned
	lent        int        // indicated with RESOURCES, not yet back on the free list
	pending     []pool.NBL // committed, in order, to be linked into a chain by the next Flush
	reserved    int        // free NBLs an RxBatch holds out of the free list (counted as free)
	drained     func()
	dropped     uint64
	filtered    uint64
	resources   uint64
}

// NewRxEngine makes the receive pool of adapter a and preallocates cfg.Count NBLs onto the free
// list. Call it from Miniport.Initialize; on error nothing is left allocated.
func NewRxEngine(a *Adapter, cfg RxConfig) (*RxEngine, error) {
	if cfg.Name == "" {
		cfg.Name = a.name + " rx"
	}
	if cfg.Tag == 0 {
		cfg.Tag = pool.MakeTag("WmRx")
	}
	if cfg.LowWatermark < 0 || cfg.LowWatermark > cfg.Count {
		return nil, fmt.Errorf("ndis: rx pool %q: low watermark %d outside 0..%d", cfg.Name, cfg.LowWatermark, cfg.Count)
	}
	s, err := newStock(a, ComponentMiniport, pool.Params{Name: cfg.Name, Tag: cfg.Tag, DataSize: cfg.DataSize, Capacity: cfg.Count}, OwnerMiniportFree)
	if err != nil {
		return nil, err
	}
	return &RxEngine{stock: s, low: cfg.LowWatermark, pending: make([]pool.NBL, 0, cfg.Count)}, nil
}

// Pool returns the receive pool.
func (r *RxEngine) Pool() *pool.Pool { return r.p }

// Take gives the miniport a free NBL and its whole data buffer to copy a frame into. With the free
// list empty the arriving frame must be dropped: Take then returns 0, and counts the drop
// (RxNoBuffer, ifInDiscards).
func (r *RxEngine) Take() (pool.NBL, []byte) {
	m := r.a.beginFrameMoves(ComponentMiniport)
	h := r.pop()
	if h == 0 {
		r.dropped++
		m.note(r.e, LogDropped)
		m.done()
		r.a.countNoBuffer()
		return 0, nil
	}
	r.inHand++
	m.move(r.e, h, OwnerMiniport, LogTaken, 0)
	m.done()
	return h, r.p.FirstBuffer(h)
}

// Post takes a free NBL and marks it posted to the device, for a device that fills receive
// buffers itself; Commit it when the device has filled it, or Recycle it when the device gives
// it back unused. It returns 0 when the free list is empty.
func (r *RxEngine) Post() (pool.NBL, []byte) {
	m := r.a.beginFrameMoves(ComponentMiniport)
	h := r.pop()
	if h == 0 {
		m.done()
		return 0, nil
	}
	r.posted++
	m.move(r.e, h, OwnerPosted, LogPosted, 0)
	m.done()
	return h, r.p.FirstBuffer(h)
}

// Commit queues a taken (or posted) NBL holding a frame of length bytes for the next Flush. The
// NBL is set up as NDIS requires before an indication: data range [0, length), SourceHandle the
// adapter's, Status SUCCESS, Next nil (Flush links the chain). A frame the packet filter refuses
// goes straight back to the free list and is not counted as received. A frame shorter than an
// Ethernet header or longer than the buffer or OID_GEN_MAXIMUM_TOTAL_SIZE goes back too, counted
// in ifInErrors, and the error says why.
func (r *RxEngine) Commit(h pool.NBL, length int) error {
	o := r.p.Owner(h)
	if o != OwnerMiniport && o != OwnerPosted {
		return r.misuseNotHeld(h, "committed")
	}
	if kind, err := r.arm(h, nil, length); kind != 0 {
		r.recycleOne(h, o, kind, refusedArg(kind, length))
		return err
	}
	m := r.a.beginFrameMoves(ComponentMiniport)
	if o == OwnerPosted {
		m.move(r.e, h, OwnerMiniport, LogDeviceFilled, uint32(length))
		r.posted--
		r.inHand++
	}
	r.pending = append(r.pending, h)
	m.done()
	return nil
}

// arm sets up NBL h, which the miniport holds, for a frame of length bytes at the start of its
// buffer, after copying frame there when it is not nil (then length is len(frame)). It returns 0
// when the frame is to be indicated, LogFiltered when the packet filter refuses it, and
// LogRecycled with the error, counted in ifInErrors, when the NBL cannot carry it.
func (r *RxEngine) arm(h pool.NBL, frame []byte, length int) (LogKind, error) {
	f := r.a.filter.Load()
	limit := f.maxTotal
	if limit == 0 { // before the first initialize only the buffer bounds a frame
		limit = math.MaxInt
	}
	var buf []byte
	if uint(length-ethernetHeaderLen) <= uint(limit-ethernetHeaderLen) { // one test for both bounds
		// nil when longer than the buffer
		buf = r.p.Rearm(h, uint32(length), r.a.handle, uint32(StatusSuccess))
	}
	if buf == nil {
		return LogRecycled, r.badLength(h, frame, length, f.maxTotal)
	}
	copy(buf, frame)
	if !f.accepts(buf) {
		return LogFiltered, nil
	}
	return 0, nil
}

// badLength counts a frame of length bytes that NBL h cannot carry in ifInErrors and says why.
func (r *RxEngine) badLength(h pool.NBL, frame []byte, length, maxTotal int) error {
	r.a.CountReceiveErrors(1)
	size := len(r.p.FirstBuffer(h))
	if frame != nil && length > size {
		return fmt.Errorf("ndis: rx pool %q: frame of %d bytes does not fit a %d-byte buffer", r.e.name, length, size)
	}
	return fmt.Errorf("ndis: rx pool %q: frame of %d bytes outside %d..min(buffer %d, max total size %d)", r.e.name, length, ethernetHeaderLen, size, maxTotal)
}

// refusedArg is the log argument of a frame arm refused as kind: its length when Filtered.
func refusedArg(kind LogKind, length int) uint32 {
	if kind == LogFiltered {
		return uint32(length)
	}
	return 0
}

// CopyFrame is Take, copy and Commit for a frame that arrived in some other buffer (a USB
// transfer), under one acquisition of the bookkeeping lock. A frame dropped for want of a buffer
// is counted and is no error.
func (r *RxEngine) CopyFrame(frame []byte) error {
	m := r.a.beginFrameMoves(ComponentMiniport)
	h := r.pop()
	if h == 0 {
		r.dropped++
		m.note(r.e, LogDropped)
		m.done()
		r.a.countNoBuffer()
		return nil
	}
	m.move(r.e, h, OwnerMiniport, LogTaken, 0)
	// The frame is copied under the lock: the NBL joins the pending chain at once, and a Flush
	// on another goroutine must not indicate it half filled.
	kind, err := r.arm(h, frame, len(frame))
	if kind != 0 {
		if kind == LogFiltered {
			r.filtered++
		}
		m.move(r.e, h, r.home, kind, refusedArg(kind, len(frame)))
		r.free = append(r.free, h)
	} else {
		r.inHand++
		r.pending = append(r.pending, h)
	}
	m.done()
	return err
}

// Recycle puts an NBL the miniport holds back on the free list: taken or posted and not to be
// indicated, or reclaimed after the miniport indicated it with RESOURCES itself.
func (r *RxEngine) Recycle(h pool.NBL) error {
	o := r.p.Owner(h)
	if o != OwnerMiniport && o != OwnerPosted && o != OwnerReclaim {
		return r.misuseNotHeld(h, "recycled")
	}
	r.recycleOne(h, o, LogRecycled, 0)
	return nil
}

// recycleOne moves one held NBL (owner o: OwnerMiniport, OwnerPosted or OwnerReclaim) to the
// free list, logged as kind (Recycled, or Filtered with the frame length arg).
func (r *RxEngine) recycleOne(h pool.NBL, o pool.Owner, kind LogKind, arg uint32) {
	m := r.a.beginFrameMoves(ComponentMiniport)
	if o == OwnerPosted {
		r.posted--
	} else {
		r.inHand--
	}
	if kind == LogFiltered {
		r.filtered++
	}
	m.move(r.e, h, r.home, kind, arg)
	r.free = append(r.free, h)
	m.done()
}

// Flush indicates the pending chain (everything committed since the last Flush) with its count.
// When fewer than LowWatermark NBLs are free it adds ReceiveResources, and the NBLs are back on
// the free list when Flush returns. It adds ReceivePerfectFiltered, because Commit filtered every
// frame. If the adapter refuses the indication (not running, misuse) the NBLs go back on the free
// list and the error is returned.
func (r *RxEngine) Flush(flags ReceiveFlags) error {
	m := r.a.beginFrameMoves(ComponentMiniport)
	n := len(r.pending)
	if n == 0 {
		m.done()
		return nil
	}
	head, err := r.p.Link(r.pending)
	if err != nil {
		// An NBL of the chain died while the miniport held it (it freed it through FreeNBL):
		// nothing is indicated, and the others go back on the free list.
		r.recyclePending(m)
		m.done()
		return r.a.record(err)
	}
	r.pending = r.pending[:0]
	r.inHand -= n
	resources := len(r.free)+r.reserved < r.low
	if resources {
		r.lent += n
		r.resources++
	} else {
		r.outstanding += n
	}
	m.done()

	if resources {
		flags |= ReceiveResources
	}
	err = r.a.IndicateReceive(head, n, flags|ReceivePerfectFiltered)
	if err == nil && !resources {
		return nil
	}
	// RESOURCES: the NBLs are ours again (owner OwnerReclaim). Refused: they never left
	// (owner OwnerMiniport). Either way they go back on the free list.
	m = r.a.beginFrameMoves(ComponentMiniport)
	if resources {
		r.lent -= n
	} else {
		r.outstanding -= n
	}
	free := r.free
	for h, k := head, 0; h != 0 && k < n; k++ {
		free = append(free, h)
		h = r.p.Next(h)
	}
	m.moveAll(r.e, free[len(r.free):], r.home, LogRecycled, 0)
	r.free = free
	fn := r.takeDrainedLocked()
	m.done()
	if fn != nil {
		fn()
	}
	return err
}

// recyclePending puts the pending NBLs back on the free list, leaving out any that is no longer
// live (the miniport freed it into the pool: Conservation will say so). m holds the lock.
func (r *RxEngine) recyclePending(m mover) {
	for _, h := range r.pending {
		r.inHand--
		if r.p.Check(h) == nil {
			m.move(r.e, h, r.home, LogRecycled, 0)
			r.free = append(r.free, h)
		}
	}
	r.pending = r.pending[:0]
}

// Return takes NBLs that came back through the miniport's ReturnNBLs handler onto the free list.
// It reads each NBL's Next before putting it on the list (a concurrent Take may reuse it at once).
// An NBL that is not the miniport's (still lent, or already free) is reported and skipped.
func (r *RxEngine) Return(chain pool.NBL) error {
	var bad []pool.NBL
	m := r.a.beginFrameMoves(ComponentMiniport) // right after NDIS's Returned: same time
	r.a.walks++
	walk := r.a.walks
	// free is a local: appending to the field would cost a write barrier per NBL. The walk looks
	// at n+1 NBLs at most: a longer chain holds a bad one.
	free := r.free
	for h, steps := chain, 0; h != 0 && steps <= r.n; {
		before := len(free)
		free, h = r.recycleRun(h, walk, free, r.n+1-steps)
		if steps += len(free) - before; h != 0 && steps <= r.n {
			bad = append(bad, h)
			h = r.p.Next(h)
			steps++
		}
	}
	n := len(free) - len(r.free)
	m.moveAll(r.e, free[len(r.free):], r.home, LogRecycled, 0)
	r.free = free
	r.outstanding -= n
	fn := r.takeDrainedLocked()
	m.done()
	if fn != nil {
		fn()
	}
	var errs []error
	for _, h := range bad {
		errs = append(errs, r.misuseNotHeld(h, "returned to the free list"))
	}
	return errors.Join(errs...)
}

// recycleRun appends to free the run of at most limit NBLs from h that the miniport holds (owner
// OwnerMiniport), met for the first time in this walk (an NBL met twice is on a cycle, and on the
// free list already), marking them with walk. It returns the NBL it stopped at: 0 at the end of
// the chain, else one that cannot be recycled or is one too many. It is a loop of its own, with
// few variables, because the wasm backend keeps the rest of a big function's in memory.
func (r *RxEngine) recycleRun(h pool.NBL, walk uint64, free []pool.NBL, limit int) ([]pool.NBL, pool.NBL) {
	p, slots, end := r.p, r.e.slots, len(free)+limit
	for h != 0 && len(free) < end && p.Owner(h) == OwnerMiniport {
		s := &slots[p.Index(h)]
		if s.walk == walk {
			break
		}
		s.walk = walk
		free = append(free, h)
		h = p.Next(h)
	}
	return free, h
}

// Drain arranges for done to run once nothing is outstanding at the protocol, for a pause: it
// returns true at once (and forgets done) when nothing is outstanding now; otherwise done runs
// exactly once, from the Return (or Flush) that brings the count to zero. The miniport stops
// committing frames before it drains.
func (r *RxEngine) Drain(done func()) bool {
	r.a.log.mu.Lock()
	defer r.a.log.mu.Unlock()
	if r.outstanding == 0 && r.lent == 0 {
		r.drained = nil
		return true
	}
	r.drained = done
	return false
}

func (r *RxEngine) takeDrainedLocked() func() {
	if r.drained == nil || r.outstanding != 0 || r.lent != 0 {
		return nil
	}
	fn := r.drained
	r.drained = nil
	return fn
}

// RxCounts is a snapshot of a receive engine.
type RxCounts struct {
	Total, Free, InHand, Posted, Outstanding, LentResources int
	Pending                                                 int    // committed, waiting for Flush (part of InHand)
	Dropped                                                 uint64 // frames dropped: free list empty
	Filtered                                                uint64 // frames refused by the packet filter
	ResourcesIndications                                    uint64 // Flushes that used RESOURCES
}

// Counts returns a snapshot of the engine's counts.
func (r *RxEngine) Counts() RxCounts {
	r.a.log.mu.Lock()
	defer r.a.log.mu.Unlock()
	return RxCounts{Total: r.n, Free: len(r.free) + r.reserved, InHand: r.inHand, Posted: r.posted, Outstanding: r.outstanding,
		LentResources: r.lent, Pending: len(r.pending), Dropped: r.dropped, Filtered: r.filtered, ResourcesIndications: r.resources}
}

// Conservation checks the invariant of the seed's pattern (specs/ndis.md §9 item 9): free +
// held by the miniport + posted to the device + outstanding at the protocol + lent with RESOURCES
// = Count, and the pool still has exactly Count NBLs allocated (none was freed into the pool or
// leaked from it). It may be called at any time.
func (r *RxEngine) Conservation() error {
	c := r.Counts()
	sum := c.Free + c.InHand + c.Posted + c.Outstanding + c.LentResources
	if sum != c.Total {
		return fmt.Errorf("ndis: rx pool %q: free %d + miniport %d + posted %d + outstanding %d + lent with RESOURCES %d = %d, want %d",
			r.e.name, c.Free, c.InHand, c.Posted, c.Outstanding, c.LentResources, sum, c.Total)
	}
	if st := r.p.Stats(); st.Allocated != c.Total {
		return fmt.Errorf("ndis: rx pool %q: %d NBLs allocated in the pool, want %d", r.e.name, st.Allocated, c.Total)
	}
	return nil
}

// Audit compares the engine's counts with the owner each NBL carries in the pool. Unlike
// Conservation it needs a quiet moment: no Take, Commit, Flush or Return in progress.
func (r *RxEngine) Audit() error {
	if err := r.Conservation(); err != nil {
		return err
	}
	c := r.Counts()
	st := r.p.Stats()
	for _, x := range []struct {
		what      string
		got, want int
	}{
		{"miniport free list", st.PerOwner[OwnerMiniportFree], c.Free},
		{"miniport", st.PerOwner[OwnerMiniport], c.InHand},
		{"posted", st.PerOwner[OwnerPosted], c.Posted},
		{"held by protocol", st.PerOwner[OwnerProtocol], c.Outstanding},
		{"lent with RESOURCES or to reclaim", st.PerOwner[OwnerLentResources] + st.PerOwner[OwnerReclaim], c.LentResources},
	} {
		if x.got != x.want {
			return fmt.Errorf("ndis: rx pool %q: %d NBLs carry owner %q, the engine counts %d", r.e.name, x.got, x.what, x.want)
		}
	}
	return nil
}

// Free is the halt step of the seed: free every NBL on the free list, then the pool. NBLs not on
// the free list (still posted, held, or leaked) make the pool free fail; the error names them.
func (r *RxEngine) Free() error { return r.release() }
