package usbnic

import (
	"context"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"webminiport/ndis"
)

// Receive. usbnet keeps rx_qlen bulk-IN transfers queued on the endpoint and refills the queue
// from its bottom half, only while the interface is up and the carrier is on. Here every
// transfer is a blocking Transport call, so each of the N transfers in flight is a goroutine
// (a slot) looping over TransferIn into its own buffer. A set of slots is an RX session: it
// starts when the adapter runs with the carrier on, and is cancelled (every outstanding
// transfer with it) on carrier loss, pause, a stall, removal or halt.
//
// Order. A host controller runs an endpoint's queue in order, and the transports here complete
// the transfers of one endpoint in the order the calls were made (WebUSB does, usbnic/sim
// does): each call gets the next bytes of the stream. So a slot draws a ticket just before it
// calls TransferIn, and completions are handed to the minidriver strictly in ticket order: a
// transfer that came back waits until every earlier one has been handed on (a plain mutex would
// let a late arrival barge ahead). A frame split across two transfers (AX88772) is then seen in
// one piece, and frames reach the protocol in wire order. A transfer that fails, is cancelled or
// brings no data still takes its turn, so nothing waits for it forever; once the device is
// removed every waiter is released, whether or not the transport gives the calls back.
//
// The order in which calls return says nothing: natively a goroutine can be descheduled after
// the transport finished its transfer and before it returns, and a later transfer returns
// first. The ticket is drawn before the call, when no data has been taken yet, and after any
// wait the transport asks for (SubmitPacer). Under js/wasm a goroutine runs until it blocks, so
// the call reaches the browser's queue before any other slot runs and ticket order is queue
// order, exactly. Natively the calls of several slots race from the ticket into the
// transport's queue, and a later caller can take its place first; a transport that says when a
// call enters its queue (QueuedIn, as usbnic/sim does) has the ticket drawn at that moment.
//
// Frames are copied. The rx fixup hands each frame, a slice of the transfer buffer, to the
// receive engine, which copies it into the data buffer of a preallocated NBL. Handing out
// slices of the transfer buffer itself would need a reference count per transfer buffer, kept
// until the protocol returned the last of its NBLs — in any order and grouping, possibly much
// later — and the buffer could not take the next transfer meanwhile. A copy of a 64-byte frame
// costs less than that bookkeeping, and the buffer is free for the next submit as soon as the
// fixup returns.

// turns hands out turns by ticket: ticket k goes after ticket k-1. One token circulates; as
// at most len(turns) tickets are outstanding, ticket k waits on channel k mod len(turns) and
// no two outstanding tickets share one.
type turns []chan struct{}

func newTurns(n int) turns {
	t := make(turns, n)
	for i := range t {
		t[i] = make(chan struct{}, 1)
	}
	t[0] <- struct{}{}
	return t
}

func (t turns) wait(k uint64) { <-t[k%uint64(len(t))] }

// waitUnless blocks until it is ticket k's turn and returns true, or returns false once
// released is closed (the token may then be held by another ticket: the caller must not
// complete).
func (t turns) waitUnless(k uint64, released <-chan struct{}) bool {
	turn := t[k%uint64(len(t))]
	select {
	case <-turn: // a turn already there is taken even after the release
		return true
	default:
	}
	select {
	case <-turn:
		return true
	case <-released:
		return false
	}
}

func (t turns) pass(k uint64) { t[(k+1)%uint64(len(t))] <- struct{}{} }

// rxSession is one set of bulk-IN slots.
type rxSession struct {
	n       *NIC
	ctx     context.Context // cancelled to end the session and every transfer in it
	cancel  context.CancelFunc
	ep      uint8
	bufs    [][]byte
	tickets atomic.Uint64 // the next ticket, drawn at submission
	turns   turns
	live    atomic.Int32 // slots still running
	done    chan struct{}

	inflight atomic.Int32
	// killWait is usbnet's EVENT_RX_KILL: too many failed completions, so no submit until every
	// transfer in flight has come back. Closed (and cleared) when that happens. killing says
	// whether it is set, so the steady path takes no lock.
	mu       sync.Mutex
	killWait chan struct{}
	killing  atomic.Bool
	// The error-rate window (usbnet pkt_cnt/pkt_err), touched only by the ticket holder.
	pktCnt, pktErr int
}

// rxWantedLocked says whether bulk-IN transfers should be in flight.
func (n *NIC) rxWantedLocked() bool {
	return n.running && n.carrier && !n.removed && !n.rxHalt && !n.halting
}

// rxUpdateLocked starts or cancels the RX session to match rxWantedLocked. It never waits: a
// caller that must know the session has ended waits on n.rxLastDone after unlocking.
func (n *NIC) rxUpdateLocked() {
	want := n.rxWantedLocked()
	switch {
	case want && n.rxs == nil:
		n.rxs = n.startRxLocked()
	case !want && n.rxs != nil:
		n.rxs.cancel()
		n.rxs = nil
	}
}

// startRxLocked starts a session of n.rxQueue slots with n.rxBufSize-byte buffers (reusing the
// last session's buffers when they fit: sessions never overlap, as every path that starts one
// runs after the previous one ended).
func (n *NIC) startRxLocked() *rxSession {
	q, size := n.rxQueue, n.rxBufSize
	bufs := n.rxSpare
	n.rxSpare = nil
	if len(bufs) != q || len(bufs[0]) != size {
		bufs = make([][]byte, q)
		for i := range bufs {
			bufs[i] = make([]byte, size)
		}
	}
	s := &rxSession{n: n, ep: n.dev.In.Address, bufs: bufs, turns: newTurns(q), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(n.life)
	s.live.Store(int32(q))
	n.rxLastDone = s.done
	n.stats.rxSessions.Add(1)
	n.stats.rxQueue.Store(int64(q))
	for i := range q {
		go s.slot(i)
	}
	return s
}

// slot is one bulk-IN transfer kept in flight: draw a ticket, submit, wait, complete in
// turn, again.
func (s *rxSession) slot(i int) {
	buf := s.bufs[i]
	var timer *time.Timer // throttle waits; made on the first one
	pacer, _ := s.n.t.(SubmitPacer)
	queuedIn, _ := s.n.t.(QueuedIn)
	var k uint64                                // this transfer's ticket
	draw := func() { k = s.tickets.Add(1) - 1 } // made once per slot: no allocation per transfer
	for s.gate(&timer) {
		if pacer != nil && pacer.WaitSubmit(s.ctx) != nil {
			continue // the session is over: gate says so
		}
		s.inflight.Add(1)
		s.n.stats.rxInFlight.Add(1)
		var got int
		var st Status
		var err error
		if queuedIn != nil {
			got, st, err = queuedIn.TransferInQueued(s.ctx, s.ep, buf, draw)
		} else {
			draw()
			got, st, err = s.n.t.TransferIn(s.ctx, s.ep, buf)
		}
		got = min(max(got, 0), len(buf))
		s.n.stats.rxInFlight.Add(-1)
		if s.inflight.Add(-1) == 0 && s.killing.Load() {
			s.drained()
		}
		if !s.turns.waitUnless(k, s.n.removedCh) {
			// The device is gone and an earlier transfer may never come back: drop this one
			// without its turn (the token, if it ever comes, is not needed: the session is
			// cancelled, so gate ends every slot).
			s.n.stats.rxCancelled.Add(1)
			continue
		}
		s.complete(buf[:got], st, err)
		s.turns.pass(k)
	}
	s.exit()
}

// exit ends a slot; the last one gives the buffers back and marks the session done. A slot
// exits only after its last completion passed its turn on, or was released by the removal.
func (s *rxSession) exit() {
	if s.live.Add(-1) != 0 {
		return
	}
	s.n.mu.Lock()
	s.n.rxSpare = s.bufs
	s.n.mu.Unlock()
	s.cancel()
	close(s.done)
}

// kill stops submits until every transfer in flight has come back.
func (s *rxSession) kill() {
	s.mu.Lock()
	if s.killWait == nil {
		s.killWait = make(chan struct{})
		s.killing.Store(true)
	}
	s.mu.Unlock()
}

// drained runs when no transfer is in flight: a kill is over.
func (s *rxSession) drained() {
	s.mu.Lock()
	if s.killWait != nil && s.inflight.Load() == 0 {
		close(s.killWait)
		s.killWait = nil
		s.killing.Store(false)
	}
	s.mu.Unlock()
}

// gate waits until a transfer may be submitted: not while killed by the error rate (until
// every transfer in flight came back), not while throttled after an error. It returns false
// when the session is over.
func (s *rxSession) gate(timer **time.Timer) bool {
	for {
		if s.ctx.Err() != nil {
			return false
		}
		if s.killing.Load() {
			s.drained() // a kill set after the last transfer came back is over already
			s.mu.Lock()
			wait := s.killWait
			s.mu.Unlock()
			if wait == nil {
				continue
			}
			select {
			case <-s.ctx.Done():
				return false
			case <-wait:
			}
			continue
		}
		until := s.n.rxThrottle.Load()
		if until == 0 {
			return true
		}
		d := time.Until(time.Unix(0, until))
		if d <= 0 {
			s.n.rxThrottle.CompareAndSwap(until, 0)
			return true
		}
		if *timer == nil {
			*timer = time.NewTimer(d)
		} else {
			(*timer).Reset(d)
		}
		select {
		case <-s.ctx.Done():
			(*timer).Stop()
			return false
		case <-(*timer).C:
		}
	}
}

// complete handles one finished bulk-IN transfer, in transfer order (usbnet rx_complete and
// rx_process).
func (s *rxSession) complete(data []byte, st Status, err error) {
	n := s.n
	switch {
	case err != nil:
		if s.ctx.Err() != nil {
			n.stats.rxCancelled.Add(1) // the session is ending: usbnet's unlinked URBs
			return
		}
		if isDisconnect(err) {
			n.deviceRemoved(err)
			return
		}
		logEvery(n, n.stats.rxErrors.Add(1), "usbnic: bulk-IN transfer: %v", err)
		n.throttleRx()
		s.note(true)
	case st == StatusStall:
		n.stats.rxStalls.Add(1)
		s.note(true)
		n.rxStalled()
	case st == StatusBabble:
		// usbnet's -EOVERFLOW: rx_over_errors, and the data is dropped.
		n.stats.rxBabbles.Add(1)
		n.a.CountReceiveErrors(1)
		s.note(true)
	default:
		s.note(false)
		n.rxTransfer(data)
	}
}

// note counts one completion in usbnet's error-rate window: more than 20 failures among 30
// consecutive completions stop RX until the queue has drained.
func (s *rxSession) note(failed bool) {
	s.pktCnt++
	if s.pktCnt > 30 {
		s.pktCnt, s.pktErr = 0, 0
		return
	}
	if failed {
		s.pktErr++
	}
	if s.pktErr > 20 {
		s.pktCnt, s.pktErr = 0, 0
		s.kill()
		s.n.stats.rxKills.Add(1)
		s.n.logf("usbnic: more than 20 of 30 bulk-IN transfers failed: RX stopped until the queue drains")
	}
}

// throttleRx holds bulk-IN submits back for throttleDelay (usbnet's dev->delay timer; a
// pending throttle is not extended).
func (n *NIC) throttleRx() {
	if n.rxThrottle.CompareAndSwap(0, time.Now().Add(throttleDelay).UnixNano()) {
		n.stats.rxThrottles.Add(1)
	}
}

// rxStalled is EPIPE on bulk IN: cancel the session and let the kevent goroutine clear the
// halt (usbnet EVENT_RX_HALT). No submit happens until then.
func (n *NIC) rxStalled() {
	n.mu.Lock()
	if !n.rxHalt {
		n.rxHalt = true
		n.kevents |= evRxHalt
		n.rxUpdateLocked()
	}
	n.mu.Unlock()
	n.kick()
}

// rxTransfer runs the bytes of one completed bulk-IN transfer through the minidriver's rx
// fixup, copies every frame into an NBL of the receive engine, and indicates them as one chain.
// The frames of the transfer are indicated before the next transfer is looked at; when the free
// list runs low the engine indicates with RESOURCES, and when it is empty it drops and counts.
func (n *NIC) rxTransfer(data []byte) {
	if len(data) == 0 {
		n.stats.rxEmpty.Add(1)
		return
	}
	n.stats.rxTransfers.Add(1)
	n.stats.rxBytes.Add(uint64(len(data)))
	err := n.md.RxFixup(&n.dev, data, &n.sink)
	n.sink.batch.End()
	if err != nil {
		n.a.CountReceiveErrors(1)
		logEvery(n, n.stats.rxFixupErrors.Add(1), "usbnic: %s rx fixup: %v", n.drv.Name, err)
	}
	frames := n.sink.frames
	n.sink.frames = 0
	n.stats.rxFrames.Add(frames)
	n.stats.lastFrames.Store(frames)
	if frames == 0 {
		return
	}
	if err := n.rx.Flush(0); err != nil {
		logEvery(n, n.stats.indicateErrors.Add(1), "usbnic: indicate: %v", err)
	}
}

// rxSink is the FrameSink the core hands to RxFixup. It is touched only by the goroutine
// completing transfers (one at a time, in turn).
type rxSink struct {
	n      *NIC
	frames uint64
	// batch copies the frames of one transfer into receive NBLs with one lock per batch of
	// frames rather than per frame; rxTransfer ends it after the fixup.
	batch *ndis.RxBatch
}

// Frame copies one frame into a receive NBL and queues it for the indication.
func (s *rxSink) Frame(frame []byte) {
	s.frames++
	if err := s.batch.CopyFrame(frame); err != nil {
		logEvery(s.n, s.n.stats.rxFrameErrors.Add(1), "usbnic: rx frame: %v", err)
	}
}

// logEvery logs when an error counter reaches a power of two (1, 2, 4, 8, ...): a storm of
// the same error costs a few lines, not one per transfer.
func logEvery(n *NIC, count uint64, format string, args ...any) {
	if bits.OnesCount64(count) == 1 {
		n.logf(format+" (%d so far)", append(args, count)...)
	}
}
