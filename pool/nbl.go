package pool

import "strconv"

// The NBL accessors model the NET_BUFFER_LIST_* macros. They are for the NBL's current owner,
// as in NDIS: two goroutines touching one NBL at once is a data race. Getters on a dead handle
// return zero values (use Check for the reason); setters without an error result count the
// misuse in Stats.Misuses and change nothing.

// slot returns the index of the live NBL h of p.
func (p *nblPool) slot(h NBL) (uint32, bool) {
	x := uint32(h)
	i := x & p.idxMask
	return i, x>>handleBits == p.idTop && int(i) < len(p.meta) && p.meta[i] == x
}

func (p *nblPool) badNBL(h NBL) error {
	if e := p.nblError(uint32(h), false); e != nil {
		return p.misuse(e)
	}
	return nil
}

// Check returns nil if h is a live NBL of p, else a *MisuseError: UseAfterFree for a freed NBL,
// ForeignNBLFree for an NBL of another pool, NonPoolNBL for anything no pool handed out.
func (p *Pool) Check(h NBL) error {
	if _, ok := p.slot(h); ok {
		return nil
	}
	if e := p.nblError(uint32(h), false); e != nil {
		if e.Pool == "" {
			e.Pool = p.name
		}
		return e
	}
	return nil
}

// liveNBL returns the pool and index of a live NBL of any pool.
func (p *nblPool) liveNBL(h NBL) (*nblPool, uint32, bool) {
	t := p
	if uint32(h)>>idShift != p.id>>idShift {
		e := lookup(uint32(h))
		if e == nil || e.nbl == nil {
			return nil, 0, false
		}
		t = e.nbl
	}
	i, ok := t.slot(h)
	return t, i, ok
}

// Next is NET_BUFFER_LIST_NEXT_NBL.
func (p *Pool) Next(h NBL) NBL {
	if i, ok := p.slot(h); ok {
		return p.hdr[i].next
	}
	return 0
}

// SetNext links next (0 ends the chain; any live NBL, of any pool) after h.
func (p *Pool) SetNext(h, next NBL) error {
	i, ok := p.slot(h)
	if !ok {
		return p.badNBL(h)
	}
	if next != 0 {
		if t, _, ok := p.liveNBL(next); !ok {
			if t == nil {
				t = p.nblPool
			}
			return p.misuse(t.nblError(uint32(next), false))
		}
	}
	p.hdr[i].next = next
	return nil
}

// ChainLength counts the NBLs along Next from h, which may cross pools; p is where h lives. It
// returns -1 if the chain holds a dead handle or loops.
func ChainLength(p *Pool, h NBL) int {
	n, power, steps := 0, 1, 0
	var tortoise NBL // Brent's cycle finder: the hare is h
	for h != 0 {
		t, i, ok := p.liveNBL(h)
		if !ok || h == tortoise {
			return -1
		}
		n++
		if steps++; steps == power {
			tortoise, power, steps = h, power*2, 0
		}
		h = t.hdr[i].next
	}
	return n
}

// FirstNB is NET_BUFFER_LIST_FIRST_NB.
func (p *Pool) FirstNB(h NBL) NB {
	if i, ok := p.slot(h); ok {
		return p.hdr[i].firstNB
	}
	return 0
}

// SetFirstNB points h at the NB list starting at nb (0: no NBs). nb may come from any pool.
func (p *Pool) SetFirstNB(h NBL, nb NB) error {
	i, ok := p.slot(h)
	if !ok {
		return p.badNBL(h)
	}
	if nb != 0 {
		if _, n := p.nb(nb); n == nil {
			return p.badNB(nb)
		}
	}
	p.hdr[i].firstNB = nb
	return nil
}

// NBOf returns the NB preallocated with h (shapes B and C), whatever FirstNB says now; 0 for
// shape A or a dead handle.
func (p *Pool) NBOf(h NBL) NB {
	if _, ok := p.slot(h); ok && p.nbs != nil {
		return NB(uint32(h) | kindNB)
	}
	return 0
}

// SourceHandle is the NBL's SourceHandle: whom NDIS returns or completes it to.
func (p *Pool) SourceHandle(h NBL) uint32 {
	if i, ok := p.slot(h); ok {
		return p.hdr[i].sourceHandle
	}
	return 0
}

// SetSourceHandle sets SourceHandle.
func (p *Pool) SetSourceHandle(h NBL, v uint32) {
	if i, ok := p.slot(h); ok {
		p.hdr[i].sourceHandle = v
		return
	}
	p.misuses.add(1)
}

// Status is NET_BUFFER_LIST_STATUS.
func (p *Pool) Status(h NBL) uint32 {
	if i, ok := p.slot(h); ok {
		return p.hdr[i].status
	}
	return 0
}

// SetStatus sets the NBL's Status.
func (p *Pool) SetStatus(h NBL, s uint32) {
	if i, ok := p.slot(h); ok {
		p.hdr[i].status = s
		return
	}
	p.misuses.add(1)
}

// Flags is NET_BUFFER_LIST_FLAGS (the NBL_FLAGS_* ranges of specs/ndis.md §1.6).
func (p *Pool) Flags(h NBL) uint32 {
	if i, ok := p.slot(h); ok {
		return p.hdr[i].flags
	}
	return 0
}

// SetFlags sets Flags.
func (p *Pool) SetFlags(h NBL, f uint32) {
	if i, ok := p.slot(h); ok {
		p.hdr[i].flags = f
		return
	}
	p.misuses.add(1)
}

// NblFlags is the NBL's NblFlags (NDIS_NBL_FLAGS_*).
func (p *Pool) NblFlags(h NBL) uint32 {
	if i, ok := p.slot(h); ok {
		return p.hdr[i].nblFlags
	}
	return 0
}

// SetNblFlags sets NblFlags.
func (p *Pool) SetNblFlags(h NBL, f uint32) {
	if i, ok := p.slot(h); ok {
		p.hdr[i].nblFlags = f
		return
	}
	p.misuses.add(1)
}

// Scratch is the NBL's Scratch, free for its current owner; 0 at allocation.
func (p *Pool) Scratch(h NBL) uint64 {
	if i, ok := p.slot(h); ok {
		return p.hdr[i].scratch
	}
	return 0
}

// SetScratch sets Scratch.
func (p *Pool) SetScratch(h NBL, v uint64) {
	if i, ok := p.slot(h); ok {
		p.hdr[i].scratch = v
		return
	}
	p.misuses.add(1)
}

// MiniportReserved is NET_BUFFER_LIST_MINIPORT_RESERVED, in the arena; nil for a dead handle.
func (p *Pool) MiniportReserved(h NBL) *[2]uint64 {
	if i, ok := p.slot(h); ok {
		return &p.hdr[i].miniportReserved
	}
	return nil
}

// ProtocolReserved is NET_BUFFER_LIST_PROTOCOL_RESERVED, in the arena; nil for a dead handle.
func (p *Pool) ProtocolReserved(h NBL) *[4]uint64 {
	if i, ok := p.slot(h); ok {
		return &p.hdr[i].protocolReserved
	}
	return nil
}

// Owner returns who holds h, as last set; OwnerPool for a dead handle.
func (p *Pool) Owner(h NBL) Owner {
	if i, ok := p.slot(h); ok {
		return Owner(p.view[i].load() & viewOwnerMask)
	}
	return OwnerPool
}

// SetOwner records who holds h now (1..NumOwners-1; 0 is reserved for free slots). It is one
// atomic store into the owner map.
func (p *Pool) SetOwner(h NBL, o Owner) error {
	i, ok := p.slot(h)
	if !ok {
		return p.badNBL(h)
	}
	if o == OwnerPool || o >= NumOwners {
		return p.badArgs(uint32(h), "owner "+strconv.Itoa(int(o))+" is outside 1.."+strconv.Itoa(NumOwners-1)+" (0 marks free slots)")
	}
	p.view[i].store(uint32(h)&lowMask<<viewLowShift | uint32(o))
	return nil
}

// SetOwners is SetOwner for every NBL of nbls, with one call for a whole chain's worth. An NBL
// that is not a live NBL of p keeps its owner, and the error names the first such NBL; the others
// change.
func (p *Pool) SetOwners(nbls []NBL, o Owner) error {
	if o == OwnerPool || o >= NumOwners {
		return p.badArgs(0, "owner "+strconv.Itoa(int(o))+" is outside 1.."+strconv.Itoa(NumOwners-1)+" (0 marks free slots)")
	}
	var err error
	for _, h := range nbls {
		i, ok := p.slot(h)
		if !ok {
			if err == nil {
				err = p.badNBL(h)
			}
			continue
		}
		p.view[i].store(uint32(h)&lowMask<<viewLowShift | uint32(o))
	}
	return err
}

// Index returns h's slot index for the owner map, or -1 if h cannot be a handle of p. It looks at
// the handle only, so it is safe at any time.
func (p *Pool) Index(h NBL) int {
	x := uint32(h)
	i := x & p.idxMask
	if x>>handleBits != p.id>>handleBits || int(i) >= len(p.view) {
		return -1
	}
	return int(i)
}

// CheckEthernet applies the Ethernet receive rules of specs/ndis.md §3.5 (§10 row 12): exactly one
// NB, with DataLength at most maxTotalSize. A violation is a *MisuseError of class BadEthernetNBL.
func (p *Pool) CheckEthernet(h NBL, maxTotalSize uint32) error {
	i, ok := p.slot(h)
	if !ok {
		return p.badNBL(h)
	}
	first := p.hdr[i].firstNB
	_, nb := p.nb(first)
	switch {
	case first == 0:
		return p.misuse(&MisuseError{Class: BadEthernetNBL, Handle: uint32(h), Detail: "the NBL has no NB"})
	case nb == nil:
		return p.badNB(first)
	case nb.next != 0:
		return p.misuse(&MisuseError{Class: BadEthernetNBL, Handle: uint32(h), Detail: "the NBL has more than one NB"})
	case nb.dataLength > maxTotalSize:
		return p.misuse(&MisuseError{Class: BadEthernetNBL, Handle: uint32(h), Detail: "frame of " + strconv.FormatUint(uint64(nb.dataLength), 10) + " bytes exceeds the maximum total size " + strconv.FormatUint(uint64(maxTotalSize), 10)})
	}
	return nil
}

// Context returns the used NBL context (NET_BUFFER_LIST_CONTEXT_DATA_START, _SIZE bytes), in the
// arena; nil for a dead handle.
func (p *Pool) Context(h NBL) []byte {
	i, ok := p.slot(h)
	if !ok {
		return nil
	}
	base := i * p.ctxCap
	end := base + p.ctxCap
	return p.ctx[base+p.hdr[i].ctxOffset : end : end]
}

// AllocateContext models NdisAllocateNetBufferListContext: size more bytes of used context, taken
// from the unused context in front of it (sizes are multiples of ContextPointerSize). Context
// grows downward, like backfill. When the NBL's context area has less than size unused bytes it
// returns ErrExhausted (NDIS_STATUS_RESOURCES); backfill only matters when NDIS would allocate a
// new block, which the fixed arena cannot. Everything taken here must be given back with
// FreeContext before the NBL is freed.
func (p *Pool) AllocateContext(h NBL, size, backfill uint16) error {
	i, ok := p.slot(h)
	if !ok {
		return p.badNBL(h)
	}
	if size%ContextPointerSize != 0 || backfill%ContextPointerSize != 0 {
		return p.badArgs(uint32(h), "context size "+strconv.Itoa(int(size))+" and backfill "+strconv.Itoa(int(backfill))+" must be multiples of "+strconv.Itoa(ContextPointerSize))
	}
	hd := &p.hdr[i]
	if uint32(size) > hd.ctxOffset {
		p.failures.add(1)
		return p.errNoContext
	}
	hd.ctxOffset -= uint32(size)
	hd.ctxDynamic += uint32(size)
	return nil
}

// FreeContext models NdisFreeNetBufferListContext: it gives back size bytes of context taken with
// AllocateContext. Freeing more than that, which would free context preallocated through the pool
// or AllocateNBL, is a *MisuseError of class BadContextFree.
func (p *Pool) FreeContext(h NBL, size uint16) error {
	i, ok := p.slot(h)
	if !ok {
		return p.badNBL(h)
	}
	if size%ContextPointerSize != 0 {
		return p.badArgs(uint32(h), "context size "+strconv.Itoa(int(size))+" must be a multiple of "+strconv.Itoa(ContextPointerSize))
	}
	hd := &p.hdr[i]
	if uint32(size) > hd.ctxDynamic {
		return p.misuse(&MisuseError{Class: BadContextFree, Handle: uint32(h), Detail: "freeing " + strconv.Itoa(int(size)) + " bytes of context but only " + strconv.FormatUint(uint64(hd.ctxDynamic), 10) + " came from AllocateContext; preallocated context must not be freed"})
	}
	hd.ctxOffset += uint32(size)
	hd.ctxDynamic -= uint32(size)
	return nil
}

// Layout is a copy of what a datapath checks of an NBL before it passes the NBL on: its links,
// its owner, its SourceHandle, and its first NB with the place of its data. Pool.Layout reads it
// with one look-up of the handle, where the accessors would look it up once each.
type Layout struct {
	Index        int // the slot index, as Index returns it
	Next         NBL
	FirstNB      NB
	SourceHandle uint32
	Owner        Owner
	// NBLive says FirstNB is a live NB (of any pool). The fields below describe it, and are
	// zero when it is not.
	NBLive     bool
	NextNB     NB
	DataOffset uint32
	DataLength uint32
	// Data is the used data space, as Data returns it: nil when it spans a retreat block and
	// the buffer behind it.
	Data []byte
}

// Layout reads the layout of h. ok is false, and the Layout zero, when h is not a live NBL of p
// (Check says why).
func (p *Pool) Layout(h NBL) (l Layout, ok bool) {
	i, ok := p.slot(h)
	if !ok {
		return Layout{}, false
	}
	hd := &p.hdr[i]
	l.Index, l.Next, l.FirstNB, l.SourceHandle = int(i), hd.next, hd.firstNB, hd.sourceHandle
	l.Owner = Owner(p.view[i].load() & viewOwnerMask)
	if hd.firstNB == 0 {
		return l, true
	}
	a, nb := &p.arena, (*nbHeader)(nil)
	if uint32(hd.firstNB) == uint32(h)|kindNB && int(i) < len(p.nbs) {
		nb = &p.nbs[i] // the NB preallocated with h: live while h is, no look-up needed
	} else if a, nb = p.nb(hd.firstNB); nb == nil {
		return l, true
	}
	l.NBLive, l.NextNB, l.DataOffset, l.DataLength = true, nb.next, nb.dataOffset, nb.dataLength
	if nb.front == 0 {
		end := nb.dataOffset + nb.dataLength
		l.Data = nb.mdl[nb.dataOffset:end:end]
	} else if head, tail := a.dataParts(nb); tail == nil {
		l.Data = head
	}
	return l, true
}

// Rearm prepares h to carry a received frame of length bytes at the start of its first NB's
// buffer, as a miniport re-arms a preallocated NBL before indicating it (specs/ndis.md §3.1):
// the NB's used data space becomes [0, length), any retreat block goes back, and SourceHandle
// and Status are set. It returns the buffer sliced to length, for the frame's bytes; nil, with
// nothing changed, when length exceeds the buffer, or when h is not a live NBL of p or has no
// live first NB (misuse, counted in Stats.Misuses). Next is the caller's to set (Link).
func (p *Pool) Rearm(h NBL, length, sourceHandle, status uint32) []byte {
	i, ok := p.slot(h)
	if !ok {
		p.misuses.add(1)
		return nil
	}
	a, nb := &p.arena, (*nbHeader)(nil)
	if uint32(p.hdr[i].firstNB) == uint32(h)|kindNB && int(i) < len(p.nbs) {
		nb = &p.nbs[i] // the NB preallocated with h: live while h is
	} else if a, nb = p.nb(p.hdr[i].firstNB); nb == nil {
		p.misuses.add(1)
		return nil
	}
	if uint64(length) > uint64(len(nb.mdl)) {
		return nil
	}
	if nb.front != 0 {
		a.mu.Lock()
		a.releaseRetreatLocked(nb)
		a.mu.Unlock()
	}
	nb.dataOffset, nb.dataLength = 0, length
	hd := &p.hdr[i]
	hd.sourceHandle, hd.status = sourceHandle, status
	return nb.mdl[:length:length]
}

// FirstBuffer is Buffer(FirstNB(h)) with one look-up of h: the whole buffer a receive path
// copies a frame into. It is nil when h is not a live NBL of p or has no live first NB.
func (p *Pool) FirstBuffer(h NBL) []byte {
	i, ok := p.slot(h)
	if !ok {
		return nil
	}
	nb := (*nbHeader)(nil)
	if uint32(p.hdr[i].firstNB) == uint32(h)|kindNB && int(i) < len(p.nbs) {
		nb = &p.nbs[i] // the NB preallocated with h: live while h is
	} else if _, nb = p.nb(p.hdr[i].firstNB); nb == nil {
		return nil
	}
	return nb.mdl[:len(nb.mdl):len(nb.mdl)]
}

// Link makes nbls one chain, in order: the Next of each is the one after it, and the last ends
// the chain. It returns the head (0 for no NBLs). Every NBL must be a live NBL of p; otherwise
// nothing changes and the error names the first that is not. Like SetNext it is for the NBLs'
// owner.
func (p *Pool) Link(nbls []NBL) (NBL, error) {
	for _, h := range nbls {
		if _, ok := p.slot(h); !ok {
			return 0, p.badNBL(h)
		}
	}
	if len(nbls) == 0 {
		return 0, nil
	}
	last := len(nbls) - 1
	for k, h := range nbls[:last] {
		p.hdr[uint32(h)&p.idxMask].next = nbls[k+1]
	}
	p.hdr[uint32(nbls[last])&p.idxMask].next = 0
	return nbls[0], nil
}
