package nic_test

import (
	"context"
	"encoding/binary"
	"strings"
	"sync"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/ndis/capture"
	"webminiport/pool"
	"webminiport/usbnic/nic"
	"webminiport/usbnic/sim"
	"webminiport/usbnic/sim/wire"
)

// testProtocol is a small protocol driver: it copies every received frame into a channel,
// returns NBLs at once or holds them when asked, records link indications and counts send
// completions by status. (ndis/capture's protocol binding would do the same; the decoding is
// capture's.)
type testProtocol struct {
	a  *ndis.Adapter
	sp *ndis.SendPool

	frames  chan []byte
	oidDone chan ndis.Status

	mu sync.Mutex
	// onFrame, when set, sees every received frame in place instead of a copy going to frames.
	onFrame   func(frame []byte)
	hold      int        // NBLs still to keep instead of returning
	held      []pool.NBL // kept, to return later
	links     []ndis.LinkState
	completed map[ndis.Status]int
	received  int
	resources int
	accepted  int // sends the adapter took (each owes one completion)
}

// trySend copies frame into a send NBL and sends it, counting it when the adapter took it.
func (p *testProtocol) trySend(frame []byte) error {
	if _, err := p.sp.Send(frame, 0); err != nil {
		return err
	}
	p.mu.Lock()
	p.accepted++
	p.mu.Unlock()
	return nil
}

// checkCompletions waits until every accepted send is completed and checks that none was
// completed twice.
func (p *testProtocol) checkCompletions(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	want := p.accepted
	p.mu.Unlock()
	p.waitCompletions(want)
	if total, by := p.completions(); total != want {
		t.Errorf("%d sends accepted, %d completions (%v): each must complete exactly once", want, total, by)
	}
}

func newTestProtocol(a *ndis.Adapter) *testProtocol {
	return &testProtocol{a: a, frames: make(chan []byte, 4096), oidDone: make(chan ndis.Status, 4),
		completed: map[ndis.Status]int{}}
}

func (p *testProtocol) ReceiveNBLs(pl *pool.Pool, chain pool.NBL, count int, flags ndis.ReceiveFlags) {
	var keep, give pool.NBL // NBLs to hold and to return, each as a chain
	p.mu.Lock()
	p.received += count
	if flags&ndis.ReceiveResources != 0 {
		p.resources++
	}
	for h := chain; h != 0; {
		next := pl.Next(h)
		if p.onFrame != nil {
			p.onFrame(pl.Data(pl.FirstNB(h)))
		} else {
			select {
			case p.frames <- append([]byte(nil), pl.Data(pl.FirstNB(h))...):
			default:
			}
		}
		if flags&ndis.ReceiveResources == 0 {
			if p.hold > 0 {
				p.hold--
				p.held = append(p.held, h)
				_ = pl.SetNext(h, keep)
				keep = h
			} else {
				_ = pl.SetNext(h, give)
				give = h
			}
		}
		h = next
	}
	p.mu.Unlock()
	if flags&ndis.ReceiveResources != 0 {
		return // the chain stays as it came; the miniport takes it back
	}
	if give != 0 {
		_ = p.a.ReturnNBLs(give, 0)
	}
}

// holdNext makes the protocol keep the next n NBLs it is indicated.
func (p *testProtocol) holdNext(n int) {
	p.mu.Lock()
	p.hold = n
	p.mu.Unlock()
}

// releaseHeld returns every held NBL, in reverse order of arrival and in groups of various
// sizes, as a protocol may.
func (p *testProtocol) releaseHeld() {
	p.mu.Lock()
	held := p.held
	p.held = nil
	p.hold = 0
	p.mu.Unlock()
	for len(held) > 0 {
		k := min(len(held), 1+len(held)%5)
		group := held[len(held)-k:]
		held = held[:len(held)-k]
		var chain pool.NBL
		for _, h := range group {
			_ = pool.PoolOf(h).SetNext(h, chain)
			chain = h
		}
		_ = p.a.ReturnNBLs(chain, 0)
	}
}

func (p *testProtocol) SendComplete(chain pool.NBL, flags ndis.SendCompleteFlags) {
	p.mu.Lock()
	for h := chain; h != 0; h = pool.PoolOf(h).Next(h) {
		p.completed[ndis.Status(pool.PoolOf(h).Status(h))]++
	}
	p.mu.Unlock()
	_ = p.sp.Recycle(chain)
}

func (p *testProtocol) Status(s ndis.StatusIndication) {
	if s.Code != ndis.StatusLinkState {
		return
	}
	p.mu.Lock()
	p.links = append(p.links, s.Link)
	p.mu.Unlock()
}

func (p *testProtocol) OIDRequestComplete(req *ndis.OIDRequest, st ndis.Status) { p.oidDone <- st }

// waitCompletions waits until n sends have been completed (a reply can arrive before the send
// that caused it is completed) and returns the counts by status.
func (p *testProtocol) waitCompletions(n int) map[ndis.Status]int {
	deadline := time.Now().Add(waitLong)
	for {
		total, by := p.completions()
		if total >= n || time.Now().After(deadline) {
			return by
		}
		time.Sleep(time.Millisecond)
	}
}

func (p *testProtocol) completions() (total int, byStatus map[ndis.Status]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	byStatus = map[ndis.Status]int{}
	for k, v := range p.completed {
		byStatus[k] = v
		total += v
	}
	return total, byStatus
}

// rig is a virtual adapter on a virtual wire, brought up through nic.Open with the test
// protocol bound and its packet filter set.
type rig struct {
	t     testing.TB
	model *sim.Model
	w     *wire.Wire
	dev   *sim.Device
	ad    *nic.Adapter
	proto *testProtocol
	dec   *capture.Decoder
	sum   capture.Summary
	buf   []byte
}

const (
	testFilter = ndis.FilterDirected | ndis.FilterBroadcast | ndis.FilterAllMulticast
	waitLong   = 10 * time.Second
)

func newRig(t testing.TB, m *sim.Model, opts nic.Options, simOpts ...sim.Option) *rig {
	t.Helper()
	w, err := wire.New(wire.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dev := sim.New(m, w, append([]sim.Option{sim.WithLinkDelay(2 * time.Millisecond)}, simOpts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if opts.NDIS.Name == "" {
		opts.NDIS.Name = "usbnic-" + strings.ToLower(m.Name)
	}
	ad, err := nic.Open(ctx, dev, opts)
	if err != nil {
		t.Fatalf("%s: open: %v", m.Name, err)
	}
	r := &rig{t: t, model: m, w: w, dev: dev, ad: ad, dec: capture.NewDecoder(), buf: make([]byte, 1536)}
	r.proto = newTestProtocol(ad.NDIS)
	if err := ad.NDIS.Bind(r.proto); err != nil {
		t.Fatal(err)
	}
	sp, err := ndis.NewSendPool(ad.NDIS, ndis.SendPoolConfig{Count: 64, DataSize: 1536})
	if err != nil {
		t.Fatal(err)
	}
	r.proto.sp = sp
	t.Cleanup(r.close)
	if err := ad.Start(); err != nil {
		t.Fatalf("%s: start: %v", m.Name, err)
	}
	r.setFilter(testFilter)
	return r
}

// setFilter sets OID_GEN_CURRENT_PACKET_FILTER and waits for it to complete.
func (r *rig) setFilter(bits uint32) {
	r.t.Helper()
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, bits)
	st, err := r.ad.NDIS.OIDRequest(&ndis.OIDRequest{Type: ndis.OIDSet, OID: ndis.OIDGenCurrentPacketFilter, Buffer: b})
	if err != nil {
		r.t.Fatal(err)
	}
	if st == ndis.StatusPending {
		select {
		case st = <-r.proto.oidDone:
		case <-time.After(waitLong):
			r.t.Fatal("packet filter OID never completed")
		}
	}
	if st != ndis.StatusSuccess {
		r.t.Fatalf("packet filter OID: %v", st)
	}
}

// waitLink waits until the adapter reports the media connected.
func (r *rig) waitLink() ndis.LinkState {
	r.t.Helper()
	deadline := time.Now().Add(waitLong)
	for time.Now().Before(deadline) {
		if l := r.ad.NDIS.Link(); l.MediaConnect == ndis.MediaConnectConnected {
			return l
		}
		time.Sleep(2 * time.Millisecond)
	}
	r.t.Fatalf("%s: link never came up; log:\n%s", r.model.Name, strings.Join(r.ad.NIC.Info().Log, "\n"))
	return ndis.LinkState{}
}

// send sends one frame through the protocol's send pool.
func (r *rig) send(frame []byte) {
	r.t.Helper()
	if err := r.proto.trySend(frame); err != nil {
		r.t.Fatal(err)
	}
}

// waitFrame waits for a received frame that match accepts, decoding each with capture's
// decoder; it returns the frame.
func (r *rig) waitFrame(what string, match func(s *capture.Summary, frame []byte) bool) []byte {
	r.t.Helper()
	timeout := time.After(waitLong)
	for {
		select {
		case f := <-r.proto.frames:
			r.dec.Summarize(f, len(f), &r.sum)
			if match(&r.sum, f) {
				return f
			}
		case <-timeout:
			r.t.Fatalf("%s: no %s received; core stats %+v; log:\n%s", r.model.Name, what, r.ad.NIC.Stats(), strings.Join(r.ad.NIC.Info().Log, "\n"))
			return nil
		}
	}
}

// close halts the adapter (if it is not halted yet), frees the protocol's pool, unbinds, and
// checks that nothing leaked and nothing was reported.
func (r *rig) close() {
	t := r.t
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	r.proto.releaseHeld()
	if err := r.ad.Close(ctx); err != nil {
		t.Errorf("%s: close: %v", r.model.Name, err)
	}
	if err := r.proto.sp.Free(); err != nil {
		t.Errorf("%s: freeing the send pool: %v", r.model.Name, err)
	}
	if err := r.ad.NDIS.Unbind(); err != nil {
		t.Errorf("%s: unbind: %v", r.model.Name, err)
	}
	if st := r.ad.NDIS.State(); st != ndis.Halted {
		t.Errorf("%s: state %v after close, want Halted", r.model.Name, st)
	}
	for _, rep := range r.ad.NDIS.Reports() {
		t.Errorf("%s: misuse report: %v", r.model.Name, rep)
	}
	if pools := r.ad.NDIS.NBLPools(); len(pools) != 0 {
		t.Errorf("%s: %d pools left after halt: %+v", r.model.Name, len(pools), pools)
	}
	if n := r.dev.Outstanding(); n != 0 {
		t.Errorf("%s: %d transport calls still inside the device after halt", r.model.Name, n)
	}
	r.w.Close()
}
