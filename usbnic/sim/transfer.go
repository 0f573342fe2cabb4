package sim

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"webminiport/usbnic"
)

// Transfers on one endpoint complete in submission order, as a host controller runs an
// endpoint's queue: each call waits in its endpoint's waitQueue, and only the head asks the
// function for data. A waiter is woken (non-blocking send on its channel) when something it may
// be waiting for changed; a spurious wake only costs one more look. Waiters are recycled so the
// steady path allocates nothing.

type waiter struct {
	ch    chan struct{}
	timer *time.Timer
}

type waitQueue struct{ ws []*waiter }

func (q *waitQueue) head() *waiter {
	if len(q.ws) == 0 {
		return nil
	}
	return q.ws[0]
}

func (q *waitQueue) remove(w *waiter) {
	for i, x := range q.ws {
		if x == w {
			copy(q.ws[i:], q.ws[i+1:])
			q.ws[len(q.ws)-1] = nil
			q.ws = q.ws[:len(q.ws)-1]
			return
		}
	}
}

func (d *Device) getWaiter() *waiter {
	if n := len(d.free); n > 0 {
		w := d.free[n-1]
		d.free = d.free[:n-1]
		return w
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &waiter{ch: make(chan struct{}, 1), timer: t}
}

func (d *Device) putWaiter(w *waiter) {
	select {
	case <-w.ch: // drop a stale wake so the next user starts clean
	default:
	}
	d.free = append(d.free, w)
}

func wake(w *waiter) {
	if w == nil {
		return
	}
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// wakeHeads wakes the head of every endpoint queue: device state changed, so whoever may take
// data next should look again.
func (d *Device) wakeHeads() {
	for i := range d.queues {
		wake(d.queues[i].head())
	}
}

// wakeAll wakes every waiter, so aborted ones notice their endpoint's generation changed.
func (d *Device) wakeAll() {
	for i := range d.queues {
		for _, w := range d.queues[i].ws {
			wake(w)
		}
	}
}

// sleep releases the lock and waits for a wake, ctx, removal, the deadline at (if set) or the
// wire's Ready (if wire). It returns with the lock held.
func (d *Device) sleep(ctx context.Context, w *waiter, at time.Time, wire bool) {
	var timeout <-chan time.Time
	if !at.IsZero() {
		w.timer.Reset(time.Until(at))
		timeout = w.timer.C
	}
	var ready <-chan struct{}
	if wire {
		ready = d.wire.Ready()
	}
	d.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-d.removed:
	case <-w.ch:
	case <-timeout:
	case <-ready:
	}
	if timeout != nil {
		w.timer.Stop()
	}
	d.mu.Lock()
}

// ControlIn implements usbnic.Transport. Standard requests (GET_DESCRIPTOR, GET_STATUS,
// GET_CONFIGURATION, GET_INTERFACE) are answered by the device; class and vendor requests go to
// the configuration's function.
func (d *Device) ControlIn(ctx context.Context, s usbnic.Setup, buf []byte) (int, usbnic.Status, error) {
	return d.control(ctx, s, buf, true)
}

// ControlOut implements usbnic.Transport. CLEAR_FEATURE and SET_FEATURE(ENDPOINT_HALT) are
// handled by the device; class and vendor requests go to the configuration's function.
func (d *Device) ControlOut(ctx context.Context, s usbnic.Setup, data []byte) (usbnic.Status, error) {
	_, st, err := d.control(ctx, s, data, false)
	return st, err
}

func (d *Device) control(ctx context.Context, s usbnic.Setup, buf []byte, in bool) (int, usbnic.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(ctx, true); err != nil {
		return 0, usbnic.StatusOK, err
	}
	if len(buf) > 0xFFFF {
		return 0, usbnic.StatusOK, fmt.Errorf("%w: control data of %d bytes exceeds wLength's 65535", ErrInvalidState, len(buf))
	}
	if err := d.recipientUsable(s); err != nil {
		return 0, usbnic.StatusOK, err
	}
	d.inflight++
	defer func() { d.inflight-- }()
	d.stats.ControlTransfers++

	pre := d.takePreFaults(0)
	if pre.delay > 0 {
		w := d.getWaiter()
		deadline := time.Now().Add(pre.delay)
		for time.Now().Before(deadline) && !d.gone && ctx.Err() == nil {
			d.sleep(ctx, w, deadline, false)
		}
		d.putWaiter(w)
	}
	if err := d.alive(ctx); err != nil {
		return 0, usbnic.StatusOK, err
	}
	if pre.remove {
		d.removeLocked()
		return 0, usbnic.StatusOK, usbnic.ErrDisconnected
	}
	if pre.err != nil {
		return 0, usbnic.StatusOK, pre.err
	}
	if pre.stall {
		// A control endpoint stall is a protocol stall: it ends this request only.
		d.stats.Stalls++
		return 0, usbnic.StatusStall, nil
	}

	now := time.Now()
	var n int
	var ok bool
	switch {
	case s.Type == usbnic.Standard && in:
		n, ok = d.standardIn(s, buf)
	case s.Type == usbnic.Standard:
		ok = d.standardOut(s, buf)
	case in:
		n, ok = d.cur.fn.controlIn(s, buf, now)
	default:
		ok = d.cur.fn.controlOut(s, buf, now)
	}
	d.wakeHeads()
	if !ok {
		d.stats.Stalls++
		return 0, usbnic.StatusStall, nil
	}
	st := usbnic.StatusOK
	if in {
		d.res.nspans = 0
		n, st = d.applyInFaults(0, buf, n, st)
	}
	return n, st, nil
}

// recipientUsable applies WebUSB's recipient rules: an interface request needs the interface
// claimed, an endpoint request needs the endpoint in a claimed interface's selected alternate
// setting; device and other requests need only an open, configured device.
func (d *Device) recipientUsable(s usbnic.Setup) error {
	switch s.Recipient {
	case usbnic.ToInterface:
		n := uint8(s.Index)
		if n >= 32 || d.cur.iface(n) == nil {
			return fmt.Errorf("%w: interface %d in configuration %d", ErrNotFound, n, d.cur.value)
		}
		if d.claimed&(1<<n) == 0 {
			return fmt.Errorf("%w: interface %d is not claimed", ErrInvalidState, n)
		}
	case usbnic.ToEndpoint:
		if ep := uint8(s.Index); ep&0x7F != 0 {
			return d.endpointUsable(ep)
		}
	}
	return nil
}

// Standard requests (USB 2.0 §9.4).
const (
	reqGetStatus        = 0x00
	reqClearFeature     = 0x01
	reqSetFeature       = 0x03
	reqGetDescriptor    = 0x06
	reqGetConfiguration = 0x08
	reqGetInterface     = 0x0A
	featureEndpointHalt = 0
)

func (d *Device) standardIn(s usbnic.Setup, buf []byte) (int, bool) {
	switch s.Request {
	case reqGetDescriptor:
		if s.Recipient != usbnic.ToDevice {
			return 0, false
		}
		idx := uint8(s.Value)
		switch s.Value >> 8 {
		case dtDevice:
			return copy(buf, d.devDesc), true
		case dtConfig:
			if int(idx) >= len(d.cfgDesc) {
				return 0, false
			}
			return copy(buf, d.cfgDesc[idx]), true
		case dtString:
			if idx == 0 {
				return copy(buf, []byte{4, dtString, langEnglishUS & 0xFF, langEnglishUS >> 8}), true
			}
			if s.Index != langEnglishUS || int(idx) >= len(d.spec.strings) || d.spec.strings[idx] == "" {
				return 0, false
			}
			return copy(buf, stringDescriptor(d.spec.strings[idx])), true
		}
		return 0, false
	case reqGetStatus:
		var status uint16
		if s.Recipient == usbnic.ToEndpoint && d.halted&(1<<epIndex(uint8(s.Index))) != 0 {
			status = 1 // ENDPOINT_HALT
		}
		var b [2]byte
		binary.LittleEndian.PutUint16(b[:], status)
		return copy(buf, b[:]), true
	case reqGetConfiguration:
		return copy(buf, []byte{d.cur.value}), true
	case reqGetInterface:
		if s.Recipient != usbnic.ToInterface {
			return 0, false
		}
		return copy(buf, []byte{d.alts[uint8(s.Index)]}), true
	}
	return 0, false
}

func (d *Device) standardOut(s usbnic.Setup, data []byte) bool {
	if len(data) != 0 || s.Recipient != usbnic.ToEndpoint || s.Value != featureEndpointHalt || uint8(s.Index)&0x7F == 0 {
		return false
	}
	bit := uint32(1) << epIndex(uint8(s.Index))
	switch s.Request {
	case reqClearFeature:
		d.halted &^= bit
		return true
	case reqSetFeature:
		d.halted |= bit
		return true
	}
	return false
}

// TransferIn implements usbnic.Transport. It waits until the function has data for ep, ctx is
// done, the transfer is aborted or the device is removed.
func (d *Device) TransferIn(ctx context.Context, ep uint8, buf []byte) (int, usbnic.Status, error) {
	if ep&0x80 == 0 {
		return 0, usbnic.StatusOK, fmt.Errorf("%w: endpoint %#02x is an OUT endpoint", ErrNotFound, ep)
	}
	return d.transfer(ctx, ep, buf, true, nil)
}

// TransferInQueued implements usbnic.QueuedIn: queued runs when the call takes its place in the
// endpoint's queue, under the device's lock, so the caller's order is the queue's, the order in
// which transfers take data. A call refused before it is queued runs queued before it returns.
func (d *Device) TransferInQueued(ctx context.Context, ep uint8, buf []byte, queued func()) (int, usbnic.Status, error) {
	if ep&0x80 == 0 {
		queued()
		return 0, usbnic.StatusOK, fmt.Errorf("%w: endpoint %#02x is an OUT endpoint", ErrNotFound, ep)
	}
	return d.transfer(ctx, ep, buf, true, queued)
}

// TransferOut implements usbnic.Transport.
func (d *Device) TransferOut(ctx context.Context, ep uint8, data []byte) (int, usbnic.Status, error) {
	if ep&0x80 != 0 || ep == 0 {
		return 0, usbnic.StatusOK, fmt.Errorf("%w: endpoint %#02x is not an OUT data endpoint", ErrNotFound, ep)
	}
	return d.transfer(ctx, ep, data, false, nil)
}

// transfer runs one transfer; queued, when not nil, runs once the transfer is in its endpoint's
// queue (or before a refusal returns).
func (d *Device) transfer(ctx context.Context, ep uint8, buf []byte, in bool, queued func()) (int, usbnic.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(ctx, true); err != nil {
		if queued != nil {
			queued()
		}
		return 0, usbnic.StatusOK, err
	}
	if err := d.endpointUsable(ep); err != nil {
		if queued != nil {
			queued()
		}
		return 0, usbnic.StatusOK, err
	}
	idx := epIndex(ep)
	q := &d.queues[idx]
	w := d.getWaiter()
	q.ws = append(q.ws, w)
	if queued != nil {
		queued()
	}
	gen := d.gen[idx]
	d.inflight++

	n, st, err := d.run(ctx, ep, buf, in, w, gen)

	q.remove(w)
	d.putWaiter(w)
	d.inflight--
	wake(q.head())
	return n, st, err
}

// run is the body of a transfer: wait for the head of the queue, apply the faults, then move
// the data. Called and returns with the lock held.
func (d *Device) run(ctx context.Context, ep uint8, buf []byte, in bool, w *waiter, gen uint32) (int, usbnic.Status, error) {
	idx := epIndex(ep)
	q := &d.queues[idx]
	var delayUntil time.Time
	took := false
	for {
		if d.gone {
			return 0, usbnic.StatusOK, usbnic.ErrDisconnected
		}
		if d.gen[idx] != gen {
			return 0, usbnic.StatusOK, fmt.Errorf("%w: endpoint %#02x", ErrAborted, ep)
		}
		if err := ctx.Err(); err != nil {
			return 0, usbnic.StatusOK, err
		}
		var at time.Time
		wire := false
		if q.head() == w {
			now := time.Now()
			if !took && d.halted&(1<<idx) != 0 {
				// Transfers on a halted endpoint end with a stall until ClearHalt; faults
				// armed for the endpoint wait for a transfer that really runs.
				d.stats.Stalls++
				return 0, usbnic.StatusStall, nil
			}
			if !took {
				took = true
				pre := d.takePreFaults(ep)
				if pre.remove {
					d.removeLocked()
					continue
				}
				if pre.err != nil {
					return 0, usbnic.StatusOK, pre.err
				}
				if pre.stall {
					d.halted |= 1 << idx
				}
				if pre.delay > 0 {
					delayUntil = now.Add(pre.delay)
				}
			}
			switch {
			case now.Before(delayUntil):
				at = delayUntil
			case d.halted&(1<<idx) != 0:
				d.stats.Stalls++
				return 0, usbnic.StatusStall, nil
			case !in:
				return d.runOut(ep, buf, now)
			default:
				r := &d.res
				*r = inResult{}
				d.cur.fn.in(ep, buf, now, r)
				if r.ready {
					d.stats.InTransfers++
					n, st := d.applyInFaults(ep, buf, r.n, r.status)
					if st == usbnic.StatusBabble {
						d.stats.Babbles++
					}
					return n, st, nil
				}
				at, wire = r.wakeAt, r.wantWire
			}
		}
		d.sleep(ctx, w, at, wire)
	}
}

func (d *Device) runOut(ep uint8, data []byte, now time.Time) (int, usbnic.Status, error) {
	d.stats.OutTransfers++
	data = d.applyOutFaults(ep, data)
	d.cur.fn.out(ep, data, now)
	d.wakeHeads()
	return len(data), usbnic.StatusOK, nil
}
