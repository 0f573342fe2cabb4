package pool

import (
	"math"
	"strconv"
)

// The NET_BUFFER accessors below serve NBL pools (for the NB preallocated with each NBL) and NB
// pools alike, and accept an NB of any live pool: an NBL's NB list may mix them. Like the NDIS
// macros they are for the NB's current owner. Getters on a dead handle return zero values.

// CheckNB returns nil if nb is a live NB, else a *MisuseError saying why not.
func (a *arena) CheckNB(nb NB) error {
	if e := a.nbError(nb, false); e != nil {
		if e.Pool == "" {
			e.Pool = a.name
		}
		return e
	}
	return nil
}

// Data returns the used data space of nb: DataLength bytes from DataOffset, aliasing the arena
// (or the caller's MDL). It is nil if the used space spans the retreat block and the buffer
// behind it; DataParts returns both pieces then.
func (a *arena) Data(nb NB) []byte {
	head, tail := a.DataParts(nb)
	if tail != nil {
		return nil
	}
	return head
}

// DataParts returns the used data space of nb in at most two pieces: tail is nil unless a
// retreat put a new block in front of the MDL and the used space spans both.
func (a *arena) DataParts(nb NB) (head, tail []byte) {
	t, h := a.nb(nb)
	if h == nil {
		return nil, nil
	}
	return t.dataParts(h)
}

// dataParts is DataParts for the live NB h of this arena.
func (a *arena) dataParts(h *nbHeader) (head, tail []byte) {
	start, end := h.dataOffset, h.dataOffset+h.dataLength
	if h.front == 0 {
		return h.mdl[start:end:end], nil
	}
	block := a.retreatBlock(h.front - 1)[:h.frontLen:h.frontLen]
	switch {
	case end <= h.frontLen:
		return block[start:end:end], nil
	case start >= h.frontLen:
		s, e := h.mainSkip+start-h.frontLen, h.mainSkip+end-h.frontLen
		return h.mdl[s:e:e], nil
	}
	e := h.mainSkip + end - h.frontLen
	return block[start:], h.mdl[h.mainSkip:e:e]
}

// Buffer returns the whole buffer nb's MDL describes (for shape C, DataSize bytes), not counting
// a retreat block.
func (a *arena) Buffer(nb NB) []byte {
	if _, h := a.nb(nb); h != nil {
		return h.mdl[:len(h.mdl):len(h.mdl)]
	}
	return nil
}

// DataOffset is NET_BUFFER_DATA_OFFSET: the unused space before the data.
func (a *arena) DataOffset(nb NB) uint32 {
	if _, h := a.nb(nb); h != nil {
		return h.dataOffset
	}
	return 0
}

// DataLength is NET_BUFFER_DATA_LENGTH.
func (a *arena) DataLength(nb NB) uint32 {
	if _, h := a.nb(nb); h != nil {
		return h.dataLength
	}
	return 0
}

// SetData re-arms nb inside its current MDL, as a receive path does with a preallocated NB; any
// retreat block is given back.
func (a *arena) SetData(nb NB, offset, length uint32) error {
	t, h := a.nb(nb)
	if h == nil {
		return a.badNB(nb)
	}
	if bad := checkMDL(h.mdl, offset, length); bad != "" {
		return t.badArgs(uint32(nb), bad)
	}
	if h.front != 0 {
		t.mu.Lock()
		t.releaseRetreatLocked(h)
		t.mu.Unlock()
	}
	h.dataOffset, h.dataLength = offset, length
	return nil
}

// AttachMDL points nb at a new MDL chain (one buffer) and sets DataOffset and DataLength to match
// (specs/ndis.md §1.3), as shape B drivers do after NdisAllocateNetBufferAndNetBufferList(..., NULL,
// 0, 0). NBs that own a data buffer (shape C, NB pools with DataSize) refuse it. The buffer stays
// the caller's.
func (a *arena) AttachMDL(nb NB, mdl []byte, offset, length uint32) error {
	t, h := a.nb(nb)
	if h == nil {
		return a.badNB(nb)
	}
	if t.ownsData {
		return t.badArgs(uint32(nb), "the NB owns its data buffer; use SetData")
	}
	if bad := checkMDL(mdl, offset, length); bad != "" {
		return t.badArgs(uint32(nb), bad)
	}
	if h.front != 0 {
		t.mu.Lock()
		t.releaseRetreatLocked(h)
		t.mu.Unlock()
	}
	h.mdl, h.dataOffset, h.dataLength = mdl, offset, length
	return nil
}

// RetreatDataStart models NdisRetreatNetBufferDataStart (specs/ndis.md §2.6): the used space grows
// by delta toward the front. If the unused space is too small, a block of delta+backfill bytes from
// the pool's retreat area goes in front of the MDL (the unused bytes of the old buffer drop out of
// the chain) and DataOffset becomes backfill. No block left, a block already in front, or more
// than RetreatBlockSize bytes needed: ErrExhausted (NDIS_STATUS_RESOURCES), nothing changed.
func (a *arena) RetreatDataStart(nb NB, delta, backfill uint32) error {
	t, h := a.nb(nb)
	if h == nil {
		return a.badNB(nb)
	}
	if delta > math.MaxUint32-h.dataLength {
		return t.badArgs(uint32(nb), "retreat by "+strconv.FormatUint(uint64(delta), 10)+" overflows DataLength")
	}
	if delta <= h.dataOffset {
		h.dataOffset -= delta
		h.dataLength += delta
		return nil
	}
	need := uint64(delta) + uint64(backfill)
	if h.front != 0 || need > RetreatBlockSize {
		t.failures.add(1)
		return t.errNoRetreat
	}
	t.mu.Lock()
	n := len(t.retreatFree)
	if n == 0 {
		t.mu.Unlock()
		t.failures.add(1)
		return t.errNoRetreat
	}
	block := t.retreatFree[n-1]
	t.retreatFree = t.retreatFree[:n-1]
	t.mu.Unlock()
	h.front = uint32(block) + 1
	h.frontLen = uint32(need)
	h.mainSkip = h.dataOffset
	h.dataOffset = backfill
	h.dataLength += delta
	return nil
}

// AdvanceDataStart models NdisAdvanceNetBufferDataStart: the used space shrinks by delta from the
// front. With freeMdl, a retreat block the data start has moved past is given back and the chain
// is the original buffer again; without it the chain stays as it is (the receive-path rule).
func (a *arena) AdvanceDataStart(nb NB, delta uint32, freeMdl bool) error {
	t, h := a.nb(nb)
	if h == nil {
		return a.badNB(nb)
	}
	if delta > h.dataLength {
		return t.badArgs(uint32(nb), "advance by "+strconv.FormatUint(uint64(delta), 10)+" past the "+strconv.FormatUint(uint64(h.dataLength), 10)+" bytes of data")
	}
	h.dataOffset += delta
	h.dataLength -= delta
	if freeMdl && h.front != 0 && h.dataOffset >= h.frontLen {
		h.dataOffset = h.dataOffset - h.frontLen + h.mainSkip
		t.mu.Lock()
		t.releaseRetreatLocked(h)
		t.mu.Unlock()
	}
	return nil
}

// NextNB is NET_BUFFER_NEXT_NB.
func (a *arena) NextNB(nb NB) NB {
	if _, h := a.nb(nb); h != nil {
		return h.next
	}
	return 0
}

// SetNextNB links next (0 ends the list) after nb. Both must be live.
func (a *arena) SetNextNB(nb, next NB) error {
	_, h := a.nb(nb)
	if h == nil {
		return a.badNB(nb)
	}
	if next != 0 {
		if _, n := a.nb(next); n == nil {
			return a.badNB(next)
		}
	}
	h.next = next
	return nil
}

func (a *arena) retreatBlock(i uint32) []byte {
	start := int(i) * RetreatBlockSize
	return a.retreat[start : start+RetreatBlockSize]
}
