package pool

import "strconv"

// Params models NET_BUFFER_LIST_POOL_PARAMETERS (specs/ndis.md §2.1) plus a Capacity: NDIS pools
// grow on demand, ours is one arena fixed at creation.
type Params struct {
	Name        string // shown in views (e.g. "usbnic rx"): the "Allocated by" of !ndiskd.nblpool
	ProtocolID  uint8  // NDIS_PROTOCOL_ID_DEFAULT 0, _TCP_IP 2, _IPX 6, _NBF 7
	AllocateNB  bool   // fAllocateNetBuffer: every NBL comes with one NB
	ContextSize uint16 // preallocated context per NBL; a multiple of ContextAlignment
	DataSize    uint32 // nonzero: each NBL also gets an MDL and a data buffer of this size (shape C)
	Tag         uint32 // PoolTag; MakeTag builds it, TagString renders it as !ndiskd does
	Capacity    int    // number of NBLs in the arena, 1..MaxCapacity
	Verify      bool   // NET_BUFFER_LIST_POOL_FLAG_VERIFY: quarantine freed NBLs (specs/ndis.md §9 item 14)
}

// Sizes and limits of the model.
const (
	// ContextAlignment is MEMORY_ALLOCATION_ALIGNMENT on 64-bit Windows: pool ContextSize and the
	// context arguments of AllocateNBL must be multiples of it (§2.1, §2.3).
	ContextAlignment = 16
	// ContextPointerSize is sizeof(void*) on x64: NBL-context sizes given to AllocateContext and
	// FreeContext must be multiples of it (§1.5).
	ContextPointerSize = 8
	// ContextGrowth is the context space each NBL has beyond the pool's ContextSize. NDIS grows
	// context by allocating new blocks (§1.5); our arena is fixed, so each NBL gets this much room
	// for NdisAllocateNetBufferListContext and anything more fails with RESOURCES.
	ContextGrowth = 64
	// MaxCapacity is the largest pool: slot indexes take at most 16 handle bits.
	MaxCapacity = 1<<16 - 1
	// RetreatBlocks and RetreatBlockSize size each pool's overflow area, from which a retreat past
	// the unused space takes the new buffer NDIS would allocate and put in front of the MDL chain
	// (§2.6).
	RetreatBlocks    = 8
	RetreatBlockSize = 256
)

// Shape is one of the pool shapes of specs/ndis.md §2.2. Shape D (DataSize without
// fAllocateNetBuffer) is invalid and never built.
type Shape uint8

// The valid shapes.
const (
	ShapeNBLOnly     Shape = iota + 1 // A: NBL only
	ShapeNBLWithNB                    // B: NBL + NB, the caller supplies the MDL
	ShapeNBLWithData                  // C: NBL + NB + MDL + data buffer of DataSize
)

// String names the shape as specs/ndis.md §2.2 does.
func (s Shape) String() string {
	switch s {
	case ShapeNBLOnly:
		return "A (NBL only)"
	case ShapeNBLWithNB:
		return "B (NBL + NB)"
	case ShapeNBLWithData:
		return "C (NBL + NB + data)"
	}
	return "Shape(" + strconv.Itoa(int(s)) + ")"
}

// MakeTag returns the PoolTag that !ndiskd and poolmon display as s. Tags are ULONGs shown in
// memory (little-endian) order, which is why C code writes them reversed: MakeTag("WmRx") equals
// the C literal 'xRmW'. Bytes past the fourth are ignored; missing ones are zero.
func MakeTag(s string) uint32 {
	var t uint32
	for i := 0; i < 4 && i < len(s); i++ {
		t |= uint32(s[i]) << (8 * i)
	}
	return t
}

// TagString renders a PoolTag as !ndiskd does: its four bytes in memory order. Zero bytes show as
// spaces and other unprintable bytes as '.'.
func TagString(t uint32) string {
	var b [4]byte
	for i := range b {
		c := byte(t >> (8 * i))
		switch {
		case c == 0:
			c = ' '
		case c < 0x20 || c > 0x7e:
			c = '.'
		}
		b[i] = c
	}
	return string(b[:])
}

// shape validates p and returns its shape, or the reason it is rejected (§9 item 1).
func (p *Params) shape() (Shape, string) {
	switch {
	case p.DataSize != 0 && !p.AllocateNB:
		return 0, "shape D: DataSize " + strconv.FormatUint(uint64(p.DataSize), 10) + " needs AllocateNB (fAllocateNetBuffer)"
	case p.ContextSize%ContextAlignment != 0:
		return 0, "ContextSize " + strconv.Itoa(int(p.ContextSize)) + " is not a multiple of " + strconv.Itoa(ContextAlignment)
	case p.Capacity < 1 || p.Capacity > MaxCapacity:
		return 0, "Capacity " + strconv.Itoa(p.Capacity) + " is outside 1.." + strconv.Itoa(MaxCapacity)
	case p.DataSize > maxDataBytes/uint32(p.Capacity):
		return 0, "Capacity*DataSize exceeds " + strconv.Itoa(maxDataBytes) + " bytes"
	case (uint32(p.ContextSize)+ContextGrowth)*uint32(p.Capacity) > maxDataBytes:
		return 0, "Capacity*(ContextSize+ContextGrowth) exceeds " + strconv.Itoa(maxDataBytes) + " bytes"
	}
	switch p.ProtocolID {
	case 0, 2, 6, 7:
	default:
		return 0, "ProtocolID " + strconv.Itoa(int(p.ProtocolID)) + " is none of 0 (default), 2 (TCP/IP), 6 (IPX), 7 (NBF)"
	}
	switch {
	case !p.AllocateNB:
		return ShapeNBLOnly, ""
	case p.DataSize == 0:
		return ShapeNBLWithNB, ""
	}
	return ShapeNBLWithData, ""
}

// maxDataBytes bounds one pool's data and context arenas: it keeps offsets in uint32 and the
// arena inside what a wasm module can address.
const maxDataBytes = 1 << 30
