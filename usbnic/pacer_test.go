package usbnic_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/pool"
	"webminiport/usbnic"
	"webminiport/usbnic/cdcecm"
	"webminiport/usbnic/sim"
)

// pacedTransport holds the first bulk-IN submission back until two later ones have reached the
// device's queue, as the page's gate holds a slot back until the next animation frame. Its
// bulk-IN queue is strictly first come, first served: one pump goroutine runs the calls on the
// virtual device in queue order, and a token lets one slot at a time from WaitSubmit into the
// queue, so ticket order is queue order exactly when the core draws its tickets after the wait.
type pacedTransport struct {
	// The device as a plain Transport: the sim's QueuedIn would draw tickets at its queue entry
	// and hide what this test checks, the order of pacing and ticket for a transport (WebUSB's)
	// that cannot say when a call is queued.
	usbnic.Transport
	bulkIn atomic.Uint32 // set once the core has chosen its endpoints

	waits    atomic.Int32
	queued   atomic.Int32
	released chan struct{} // closed when the second call is queued
	token    chan struct{}
	queue    chan pacedCall
}

type pacedCall struct {
	ctx  context.Context
	buf  []byte
	done chan pacedResult
}

type pacedResult struct {
	n   int
	st  usbnic.Status
	err error
}

func newPacedTransport(dev *sim.Device) *pacedTransport {
	t := &pacedTransport{Transport: dev, released: make(chan struct{}), token: make(chan struct{}, 1), queue: make(chan pacedCall, 64)}
	t.token <- struct{}{}
	return t
}

func (t *pacedTransport) WaitSubmit(ctx context.Context) error {
	if t.waits.Add(1) == 1 {
		select {
		case <-t.released:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-t.token:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *pacedTransport) TransferIn(ctx context.Context, ep uint8, buf []byte) (int, usbnic.Status, error) {
	if uint32(ep) != t.bulkIn.Load() {
		return t.Transport.TransferIn(ctx, ep, buf)
	}
	c := pacedCall{ctx: ctx, buf: buf, done: make(chan pacedResult, 1)}
	t.queue <- c
	if t.queued.Add(1) == 2 {
		close(t.released)
	}
	t.token <- struct{}{}
	r := <-c.done
	return r.n, r.st, r.err
}

func (t *pacedTransport) pump() {
	for c := range t.queue {
		n, st, err := t.Transport.TransferIn(c.ctx, uint8(t.bulkIn.Load()), c.buf)
		c.done <- pacedResult{n, st, err}
	}
}

// countingProtocol counts the frames indicated to it and returns them at once.
type countingProtocol struct {
	a       *ndis.Adapter
	frames  atomic.Int64
	oidDone chan ndis.Status
}

func (p *countingProtocol) ReceiveNBLs(_ *pool.Pool, chain pool.NBL, count int, flags ndis.ReceiveFlags) {
	p.frames.Add(int64(count))
	if flags&ndis.ReceiveResources == 0 {
		_ = p.a.ReturnNBLs(chain, 0)
	}
}
func (p *countingProtocol) SendComplete(pool.NBL, ndis.SendCompleteFlags)         {}
func (p *countingProtocol) Status(ndis.StatusIndication)                          {}
func (p *countingProtocol) OIDRequestComplete(_ *ndis.OIDRequest, st ndis.Status) { p.oidDone <- st }

// TestPacedSubmissionKeepsTicketOrder: a slot held back by the transport's pacer (the page's
// gate) takes its ticket only when it may submit, so the frames of sparse traffic — each one
// filling whichever transfer is first in the device's queue — are indicated at once. Drawing the
// ticket before the wait put a later ticket first in the queue: the first frame then waited for
// an earlier ticket whose transfer had no data yet, and receive stopped (seen with Linux's
// f_ecm gadget through WebUSB: 60 transfers in flight, none completed).
func TestPacedSubmissionKeepsTicketOrder(t *testing.T) {
	wire := sim.NewQueue(64)
	dev := sim.New(sim.CDCECM, wire, sim.WithLinkDelay(time.Millisecond))
	pt := newPacedTransport(dev)
	ctx := context.Background()
	core, a := initCore(t, pt, cdcecm.Driver, usbnic.Options{RxTransfers: 3}, "paced0")
	pt.bulkIn.Store(uint32(core.Info().InEndpoint))
	go pt.pump()
	p := &countingProtocol{a: a, oidDone: make(chan ndis.Status, 1)}
	if err := a.Bind(p); err != nil {
		t.Fatal(err)
	}
	st, _ := a.OIDRequest(&ndis.OIDRequest{Type: ndis.OIDSet, OID: ndis.OIDGenCurrentPacketFilter,
		Buffer: []byte{byte(ndis.FilterDirected | ndis.FilterBroadcast), 0, 0, 0}})
	if st == ndis.StatusPending {
		// Until the filter is set the receive engine refuses the broadcast frames below.
		select {
		case st = <-p.oidDone:
		case <-time.After(5 * time.Second):
			t.Fatal("the packet filter set never completed")
		}
	}
	if st != ndis.StatusSuccess {
		t.Fatalf("packet filter: %v", st)
	}
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); pt.queued.Load() < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 bulk-IN transfers queued", pt.queued.Load())
		}
		time.Sleep(time.Millisecond)
	}

	frame := make([]byte, 60)
	putFrame(frame, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, len(frame))
	for i := range 5 {
		if !wire.Push(frame) {
			t.Fatal("wire full")
		}
		for deadline := time.Now().Add(5 * time.Second); p.frames.Load() < int64(i+1); {
			if time.Now().After(deadline) {
				s := core.Stats()
				t.Fatalf("frame %d never indicated: %d transfers completed, %d in flight", i, s.RxTransfers, s.RxInFlight)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if err := a.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := core.WaitPaused(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Halt(ndis.HaltDeviceDisabled); err != nil {
		t.Fatal(err)
	}
}
