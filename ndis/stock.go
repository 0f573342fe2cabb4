package ndis

import (
	"errors"
	"fmt"

	"webminiport/pool"
)

// stock is a set of NBLs preallocated from one shape-C pool (each with its NB and data buffer)
// and the free list that keeps them while they are not in use: the part RxEngine and SendPool
// share. While the adapter runs NBLs go back onto the free list, never into the pool.
type stock struct {
	a    *Adapter
	e    *poolEntry
	p    *pool.Pool
	n    int
	home pool.Owner // the owner while on the free list

	// free is guarded by the adapter's bookkeeping lock (a.log.mu), like the counters of
	// RxEngine: a frame's free-list change, owner change and log entry cost one lock together.
	free []pool.NBL // LIFO: the most recently used buffer is the warmest
}

// newStock makes the pool and preallocates every NBL. On any failure it frees what it made, so
// a failed initialize leaves nothing live.
func newStock(a *Adapter, c Component, params pool.Params, home pool.Owner) (*stock, error) {
	if params.Capacity <= 0 {
		return nil, fmt.Errorf("ndis: pool %q: count %d must be positive", params.Name, params.Capacity)
	}
	if params.DataSize < ethernetHeaderLen {
		return nil, fmt.Errorf("ndis: pool %q: data size %d cannot hold an Ethernet header", params.Name, params.DataSize)
	}
	params.AllocateNB = true // shape C: NBL + NB + data buffer
	e, err := a.registerPool(c, params, 2)
	if err != nil {
		return nil, err
	}
	s := &stock{a: a, e: e, p: e.p, n: params.Capacity, home: home, free: make([]pool.NBL, 0, params.Capacity)}
	for i := range s.n {
		h, err := a.allocateNBL(e, home)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("ndis: pool %q: preallocating NBL %d of %d: %w", params.Name, i+1, s.n, err), s.release())
		}
		s.free = append(s.free, h)
	}
	return s, nil
}

// release frees every NBL on the free list, then the pool (the seed's halt order). NBLs not on
// the free list make the pool free fail with POOL_FREE_WITH_OUTSTANDING naming them.
func (s *stock) release() error {
	s.a.log.mu.Lock()
	free := s.free
	s.free = nil
	s.a.log.mu.Unlock()
	var errs []error
	for _, h := range free {
		if err := s.a.freeNBL(s.e, h); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.a.FreeNBLPool(s.p); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// pop takes an NBL off the free list; 0 when it is empty. The caller holds a.log.mu.
func (s *stock) pop() pool.NBL {
	n := len(s.free)
	if n == 0 {
		return 0
	}
	h := s.free[n-1]
	s.free = s.free[:n-1]
	return h
}

// misuseNotHeld reports an NBL handed to the stock that its user does not hold: one lent to the
// protocol (ACCESS_WHILE_LENT) or one already on the free list (DOUBLE_FREE class).
func (s *stock) misuseNotHeld(h pool.NBL, what string) error {
	if err := s.p.Check(h); err != nil {
		return s.a.record(err)
	}
	o := s.p.Owner(h)
	if lentToProtocol(o) || o == OwnerSendInFlight {
		return s.a.misuse(pool.AccessWhileLent, s.e, h, "%s while %s", what, OwnerName(o))
	}
	return s.a.misuse(pool.DoubleFree, s.e, h, "%s, but it is not held (%s)", what, OwnerName(o))
}
