package pool

import (
	"strconv"
	"unsafe"
)

// The views below read only the owner map and counters, so they are safe while the datapath
// runs: the UI calls them once per animation frame.

// Stats is a snapshot of one NBL pool.
type Stats struct {
	Capacity  int
	Allocated int // NBLs outside the free list: live ones and those Caches hold
	Free      int // NBLs in the free list, quarantined ones included
	HighWater int // the most NBLs ever allocated at once
	Failures  uint64
	// PerOwner counts slots by owner. PerOwner[OwnerPool] equals Free; Cache-held NBLs count
	// as OwnerAllocated.
	PerOwner    [NumOwners]int
	CacheHeld   int    // NBLs parked in Caches or taken from one with no owner set since
	Quarantined int    // VERIFY pools: freed NBLs waiting in the quarantine (part of Free)
	Misuses     uint64 // misuse the pool detected, setters without an error result included
}

// Stats returns a consistent snapshot: Allocated + Free == Capacity, and the owner counts are
// taken under the same lock that moves NBLs in and out of the free list.
func (p *Pool) Stats() Stats {
	s := Stats{Capacity: len(p.view)}
	p.mu.Lock()
	s.Allocated = p.allocated
	s.Free = p.free.n
	s.HighWater = p.highWater
	for i := range p.view {
		v := p.view[i].load()
		s.PerOwner[v&viewOwnerMask]++
		if v&viewCacheHeld != 0 {
			s.CacheHeld++
		}
		if p.params.Verify && v&(viewOwnerMask|viewFreed) == viewFreed {
			s.Quarantined++
		}
	}
	p.mu.Unlock()
	s.Failures = p.failures.load()
	s.Misuses = p.misuses.load()
	return s
}

// CopyOwners copies the owner map, one byte per slot, into dst and returns the number copied
// (min(len(dst), Capacity)).
func (p *Pool) CopyOwners(dst []byte) int {
	n := min(len(dst), len(p.view))
	view := p.view[:n]
	for i := range view {
		dst[i] = byte(view[i].load() & viewOwnerMask)
	}
	return n
}

// HandleAt returns the handle of the NBL in slot i, or 0 if the slot is free, holds an NBL a
// Cache holds (see Cache), or i is out of range.
func (p *Pool) HandleAt(i int) NBL {
	if i < 0 || i >= len(p.view) {
		return 0
	}
	v := p.view[i].load()
	if v&viewOwnerMask == 0 || v&viewCacheHeld != 0 {
		return 0
	}
	return NBL(p.id | v>>viewLowShift)
}

// Allocation is one row of `!ndiskd.nblpool -allocations`.
type Allocation struct {
	Handle NBL // the live NBL; for a free slot the NBL last freed; 0 if unknown (see Cached)
	Index  int
	Active bool // allocated ("Allocated") rather than free ("Freed")
	Owner  Owner
	Cached bool // held by a Cache; Handle is 0
}

// Allocations appends one Allocation per slot to dst[:0] and returns it; with enough capacity in
// dst it allocates nothing.
func (p *Pool) Allocations(dst []Allocation) []Allocation {
	dst = dst[:0]
	for i := range p.view {
		v := p.view[i].load()
		a := Allocation{Index: i, Owner: Owner(v & viewOwnerMask)}
		a.Active = a.Owner != OwnerPool
		a.Cached = v&viewCacheHeld != 0
		if !a.Cached && (a.Active || v&viewFreed != 0) {
			a.Handle = NBL(p.id | v>>viewLowShift)
		}
		dst = append(dst, a)
	}
	return dst
}

// AppendView appends the pool as `!ndiskd.nblpool <handle>` shows it (specs/ndis.md §7). The
// handle is the pool id as the top byte of a handle; Structure size is what the arena spends per
// NBL besides the data buffer: header, NB, context area and state words.
func (p *Pool) AppendView(dst []byte) []byte {
	dst = append(dst, "NBL POOL\n\n"...)
	dst = appendField(dst, "Ndis handle", string(appendHex8(nil, p.id)))
	dst = appendField(dst, "Allocation tag", TagString(p.params.Tag))
	dst = appendField(dst, "Allocated by", p.name)
	dst = append(dst, '\n')
	flags := "[No flags set]"
	switch {
	case p.params.AllocateNB && p.params.Verify:
		flags = "CONTAINS_NET_BUFFER, VERIFY"
	case p.params.AllocateNB:
		flags = "CONTAINS_NET_BUFFER"
	case p.params.Verify:
		flags = "VERIFY"
	}
	size := unsafe.Sizeof(nblHeader{}) + 2*unsafe.Sizeof(uint32(0)) + uintptr(p.ctxCap)
	if p.nbs != nil {
		size += unsafe.Sizeof(nbHeader{})
	}
	dst = appendField(dst, "Flags", flags)
	dst = appendField(dst, "Structure size", windbgDecimal(uint64(size)))
	dst = appendField(dst, "Context size", windbgDecimal(uint64(p.params.ContextSize)))
	dst = appendField(dst, "Data size", windbgDecimal(uint64(p.params.DataSize)))
	dst = append(dst, '\n')
	return append(dst, "    All allocated NBLs\n"...)
}

// ndiskdLimit is where !ndiskd stops listing allocations unless told -force.
const ndiskdLimit = 1024

// AppendAllocationsView appends `!ndiskd.nblpool <handle> -allocations`: every slot that holds an
// NBL or held one, "Allocated" or "Freed" (and "Cached" for NBLs a Cache holds, shown by slot).
// Like !ndiskd it stops after 1024 rows unless force is set.
func (p *Pool) AppendAllocationsView(dst []byte, force bool) []byte {
	dst = append(dst, "ALL ALLOCATED NBLs\n\n    NBL                Active?\n"...)
	rows := 0
	for i := range p.view {
		v := p.view[i].load()
		var state string
		switch {
		case v&viewCacheHeld != 0:
			state = "Cached"
		case v&viewOwnerMask != 0:
			state = "Allocated"
		case v&viewFreed != 0:
			state = "Freed"
		default:
			continue
		}
		if rows == ndiskdLimit && !force {
			return append(dst, "    [Maximum of 1024 items read; quitting early. Rerun with the '-force' option\n    to bypass this limit.]\n"...)
		}
		rows++
		dst = append(dst, "    "...)
		start := len(dst)
		if state == "Cached" {
			dst = append(dst, "slot "...)
			dst = strconv.AppendInt(dst, int64(i), 10)
		} else {
			dst = appendHex8(dst, p.id|v>>viewLowShift)
		}
		dst = appendPad(dst, 19-(len(dst)-start))
		dst = append(dst, state...)
		dst = append(dst, '\n')
	}
	return dst
}

// appendField writes one `    Name               value` line in !ndiskd's columns.
func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, "    "...)
	dst = append(dst, name...)
	dst = appendPad(dst, 19-len(name))
	dst = append(dst, value...)
	return append(dst, '\n')
}

func appendPad(dst []byte, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, ' ')
	}
	return dst
}

// windbgDecimal writes a decimal as WinDbg does: "0" for zero, else with the 0n prefix.
func windbgDecimal(v uint64) string {
	if v == 0 {
		return "0"
	}
	return "0n" + strconv.FormatUint(v, 10)
}
