package ndis

import (
	"webminiport/pool"
)

// Send is NdisSendNetBufferLists: the bound protocol sends a chain of NBLs from pools it made
// through AllocateNBLPool(ComponentProtocol, ...) (see SendPool). Each NBL holds one Ethernet
// frame in its first NB.
//
// The NBLs belong to the miniport until they come back through the protocol's SendComplete,
// exactly once each, with a status. While the adapter is not Running they come back at once
// without reaching the miniport: with StatusPaused when Pausing, Paused or Restarting (the rule
// for a pausing miniport, specs/ndis.md §5), StatusFailure otherwise. An NBL that is not the
// protocol's to send is refused with an error and the whole call is refused.
func (a *Adapter) Send(chain pool.NBL, flags SendFlags) error {
	b := a.binding.Load()
	if b == nil {
		return a.illegal("send with no protocol bound")
	}
	if chain == 0 {
		return nil
	}
	n := 0
	limit := a.totalSlots()
	for h, e := chain, (*poolEntry)(nil); h != 0; h = e.p.Next(h) {
		if n++; n > limit {
			return a.misuse(pool.CountMismatch, e, chain, "sent chain is longer than every pool together: a cycle")
		}
		if e == nil || e.p.Index(h) < 0 {
			e = a.entryOfNBL(h)
		}
		if e == nil || e.component != ComponentProtocol {
			return a.misuse(pool.NonPoolNBL, e, h, "sent, but not from a send pool the protocol made through adapter %q", a.name)
		}
		if err := e.p.Check(h); err != nil {
			return a.record(err)
		}
		switch o := e.p.Owner(h); o {
		case OwnerProtocolSend, pool.OwnerAllocated:
		case OwnerSendInFlight:
			return a.misuse(pool.AccessWhileLent, e, h, "sent again while its send is in flight")
		default:
			return a.misuse(pool.UseAfterFree, e, h, "sent, but not held by the protocol (%s)", OwnerName(o))
		}
	}

	a.mu.Lock()
	state := a.state
	accepted := state == Running
	if accepted {
		a.sendsPending.Add(int64(n))
	}
	a.mu.Unlock()
	status := statusUnset
	switch {
	case accepted:
	case state == Pausing || state == Paused || state == Restarting:
		status = StatusPaused // between runs, not broken
	default:
		status = StatusFailure
	}

	m := a.beginMoves(ComponentProtocol)
	for h, e := chain, (*poolEntry)(nil); h != 0; {
		if e == nil || e.p.Index(h) < 0 {
			e = a.entryOfNBL(h)
		}
		next := e.p.Next(h)
		e.p.SetStatus(h, uint32(status))
		s := &e.slots[e.p.Index(h)]
		s.watch(m.now)
		m.move(e, h, OwnerSendInFlight, LogSent, uint32(flags))
		h = next
	}
	m.done()
	if !accepted {
		a.stats.outDiscards.Add(uint64(n))
		return a.completeSends(chain, 0, ComponentNDIS)
	}
	a.mp.Send(chain, flags)
	return nil
}

// SendComplete is NdisMSendNetBufferListsComplete: the miniport gives back sent NBLs, in any
// order and grouping, each with its Status set to one of SUCCESS, INVALID_LENGTH, RESOURCES,
// PAUSED, SEND_ABORTED, RESET_IN_PROGRESS, FAILURE or LOW_POWER_STATE. Completing an NBL that is
// not in flight (twice, or never sent) is DOUBLE_COMPLETE and that NBL is held back; any other
// status is BAD_STATUS (reported, and passed on). Afterwards the NBLs are inaccessible to the
// miniport.
func (a *Adapter) SendComplete(chain pool.NBL, flags SendCompleteFlags) error {
	return a.completeSends(chain, flags, ComponentMiniport)
}

func (a *Adapter) completeSends(chain pool.NBL, flags SendCompleteFlags, comp Component) error {
	var (
		head, tail pool.NBL
		tailPool   *pool.Pool
		n          int
		e          *poolEntry
		t          tally
		bad        []badNBL
		failed     uint64 // ifOutErrors
		discarded  uint64 // ifOutDiscards
	)
	limit := a.totalSlots()
	m := a.beginMoves(comp)
	for h, steps := chain, 0; h != 0; steps++ {
		if steps > limit {
			bad = append(bad, badNBL{pool.CountMismatch, e, h, "completed chain is longer than every pool together: a cycle"})
			break
		}
		if e == nil || e.p.Index(h) < 0 { // another pool than the last NBL's
			if e = a.entryOfNBL(h); e == nil {
				bad = append(bad, badNBL{pool.NonPoolNBL, nil, h, "completed NBL is not from a pool of this adapter"})
				break
			}
		}
		p := e.p
		next := p.Next(h)
		if o := p.Owner(h); o != OwnerSendInFlight {
			bad = append(bad, badNBL{pool.DoubleComplete, e, h, "completed but not in flight (" + OwnerName(o) + "): completed twice?"})
			h = next
			continue
		}
		st := Status(p.Status(h))
		switch st {
		case StatusSuccess:
			nb := p.FirstNB(h)
			t.add(p.Data(nb), p.DataLength(nb))
		case StatusPaused, StatusSendAborted, StatusResetInProgress, StatusLowPowerState:
			// Not sent, but nothing went wrong with the frame: a discard. Sends the adapter
			// refused itself are counted in Send.
			if comp == ComponentMiniport {
				discarded++
			}
		default:
			if !validSendStatus(st) {
				bad = append(bad, badNBL{pool.BadStatus, e, h, "completed with status " + st.String()})
			}
			failed++
		}
		if head == 0 {
			head = h
		} else {
			_ = tailPool.SetNext(tail, h)
		}
		tail, tailPool = h, p
		m.move(e, h, OwnerProtocolSend, LogSendCompleted, uint32(st))
		n++
		h = next
	}
	if tail != 0 {
		_ = tailPool.SetNext(tail, 0)
	}
	m.done()
	a.stats.addOut(&t)
	a.stats.outErrors.Add(failed)
	a.stats.outDiscards.Add(discarded)
	if comp == ComponentMiniport {
		a.sendsPending.Add(-int64(n))
	}
	if head != 0 {
		if b := a.binding.Load(); b != nil {
			b.proto.SendComplete(head, flags)
		}
	}
	return a.reportAll(bad)
}

// SendFrame returns the frame held by send NBL h (the used data of its first NB, aliasing the
// pool's memory) for the miniport to put on the wire. Touching an NBL after completing it is
// ACCESS_AFTER_COMPLETE.
func (a *Adapter) SendFrame(h pool.NBL) ([]byte, error) {
	e := a.entryOfNBL(h)
	if e == nil || e.component != ComponentProtocol {
		return nil, a.misuse(pool.NonPoolNBL, e, h, "SendFrame: not a send NBL of adapter %q", a.name)
	}
	switch o := e.p.Owner(h); o {
	case OwnerSendInFlight:
		return e.p.Data(e.p.FirstNB(h)), nil
	case OwnerProtocolSend, OwnerProtocolFree:
		return nil, a.misuse(pool.AccessAfterComplete, e, h, "the miniport touched the send NBL after completing it")
	default:
		return nil, a.misuse(pool.UseAfterFree, e, h, "SendFrame: the NBL is %s", OwnerName(o))
	}
}

// SetCancelID is NDIS_SET_NET_BUFFER_LIST_CANCEL_ID: the protocol tags a send NBL so that
// CancelSends(id) can cancel it.
func (a *Adapter) SetCancelID(h pool.NBL, id uint64) {
	if e := a.entryOfNBL(h); e != nil {
		e.slots[e.p.Index(h)].cancelID = id
	}
}

// CancelID is NDIS_GET_NET_BUFFER_LIST_CANCEL_ID: the tag of a send NBL, 0 if none.
func (a *Adapter) CancelID(h pool.NBL) uint64 {
	if e := a.entryOfNBL(h); e != nil {
		return e.slots[e.p.Index(h)].cancelID
	}
	return 0
}

// CancelSends is NdisCancelSendNetBufferLists: the miniport's CancelSend completes every queued
// send tagged id with StatusSendAborted.
func (a *Adapter) CancelSends(id uint64) {
	a.mp.CancelSend(id)
}
