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
	e := a.entryOfNBL(chain)
	if e == nil || e.component != ComponentMiniport {
		return a.misuse(pool.NonPoolNBL, nil, chain, "indicated, but not from a receive pool the miniport made through adapter %q", a.name)
	}
	p := e.p

	// Pass 1 validates everything before anything changes, so a refused call leaves the chain
	// exactly as the miniport had it; pass 2 only hands the NBLs over.
	maxTotal := uint32(a.filter.Load().maxTotal)
	var t tally
	n, bad := e.noteChain(chain, maxTotal, a.handle, &t)
	if bad != 0 {
		return a.refuseIndication(e, chain, bad, n, maxTotal)
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
	kind, owner := LogIndicated, OwnerProtocol
	if resources {
		kind, owner = LogIndicatedResources, OwnerLentResources
	}
	m := a.beginMoves(ComponentMiniport)
	m.moveAll(e, e.gatherChain(chain, n, !resources, m.now), owner, kind, uint32(flags))
	m.done()
	a.stats.addIn(&t)

	a.indicating.add(1)
	switch {
	case b != nil:
		b.proto.ReceiveNBLs(p, chain, n, flags)
	case !resources:
		// Nobody is bound: NDIS gives the NBLs straight back.
		_ = a.returnChain(chain, 0, ComponentNDIS)
	}
	a.indicating.add(-1)
	if resources {
		a.reclaim(e, chain, n)
	}
	return nil
}

// noteChain is the first pass of an indication: it walks the chain from h checking that every
// NBL may be indicated (indicatable), notes each one's layout in its slot (the slot of an NBL the
// miniport holds is the adapter's to write, and nothing reads it until the NBL is indicated), and
// counts the frames into t. It returns the chain length, or the position and handle of the first
// NBL that may not be indicated, or that makes the chain longer than the pool (a cycle). Like
// returnRun it is a loop of its own, with few variables, for the wasm backend.
func (e *poolEntry) noteChain(h pool.NBL, maxTotal, handle uint32, t *tally) (n int, bad pool.NBL) {
	p, slots := e.p, e.slots
	for h != 0 {
		n++
		l, live := p.Layout(h)
		if n > len(slots) || !live || !indicatable(&l, maxTotal, handle) {
			return n, h
		}
		s := &slots[l.Index]
		s.nb, s.off, s.len, s.next = l.FirstNB, l.DataOffset, l.DataLength, l.Next
		t.add(l.Data, l.DataLength)
		h = l.Next
	}
	return n, 0
}

// gatherChain is the second pass: it collects the n NBLs of the chain from h (along the links
// noteChain noted) into e.moving, to change hands, and when watch is set starts their watchdog
// timers at now. The caller holds the log lock.
func (e *poolEntry) gatherChain(h pool.NBL, n int, watch bool, now int64) []pool.NBL {
	p, slots, moving := e.p, e.slots, e.moving[:0]
	for range n {
		s := &slots[p.Index(h)]
		if watch {
			s.watch(now)
		}
		moving = append(moving, h)
		h = s.next
	}
	return moving
}

// indicatable reports whether an NBL laid out as l may be indicated: exactly one NB, a frame
// no longer than maxTotal, owned by the miniport, SourceHandle the adapter's. It computes one
// flag for all the rules rather than testing them one by one, because under GOOS=js every branch
// costs a trip through the function's block dispatch; refuseIndication says which rule failed.
func indicatable(l *pool.Layout, maxTotal, handle uint32) bool {
	bad := uint64(l.NextNB) | uint64(l.SourceHandle^handle) | // a second NB; not from this adapter
		(uint64(maxTotal)-uint64(l.DataLength))>>63 | // longer than maxTotal
		uint64(mayIndicate>>l.Owner&1^1) // not the miniport's
	if !l.NBLive { // no NB, or a dead one
		bad = 1
	}
	return bad == 0
}

// refuseIndication reports why the n-th NBL of a chain, h, cannot be indicated, checking the
// rules in the order the indication's doc lists them.
func (a *Adapter) refuseIndication(e *poolEntry, chain, h pool.NBL, n int, maxTotal uint32) error {
	p := e.p
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
	return a.misuse(pool.MissingSourceHandle, e, h, "indicated with SourceHandle %#x, want the adapter handle %#x", p.SourceHandle(h), a.handle)
}

// reclaim takes back the n NBLs of a RESOURCES indication when the call returns, restoring and
// reporting any Next link the protocol changed.
func (a *Adapter) reclaim(e *poolEntry, chain pool.NBL, n int) {
	p := e.p
	var broken []pool.NBL
	m := a.beginMoves(ComponentNDIS)
	moving := e.moving[:0]
	h := chain
	for i := 0; i < n; i++ {
		s := &e.slots[p.Index(h)]
		if p.Next(h) != s.next {
			broken = append(broken, h)
			_ = p.SetNext(h, s.next)
		}
		s.watch(m.now)
		moving = append(moving, h)
		h = s.next
	}
	m.moveAll(e, moving, OwnerReclaim, LogReclaimed, 0)
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
		tailNext   pool.NBL // tail's Next as the walk read it
		n          int
		e          *poolEntry
		moving     []pool.NBL // e's NBLs to give to the miniport
		bad        []badNBL   // allocated only on misuse
	)
	limit := a.totalSlots()
	m := a.beginReturnMoves(comp)
	a.walks++
	walk := a.walks
	for h, steps := chain, 0; h != 0; steps++ {
		if steps > limit {
			bad = append(bad, badNBL{pool.CountMismatch, e, h, "returned chain is longer than every pool together: a cycle"})
			break
		}
		if e == nil || e.p.Index(h) < 0 { // another pool than the last NBL's
			if e != nil {
				m.moveAll(e, moving, OwnerMiniport, LogReturned, uint32(flags))
			}
			if e = a.entryOfNBL(h); e == nil {
				bad = append(bad, badNBL{pool.NonPoolNBL, nil, h, "returned NBL is not from a pool of this adapter"})
				break // its Next cannot be read
			}
			moving = e.moving[:0]
		}
		// The common case first: a run of the protocol's NBLs of pool e, each as indicated,
		// still linked as they were.
		var first, last, after pool.NBL
		taken := len(moving)
		if moving, first, last, after = e.returnRun(h, walk, moving); first != 0 {
			if head == 0 {
				head = first
			} else if tailNext != first { // relink only around NBLs held back
				_ = tailPool.SetNext(tail, first)
			}
			n += len(moving) - taken
			tail, tailPool, tailNext = last, e.p, after
			h = after
			continue
		}
		p := e.p
		l, _ := p.Layout(h) // zero for a dead handle: Next 0, owner OwnerPool
		next := l.Next      // read before passing h on: the miniport may reuse it at once
		if l.Owner == OwnerProtocol {
			// Met before in this walk means the chain goes round: the first meeting gave it to
			// the miniport already.
			if s := &e.slots[p.Index(h)]; s.walk != walk {
				s.walk = walk
				if uint32(l.FirstNB^s.nb)|uint32(l.NextNB)|(l.DataOffset^s.off)|(l.DataLength^s.len) != 0 {
					bad = append(bad, badNBL{pool.NBListTampered, e, h, "returned with its NB or data range changed"})
				}
				if head == 0 {
					head = h
				} else if tailNext != h { // relink only around NBLs held back
					_ = tailPool.SetNext(tail, h)
				}
				tail, tailPool, tailNext = h, p, next
				moving = append(moving, h)
				n++
				h = next
				continue
			}
			l.Owner = OwnerMiniport
		}
		bad = append(bad, notReturnable(e, h, l.Owner))
		h = next
	}
	if e != nil {
		m.moveAll(e, moving, OwnerMiniport, LogReturned, uint32(flags))
	}
	if tail != 0 && tailNext != 0 {
		_ = tailPool.SetNext(tail, 0)
	}
	m.done()
	a.outstanding.Add(-int64(n))
	if head != 0 {
		a.mp.ReturnNBLs(head, flags)
	}
	return a.reportAll(bad)
}

// returnRun takes the run of NBLs from h that are lent to the protocol, of pool e, met for the
// first time in this walk (marked with walk) and returned with the layout they were indicated
// with: it appends them to moving and returns the first and last of them (0, 0 when h is not
// such an NBL) and the Next of the last. Everything else is for returnChain's general case. The
// loop is kept apart, with few variables, because the wasm backend keeps the rest in memory.
func (e *poolEntry) returnRun(h pool.NBL, walk uint64, moving []pool.NBL) (_ []pool.NBL, first, last, after pool.NBL) {
	p, slots := e.p, e.slots
	for h != 0 {
		l, _ := p.Layout(h)
		if l.Owner != OwnerProtocol {
			break
		}
		s := &slots[l.Index]
		if s.walk == walk || uint32(l.FirstNB^s.nb)|uint32(l.NextNB)|(l.DataOffset^s.off)|(l.DataLength^s.len) != 0 {
			break
		}
		s.walk = walk
		moving = append(moving, h)
		if first == 0 {
			first = h
		}
		last = h
		h = l.Next
	}
	return moving, first, last, h
}

// notReturnable says why NBL h of pool e, with owner o, cannot be returned to the miniport.
func notReturnable(e *poolEntry, h pool.NBL, o pool.Owner) badNBL {
	switch {
	case o == OwnerLentResources:
		return badNBL{pool.ChainNotRestored, e, h, "returned an NBL indicated with RESOURCES; it must not be kept or returned"}
	case e.component == ComponentProtocol:
		return badNBL{pool.ForeignNBLFree, e, h, "returned the protocol's own NBL to the miniport"}
	}
	return badNBL{pool.DoubleFree, e, h, "returned an NBL that is not lent to the protocol (" + OwnerName(o) + "): returned twice?"}
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
