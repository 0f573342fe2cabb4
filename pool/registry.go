package pool

import (
	"runtime"
	"sync"
	"sync/atomic"
	"weak"
)

// registry maps pool ids (the top byte of every handle) to live pools, so that FreeNBL, FreeNB and
// PoolOf find the pool from the handle alone, as NdisFreeNetBufferList does from NdisPoolHandle.
//
// It points at the pools' insides (nblPool, nbPool), never at the *Pool or *NBPool users hold:
// a pool its user dropped without Free is collected, a cleanup gives its id back, and its handles
// turn into NonPoolNBL. Tests that leak pools therefore cannot run the 255 ids out.
var registry struct {
	mu      sync.Mutex
	next    uint32 // ids are handed out round robin, so a freed id is reused as late as possible
	entries [maxPoolID + 1]atomic.Pointer[entry]
}

type entry struct {
	id       uint32
	arena    *arena
	nbl      *nblPool // set for NBL pools
	nb       *nbPool  // set for NB pools
	nblOwner weak.Pointer[Pool]
	nbOwner  weak.Pointer[NBPool]
}

// dropped reports whether the user's *Pool or *NBPool is gone, so the id may be reused even if the
// cleanup has not run yet.
func (e *entry) dropped() bool {
	if e.nbl != nil {
		return e.nblOwner.Value() == nil
	}
	return e.nbOwner.Value() == nil
}

// register gives e an id, sets its arena's handle layout and publishes it. When all ids are taken
// it collects garbage once, so that pools nobody references give theirs back.
func register(e *entry, capacity int) bool {
	for attempt := 0; attempt < 2; attempt++ {
		if attempt == 1 {
			runtime.GC()
		}
		registry.mu.Lock()
		for n := uint32(0); n < maxPoolID; n++ {
			id := (registry.next+n)%maxPoolID + 1
			old := registry.entries[id].Load()
			if old != nil && !old.dropped() {
				continue
			}
			registry.next = id % maxPoolID
			e.id = id
			e.arena.layout = newLayout(id, capacity)
			registry.entries[id].Store(e)
			registry.mu.Unlock()
			return true
		}
		registry.mu.Unlock()
	}
	return false
}

func unregister(e *entry) {
	registry.mu.Lock()
	if registry.entries[e.id].Load() == e {
		registry.entries[e.id].Store(nil)
	}
	registry.mu.Unlock()
}

// lookup returns the entry named by a handle's top byte, or nil.
func lookup(h uint32) *entry { return registry.entries[h>>idShift].Load() }
