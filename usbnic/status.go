package usbnic

import (
	"context"
	"time"

	"webminiport/ndis"
)

// throttleDelay is usbnet's THROTTLE_JIFFIES (HZ/8): after a protocol or timeout error on a
// data endpoint, no new transfer is submitted on it for this long.
const throttleDelay = 125 * time.Millisecond

// Deferred work, as usbnet's kevent flags: things a datapath goroutine notices but that need
// control transfers or waiting, done on the kevent goroutine.
const (
	evRxHalt    uint32 = 1 << iota // the bulk-IN endpoint stalled: cancel RX, clear the halt, refill
	evTxHalt                       // the bulk-OUT endpoint stalled: clear the halt, let TX go on
	evRxMode                       // a packet filter or multicast OID waits in n.oid
	evLinkReset                    // retry a link reset that failed (n.linkRetry)
)

// kick wakes the kevent goroutine.
func (n *NIC) kick() {
	select {
	case n.keventWake <- struct{}{}:
	default:
	}
}

// deferWork schedules deferred work (usbnet_defer_kevent).
func (n *NIC) deferWork(ev uint32) {
	n.mu.Lock()
	n.kevents |= ev
	n.mu.Unlock()
	n.kick()
}

// keventLoop is usbnet_deferred_kevent: one goroutine for the deferred work, so control
// transfers never run on a datapath goroutine or on the caller of a miniport handler.
func (n *NIC) keventLoop() {
	defer n.loops.Done()
	for {
		select {
		case <-n.keventWake:
		case <-n.life.Done():
			return
		}
		n.mu.Lock()
		ev := n.kevents
		n.kevents = 0
		req := n.oid
		removed := n.removed
		n.mu.Unlock()
		if ev&evRxHalt != 0 {
			n.clearRxHalt(removed)
		}
		if ev&evTxHalt != 0 {
			n.clearTxHalt(removed)
		}
		if ev&evRxMode != 0 && req != nil {
			n.setRxMode(req)
		}
		if ev&evLinkReset != 0 && !removed {
			n.retryLinkReset()
		}
	}
}

// clearRxHalt is EVENT_RX_HALT: the RX session was cancelled when the stall was seen; wait for
// it to end, clear the halt, and let RX start again.
func (n *NIC) clearRxHalt(removed bool) {
	n.mu.Lock()
	done := n.rxLastDone
	n.mu.Unlock()
	<-done
	if !removed {
		n.clearHalt(n.dev.In.Address)
	}
	n.mu.Lock()
	n.rxHalt = false
	n.rxUpdateLocked()
	n.mu.Unlock()
}

// clearTxHalt is EVENT_TX_HALT: clear the halt and release the TX gate.
func (n *NIC) clearTxHalt(removed bool) {
	if !removed {
		n.clearHalt(n.dev.Out.Address)
	}
	n.tx.halted.Store(false)
	n.tx.openGate()
}

// clearHalt sends CLEAR_FEATURE(ENDPOINT_HALT) through the transport.
func (n *NIC) clearHalt(ep uint8) {
	ctx, cancel := context.WithTimeout(n.life, n.opts.ControlTimeout)
	err := n.t.ClearHalt(ctx, ep)
	cancel()
	n.stats.clearHalts.Add(1)
	if err != nil {
		n.logf("usbnic: clear halt on endpoint %#02x: %v", ep, err)
		n.checkRemoved(err)
	}
}

// intrLoop is usbnet's interrupt transfer: always one interrupt-IN transfer outstanding; each
// completed one goes to the minidriver's Status, and what it says changes the link. The
// buffer is the endpoint's wMaxPacketSize, as in usbnet, so a notification longer than one
// packet arrives in pieces the minidriver joins (CDC speed changes on 8-byte endpoints).
func (n *NIC) intrLoop() {
	defer n.loops.Done()
	if !n.dev.HasIntr {
		return
	}
	ep := n.dev.Intr.Address
	buf := make([]byte, max(int(n.dev.Intr.MaxPacketSize), 1))
	for n.life.Err() == nil {
		got, st, err := n.t.TransferIn(n.life, ep, buf)
		switch {
		case err != nil:
			if n.life.Err() != nil {
				return
			}
			if isDisconnect(err) {
				n.deviceRemoved(err)
				return
			}
			logEvery(n, n.stats.intrErrors.Add(1), "usbnic: interrupt transfer: %v", err)
			n.sleep(throttleDelay)
		case st == StatusStall:
			n.stats.intrStalls.Add(1)
			n.clearHalt(ep)
		case st == StatusBabble:
			n.stats.intrBabbles.Add(1)
		default:
			n.stats.intrTransfers.Add(1)
			n.hookMu.Lock()
			ev, perr := n.md.Status(&n.dev, buf[:got])
			n.hookMu.Unlock()
			if perr != nil {
				logEvery(n, n.stats.statusErrors.Add(1), "usbnic: %s status: %v", n.drv.Name, perr)
				continue
			}
			n.handleStatus(ev)
		}
	}
}

// sleep waits for d or until the adapter halts.
func (n *NIC) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-n.life.Done():
	}
}

// handleStatus is usbnet_link_change and the speed bookkeeping of the CDC drivers.
func (n *NIC) handleStatus(ev StatusEvent) {
	if ev.HasLink {
		n.stats.linkChanges.Add(1)
		n.linkMu.Lock()
		n.linkGen++
		switch {
		case ev.LinkUp && ev.NeedReset:
			n.linkReset()
		default:
			n.setCarrier(ev.LinkUp)
		}
		n.linkMu.Unlock()
	}
	if ev.HasSpeed {
		n.hookMu.Lock()
		n.dev.Link.Speed = ev.RxSpeed
		n.hookMu.Unlock()
		n.mu.Lock()
		n.link.RcvSpeed, n.link.XmitSpeed = ev.RxSpeed, ev.TxSpeed
		n.mu.Unlock()
		n.logf("usbnic: link speed %d b/s down, %d b/s up", ev.RxSpeed, ev.TxSpeed)
		n.reportLink()
	}
}

// setCarrier turns the carrier on or off without a link reset (usbnet_link_change with
// need_reset 0). Turning it off cancels the bulk-IN transfers and waits until they ended:
// usbnet refills only while the carrier is on.
func (n *NIC) setCarrier(up bool) {
	n.hookMu.Lock()
	n.dev.Link.Up = up
	if !up {
		n.dev.Link = LinkState{}
	}
	n.hookMu.Unlock()
	n.mu.Lock()
	n.carrier = up && !n.removed
	if !up {
		n.link.RcvSpeed, n.link.XmitSpeed, n.link.Duplex = 0, 0, ndis.DuplexUnknown
	}
	n.rxUpdateLocked()
	done := n.rxLastDone
	n.mu.Unlock()
	if !up {
		<-done
	}
	n.logf("usbnic: link %s", upDown(up))
	n.reportLink()
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

// linkReset handles a link that came up and asks for a reset (usbnet_link_change(1, 1)): the
// carrier goes off first (RX cancelled), the minidriver's LinkReset reprograms the chip for
// the new speed and says whether the link is really up, and only then the carrier comes on
// and RX starts again, with the transfer size and count recomputed for the new speed.
//
// A link reset that fails leaves the carrier off. Linux tries again at the next interrupt,
// since a real chip reports its link state every polling interval; a device that reports
// changes only (as the virtual ones do) would leave the link down for good, so the retry is
// scheduled here: after throttleDelay, on the kevent goroutine, unless the link changed since.
// The caller holds linkMu.
func (n *NIC) linkReset() {
	n.setCarrier(false)
	n.stats.linkResets.Add(1)
	ctx, cancel := context.WithTimeout(n.life, n.opts.ControlTimeout)
	n.hookMu.Lock()
	err := n.md.LinkReset(ctx, &n.dev)
	d := n.dev
	n.hookMu.Unlock()
	cancel()
	if err != nil {
		n.logf("usbnic: %s link reset: %v", n.drv.Name, err)
		n.checkRemoved(err)
		n.stats.linkResetErrors.Add(1)
		if !isDisconnect(err) && n.life.Err() == nil {
			n.linkRetry = n.linkGen
			time.AfterFunc(throttleDelay, func() { n.deferWork(evLinkReset) })
		}
		return
	}
	if !d.Link.Up {
		return
	}
	n.mu.Lock()
	n.sizeRxLocked(&d)
	n.link.RcvSpeed, n.link.XmitSpeed = d.Link.Speed, d.Link.Speed
	n.link.Duplex = ndis.DuplexHalf
	if d.Link.FullDuplex {
		n.link.Duplex = ndis.DuplexFull
	}
	n.carrier = !n.removed
	n.rxUpdateLocked()
	n.mu.Unlock()
	n.logf("usbnic: link up after reset: %d Mb/s, %s duplex, %d RX transfers of %d bytes",
		d.Link.Speed/1_000_000, duplexName(d.Link.FullDuplex), n.rxQueue, n.rxBufSize)
	n.reportLink()
}

// retryLinkReset runs a failed link reset again, unless the link changed since it failed.
func (n *NIC) retryLinkReset() {
	n.linkMu.Lock()
	defer n.linkMu.Unlock()
	if n.linkRetry != n.linkGen {
		return
	}
	n.linkRetry = 0
	n.logf("usbnic: retrying the link reset")
	n.linkReset()
}

func duplexName(full bool) string {
	if full {
		return "full"
	}
	return "half"
}

// linkStateLocked is the link state to report: disconnected without carrier.
func (n *NIC) linkStateLocked() ndis.LinkState {
	if !n.carrier || n.removed {
		return ndis.LinkState{MediaConnect: ndis.MediaConnectDisconnected}
	}
	l := n.link
	l.MediaConnect = ndis.MediaConnectConnected
	return l
}

// reportLink tells ndis the link state when it changed since the last report
// (NdisMIndicateStatusEx with NDIS_STATUS_LINK_STATE). Before the first restart nothing is
// indicated: ndis takes the state from the attributes Initialize returned, and the first
// Restart reports what changed since.
func (n *NIC) reportLink() {
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	n.mu.Lock()
	l := n.linkStateLocked()
	if !n.started || l == n.reported || n.halting {
		n.mu.Unlock()
		return
	}
	n.reported = l
	n.mu.Unlock()
	if err := n.a.IndicateStatus(ndis.StatusIndication{Code: ndis.StatusLinkState, Link: l}); err != nil {
		n.logf("usbnic: link status indication: %v", err)
	}
}
