// Package ndis is the miniport framework: the NDIS side of a network adapter ("miniport block"),
// the interfaces a miniport driver and a protocol driver implement, and the bookkeeping that makes
// NDIS buffer management visible.
//
// An Adapter drives one Miniport through the adapter state machine of NDIS 6 (Halted, Initializing,
// Paused, Restarting, Running, Pausing, Shutdown) and dispatches between it and one bound Protocol:
// receive indications up, returns down, sends down, send completions up, OID requests, status
// indications. Every rule of specs/ndis.md §3–§6 that a model can check is checked, and every
// violation is a typed *pool.MisuseError, returned to the caller and kept in Reports.
//
// Buffers are NET_BUFFER_LISTs from package pool. RxEngine implements the seed's receive pattern
// (WDK "Miniport Driver Buffer Management"): the pool is made in the initialize handler, every NBL
// is preallocated with its NET_BUFFER and data buffer, the miniport keeps its own free list,
// returned NBLs go back onto that free list (never into the pool) while the adapter runs, and halt
// frees every NBL and then the pool. SendPool is the same for a protocol's send buffers.
//
// Every NBL carries its current owner (pool.Owner values defined in owner.go, the one file where
// ownership changes are made) and every change is one entry in a bounded tracking log, so the
// views of !ndiskd (nblpool, nblpool -allocations, nbl, nbl -log, pendingnbls, nbllog) can be
// rendered straight from the model, as data (views.go) and as text (Command).
//
// Concurrency: every exported method is safe for concurrent use. Control operations (state
// changes, OIDs, binding) take a mutex; the datapath (indicate, return, send, complete) takes it
// once per chain, never per frame, and never while calling out to the miniport or the protocol,
// so either may call back into the adapter from inside a handler.
package ndis
