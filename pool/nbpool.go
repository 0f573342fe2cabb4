package pool

import (
	"runtime"
	"strconv"
	"unsafe"
	"weak"
)

// NBPoolParams models NET_BUFFER_POOL_PARAMETERS (specs/ndis.md §2.5) plus a Capacity.
type NBPoolParams struct {
	Name     string
	Tag      uint32
	DataSize uint32 // nonzero: NBs come with an MDL and a data buffer (AllocateNBMdlAndData)
	Capacity int    // number of NBs, 1..MaxCapacity
}

// NBPool is an NB pool: the model of NdisAllocateNetBufferPool's handle. The NB accessors (Data,
// SetData, RetreatDataStart, ...) are the same as Pool's. All methods are safe for concurrent use.
type NBPool struct {
	*nbPool // the registry points here, so a dropped NBPool can be collected
}

type nbPool struct {
	arena
	params NBPoolParams

	// Guarded by mu.
	free      ring
	allocated int
	highWater int
	freed     bool

	entry   *entry
	cleanup runtime.Cleanup
	errNoNB *ExhaustedError
}

// NewNBPool models NdisAllocateNetBufferPool. A Capacity outside 1..MaxCapacity gives a
// *MisuseError of class InvalidPoolParams; with 255 pools live it fails with ErrExhausted.
func NewNBPool(params NBPoolParams) (*NBPool, error) {
	n := params.Capacity
	switch {
	case n < 1 || n > MaxCapacity:
		return nil, &MisuseError{Class: InvalidPoolParams, Pool: params.Name, Detail: "Capacity " + strconv.Itoa(n) + " is outside 1.." + strconv.Itoa(MaxCapacity)}
	case params.DataSize > maxDataBytes/uint32(n):
		return nil, &MisuseError{Class: InvalidPoolParams, Pool: params.Name, Detail: "Capacity*DataSize exceeds " + strconv.Itoa(maxDataBytes) + " bytes"}
	}
	p := &nbPool{params: params, errNoNB: &ExhaustedError{Pool: params.Name, Resource: "NB"}}
	p.arena.init(params.Name, n, true, params.DataSize)
	p.free.init(n, false)
	user := &NBPool{p}
	p.entry = &entry{arena: &p.arena, nb: p, nbOwner: weak.Make(user)}
	if !register(p.entry, n) {
		return nil, &ExhaustedError{Pool: params.Name, Resource: "pool id (255 pools are live)"}
	}
	p.cleanup = runtime.AddCleanup(user, unregister, p.entry)
	return user, nil
}

// Params returns the parameters the pool was created with.
func (p *NBPool) Params() NBPoolParams { return p.params }

// String names the pool for logs: `NB pool 04 "tx headers"`.
func (p *NBPool) String() string {
	return "NB pool " + string(appendHex8(nil, p.id)[:2]) + " " + strconv.Quote(p.name)
}

// AllocateNB models NdisAllocateNetBuffer: an NB over the caller's mdl (which stays the caller's).
// A nil mdl needs offset and length 0; pools with a DataSize take AllocateNBMdlAndData instead.
// Misuse gives InvalidAllocArgs; an empty pool gives 0 and an error matching ErrExhausted.
func (p *NBPool) AllocateNB(mdl []byte, dataOffset, dataLength uint32) (NB, error) {
	if p.ownsData {
		return 0, p.badArgs(0, "NdisAllocateNetBuffer on a pool with DataSize "+strconv.FormatUint(uint64(p.dataSize), 10)+"; use AllocateNBMdlAndData")
	}
	if bad := checkMDL(mdl, dataOffset, dataLength); bad != "" {
		return 0, p.badArgs(0, bad)
	}
	nb, err := p.allocate()
	if err != nil {
		return 0, err
	}
	h := &p.nbs[uint32(nb)&p.idxMask]
	h.mdl, h.dataOffset, h.dataLength = mdl, dataOffset, dataLength
	return nb, nil
}

// AllocateNBMdlAndData models NdisAllocateNetBufferMdlAndData: an NB with its own MDL and data
// buffer of DataSize bytes, all of it used data. Only for pools with a DataSize.
func (p *NBPool) AllocateNBMdlAndData() (NB, error) {
	if !p.ownsData {
		return 0, p.badArgs(0, "NdisAllocateNetBufferMdlAndData needs a pool with a DataSize")
	}
	return p.allocate()
}

func (p *nbPool) allocate() (NB, error) {
	p.mu.Lock()
	if p.freed {
		p.mu.Unlock()
		return 0, p.misuse(poolFreed())
	}
	if p.free.n == 0 {
		p.mu.Unlock()
		p.failures.add(1)
		return 0, p.errNoNB
	}
	i := p.free.take(false)
	p.allocated++
	if p.allocated > p.highWater {
		p.highWater = p.allocated
	}
	h := p.id | kindNB | p.meta[i]
	p.meta[i] = h
	p.mu.Unlock()
	p.resetNB(i)
	return NB(h), nil
}

// FreeNB models NdisFreeNetBuffer: it frees an NB of an NB pool with its MDL and data. The NB
// preallocated with an NBL goes with its NBL and is refused (FreeEmbeddedNB); other misuse gives
// DoubleFree, WrongFreeFunction or NonPoolNBL. Misuse changes nothing.
func FreeNB(nb NB) error {
	x := uint32(nb)
	e := lookup(x)
	if e == nil {
		return (*arena)(nil).nbError(nb, true) // never nil: no pool has the id
	}
	if e.nbl != nil && x&kindNB != 0 {
		return e.arena.misuse(&MisuseError{Class: FreeEmbeddedNB, Handle: x, Detail: "the NB was preallocated with its NBL and is freed with it"})
	}
	if e.nb == nil {
		return e.arena.misuse(e.arena.nbError(nb, true))
	}
	return e.nb.freeNB(x)
}

func (p *nbPool) freeNB(x uint32) error {
	p.mu.Lock()
	if e := p.nbError(NB(x), true); e != nil {
		p.mu.Unlock()
		return p.misuse(e)
	}
	i := x & p.idxMask
	nb := &p.nbs[i]
	p.releaseRetreatLocked(nb)
	if !p.ownsData {
		nb.mdl = nil // the caller's buffer: do not keep it reachable
	}
	p.meta[i] = p.nextFree(x)
	p.free.push(i)
	p.allocated--
	p.mu.Unlock()
	return nil
}

// NBStats is a snapshot of one NB pool.
type NBStats struct {
	Capacity, Allocated, Free, HighWater int
	Failures, Misuses                    uint64
}

// Stats returns a consistent snapshot of the pool's counters.
func (p *NBPool) Stats() NBStats {
	p.mu.Lock()
	s := NBStats{Capacity: len(p.meta), Allocated: p.allocated, Free: p.free.n, HighWater: p.highWater}
	p.mu.Unlock()
	s.Failures = p.failures.load()
	s.Misuses = p.misuses.load()
	return s
}

// Free models NdisFreeNetBufferPool: it succeeds only when every NB is back, else it returns a
// *MisuseError of class PoolFreeWithOutstanding listing them in NBs.
func (p *NBPool) Free() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.freed {
		return p.misuse(&MisuseError{Class: DoubleFree, Detail: "pool already freed"})
	}
	if p.allocated != 0 {
		e := &MisuseError{Class: PoolFreeWithOutstanding, Detail: strconv.Itoa(p.allocated) + " NBs outstanding"}
		for _, m := range p.meta {
			if m>>idShift != 0 {
				e.NBs = append(e.NBs, NB(m))
			}
		}
		return p.misuse(e)
	}
	p.freed = true
	p.cleanup.Stop()
	unregister(p.entry)
	return nil
}

// AppendView appends the pool as `!ndiskd.nbpool <handle>` shows it (specs/ndis.md §7); Structure
// size is what the arena spends per NB besides the data buffer.
func (p *NBPool) AppendView(dst []byte) []byte {
	dst = append(dst, "NB POOL\n\n"...)
	dst = appendField(dst, "Ndis handle", string(appendHex8(nil, p.id)))
	dst = appendField(dst, "Allocation tag", TagString(p.params.Tag))
	dst = appendField(dst, "Allocated by", p.name)
	dst = append(dst, '\n')
	dst = appendField(dst, "Flags", "[No flags set]")
	dst = appendField(dst, "Structure size", windbgDecimal(uint64(unsafe.Sizeof(nbHeader{})+unsafe.Sizeof(uint32(0)))))
	dst = appendField(dst, "Data size", windbgDecimal(uint64(p.params.DataSize)))
	dst = append(dst, '\n')
	return append(dst, "    All allocated NBs\n"...)
}
