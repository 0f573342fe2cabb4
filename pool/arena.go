package pool

import (
	"strconv"
	"sync"
)

// arena is what NBL pools and NB pools share: the slot meta words, the NET_BUFFERs with their data
// buffers, the retreat overflow area, the lock and the counters. Everything is allocated when the
// pool is created; no operation allocates.
type arena struct {
	layout
	name string

	// meta holds one word per slot, the truth about which handle is live: the live handle
	// itself (the NBL for NBL pools, the NB for NB pools), or for a free slot the handle it gets
	// next without the pool id, which no handle that passes the id check can equal. So checking
	// a handle is one compare. Only whoever holds the slot touches meta: the pool under mu while
	// the slot is in the free ring, a Cache while the slot is parked in it, the NBL's or NB's
	// owner while it is live (the NDIS rule that only the owner may touch an NBL). Views never
	// read it.
	meta []uint32

	nbs      []nbHeader // one NET_BUFFER per slot; nil for NBL pools of shape A
	ownsData bool       // each NB's MDL is its own slot of data (shape C, NB pools with DataSize)
	data     []byte     // the data buffers, dataSize bytes per slot
	dataSize uint32

	mu           sync.Mutex
	retreat      []byte  // the retreat overflow area: RetreatBlocks blocks of RetreatBlockSize
	retreatFree  []uint8 // stack of free block indexes; guarded by mu
	failures     counter
	misuses      counter
	errNoRetreat *ExhaustedError
}

// nbHeader is one NET_BUFFER (specs/ndis.md §1.3). The MDL chain is one buffer, plus at most one
// retreat block in front of it.
type nbHeader struct {
	mdl        []byte // the MDL chain: the caller's buffer, or this slot's data buffer
	next       NB
	dataOffset uint32 // from the start of the chain; equals the unused (backfill) space
	dataLength uint32
	front      uint32 // 1 + index of the retreat block in front of mdl; 0 if none
	frontLen   uint32 // bytes of that block in the chain
	mainSkip   uint32 // bytes at the start of mdl left out of the chain while the block is in front
}

func (a *arena) init(name string, capacity int, withNBs bool, dataSize uint32) {
	a.name = name
	a.meta = make([]uint32, capacity)
	for i := range a.meta {
		a.meta[i] = uint32(i) // generation 0, not live
	}
	a.errNoRetreat = &ExhaustedError{Pool: name, Resource: "retreat buffer"}
	if !withNBs {
		return
	}
	a.nbs = make([]nbHeader, capacity)
	a.retreat = make([]byte, RetreatBlocks*RetreatBlockSize)
	a.retreatFree = make([]uint8, RetreatBlocks)
	for i := range a.retreatFree {
		a.retreatFree[i] = uint8(RetreatBlocks - 1 - i)
	}
	if dataSize == 0 {
		return
	}
	a.ownsData = true
	a.dataSize = dataSize
	a.data = make([]byte, capacity*int(dataSize))
	for i := range a.nbs {
		start := i * int(dataSize)
		end := start + int(dataSize)
		a.nbs[i].mdl = a.data[start:end:end]
	}
}

// resetNB prepares NB pool slot i for a new owner: its own data buffer fully used, or no MDL.
func (a *arena) resetNB(i uint32) {
	nb := &a.nbs[i]
	nb.next = 0
	nb.dataOffset = 0
	if a.ownsData {
		nb.dataLength = a.dataSize
	} else {
		nb.mdl = nil
		nb.dataLength = 0
	}
}

// releaseRetreatLocked gives back the retreat block of nb, if any. Needs a.mu.
func (a *arena) releaseRetreatLocked(nb *nbHeader) {
	if nb.front == 0 {
		return
	}
	a.retreatFree = append(a.retreatFree, uint8(nb.front-1))
	nb.front, nb.frontLen, nb.mainSkip = 0, 0, 0
}

func (a *arena) misuse(e *MisuseError) error {
	a.misuses.add(1)
	if e.Pool == "" {
		e.Pool = a.name
	}
	return e
}

// slotError explains why handle x of this arena is not live, or returns nil if it is. A handle
// whose generation is less than half the generation space behind the slot's was handed out and
// freed since (DoubleFree when freeing, else UseAfterFree); any other was never handed out.
func (a *arena) slotError(x uint32, freeing bool) *MisuseError {
	i := x & a.idxMask
	if int(i) >= len(a.meta) {
		return &MisuseError{Class: NonPoolNBL, Handle: x, Detail: "slot " + strconv.Itoa(int(i)) + " is beyond the pool's " + strconv.Itoa(len(a.meta)) + " slots"}
	}
	m := a.meta[i]
	behind := a.behind(m, x)
	switch {
	case behind == 0 && m>>idShift != 0:
		return nil
	case behind == 0:
		return &MisuseError{Class: NonPoolNBL, Handle: x, Detail: "never handed out by the pool"}
	case behind > (a.genMask>>a.idxBits+1)/2:
		return &MisuseError{Class: NonPoolNBL, Handle: x, Detail: "generation never issued by the pool"}
	case freeing:
		return &MisuseError{Class: DoubleFree, Handle: x, Detail: "already freed"}
	}
	return &MisuseError{Class: UseAfterFree, Handle: x, Detail: "touched after it was freed"}
}

// nbError explains why nb cannot be used (or freed, with freeing set), or returns nil if it is a
// live NB. a may be nil: the pool is then found from the handle.
func (a *arena) nbError(nb NB, freeing bool) *MisuseError {
	x := uint32(nb)
	switch {
	case x == 0:
		return &MisuseError{Class: NonPoolNBL, Detail: "nil NB"}
	case x&kindNB == 0 && freeing:
		return &MisuseError{Class: WrongFreeFunction, Handle: x, Detail: "an NBL given to FreeNB; free NBLs with FreeNBL"}
	case x&kindNB == 0:
		return &MisuseError{Class: NonPoolNBL, Handle: x, Detail: "an NBL handle used as an NB"}
	}
	t := a
	if t == nil || x>>idShift != t.id>>idShift {
		e := lookup(x)
		if e == nil {
			return &MisuseError{Class: NonPoolNBL, Handle: x, Detail: "no live pool has id " + strconv.Itoa(int(x>>idShift))}
		}
		t = e.arena
	}
	if t.nbs == nil {
		return &MisuseError{Class: NonPoolNBL, Handle: x, Pool: t.name, Detail: "the pool has no NBs (shape A)"}
	}
	if e := t.slotError(x, freeing); e != nil {
		e.Pool = t.name
		return e
	}
	return nil
}

// nb returns the arena and header of the live NB nb, which may come from any pool, or nils.
func (a *arena) nb(nb NB) (*arena, *nbHeader) {
	x := uint32(nb)
	t := a
	if x>>idShift != a.id>>idShift {
		e := lookup(x)
		if e == nil {
			return nil, nil
		}
		t = e.arena
	}
	i := x & t.idxMask
	if x&kindNB == 0 || int(i) >= len(t.nbs) || t.meta[i]|kindNB != x {
		return nil, nil
	}
	return t, &t.nbs[i]
}

func (a *arena) badNB(nb NB) error { return a.misuse(a.nbError(nb, false)) }

func (a *arena) badArgs(x uint32, detail string) error {
	return a.misuse(&MisuseError{Class: InvalidAllocArgs, Handle: x, Detail: detail})
}

// checkMDL applies the NdisAllocateNetBuffer rule: a nil MDL chain needs offset and length 0, and
// the used space must lie inside the chain.
func checkMDL(mdl []byte, offset, length uint32) string {
	if mdl == nil && (offset != 0 || length != 0) {
		return "nil MDL chain with DataOffset " + strconv.FormatUint(uint64(offset), 10) + " and DataLength " + strconv.FormatUint(uint64(length), 10) + " (both must be 0)"
	}
	if uint64(offset)+uint64(length) > uint64(len(mdl)) {
		return "DataOffset " + strconv.FormatUint(uint64(offset), 10) + " + DataLength " + strconv.FormatUint(uint64(length), 10) + " exceeds the " + strconv.Itoa(len(mdl)) + "-byte MDL chain"
	}
	return ""
}
