package ndis

import (
	"errors"

	"webminiport/pool"
)

// IndicateReceive is NdisMIndicateReceiveNetBufferLists (port 0): the miniport hands a chain of
// count NBLs, all from one pool it made through AllocateNBLPool, up to the bound protocol.
//
// Before the call every NBL must be the miniport's, fully set up (one NB with the frame), with
// SourceHandle = a.Handle(); the call is refused (and nothing changes) on a count that is not the
// chain length (COUNT_MISMATCH), an NBL still lent out (DOUBLE_INDICATE), an unset SourceHandle
// (MISSING_SOURCE_HANDLE), an NBL without exactly one NB or with a frame longer than
// OID_GEN_MAXIMUM_TOTAL_SIZE (BAD_ETHERNET_NBL), or a state other than Running, Pausing or
// Restarting (INDICATE_IN_WRONG_STATE).
//
// Without ReceiveResources the NBLs belong to the protocol until they come back through the
// miniport's ReturnNBLs. With ReceiveResources they are the miniport's again when this returns
// (owner OwnerReclaim: it must put them back on its free list or free them; ReturnNBLs is never
// called for them), and the chain is as it was: a protocol that changed a Next link is reported
// (CHAIN_NOT_RESTORED) and the link restored.
func (a *Adapter) IndicateReceive(chain pool.NBL, count int, flags ReceiveFlags) error {
	if chain == 0 {
		return a.misuse(pool.CountMismatch, nil, 0, "indicated an empty chain with count %d", count)
	}
	p := pool.PoolOf(chain)
	e := a.entryOf(p)
	if e == nil || e.component != ComponentMiniport {
		return a.misuse(pool.NonPoolNBL, nil, chain, "indicated, but not from a receive pool the miniport made through adapter %q", a.name)
	}

	// Pass 1 validates everything before anything changes, so a refused call leaves the chain
	// exactly as the miniport had it.
	maxTotal := uint32(a.filter.Load().maxTotal)
	n := 0
	for h := chain; h != 0; h = p.Next(h) {
		n++
		if n > len(e.slots) {
			return a.misuse(pool.CountMismatch, e, chain, "indicated chain is longer than its pool (%d NBLs): a cycle", len(e.slots))
		}
		if err := p.Check(h); err != nil {
			return a.record(err) // freed, or of another pool
		}
		if err := p.CheckEthernet(h, maxTotal); err != nil {
			return a.record(err)
		}
		if o := p.Owner(h); !miniportMayIndicate(o) {
			if lentToProtocol(o) {
				return a.misuse(pool.DoubleIndicate, e, h, "indicated again while %s", OwnerName(o))
			}
			return a.misuse(pool.AccessWhileLent, e, h, "indicated, but it is not the miniport's (%s)", OwnerName(o))
		}
		if p.SourceHandle(h) != a.handle {
			return a.misuse(pool.MissingSourceHandle, e, h, "indicated with SourceHandle %#x, want the adapter handle %#x", p.SourceHandle(h), a.handle)
		}
	}
	if n != count {
		return a.misuse(pool.CountMismatch, e, chain, "NumberOfNetBufferLists is %d but the chain holds %d NBLs", count, n)
	}

	resources := flags&ReceiveResources != 0
	a.mu.Lock()
	if _, err := Transition(a.state, EventReceive); err != nil || a.halting {
		st := a.state
		a.mu.Unlock()
		return a.misuse(pool.IndicateInWrongState, e, chain, "indicated %d NBLs in state %v", n, st)
	}
	a.outstanding.Add(int64(n))
	b := a.binding.Load()
	a.mu.Unlock()

	// Pass 2: the NBLs change hands.
	var t tally
	kind, owner := LogIndicated, OwnerProtocol
	if resources {
		kind, owner = LogIndicatedResources, OwnerLentResources
	}
	m := a.beginMoves(ComponentMiniport)
	for h := chain; h != 0; {
		next := p.Next(h)
		nb := p.FirstNB(h)
		s := &e.slots[p.Index(h)]
		s.nb, s.off, s.len, s.next = nb, p.DataOffset(nb), p.DataLength(nb), next
		t.add(p.Data(nb), s.len)
		if !resources {
			s.watch(m.now)
		}
		m.move(e, h, owner, kind, uint32(flags))
		h = next
	}
	m.done()
	a.stats.addIn(&t)

	switch {
	case b != nil:
		b.proto.ReceiveNBLs(p, chain, n, flags)
	case !resources:
		// Nobody is bound: NDIS gives the NBLs straight back.
		_ = a.returnChain(chain, 0, ComponentNDIS)
	}
	if resources {
		a.reclaim(e, chain, n)
	}
	return nil
}

// reclaim takes back the n NBLs of a RESOURCES indication when the call returns, restoring and
// reporting any Next link the protocol changed.
func (a *Adapter) reclaim(e *poolEntry, chain pool.NBL, n int) {
	p := e.p
	var broken []pool.NBL
	m := a.beginMoves(ComponentNDIS)
	h := chain
	for i := 0; i < n; i++ {
		s := &e.slots[p.Index(h)]
		if p.Next(h) != s.next {
			broken = append(broken, h)
			_ = p.SetNext(h, s.next)
		}
		s.watch(m.now)
		m.move(e, h, OwnerReclaim, LogReclaimed, 0)
		h = s.next
	}
	m.done()
	a.outstanding.Add(-int64(n))
	for _, h := range broken {
		a.misuse(pool.ChainNotRestored, e, h, "the protocol changed its Next link during a RESOURCES indication; restored")
	}
}

// ReturnNBLs is NdisReturnNetBufferLists: the protocol gives back NBLs it was indicated without
// RESOURCES, in any order and grouping (one call may mix NBLs of several indications). They go to
// the miniport's ReturnNBLs. NBLs that are not the protocol's to return are reported and held
// back, the rest are relinked and passed on: an NBL returned twice (DOUBLE_FREE class), an NBL of
// a RESOURCES indication (CHAIN_NOT_RESTORED), the protocol's own send NBL (FOREIGN_NBL_FREE).
// An NBL whose NB or data range changed is reported (NB_LIST_TAMPERED) and passed on.
func (a *Adapter) ReturnNBLs(chain pool.NBL, flags ReturnFlags) error {
	return a.returnChain(chain, flags, ComponentProtocol)
}

func (a *Adapter) returnChain(chain pool.NBL, flags ReturnFlags, comp Component) error {
	var (
		head, tail pool.NBL
		tailPool   *pool.Pool
		n          int
		e          *poolEntry
		bad        []badNBL // allocated only on misuse
	)
	limit := a.totalSlots()
	m := a.beginMoves(comp)
	for h, steps := chain, 0; h != 0; steps++ {
		if steps > limit {
			bad = append(bad, badNBL{pool.CountMismatch, e, h, "returned chain is longer than every pool together: a cycle"})
			break
		}
		if e == nil || e.p.Index(h) < 0 { // another pool than the last NBL's
			if e = a.entryOf(pool.PoolOf(h)); e == nil {
				bad = append(bad, badNBL{pool.NonPoolNBL, nil, h, "returned NBL is not from a pool of this adapter"})
				break // its Next cannot be read
			}
		}
		p := e.p
		next := p.Next(h) // read before passing h on: the miniport may reuse it at once
		switch o := p.Owner(h); {
		case o == OwnerProtocol:
			s := &e.slots[p.Index(h)]
			nb := p.FirstNB(h)
			if nb != s.nb || p.NextNB(nb) != 0 || p.DataOffset(nb) != s.off || p.DataLength(nb) != s.len {
				bad = append(bad, badNBL{pool.NBListTampered, e, h, "returned with its NB or data range changed"})
			}
			if head == 0 {
				head = h
			} else {
				_ = tailPool.SetNext(tail, h)
			}
			tail, tailPool = h, p
			m.move(e, h, OwnerMiniport, LogReturned, uint32(flags))
			n++
		case o == OwnerLentResources:
			bad = append(bad, badNBL{pool.ChainNotRestored, e, h, "returned an NBL indicated with RESOURCES; it must not be kept or returned"})
		case e.component == ComponentProtocol:
			bad = append(bad, badNBL{pool.ForeignNBLFree, e, h, "returned the protocol's own NBL to the miniport"})
		default:
			bad = append(bad, badNBL{pool.DoubleFree, e, h, "returned an NBL that is not lent to the protocol (" + OwnerName(o) + "): returned twice?"})
		}
		h = next
	}
	if tail != 0 {
		_ = tailPool.SetNext(tail, 0)
	}
	m.done()
	a.outstanding.Add(-int64(n))
	if head != 0 {
		a.mp.ReturnNBLs(head, flags)
	}
	return a.reportAll(bad)
}

// badNBL is a misuse found in the middle of a chain walk, reported after the walk (outside the
// log lock).
type badNBL struct {
	class  pool.MisuseClass
	e      *poolEntry
	h      pool.NBL
	detail string
}

func (a *Adapter) reportAll(bad []badNBL) error {
	var errs []error
	for _, b := range bad {
		errs = append(errs, a.misuse(b.class, b.e, b.h, "%s", b.detail))
	}
	return errors.Join(errs...)
}

// record keeps a misuse error found by package pool (a stale or foreign handle) in Reports.
func (a *Adapter) record(err error) error {
	var me *pool.MisuseError
	if errors.As(err, &me) {
		a.reports.add(a.clock(), me)
	}
	return err
}

// totalSlots is the number of NBLs in every pool of the adapter: no honest chain is longer.
func (a *Adapter) totalSlots() int {
	n := 0
	for _, e := range *a.pools.Load() {
		n += len(e.slots)
	}
	return n
}
