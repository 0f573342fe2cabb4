package ndis_test

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/pool"
)

// takeReady takes k NBLs from the rig's engine and prepares them the way a miniport must before
// an indication, except that SourceHandle is set only when withSource: it returns the NBLs
// linked into a chain.
func takeReady(t *testing.T, r *rig, k int, withSource bool) []pool.NBL {
	t.Helper()
	p := r.m.rx.Pool()
	var nbls []pool.NBL
	for range k {
		h, buf := r.m.rx.Take()
		if h == 0 {
			t.Fatal("free list empty")
		}
		n := copy(buf, frame(ourMAC, 60, 0))
		if err := p.SetData(p.FirstNB(h), 0, uint32(n)); err != nil {
			t.Fatal(err)
		}
		if withSource {
			p.SetSourceHandle(h, r.a.Handle())
		}
		nbls = append(nbls, h)
	}
	linkChain(nbls)
	return nbls
}

// TestMisuseIsDetected runs each misuse of specs/ndis.md §10 rows 5–11 and 17–24 that this
// package detects, and checks the typed error, that it is in Reports, and that the model is still
// consistent afterwards.
func TestMisuseIsDetected(t *testing.T) {
	cases := []struct {
		name  string
		class pool.MisuseClass
		// run commits the misuse and returns the error the offending call returned (nil when
		// the misuse is found later, by Check or by a halt).
		run func(t *testing.T, r *rig) error
	}{
		{"indicate touches an NBL still lent (ACCESS_WHILE_LENT via Commit)", pool.AccessWhileLent, func(t *testing.T, r *rig) error {
			r.m.receive(t, frame(ourMAC, 60, 1))
			return r.m.rx.Commit(r.p.held[0], 60)
		}},
		{"re-post an NBL still lent (ACCESS_WHILE_LENT via Recycle)", pool.AccessWhileLent, func(t *testing.T, r *rig) error {
			r.m.receive(t, frame(ourMAC, 60, 1))
			return r.m.rx.Recycle(r.p.held[0])
		}},
		{"re-indicate an outstanding NBL", pool.DoubleIndicate, func(t *testing.T, r *rig) error {
			r.m.receive(t, frame(ourMAC, 60, 1))
			return r.a.IndicateReceive(r.p.held[0], 1, 0)
		}},
		{"count differs from the chain length", pool.CountMismatch, func(t *testing.T, r *rig) error {
			c := takeReady(t, r, 2, true)
			return r.a.IndicateReceive(c[0], 3, 0)
		}},
		{"chain with a cycle", pool.CountMismatch, func(t *testing.T, r *rig) error {
			c := takeReady(t, r, 2, true)
			_ = r.m.rx.Pool().SetNext(c[1], c[0])
			err := r.a.IndicateReceive(c[0], 2, 0)
			_ = r.m.rx.Pool().SetNext(c[1], 0)
			return err
		}},
		{"SourceHandle not set", pool.MissingSourceHandle, func(t *testing.T, r *rig) error {
			c := takeReady(t, r, 1, false)
			return r.a.IndicateReceive(c[0], 1, 0)
		}},
		{"indicate while Paused", pool.IndicateInWrongState, func(t *testing.T, r *rig) error {
			if err := r.a.Pause(); err != nil {
				t.Fatal(err)
			}
			c := takeReady(t, r, 1, true)
			return r.a.IndicateReceive(c[0], 1, 0)
		}},
		{"frame longer than OID_GEN_MAXIMUM_TOTAL_SIZE", pool.BadEthernetNBL, func(t *testing.T, r *rig) error {
			c := takeReady(t, r, 1, true)
			p := r.m.rx.Pool()
			_ = p.SetData(p.FirstNB(c[0]), 0, 1515)
			return r.a.IndicateReceive(c[0], 1, 0)
		}},
		{"NBL from a pool not made through the adapter", pool.NonPoolNBL, func(t *testing.T, r *rig) error {
			p, err := pool.NewNBLPool(pool.Params{Name: "private", AllocateNB: true, DataSize: 128, Capacity: 1})
			if err != nil {
				t.Fatal(err)
			}
			h, _ := p.AllocateNBL(0, 0)
			p.SetSourceHandle(h, r.a.Handle())
			return r.a.IndicateReceive(h, 1, 0)
		}},
		{"RESOURCES NBLs never reclaimed", pool.ResourcesNBLLeak, func(t *testing.T, r *rig) error {
			c := takeReady(t, r, 2, true)
			if err := r.a.IndicateReceive(c[0], 2, ndis.ReceiveResources); err != nil {
				t.Fatal(err)
			}
			// The miniport forgets them (the FNMP bug); the watchdog finds them.
			r.clock.Advance(ndis.DefaultStuckNBLTimeout + time.Second)
			r.a.Check(r.clock.Now())
			for _, h := range c {
				_ = r.m.rx.Recycle(h)
			}
			return nil
		}},
		{"protocol cuts a RESOURCES chain", pool.ChainNotRestored, func(t *testing.T, r *rig) error {
			r.p.tamper = func(p *pool.Pool, chain pool.NBL) { _ = p.SetNext(chain, 0) }
			c := takeReady(t, r, 2, true)
			err := r.a.IndicateReceive(c[0], 2, ndis.ReceiveResources)
			for _, h := range c {
				_ = r.m.rx.Recycle(h)
			}
			return err
		}},
		{"protocol returns a RESOURCES NBL", pool.ChainNotRestored, func(t *testing.T, r *rig) error {
			var got error
			r.p.tamper = func(p *pool.Pool, chain pool.NBL) { got = r.a.ReturnNBLs(chain, 0) }
			c := takeReady(t, r, 1, true)
			if err := r.a.IndicateReceive(c[0], 1, ndis.ReceiveResources); err != nil {
				t.Fatal(err)
			}
			_ = r.m.rx.Recycle(c[0])
			return got
		}},
		{"protocol returns an NBL twice", pool.DoubleFree, func(t *testing.T, r *rig) error {
			r.m.receive(t, frame(ourMAC, 60, 1))
			h := r.p.held[0]
			if err := r.p.giveBack(0); err != nil {
				t.Fatal(err)
			}
			return r.a.ReturnNBLs(h, 0)
		}},
		{"protocol returns its own send NBL", pool.ForeignNBLFree, func(t *testing.T, r *rig) error {
			sp := newSendPool(t, r)
			h, _ := sp.Take()
			err := r.a.ReturnNBLs(h, 0)
			_ = sp.Recycle(h)
			return err
		}},
		{"protocol returns an NBL with its data range changed", pool.NBListTampered, func(t *testing.T, r *rig) error {
			r.m.receive(t, frame(ourMAC, 60, 1))
			p := r.m.rx.Pool()
			h := r.p.held[0]
			_ = p.AdvanceDataStart(p.FirstNB(h), 14, false) // skipped the header and never retreated
			return r.p.giveBack(0)
		}},
		{"halt returns with the pool still allocated", pool.LeakedNBL, func(t *testing.T, r *rig) error {
			if err := r.a.Pause(); err != nil {
				t.Fatal(err)
			}
			r.m.rx.Take() // one NBL the miniport loses track of
			err := r.a.Halt(ndis.HaltDeviceDisabled)
			if r.m.haltErr == nil {
				t.Error("freeing a pool with an NBL live succeeded")
			}
			return err
		}},
		{"protocol unbinds holding NBLs", pool.LeakedNBL, func(t *testing.T, r *rig) error {
			r.m.receive(t, frame(ourMAC, 60, 1))
			if err := r.a.Pause(); err != nil { // pending: the protocol holds one
				t.Fatal(err)
			}
			return r.a.Unbind()
		}},
		{"pause never completes", pool.WatchdogPause, func(t *testing.T, r *rig) error {
			r.m.receive(t, frame(ourMAC, 60, 1))
			if err := r.a.Pause(); err != nil || r.a.State() != ndis.Pausing {
				t.Fatalf("pause: %v, %v", err, r.a.State())
			}
			r.clock.Advance(ndis.DefaultPauseTimeout)
			r.a.Check(r.clock.Now())
			return nil
		}},
		{"halt never returns", pool.WatchdogHalt, func(t *testing.T, r *rig) error {
			if err := r.a.Pause(); err != nil {
				t.Fatal(err)
			}
			release := make(chan struct{})
			entered := make(chan struct{})
			r.m.haltHook = func() { close(entered); <-release }
			done := make(chan error)
			go func() { done <- r.a.Halt(ndis.HaltDeviceDisabled) }()
			<-entered
			r.a.Check(r.clock.Now().Add(ndis.DefaultHaltTimeout))
			close(release)
			return <-done
		}},
		{"protocol holds an NBL too long", pool.StuckNBL, func(t *testing.T, r *rig) error {
			r.m.receive(t, frame(ourMAC, 60, 1))
			r.clock.Advance(ndis.DefaultStuckNBLTimeout)
			r.a.Check(r.clock.Now())
			return nil
		}},
		{"send never completed", pool.SendNotCompleted, func(t *testing.T, r *rig) error {
			sp := newSendPool(t, r)
			if _, err := sp.Send(frame(peerMAC, 60, 1), 0); err != nil {
				t.Fatal(err)
			}
			r.clock.Advance(ndis.DefaultSendTimeout)
			r.a.Check(r.clock.Now())
			return nil
		}},
		{"send completed twice", pool.DoubleComplete, func(t *testing.T, r *rig) error {
			sp := newSendPool(t, r)
			if _, err := sp.Send(frame(peerMAC, 60, 1), 0); err != nil {
				t.Fatal(err)
			}
			sends := r.m.sends
			if err := r.m.completeSends(ndis.StatusSuccess); err != nil {
				t.Fatal(err)
			}
			return r.m.complete(sends, ndis.StatusSuccess)
		}},
		{"send completed with Status unset", pool.BadStatus, func(t *testing.T, r *rig) error {
			sp := newSendPool(t, r)
			h, err := sp.Send(frame(peerMAC, 60, 1), 0)
			if err != nil {
				t.Fatal(err)
			}
			r.m.sends = nil
			return r.a.SendComplete(h, 0)
		}},
		{"miniport touches a send NBL after completing it", pool.AccessAfterComplete, func(t *testing.T, r *rig) error {
			sp := newSendPool(t, r)
			h, err := sp.Send(frame(peerMAC, 60, 1), 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.a.SendFrame(h); err != nil {
				t.Fatalf("SendFrame while in flight: %v", err)
			}
			if err := r.m.completeSends(ndis.StatusSuccess); err != nil {
				t.Fatal(err)
			}
			_, err = r.a.SendFrame(h)
			return err
		}},
		{"PauseComplete with no pause pending", pool.IllegalStateTransition, func(t *testing.T, r *rig) error {
			return r.a.PauseComplete()
		}},
		{"pause completed with NBLs outstanding", pool.IllegalStateTransition, func(t *testing.T, r *rig) error {
			r.m.receive(t, frame(ourMAC, 60, 1))
			if err := r.a.Pause(); err != nil {
				t.Fatal(err)
			}
			return r.a.PauseComplete()
		}},
		{"MiniportPause returns a failure", pool.PauseFailed, func(t *testing.T, r *rig) error {
			r.m.pauseStatus = ndis.StatusFailure
			return r.a.Pause()
		}},
		{"OID completed twice", pool.OIDDoubleComplete, func(t *testing.T, r *rig) error {
			r.m.pendOIDs = true
			req := filterSet(ndis.FilterDirected)
			if st, _ := r.a.OIDRequest(req); st != ndis.StatusPending {
				t.Fatalf("status %v, want PENDING", st)
			}
			if err := r.a.OIDComplete(req, ndis.StatusSuccess); err != nil {
				t.Fatal(err)
			}
			return r.a.OIDComplete(req, ndis.StatusSuccess)
		}},
		{"OID answer longer than the buffer", pool.OIDBufferOverflow, func(t *testing.T, r *rig) error {
			r.m.pendOIDs = true
			req := &ndis.OIDRequest{Type: ndis.OIDQuery, OID: 0xFF010203, Buffer: make([]byte, 4)}
			if st, _ := r.a.OIDRequest(req); st != ndis.StatusPending {
				t.Fatalf("status %v, want PENDING", st)
			}
			req.BytesWritten = 8
			return r.a.OIDComplete(req, ndis.StatusSuccess)
		}},
		{"miniport fails a packet filter it advertised", pool.OIDMustSucceedFailed, func(t *testing.T, r *rig) error {
			r.m.oidStatus = ndis.StatusFailure
			_, err := r.a.OIDRequest(filterSet(ndis.FilterDirected))
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, 8, 0, true)
			err := c.run(t, r)
			if err != nil && misuseClass(err) != c.class {
				t.Fatalf("error %v, want class %v", err, c.class)
			}
			var me *pool.MisuseError
			if err != nil && !errors.As(err, &me) {
				t.Fatalf("error %v is not a *pool.MisuseError", err)
			}
			if !hasReport(r.a, c.class) {
				t.Fatalf("no %v in Reports: %v", c.class, r.a.Reports())
			}
			if r.m.rx != nil && r.m.halted == false {
				if err := r.m.rx.Conservation(); err != nil {
					t.Fatalf("after the misuse: %v", err)
				}
			}
		})
	}
}

func filterSet(bits uint32) *ndis.OIDRequest {
	return &ndis.OIDRequest{Type: ndis.OIDSet, OID: ndis.OIDGenCurrentPacketFilter, Buffer: binary.LittleEndian.AppendUint32(nil, bits)}
}

func newSendPool(t *testing.T, r *rig) *ndis.SendPool {
	t.Helper()
	sp, err := ndis.NewSendPool(r.a, ndis.SendPoolConfig{Count: 4, DataSize: 1536})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestWatchdogsReportOnceAndKeepRunning: a stuck NBL is reported once, not at every check, and
// the adapter goes on working: returning the NBL lets a pending pause finish.
func TestWatchdogsReportOnceAndKeepRunning(t *testing.T) {
	r := newRig(t, 4, 0, true)
	r.m.receive(t, frame(ourMAC, 60, 1))
	if got := r.a.Check(r.clock.Now()); len(got) != 0 {
		t.Fatalf("fresh NBL reported: %v", got)
	}
	r.clock.Advance(ndis.DefaultStuckNBLTimeout)
	if got := r.a.Check(r.clock.Now()); len(got) != 1 || got[0].Class != pool.StuckNBL {
		t.Fatalf("first check: %v, want one STUCK_NBL", got)
	}
	r.clock.Advance(time.Minute)
	if got := r.a.Check(r.clock.Now()); len(got) != 0 {
		t.Fatalf("second check reported again: %v", got)
	}
	if err := r.a.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := r.p.giveBackAll(); err != nil {
		t.Fatal(err)
	}
	if r.a.State() != ndis.Paused {
		t.Fatalf("state %v after the last return, want Paused", r.a.State())
	}
}

// TestFailedInitializeLeavesNothingLive: a miniport that fails after making its pool without
// cleaning up is reported (LEAKED_NBL); one that cleans up is not.
func TestFailedInitializeLeavesNothingLive(t *testing.T) {
	for _, clean := range []bool{true, false} {
		m := &failingMiniport{testMiniport: newTestMiniport(4, 0), clean: clean}
		a := ndis.New(m, ndis.Config{Name: "failing"})
		err := a.Initialize()
		if err == nil || a.State() != ndis.Halted {
			t.Fatalf("clean=%v: err %v, state %v; want an error and Halted", clean, err, a.State())
		}
		leaked := hasReport(a, pool.LeakedNBL)
		if leaked == clean {
			t.Fatalf("clean=%v: LEAKED_NBL reported: %v", clean, leaked)
		}
		if clean && len(a.NBLPools()) != 0 {
			t.Fatalf("pools live after a clean failure: %v", a.NBLPools())
		}
	}
}

// failingMiniport makes its receive engine and then fails initialize, cleaning up or not.
type failingMiniport struct {
	*testMiniport
	clean bool
}

func (m *failingMiniport) Initialize(a *ndis.Adapter) (ndis.Attributes, ndis.Status) {
	m.testMiniport.Initialize(a)
	if m.clean {
		if err := m.rx.Free(); err != nil {
			panic(err)
		}
	}
	return ndis.Attributes{}, ndis.StatusFailure
}
