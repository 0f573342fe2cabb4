package usbnic

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"webminiport/ndis"
	"webminiport/pool"
)

// Transmit. Send queues the NBLs; one builder goroutine frames them into transfers with the
// minidriver's TxAppend/TxFinish (usbnet tx_fixup and its short-packet rule) and hands each
// finished transfer to a slot goroutine, which makes the bulk-OUT call and completes the NBLs
// it carried. Up to len(slots) transfers are in flight (usbnet tx_qlen). The slots take turns
// in slot order, passing the turn just before they block in TransferOut, so transfers reach
// the endpoint in the order they were built (exactly under js/wasm; natively two calls made
// at the same moment may swap). A transfer that must be followed by a zero-length packet may
// have nothing between it and its ZLP: its slot waits until every earlier transfer has come
// back, and keeps the turn until the ZLP has gone.
//
// Every NBL given to Send is completed exactly once: SUCCESS when its transfer went out,
// FAILURE when the transfer failed or stalled, the device is gone or the link is down,
// INVALID_LENGTH when the minidriver refused the frame, PAUSED when the adapter is pausing,
// SEND_ABORTED when cancelled while still queued.

// txQueue is the transmit side of a NIC.
type txQueue struct {
	n *NIC

	mu         sync.Mutex
	head, tail pool.NBL // queued, not yet framed
	pending    int      // NBLs accepted by Send and not yet completed
	zero       chan struct{}
	wakeCh     chan struct{}
	arrived    chan struct{} // signalled by every Send, for a pause waiting on ndis's count

	slots      []*txSlot
	bufSize    int
	turns      turns
	flushDelay time.Duration

	inflight atomic.Int32  // bulk-OUT calls in progress
	outIdle  chan struct{} // signalled when inflight drops to 0, for a slot with a ZLP to send
	halted   atomic.Bool   // a bulk-OUT stall is being cleared
	throttle atomic.Int64  // no submit before this time (Unix ns); 0: none
	gateCh   chan struct{}
	timer    *time.Timer // throttle waits; used only by the slot holding the turn
	quit     chan struct{}
}

// txSlot is one bulk-OUT transfer: its buffer, the NBLs framed into it, and its goroutine.
type txSlot struct {
	i          uint64 // its place in the ring: the builder fills slots in order, so i is its turn modulo the ring
	buf        []byte
	used       int      // bytes TxAppend filled
	head, tail pool.NBL // NBLs framed into it
	count      int
	length     int  // bytes to send, after TxFinish
	zlp        bool // a zero-length packet must follow
	skip       bool // send nothing: complete the NBLs with skipStatus
	skipStatus ndis.Status
	start      chan struct{}
	free       chan struct{}
}

// startTx sizes the slots from the device and starts the builder and the slot goroutines.
func (n *NIC) startTx() {
	q := &n.tx
	q.n = n
	q.wakeCh = make(chan struct{}, 1)
	q.arrived = make(chan struct{}, 1)
	q.outIdle = make(chan struct{}, 1)
	q.gateCh = make(chan struct{}, 1)
	q.quit = make(chan struct{})
	q.flushDelay = n.opts.TxFlushDelay
	d := &n.dev
	q.bufSize = d.TxMaxTransfer
	if q.bufSize <= 0 {
		q.bufSize = d.HardMTU + 64 // room for any chip's header and padding
	}
	k := n.opts.TxTransfers
	if k <= 0 {
		_, k = d.QueueLengths()
	}
	q.turns = newTurns(k)
	q.slots = make([]*txSlot, k)
	n.loops.Add(k + 1)
	for i := range q.slots {
		s := &txSlot{i: uint64(i), buf: make([]byte, q.bufSize), start: make(chan struct{}, 1), free: make(chan struct{}, 1)}
		s.free <- struct{}{}
		q.slots[i] = s
		go q.run(s)
	}
	go q.build()
}

func (q *txQueue) wake() {
	select {
	case q.wakeCh <- struct{}{}:
	default:
	}
}

// openGate wakes the slot waiting at the gate (a stall was cleared).
func (q *txQueue) openGate() {
	select {
	case q.gateCh <- struct{}{}:
	default:
	}
}

// idle returns a channel closed once no accepted NBL is waiting for completion.
func (q *txQueue) idle() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.zero == nil {
		q.zero = make(chan struct{})
	}
	z := q.zero
	if q.pending == 0 {
		close(z)
		q.zero = nil
	}
	return z
}

// completed records that count NBLs were completed.
func (q *txQueue) completed(count int) {
	q.mu.Lock()
	q.pending -= count
	if q.pending == 0 && q.zero != nil {
		close(q.zero)
		q.zero = nil
	}
	q.mu.Unlock()
}

// Send is MiniportSendNetBufferLists: the chain joins the queue and the builder is woken. It
// never blocks on the device.
func (n *NIC) Send(chain pool.NBL, flags ndis.SendFlags) {
	if chain == 0 {
		return
	}
	tail, count := chain, 1
	for {
		next := pool.PoolOf(tail).Next(tail)
		if next == 0 {
			break
		}
		tail = next
		count++
	}
	q := &n.tx
	q.mu.Lock()
	if q.tail != 0 {
		_ = pool.PoolOf(q.tail).SetNext(q.tail, chain)
	} else {
		q.head = chain
	}
	q.tail = tail
	q.pending += count
	q.mu.Unlock()
	q.wake()
	select {
	case q.arrived <- struct{}{}:
	default:
	}
}

// drained waits until every send is completed: those queued here, and those ndis has
// accepted (SendsPending counts them) but whose MiniportSend call has not arrived yet — a
// pause can start between the two, and the pause may complete only when both are done.
func (q *txQueue) drained() {
	for {
		<-q.idle()
		if q.n.a.SendsPending() == 0 {
			return
		}
		<-q.arrived
	}
}

// cancel completes every queued NBL whose cancel ID is id with SEND_ABORTED.
func (q *txQueue) cancel(n *NIC, id uint64) {
	var out completion
	q.mu.Lock()
	var keepHead, keepTail pool.NBL
	for h := q.head; h != 0; {
		p := pool.PoolOf(h)
		next := p.Next(h)
		if n.a.CancelID(h) == id {
			out.add(h, ndis.StatusSendAborted)
		} else {
			_ = p.SetNext(h, 0)
			if keepTail != 0 {
				_ = pool.PoolOf(keepTail).SetNext(keepTail, h)
			} else {
				keepHead = h
			}
			keepTail = h
		}
		h = next
	}
	q.head, q.tail = keepHead, keepTail
	q.mu.Unlock()
	q.complete(&out)
}

// takeAll takes the whole queue.
func (q *txQueue) takeAll() pool.NBL {
	q.mu.Lock()
	defer q.mu.Unlock()
	h := q.head
	q.head, q.tail = 0, 0
	return h
}

// txMode is what the builder does with frames now.
func (n *NIC) txMode() ndis.Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.removed:
		return ndis.StatusFailure
	case !n.running:
		return ndis.StatusPaused
	case !n.carrier:
		// NDIS_STATUS_MEDIA_DISCONNECTED is no status a send may complete with
		// (specs/ndis.md §4); the frame is dropped, as hardware without a link drops it.
		return ndis.StatusFailure
	}
	return ndis.StatusSuccess
}

// build is the builder goroutine.
func (q *txQueue) build() {
	n := q.n
	defer n.loops.Done()
	var (
		cur    *txSlot
		next   int
		timer  *time.Timer
		timerC <-chan time.Time
	)
	acquire := func() *txSlot {
		s := q.slots[next]
		next = (next + 1) % len(q.slots)
		<-s.free
		return s
	}
	for {
		select {
		case <-q.wakeCh:
		case <-timerC:
			timerC = nil
			if cur != nil && cur.count > 0 {
				q.send(cur)
				cur = nil
			}
			continue
		case <-n.life.Done():
			// Halt: the adapter paused first, so nothing should be queued; whatever is, fails.
			var out completion
			out.addChain(q.takeAll(), ndis.StatusFailure)
			q.complete(&out)
			if cur != nil {
				q.skip(cur, ndis.StatusFailure)
			}
			for _, s := range q.slots {
				<-s.free
			}
			close(q.quit)
			return
		}
		chain := q.takeAll()
		var out completion
		if mode := n.txMode(); mode != ndis.StatusSuccess {
			out.addChain(chain, mode)
			if mode == ndis.StatusPaused {
				n.stats.txPaused.Add(uint64(out.done))
			} else {
				n.stats.txNoCarrier.Add(uint64(out.done))
			}
			q.complete(&out)
			if cur != nil {
				// A pausing adapter still sends what is already framed; a removed one cannot.
				if n.isRemoved() || cur.count == 0 {
					q.skip(cur, ndis.StatusFailure)
				} else {
					q.send(cur)
				}
				cur = nil
			}
			continue
		}
		for h := chain; h != 0; {
			p := pool.PoolOf(h)
			nextNBL := p.Next(h)
			_ = p.SetNext(h, 0)
			frame, err := n.a.SendFrame(h)
			if err != nil {
				out.add(h, ndis.StatusFailure) // a misuse ndis has reported
				h = nextNBL
				continue
			}
			if cur == nil {
				cur = acquire()
			}
			used, flush, err := n.md.TxAppend(&n.dev, cur.buf, cur.used, frame)
			if errors.Is(err, ErrTxFull) && cur.used > 0 {
				q.send(cur)
				cur = acquire()
				used, flush, err = n.md.TxAppend(&n.dev, cur.buf, 0, frame)
			}
			if err != nil {
				logEvery(n, n.stats.txDropped.Add(1), "usbnic: %s tx: %v", n.drv.Name, err)
				out.add(h, ndis.StatusInvalidLength)
				h = nextNBL
				continue
			}
			cur.used = used
			cur.addNBL(h)
			if flush {
				q.send(cur)
				cur = nil
			}
			h = nextNBL
		}
		q.complete(&out)
		// A slot whose every frame was refused stays with the builder for the next ones.
		if cur != nil && cur.count > 0 {
			if q.flushDelay <= 0 {
				q.send(cur)
				cur = nil
			} else if timerC == nil {
				if timer == nil {
					timer = time.NewTimer(q.flushDelay)
				} else {
					timer.Reset(q.flushDelay)
				}
				timerC = timer.C
			}
		}
	}
}

// send finishes the transfer in s (TxFinish: the chip's padding and the short-packet rule)
// and hands it to its slot goroutine.
func (q *txQueue) send(s *txSlot) {
	s.length, s.zlp = q.n.md.TxFinish(&q.n.dev, s.buf, s.used)
	s.start <- struct{}{}
}

// skip hands s to its slot goroutine to send nothing and complete its NBLs with st. The slot
// still takes its turn, so the ring stays in step.
func (q *txQueue) skip(s *txSlot, st ndis.Status) {
	s.skip, s.skipStatus = true, st
	s.start <- struct{}{}
}

func (s *txSlot) addNBL(h pool.NBL) {
	if s.tail != 0 {
		_ = pool.PoolOf(s.tail).SetNext(s.tail, h)
	} else {
		s.head = h
	}
	s.tail = h
	s.count++
}

// run is one slot goroutine.
func (q *txQueue) run(s *txSlot) {
	n := q.n
	defer n.loops.Done()
	ep := n.dev.Out.Address
	for {
		select {
		case <-s.start:
		case <-q.quit:
			return
		}
		q.turns.wait(s.i)
		var status ndis.Status
		switch {
		case s.skip:
			status = s.skipStatus
			q.turns.pass(s.i)
		case !q.gate():
			status = ndis.StatusFailure // removed or halting
			q.turns.pass(s.i)
		default:
			if s.zlp {
				// An earlier slot passed the turn before its call: let every such call
				// come back, so none can land between this transfer and its ZLP.
				for q.inflight.Load() > 0 {
					<-q.outIdle
				}
			}
			q.inflight.Add(1)
			if !s.zlp {
				q.turns.pass(s.i)
			}
			sent, st, err := n.t.TransferOut(n.life, ep, s.buf[:s.length])
			if err == nil && st == StatusOK && s.zlp {
				n.stats.txZLPs.Add(1)
				_, st, err = n.t.TransferOut(n.life, ep, nil)
			}
			if q.inflight.Add(-1) == 0 {
				select {
				case q.outIdle <- struct{}{}:
				default:
				}
			}
			if s.zlp {
				q.turns.pass(s.i)
			}
			status = q.result(s, sent, st, err)
		}
		var out completion
		out.addChain(s.head, status)
		s.head, s.tail, s.count, s.used, s.zlp, s.skip = 0, 0, 0, 0, false, false
		s.free <- struct{}{}
		q.complete(&out)
	}
}

// result counts the outcome of one bulk-OUT transfer and returns the status for its NBLs
// (usbnet tx_complete).
func (q *txQueue) result(s *txSlot, sent int, st Status, err error) ndis.Status {
	n := q.n
	switch {
	case err != nil:
		if isDisconnect(err) {
			n.deviceRemoved(err)
		} else if n.life.Err() == nil {
			logEvery(n, n.stats.txErrors.Add(1), "usbnic: bulk-OUT transfer: %v", err)
			if q.throttle.CompareAndSwap(0, time.Now().Add(throttleDelay).UnixNano()) {
				n.stats.txThrottles.Add(1)
			}
		}
		return ndis.StatusFailure
	case st == StatusStall:
		n.stats.txStalls.Add(1)
		if !q.halted.Swap(true) {
			n.deferWork(evTxHalt)
		}
		return ndis.StatusFailure
	case st != StatusOK:
		logEvery(n, n.stats.txErrors.Add(1), "usbnic: bulk-OUT transfer ended with %v", st)
		return ndis.StatusFailure
	}
	if sent < s.length {
		n.stats.txShort.Add(1)
	}
	n.stats.txTransfers.Add(1)
	n.stats.txFrames.Add(uint64(s.count))
	n.stats.txBytes.Add(uint64(s.length))
	return ndis.StatusSuccess
}

// gate holds the turn until a transfer may go: not while a stall is being cleared, not while
// throttled after an error. False when the device is gone or the adapter halts.
func (q *txQueue) gate() bool {
	n := q.n
	for {
		select {
		case <-n.removedCh:
			return false
		case <-n.life.Done():
			return false
		default:
		}
		if q.halted.Load() {
			select {
			case <-q.gateCh:
			case <-n.removedCh:
			case <-n.life.Done():
			}
			continue
		}
		until := q.throttle.Load()
		if until == 0 {
			return true
		}
		wait := time.Until(time.Unix(0, until))
		if wait <= 0 {
			q.throttle.CompareAndSwap(until, 0)
			return true
		}
		if q.timer == nil {
			q.timer = time.NewTimer(wait)
		} else {
			q.timer.Reset(wait)
		}
		select {
		case <-q.timer.C:
		case <-n.removedCh:
		case <-n.life.Done():
		}
	}
}

// completion collects NBLs to complete in one SendComplete call.
type completion struct {
	head, tail pool.NBL
	done       int
}

// add sets h's status and appends it.
func (c *completion) add(h pool.NBL, st ndis.Status) {
	p := pool.PoolOf(h)
	p.SetStatus(h, uint32(st))
	_ = p.SetNext(h, 0)
	if c.tail != 0 {
		_ = pool.PoolOf(c.tail).SetNext(c.tail, h)
	} else {
		c.head = h
	}
	c.tail = h
	c.done++
}

// addChain adds every NBL of chain with status st.
func (c *completion) addChain(chain pool.NBL, st ndis.Status) {
	for h := chain; h != 0; {
		next := pool.PoolOf(h).Next(h)
		c.add(h, st)
		h = next
	}
}

// complete hands the collected NBLs back (NdisMSendNetBufferListsComplete).
func (q *txQueue) complete(c *completion) {
	if c.done == 0 {
		return
	}
	if err := q.n.a.SendComplete(c.head, 0); err != nil {
		q.n.logf("usbnic: send complete: %v", err)
	}
	q.completed(c.done)
	*c = completion{}
}
