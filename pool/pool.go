package pool

import (
	"runtime"
	"strconv"
	"weak"
)

// Pool is an NBL pool: the model of NdisAllocateNetBufferListPool's handle. All methods are safe
// for concurrent use; those that act on one NBL follow the NDIS ownership rule (see the package
// documentation).
type Pool struct {
	*nblPool // the registry points here, not at the Pool, so a dropped Pool can be collected
}

type nblPool struct {
	arena
	params Params
	shape  Shape
	ctxCap uint32 // context bytes per NBL: ContextSize + ContextGrowth

	// view holds one owner-map word per slot, the only per-slot state anyone may read at any
	// time: owner (bits 0-5), viewCacheHeld, viewFreed and the low 23 bits of the slot's handle
	// (bits 8-30). It is written with one atomic store, only when the owner changes.
	view []word
	hdr  []nblHeader
	ctx  []byte // context areas, ctxCap bytes per NBL; the used context ends each area

	// Guarded by mu (in arena).
	free      ring
	allocated int // slots outside the free ring: live NBLs and NBLs held by Caches
	highWater int
	freed     bool

	fast         nblSlots // copies of the slices above, for allocation and Caches
	entry        *entry
	cleanup      runtime.Cleanup
	errNoNBL     *ExhaustedError
	errNoContext *ExhaustedError
}

// View word bits.
const (
	viewOwnerMask = NumOwners - 1
	// viewCacheHeld marks a slot a Cache holds: parked in it, or taken from it and nobody has set
	// an owner since. The owner is OwnerAllocated and the handle field is not kept up to date,
	// because the Cache fast path writes no shared state.
	viewCacheHeld = 1 << 6
	// viewFreed marks a free slot whose handle field names the handle last freed.
	viewFreed    = 1 << 7
	viewLowShift = 8 // the handle's generation and index bits

	cacheHeldView = viewCacheHeld | uint32(OwnerAllocated)
)

// nblHeader is one NET_BUFFER_LIST (specs/ndis.md §1.2) minus what the handle already says
// (NdisPoolHandle) and what the model leaves out (NetBufferListInfo, ParentNetBufferList).
type nblHeader struct {
	next             NBL
	firstNB          NB
	sourceHandle     uint32
	status           uint32
	flags            uint32
	nblFlags         uint32
	scratch          uint64
	miniportReserved [2]uint64
	protocolReserved [4]uint64
	ctxOffset        uint32 // start of the used context in the NBL's context area
	ctxDynamic       uint32 // bytes of it taken with AllocateContext, to be freed before the NBL
}

// NewNBLPool models NdisAllocateNetBufferListPool. Parameters that NDIS rejects (shape D, a
// ContextSize that is not a multiple of ContextAlignment) and a Capacity outside 1..MaxCapacity
// give a *MisuseError of class InvalidPoolParams. With 255 pools live it fails with ErrExhausted.
func NewNBLPool(params Params) (*Pool, error) {
	shape, bad := params.shape()
	if bad != "" {
		return nil, &MisuseError{Class: InvalidPoolParams, Pool: params.Name, Detail: bad}
	}
	n := params.Capacity
	p := &nblPool{
		params:       params,
		shape:        shape,
		ctxCap:       uint32(params.ContextSize) + ContextGrowth,
		view:         make([]word, n),
		hdr:          make([]nblHeader, n),
		errNoNBL:     &ExhaustedError{Pool: params.Name, Resource: "NBL"},
		errNoContext: &ExhaustedError{Pool: params.Name, Resource: "context space"},
	}
	p.arena.init(params.Name, n, shape != ShapeNBLOnly, params.DataSize)
	p.ctx = make([]byte, n*int(p.ctxCap))
	p.free.init(n, params.Verify)
	p.fast = nblSlots{meta: p.meta, hdr: p.hdr, nbs: p.nbs, view: p.view, ctxCap: p.ctxCap,
		dataSize: p.dataSize, ownsData: p.ownsData, verify: params.Verify}
	user := &Pool{p}
	p.entry = &entry{arena: &p.arena, nbl: p, nblOwner: weak.Make(user)}
	if !register(p.entry, n) {
		return nil, &ExhaustedError{Pool: params.Name, Resource: "pool id (255 pools are live)"}
	}
	p.fast.layout = p.layout // known once registered
	p.cleanup = runtime.AddCleanup(user, unregister, p.entry)
	return user, nil
}

// Params returns the parameters the pool was created with.
func (p *Pool) Params() Params { return p.params }

// Shape returns the pool's shape (specs/ndis.md §2.2).
func (p *Pool) Shape() Shape { return p.shape }

// String names the pool for logs: `NBL pool 03 "usbnic rx"`.
func (p *Pool) String() string {
	return "NBL pool " + string(appendHex8(nil, p.id)[:2]) + " " + strconv.Quote(p.name)
}

// Free models NdisFreeNetBufferListPool: it succeeds only when every NBL is back in the pool
// (§9 item 13). Otherwise it returns a *MisuseError of class PoolFreeWithOutstanding listing the
// outstanding NBLs, and the pool stays usable. NBLs parked in a Cache count as outstanding until
// the Cache is flushed. After Free every handle of the pool is dead.
func (p *Pool) Free() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.freed {
		return p.misuse(&MisuseError{Class: DoubleFree, Detail: "pool already freed"})
	}
	if p.allocated != 0 {
		return p.misuse(p.outstandingLocked())
	}
	p.freed = true
	p.cleanup.Stop()
	unregister(p.entry)
	return nil
}

// outstandingLocked builds the PoolFreeWithOutstanding report. The generation of an NBL taken
// from a Cache comes from meta: Free is only legal once the datapath has stopped.
func (p *nblPool) outstandingLocked() *MisuseError {
	e := &MisuseError{Class: PoolFreeWithOutstanding}
	parked := 0
	for i := range p.view {
		v := p.view[i].load()
		switch {
		case v&viewOwnerMask == 0:
		case v&viewCacheHeld == 0:
			e.Handles = append(e.Handles, NBL(p.id|v>>viewLowShift))
		case p.meta[i]>>idShift != 0:
			e.Handles = append(e.Handles, NBL(p.meta[i]))
		default:
			parked++
		}
	}
	e.Detail = strconv.Itoa(p.allocated) + " NBLs outstanding"
	if parked > 0 {
		e.Detail += ", " + strconv.Itoa(parked) + " of them parked in Caches (Flush them first)"
	}
	return e
}

// AllocateNBL models NdisAllocateNetBufferList: an NBL with contextSize bytes of used context and
// at least contextBackfill unused ones (both multiples of ContextAlignment), Next and Scratch nil,
// and for shapes B and C its NB. When the pool is empty, or the context does not fit the
// ContextSize+ContextGrowth bytes each NBL has, it returns 0 and an error matching ErrExhausted.
func (p *Pool) AllocateNBL(contextSize, contextBackfill uint16) (NBL, error) {
	return p.allocate(contextSize, contextBackfill)
}

// AllocateNBLAndNB models NdisAllocateNetBufferAndNetBufferList: shape B only, the NB pointed at
// mdl (the caller's buffer, which stays the caller's) with the given offset and length. A nil mdl
// needs offset and length 0. Misuse gives InvalidAllocArgs.
func (p *Pool) AllocateNBLAndNB(contextSize, contextBackfill uint16, mdl []byte, dataOffset, dataLength uint32) (NBL, error) {
	if p.shape != ShapeNBLWithNB {
		return 0, p.badArgs(0, "NdisAllocateNetBufferAndNetBufferList needs a shape B pool (fAllocateNetBuffer and DataSize 0), this one is shape "+p.shape.String())
	}
	if bad := checkMDL(mdl, dataOffset, dataLength); bad != "" {
		return 0, p.badArgs(0, bad)
	}
	h, err := p.allocate(contextSize, contextBackfill)
	if err != nil {
		return 0, err
	}
	nb := &p.nbs[uint32(h)&p.idxMask]
	nb.mdl, nb.dataOffset, nb.dataLength = mdl, dataOffset, dataLength
	return h, nil
}

func (p *nblPool) allocate(contextSize, contextBackfill uint16) (NBL, error) {
	if contextSize%ContextAlignment != 0 || contextBackfill%ContextAlignment != 0 {
		return 0, p.badArgs(0, "ContextSize "+strconv.Itoa(int(contextSize))+" and ContextBackFill "+strconv.Itoa(int(contextBackfill))+" must be multiples of "+strconv.Itoa(ContextAlignment))
	}
	if uint32(contextSize)+uint32(contextBackfill) > p.ctxCap {
		p.failures.add(1)
		return 0, p.errNoContext
	}
	p.mu.Lock()
	if p.freed {
		p.mu.Unlock()
		return 0, p.misuse(poolFreed())
	}
	if p.free.n == 0 {
		p.mu.Unlock()
		p.failures.add(1)
		return 0, p.errNoNBL
	}
	i := p.free.take(p.params.Verify)
	p.allocated++
	if p.allocated > p.highWater {
		p.highWater = p.allocated
	}
	h := p.id | p.meta[i]
	p.meta[i] = h
	p.view[i].store(h&lowMask<<viewLowShift | uint32(OwnerAllocated))
	p.mu.Unlock()
	// The slot is ours now; nobody else may touch its header.
	p.fast.reset(i, h, uint32(contextSize))
	return NBL(h), nil
}

func poolFreed() *MisuseError {
	return &MisuseError{Class: UseAfterFree, Detail: "the pool was freed"}
}

// nblSlots is what allocating and freeing an NBL touch: the per-slot arrays of an NBL pool and the
// constants to reset them. They never change after creation, so each Cache keeps a copy and its
// fast path reads one struct.
type nblSlots struct {
	layout
	meta     []uint32
	hdr      []nblHeader
	nbs      []nbHeader
	view     []word
	ctxCap   uint32
	dataSize uint32
	ownsData bool
	verify   bool
}

// reset gives slot i the fields a fresh NBL h has (§9 item 2): Next and Scratch nil, its own NB
// (with its whole data buffer as used space, or no MDL), contextSize bytes of used context.
func (s *nblSlots) reset(i, h, contextSize uint32) {
	var nb *nbHeader
	if s.nbs != nil {
		nb = &s.nbs[i]
	}
	s.resetAt(&s.hdr[i], nb, h, contextSize)
}

// resetAt is reset for callers that hold the slot's headers already; nb is nil for shape A.
func (s *nblSlots) resetAt(hd *nblHeader, nb *nbHeader, h, contextSize uint32) {
	var first NB
	if nb != nil {
		nb.next = 0
		nb.dataOffset = 0
		if s.ownsData {
			nb.dataLength = s.dataSize
		} else {
			nb.mdl = nil
			nb.dataLength = 0
		}
		first = NB(h | kindNB)
	}
	*hd = nblHeader{firstNB: first, ctxOffset: s.ctxCap - contextSize}
}

// FreeNBL models NdisFreeNetBufferList: the pool is found from the handle. The NB, MDL and data
// preallocated with the NBL go with it; NBs and MDLs the caller attached stay the caller's.
// Misuse (double free, an NB handle, a forged handle, context from AllocateContext still
// allocated) gives a *MisuseError and changes nothing.
func FreeNBL(h NBL) error {
	x := uint32(h)
	e := lookup(x)
	if e != nil && e.nbl != nil && x&kindNB == 0 {
		return e.nbl.freeNBL(x)
	}
	err := &MisuseError{Class: NonPoolNBL, Handle: x}
	switch {
	case x == 0:
		err.Detail = "nil NBL"
	case x&kindNB != 0:
		err.Class = WrongFreeFunction
		err.Detail = "an NB given to FreeNBL; free NBs with FreeNB"
	case e == nil:
		err.Detail = "no live pool has id " + strconv.Itoa(int(x>>idShift))
	default:
		err.Detail = "the id names an NB pool"
	}
	if e != nil {
		return e.arena.misuse(err)
	}
	return err
}

func (p *nblPool) freeNBL(x uint32) error {
	p.mu.Lock()
	if e := p.nblError(x, true); e != nil {
		p.mu.Unlock()
		return p.misuse(e)
	}
	i := x & p.idxMask
	if d := p.hdr[i].ctxDynamic; d != 0 {
		p.mu.Unlock()
		return p.misuse(&MisuseError{Class: ContextLeak, Handle: x, Detail: strconv.Itoa(int(d)) + " bytes of context from AllocateContext are still allocated; FreeContext them first"})
	}
	if p.nbs != nil {
		nb := &p.nbs[i]
		p.releaseRetreatLocked(nb)
		if !p.ownsData {
			nb.mdl = nil // the caller's buffer: do not keep it reachable
		}
	}
	p.meta[i] = p.nextFree(x)
	p.view[i].store(x&lowMask<<viewLowShift | viewFreed)
	p.free.push(i)
	p.allocated--
	p.mu.Unlock()
	return nil
}

// PoolOf models NdisGetPoolFromNetBufferList: the pool h names, or nil for the nil handle, an NB
// handle or an id no live NBL pool has. It does not check that h is live; Check does.
func PoolOf(h NBL) *Pool {
	x := uint32(h)
	if x == 0 || x&kindNB != 0 {
		return nil
	}
	if e := lookup(x); e != nil && e.nbl != nil {
		return e.nblOwner.Value()
	}
	return nil
}

// nblError explains why NBL handle x is not a live NBL of p (freeing: for a free call), or
// returns nil if it is.
func (p *nblPool) nblError(x uint32, freeing bool) *MisuseError {
	switch {
	case x == 0:
		return &MisuseError{Class: NonPoolNBL, Detail: "nil NBL"}
	case x&kindNB != 0 && freeing:
		return &MisuseError{Class: WrongFreeFunction, Handle: x, Detail: "an NB given to FreeNBL; free NBs with FreeNB"}
	case x&kindNB != 0:
		return &MisuseError{Class: NonPoolNBL, Handle: x, Detail: "an NB handle used as an NBL"}
	case x>>idShift != p.id>>idShift:
		if e := lookup(x); e != nil && e.nbl != nil {
			return &MisuseError{Class: ForeignNBLFree, Handle: x, Pool: e.nbl.name, Detail: "used with pool " + strconv.Quote(p.name)}
		}
		return &MisuseError{Class: NonPoolNBL, Handle: x, Detail: "no live NBL pool has id " + strconv.Itoa(int(x>>idShift))}
	}
	e := p.slotError(x, freeing)
	if e != nil && (e.Class == UseAfterFree || e.Class == DoubleFree) && p.params.Verify {
		if v := p.view[x&p.idxMask].load(); v&viewOwnerMask == 0 {
			e.Detail += "; it is in the VERIFY quarantine"
		}
	}
	return e
}

// ring is the free list: a LIFO stack for ordinary pools (the hottest NBL goes out first), a FIFO
// for VERIFY pools (a freed NBL waits behind every other free one: the quarantine).
type ring struct {
	slots   []uint32
	head, n int
}

func (r *ring) init(n int, fifo bool) {
	r.slots = make([]uint32, n)
	r.n = n
	for j := range r.slots {
		if fifo {
			r.slots[j] = uint32(j)
		} else {
			r.slots[j] = uint32(n - 1 - j) // slot 0 on top
		}
	}
}

func (r *ring) push(i uint32) {
	t := r.head + r.n
	if t >= len(r.slots) {
		t -= len(r.slots)
	}
	r.slots[t] = i
	r.n++
}

// take removes the oldest slot (fifo) or the newest.
func (r *ring) take(fifo bool) uint32 {
	r.n--
	if fifo {
		i := r.slots[r.head]
		r.head++
		if r.head == len(r.slots) {
			r.head = 0
		}
		return i
	}
	t := r.head + r.n
	if t >= len(r.slots) {
		t -= len(r.slots)
	}
	return r.slots[t]
}
