package ndis

import (
	"errors"
	"fmt"

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
// Commit), indicates them in chains (Flush), takes returned NBLs back onto the free list
// (Return, from its ReturnNBLs handler) and, in its halt handler, frees every NBL and then the
// pool (Free).
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
	outstanding int // indicated without RESOURCES, not returned
	lent        int // indicated with RESOURCES, not yet back on the free list
	head, tail  pool.NBL
	pending     int
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
	return &RxEngine{stock: s, low: cfg.LowWatermark}, nil
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
	return h, r.p.Buffer(r.p.FirstNB(h))
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
	return h, r.p.Buffer(r.p.FirstNB(h))
}

// Commit queues a taken (or posted) NBL holding a frame of length bytes for the next Flush. The
// NBL is set up as NDIS requires before an indication: data range [0, length), SourceHandle the
// adapter's, Status SUCCESS, Next nil. A frame the packet filter refuses goes straight back to
// the free list and is not counted as received. A frame shorter than an Ethernet header or longer
// than the buffer or OID_GEN_MAXIMUM_TOTAL_SIZE goes back too, counted in ifInErrors, and the
// error says why.
func (r *RxEngine) Commit(h pool.NBL, length int) error {
	p := r.p
	o := p.Owner(h)
	if o != OwnerMiniport && o != OwnerPosted {
		return r.misuseNotHeld(h, "committed")
	}
	nb := p.FirstNB(h)
	buf := p.Buffer(nb)
	f := r.a.filter.Load()
	if length < ethernetHeaderLen || length > len(buf) || (f.maxTotal > 0 && length > f.maxTotal) {
		r.a.CountReceiveErrors(1)
		r.recycleOne(h, o, LogRecycled, 0)
		return fmt.Errorf("ndis: rx pool %q: frame of %d bytes outside %d..min(buffer %d, max total size %d)", r.e.name, length, ethernetHeaderLen, len(buf), f.maxTotal)
	}
	if !f.accepts(buf[:length]) {
		r.recycleOne(h, o, LogFiltered, uint32(length))
		return nil
	}
	_ = p.SetData(nb, 0, uint32(length))
	p.SetSourceHandle(h, r.a.handle)
	p.SetStatus(h, uint32(StatusSuccess))
	_ = p.SetNext(h, 0)
	m := r.a.beginFrameMoves(ComponentMiniport)
	if o == OwnerPosted {
		m.move(r.e, h, OwnerMiniport, LogDeviceFilled, uint32(length))
		r.posted--
		r.inHand++
	}
	if r.tail != 0 {
		_ = p.SetNext(r.tail, h)
	} else {
		r.head = h
	}
	r.tail = h
	r.pending++
	m.done()
	return nil
}

// CopyFrame is Take, copy and Commit for a frame that arrived in some other buffer (a USB
// transfer). A frame dropped for want of a buffer is counted and is no error.
func (r *RxEngine) CopyFrame(frame []byte) error {
	h, buf := r.Take()
	if h == 0 {
		return nil
	}
	if len(frame) > len(buf) {
		r.a.CountReceiveErrors(1)
		r.recycleOne(h, OwnerMiniport, LogRecycled, 0)
		return fmt.Errorf("ndis: rx pool %q: frame of %d bytes does not fit a %d-byte buffer", r.e.name, len(frame), len(buf))
	}
	return r.Commit(h, copy(buf, frame))
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
// free list.
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
	r.a.log.mu.Lock()
	head, n := r.head, r.pending
	if n == 0 {
		r.a.log.mu.Unlock()
		return nil
	}
	r.head, r.tail, r.pending = 0, 0, 0
	r.inHand -= n
	resources := len(r.free) < r.low
	if resources {
		r.lent += n
		r.resources++
	} else {
		r.outstanding += n
	}
	r.a.log.mu.Unlock()

	if resources {
		flags |= ReceiveResources
	}
	err := r.a.IndicateReceive(head, n, flags|ReceivePerfectFiltered)
	if err == nil && !resources {
		return nil
	}
	// RESOURCES: the NBLs are ours again (owner OwnerReclaim). Refused: they never left
	// (owner OwnerMiniport). Either way they go back on the free list.
	m := r.a.beginFrameMoves(ComponentMiniport)
	if resources {
		r.lent -= n
	} else {
		r.outstanding -= n
	}
	for h := head; h != 0; {
		next := r.p.Next(h)
		m.move(r.e, h, r.home, LogRecycled, 0)
		r.free = append(r.free, h)
		h = next
	}
	fn := r.takeDrainedLocked()
	m.done()
	if fn != nil {
		fn()
	}
	return err
}

// Return takes NBLs that came back through the miniport's ReturnNBLs handler onto the free list.
// It reads each NBL's Next before putting it on the list (a concurrent Take may reuse it at once).
// An NBL that is not the miniport's (still lent, or already free) is reported and skipped.
func (r *RxEngine) Return(chain pool.NBL) error {
	var bad []pool.NBL
	n := 0
	m := r.a.beginFrameMoves(ComponentMiniport) // right after NDIS's Returned: same time
	for h, steps := chain, 0; h != 0 && steps <= r.n; steps++ {
		next := r.p.Next(h)
		if r.p.Owner(h) != OwnerMiniport {
			bad = append(bad, h)
		} else {
			m.move(r.e, h, r.home, LogRecycled, 0)
			r.free = append(r.free, h)
			n++
		}
		h = next
	}
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
	return RxCounts{Total: r.n, Free: len(r.free), InHand: r.inHand, Posted: r.posted, Outstanding: r.outstanding,
		LentResources: r.lent, Pending: r.pending, Dropped: r.dropped, Filtered: r.filtered, ResourcesIndications: r.resources}
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
