package ndis

import (
	"fmt"

	"webminiport/pool"
)

// The NBL ownership rules live in this file: who may hold an NBL, and the one function (mover.move)
// through which every change of owner is made and logged.

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

// miniportMayIndicate reports whether the miniport owns an NBL with owner o and so may indicate
// it. Free-list NBLs count: NDIS knows nothing of the miniport's private lists.
func miniportMayIndicate(o pool.Owner) bool {
	switch o {
	case pool.OwnerAllocated, OwnerMiniportFree, OwnerMiniport, OwnerPosted, OwnerReclaim:
		return true
	}
	return false
}

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
	now := a.stamp.Load()
	a.log.mu.Lock()
	return mover{a: a, now: now, comp: comp}
}

// move gives h to owner to and records why. The caller has validated h (a live NBL of e's pool
// that the acting component may hand over), so SetOwner cannot fail here.
func (m mover) move(e *poolEntry, h pool.NBL, to pool.Owner, kind LogKind, arg uint32) {
	_ = e.p.SetOwner(h, to)
	m.a.log.put(LogEntry{Time: m.now, NBL: h, Pool: e.handle, Kind: kind, Component: m.comp, Owner: to, Arg: arg})
}

// freed records that h went back into its pool (the caller has freed it).
func (m mover) freed(e *poolEntry, h pool.NBL) {
	m.a.log.put(LogEntry{Time: m.now, NBL: h, Pool: e.handle, Kind: LogFreed, Component: m.comp, Owner: pool.OwnerPool})
}

// note records an event that changes no owner (a dropped frame has no NBL).
func (m mover) note(e *poolEntry, kind LogKind) {
	m.a.log.put(LogEntry{Time: m.now, Pool: e.handle, Kind: kind, Component: m.comp})
}

func (m mover) done() { m.a.log.mu.Unlock() }
