// Package pool models the NDIS 6 NET_BUFFER_LIST and NET_BUFFER pools of specs/ndis.md §1-2 in
// linear memory: NdisAllocateNetBufferListPool and its four shapes, NBL and NB allocation and
// freeing, NBL context, retreat and advance, NB pools, and the misuse a driver can commit with
// them, reported as the classes of §10.
//
// # Memory
//
// Each pool preallocates all of its memory when it is created and never allocates again. The
// memory is laid out as a struct of arrays, one entry per slot:
//
//	meta  []uint32       which handle is live in the slot (one compare checks a handle)
//	view  []word         owner map: owner, Cache-held and freed bits, the slot's handle
//	hdr   []nblHeader    the NET_BUFFER_LIST fields (88 bytes)
//	nbs   []nbHeader     the NET_BUFFER preallocated with the NBL (shapes B and C)
//	ctx   []byte         the context areas, ContextSize+ContextGrowth bytes per NBL
//	data  []byte         the data buffers, DataSize bytes per NBL (shape C)
//
// plus a small overflow area for retreats (RetreatBlocks blocks of RetreatBlockSize). Arrays
// rather than one byte arena, because the state has different readers: the owner map must be
// one contiguous array the UI copies in a single call per animation frame, while the rest is
// touched only by whoever owns the slot; and because an NB may point at a caller's buffer, a Go
// slice the garbage collector must see. Context and data, which are plain bytes, are byte arenas.
// Data and Context return slices that alias them.
//
// # Handles
//
// NBLs and NBs are 32-bit handles (NBL, NB): the pool id in the top byte, a kind bit (set for
// NBs), a generation and the slot index. A freed slot's generation moves on, so a handle kept
// after its free no longer matches and is reported (DoubleFree, UseAfterFree). A handle whose
// generation is ahead of its slot's, or names no live pool, or no slot, was never handed out
// (NonPoolNBL: the model of an NBL built in private memory). The index takes the bits the
// capacity needs, so small pools tell more generations apart than big ones; a stale handle is
// mistaken for a live one only after its slot was reused 2^(23-index bits) times.
// NdisFreeNetBufferList takes no pool and neither does FreeNBL: a registry maps pool ids to
// pools. It holds the pools' insides, not the *Pool, so a pool its user drops is collected and
// its id is reused.
//
// # Ownership and concurrency
//
// As in NDIS, an NBL belongs to one owner at a time, and only the owner touches its fields; two
// goroutines touching one NBL at once is a data race, as it is in C. The pool itself is safe for
// concurrent use. Three kinds of state make that cheap:
//
//   - per-slot state (meta, headers, context, data) is touched only by the slot's holder: the
//     pool under its mutex while the slot is free, a Cache while the NBL is parked in it, the
//     owner while it is allocated. Handing an NBL to another goroutine hands its slot over.
//   - the owner map (view) is the only per-slot state read by others, so it is a word per slot
//     written with one atomic store, and only when the owner changes (SetOwner, SetOwners, the
//     pool's allocate and free, a Cache refill or flush). CopyOwners, Stats, Allocations and
//     HandleAt read nothing else and are safe while the datapath runs. On GOARCH=wasm,
//     single-threaded, the words are plain memory.
//   - pool-wide state (the free list, counters) is under the pool's mutex; counters that the
//     per-NBL paths bump are atomic.
//
// # Cache
//
// The fast path is a per-owner Cache in the style of DPDK's rte_mempool cache (§11): a LIFO stack
// refilled from and flushed to the pool in bulk under the pool's lock. Allocating from it and
// freeing into it take no lock and no atomic instruction (a free writes the owner map only if
// someone had set the NBL's owner): two locked instructions cost as much as a whole
// sync.Pool round trip on x86. The price is DPDK's: NBLs held by a Cache are out of the pool
// (they count as allocated, with owner OwnerAllocated, until the Cache is flushed), and the
// owner map shows no handle for an NBL taken from a Cache until someone calls SetOwner.
//
// # Misuse and exhaustion
//
// Misuse never panics and never changes the pool: the call returns a *MisuseError of the §10
// class, with the bugcheck NDIS would raise where §8/§10 name one, and Stats.Misuses counts it.
// Where NDIS returns NULL or NDIS_STATUS_RESOURCES the call returns the nil handle and an error
// matching ErrExhausted; only Stats.Failures changes. A pool created with Verify
// (NET_BUFFER_LIST_POOL_FLAG_VERIFY) recycles freed NBLs first in, first out, so a freed NBL waits
// in quarantine behind every other free one, and touching it is reported as use after free.
//
// # Modelling choices
//
// Where the NDIS documentation leaves a choice open (marked [I] in specs/ndis.md) the model
// picks:
//   - a fixed Capacity per pool (NDIS pools have none, §2.7);
//   - each NBL has ContextGrowth bytes of context beyond the pool's ContextSize; NBL-context
//     requests beyond that fail with RESOURCES;
//   - a fresh shape C NB, or an NB from NdisAllocateNetBufferMdlAndData, has its whole buffer as
//     used data (DataOffset 0, DataLength DataSize);
//   - a retreat past the unused space takes one block from the pool's overflow area and puts it
//     in front of the NB's buffer, whose unused bytes drop out of the chain; an NB holds at most
//     one such block. An advance with freeMdl past the block gives it back; freeing the NB or
//     re-arming it with SetData or AttachMDL does too;
//   - Pool.Free counts NBLs parked in Caches as outstanding: flush the Caches first.
package pool
