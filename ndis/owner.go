package ndis

import (
	"fmt"

	"webminiport/pool"
)

// The NBL ownership rules live in this file: who may hold an NBL, and the mover, through which
// every change of owner is made and logged.

// Component is a driver (or NDIS itself) that can hold an NBL: the "Currently held by" of
// !ndiskd.pendingnbls and the actor of a tracking-log entry.
type Component uint8

// Components.
const (
	ComponentNDIS Component = iota
	ComponentMiniport
	ComponentProtocol
)

func (c Component) String() string {
	switch c {
	case ComponentNDIS:
		return "NDIS"
	case ComponentMiniport:
		return "Miniport"
	case ComponentProtocol:
		return "Protocol"
	}
	return fmt.Sprintf("Component(%d)", uint8(c))
}

// Owners this package defines, after pool.OwnerPool (free in the pool) and pool.OwnerAllocated
// (allocated, nobody said more). The UI colours its NBL map by these values.
const (
	// OwnerMiniportFree: on the miniport's own receive free list, ready for the next frame.
	OwnerMiniportFree pool.Owner = 2 + iota
	// OwnerMiniport: held by the miniport: being filled, waiting in a chain to be indicated, or
	// just returned to it.
	OwnerMiniport
	// OwnerPosted: posted to the device as a receive buffer the hardware may fill.
	OwnerPosted
	// OwnerProtocol: indicated without RESOURCES and not yet returned: the protocol holds it.
	OwnerProtocol
	// OwnerLentResources: lent to the protocol for the duration of a RESOURCES indication.
	OwnerLentResources
	// OwnerReclaim: back at the miniport after a RESOURCES indication. NDIS never returns these;
	// the miniport must reuse or free them itself (an NBL left here is RESOURCES_NBL_LEAK).
	OwnerReclaim
	// OwnerProtocolFree: on a protocol's send free list.
	OwnerProtocolFree
	// OwnerProtocolSend: a send buffer held by the protocol (being built, or completed).
	OwnerProtocolSend
	// OwnerSendInFlight: sent and not yet completed by the miniport.
	OwnerSendInFlight
	numOwners
)

var ownerNames = [numOwners]string{
	pool.OwnerPool:      "pool free",
	pool.OwnerAllocated: "allocated",
	OwnerMiniportFree:   "miniport free list",
	OwnerMiniport:       "miniport",
	OwnerPosted:         "posted to device",
	OwnerProtocol:       "held by protocol",
	OwnerLentResources:  "lent with RESOURCES",
	OwnerReclaim:        "to reclaim after RESOURCES",
	OwnerProtocolFree:   "protocol free list",
	OwnerProtocolSend:   "protocol send",
	OwnerSendInFlight:   "send in flight",
}

// OwnerName describes an owner value for views ("held by protocol").
func OwnerName(o pool.Owner) string {
	if o < numOwners {
		return ownerNames[o]
	}
	return fmt.Sprintf("owner %d", uint8(o))
}

// OwnerComponent returns the component holding an NBL with owner o. home is the component whose
// pool the NBL came from: an NBL that is merely allocated, or free in the pool, is at home.
func OwnerComponent(o pool.Owner, home Component) Component {
	switch o {
	case OwnerMiniportFree, OwnerMiniport, OwnerPosted, OwnerReclaim, OwnerSendInFlight:
		return ComponentMiniport
	case OwnerProtocol, OwnerLentResources, OwnerProtocolFree, OwnerProtocolSend:
		return ComponentProtocol
	}
	return home
}

// mayIndicate has bit o set for each owner o under which the miniport owns an NBL and so may
// indicate it. Free-list NBLs count: NDIS knows nothing of the miniport's private lists.
const mayIndicate = 1<<pool.OwnerAllocated | 1<<OwnerMiniportFree | 1<<OwnerMiniport | 1<<OwnerPosted | 1<<OwnerReclaim

// miniportMayIndicate reports whether the miniport may indicate an NBL with owner o.
func miniportMayIndicate(o pool.Owner) bool { return mayIndicate>>o&1 != 0 }

// lentToProtocol reports whether an NBL with owner o is a receive NBL the protocol has not given
// back: touching, re-posting or re-indicating it is ACCESS_WHILE_LENT / DOUBLE_INDICATE.
func lentToProtocol(o pool.Owner) bool {
	return o == OwnerProtocol || o == OwnerLentResources
}

// mover makes a batch of ownership changes under one acquisition of the log lock, so a chain of
// 32 NBLs costs one lock, and log entries of one chain stay together.
type mover struct {
	a    *Adapter
	now  int64
	comp Component
}

// beginMoves starts a batch stamped with the clock; comp is the component acting. End it with done.
func (a *Adapter) beginMoves(comp Component) mover {
	now := a.nowNanos()
	a.log.mu.Lock()
	return mover{a: a, now: now, comp: comp}
}

// beginFrameMoves starts a batch for a per-frame event, stamped with the latest time read (see
// Adapter.stamp) rather than the clock.
func (a *Adapter) beginFrameMoves(comp Component) mover {
	now := a.stamp.load()
	a.log.mu.Lock()
	return mover{a: a, now: now, comp: comp}
}

// beginReturnMoves starts the batch of a return. Inside an indication (a protocol returning from
// its ReceiveNBLs, the common case, or NDIS returning for an unbound adapter) it is stamped with
// the latest time read, which that indication's own clock read keeps within one indication of
// the truth; a return at any other time reads the clock.
func (a *Adapter) beginReturnMoves(comp Component) mover {
	if a.indicating.load() > 0 {
		return a.beginFrameMoves(comp)
	}
	return a.beginMoves(comp)
}

// move gives h to owner to and records why. The caller has validated h (a live NBL of e's pool
// that the acting component may hand over), so SetOwner cannot fail here.
func (m mover) move(e *poolEntry, h pool.NBL, to pool.Owner, kind LogKind, arg uint32) {
	_ = e.p.SetOwner(h, to)
	m.a.log.put(m.now, h, makeAttrs(e.handle, kind, m.comp, to, arg))
}

// moveAll is move for every NBL of nbls, all live NBLs of e's pool, with one call into the pool
// for the whole set: the datapath moves chains, and a call per NBL costs more than the rest of
// its bookkeeping under GOOS=js.
func (m mover) moveAll(e *poolEntry, nbls []pool.NBL, to pool.Owner, kind LogKind, arg uint32) {
	_ = e.p.SetOwners(nbls, to)
	m.a.log.putAll(m.now, nbls, makeAttrs(e.handle, kind, m.comp, to, arg))
}

// freed records that h went back into its pool (the caller has freed it).
func (m mover) freed(e *poolEntry, h pool.NBL) {
	m.a.log.put(m.now, h, makeAttrs(e.handle, LogFreed, m.comp, pool.OwnerPool, 0))
}

// note records an event that changes no owner (a dropped frame has no NBL).
func (m mover) note(e *poolEntry, kind LogKind) {
	m.a.log.put(m.now, 0, makeAttrs(e.handle, kind, m.comp, 0, 0))
}

func (m mover) done() { m.a.log.mu.Unlock() }
