package pool

// NBL is a handle to a NET_BUFFER_LIST. The 32 bits hold, from the top: the pool id (8 bits), a kind
// bit (0 for NBLs), a generation and the slot index. The index takes as many bits as the pool's
// capacity needs and the generation gets the rest of the 23 low bits, so small pools detect stale
// handles over many more reuses than big ones. 0 is the nil handle (NULL): no pool has id 0.
type NBL uint32

// NB is a handle to a NET_BUFFER, laid out like NBL with the kind bit set. The NB preallocated with
// an NBL carries the NBL's pool id, index and generation, so it dies with its NBL.
type NB uint32

const (
	idShift    = 24      // the pool id sits in the top byte
	kindNB     = 1 << 23 // set in NB handles, clear in NBL handles
	handleBits = 23      // generation + index
	maxPoolID  = 1<<8 - 1
)

// String renders the handle as "NBL 0x03000001".
func (h NBL) String() string { return string(appendHandle(nil, uint32(h))) }

// String renders the handle as "NB 0x03800001".
func (nb NB) String() string { return string(appendHandle(nil, uint32(nb))) }

// appendHandle names a raw handle value by its kind bit, as error messages need it.
func appendHandle(dst []byte, h uint32) []byte {
	if h&kindNB != 0 {
		dst = append(dst, "NB 0x"...)
	} else {
		dst = append(dst, "NBL 0x"...)
	}
	return appendHex8(dst, h)
}

func appendHex8(dst []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, digits[v>>uint(shift)&0xf])
	}
	return dst
}

// layout is one pool's handle format. idxBits is fixed by the capacity at creation.
type layout struct {
	id      uint32 // pool id << idShift
	idTop   uint32 // what an NBL handle of the pool holds above the low bits: id >> handleBits
	idxBits uint32
	idxMask uint32
	genMask uint32 // the generation field, in place (bits idxBits..22)
	genOne  uint32 // 1 << idxBits: one generation step
}

// lowMask keeps a handle's generation and index: the part a free slot's meta word keeps.
const lowMask = 1<<handleBits - 1

func newLayout(id uint32, capacity int) layout {
	idxBits := uint32(0)
	for 1<<idxBits < capacity {
		idxBits++
	}
	return layout{
		id:      id << idShift,
		idTop:   id << idShift >> handleBits,
		idxBits: idxBits,
		idxMask: 1<<idxBits - 1,
		genMask: lowMask &^ (1<<idxBits - 1),
		genOne:  1 << idxBits,
	}
}

// nextFree is the meta word of x's slot once x is freed: the next generation, no pool id.
func (l *layout) nextFree(x uint32) uint32 { return (x + l.genOne) & lowMask }

// behind tells how many generations the slot word m is ahead of handle x, modulo the generation
// space.
func (l *layout) behind(m, x uint32) uint32 { return ((m - x) & l.genMask) >> l.idxBits }

// Owner says who holds an NBL right now. pool defines OwnerPool and OwnerAllocated; ndis defines
// the values from 2 up. Values are below NumOwners.
type Owner uint8

const (
	// OwnerPool marks a slot that is free in the pool.
	OwnerPool Owner = 0
	// OwnerAllocated marks an NBL that is allocated and whose owner nobody has set yet. NBLs
	// parked in a Cache show this owner too (see Cache).
	OwnerAllocated Owner = 1
	// NumOwners bounds Owner values: the owner map keeps 6 bits per slot.
	NumOwners = 64
)
