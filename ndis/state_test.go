package ndis_test

import (
	"errors"
	"strings"
	"testing"

	"webminiport/ndis"
	"webminiport/pool"
)

// TestTransitionTableMatchesSpec checks every state × every event against the table of
// specs/ndis.md §5, written out here by hand ("-" is a blank cell: illegal). Receive in
// Restarting is legal per the text under the table.
func TestTransitionTableMatchesSpec(t *testing.T) {
	states := []ndis.State{ndis.Halted, ndis.Shutdown, ndis.Initializing, ndis.Paused, ndis.Restarting, ndis.Running, ndis.Pausing}
	const x = ndis.State(255) // illegal
	H, S, I, P, R, U, A := ndis.Halted, ndis.Shutdown, ndis.Initializing, ndis.Paused, ndis.Restarting, ndis.Running, ndis.Pausing
	table := []struct {
		ev   ndis.Event
		next [7]ndis.State // by states[] order: Halted, Shutdown, Initializing, Paused, Restarting, Running, Pausing
	}{
		{ndis.EventInitialize, [7]ndis.State{I, x, x, x, x, x, x}},
		{ndis.EventInitializeComplete, [7]ndis.State{x, x, P, x, x, x, x}},
		{ndis.EventInitializeFailed, [7]ndis.State{x, x, H, x, x, x, x}},
		{ndis.EventShutdown, [7]ndis.State{x, x, x, S, S, S, S}},
		{ndis.EventHalt, [7]ndis.State{x, x, x, H, x, x, x}},
		{ndis.EventRestart, [7]ndis.State{x, x, x, R, x, x, x}},
		{ndis.EventRestartComplete, [7]ndis.State{x, x, x, x, U, x, x}},
		{ndis.EventRestartFailed, [7]ndis.State{x, x, x, x, P, x, x}},
		{ndis.EventPause, [7]ndis.State{x, x, x, x, x, A, x}},
		{ndis.EventPauseComplete, [7]ndis.State{x, x, x, x, x, x, P}},
		{ndis.EventSend, [7]ndis.State{x, x, x, x, x, U, A}},
		{ndis.EventReceive, [7]ndis.State{x, x, x, x, R, U, A}},
		{ndis.EventOIDRequest, [7]ndis.State{x, x, x, P, R, U, A}},
	}
	cells := 0
	for _, row := range table {
		for i, s := range states {
			cells++
			got, err := ndis.Transition(s, row.ev)
			want := row.next[i]
			if want == x {
				if !errors.Is(err, &pool.MisuseError{Class: pool.IllegalStateTransition}) {
					t.Errorf("%v in %v: got %v, %v; want ILLEGAL_STATE_TRANSITION", row.ev, s, got, err)
				}
				if got != s {
					t.Errorf("%v in %v: an illegal event moved the state to %v", row.ev, s, got)
				}
				continue
			}
			if err != nil || got != want {
				t.Errorf("%v in %v: got %v, %v; want %v", row.ev, s, got, err, want)
			}
		}
	}
	if cells != 7*13 {
		t.Fatalf("checked %d cells, want every state × every event (91)", cells)
	}
}

// TestAdapterRefusesIllegalTransitions drives a real adapter into blank cells of the table.
func TestAdapterRefusesIllegalTransitions(t *testing.T) {
	r := newRig(t, 8, 0, false) // Paused
	illegal := func(what string, err error) {
		t.Helper()
		if misuseClass(err) != pool.IllegalStateTransition {
			t.Errorf("%s: got %v, want ILLEGAL_STATE_TRANSITION", what, err)
		}
	}
	illegal("initialize twice", r.a.Initialize())
	illegal("pause in Paused", r.a.Pause())
	illegal("PauseComplete with no pause pending", r.a.PauseComplete())
	illegal("RestartComplete with no restart pending", r.a.RestartComplete(ndis.StatusSuccess))
	if err := r.a.Restart(); err != nil {
		t.Fatal(err)
	}
	illegal("restart in Running", r.a.Restart())
	illegal("halt in Running", r.a.Halt(ndis.HaltDeviceDisabled))
	illegal("RestartComplete after a synchronous restart", r.a.RestartComplete(ndis.StatusSuccess))
	if got := r.a.State(); got != ndis.Running {
		t.Fatalf("illegal calls changed the state to %v", got)
	}
	if err := r.a.Shutdown(ndis.ShutdownPowerOff); err != nil {
		t.Fatal(err)
	}
	illegal("pause after shutdown", r.a.Pause())
	illegal("shutdown twice", r.a.Shutdown(ndis.ShutdownPowerOff))
	illegal("halt after shutdown", r.a.Halt(ndis.HaltDeviceDisabled))
	_, err := r.a.OIDRequest(&ndis.OIDRequest{OID: ndis.OIDGenMaximumFrameSize, Buffer: make([]byte, 4)})
	illegal("OID after shutdown", err)
	if got := r.a.State(); got != ndis.Shutdown {
		t.Fatalf("state %v after shutdown, want Shutdown (terminal)", got)
	}
}

// TestFailedRestartLeavesAdapterPaused: a restart that fails goes back to Paused, at once or
// through RestartComplete.
func TestFailedRestartLeavesAdapterPaused(t *testing.T) {
	mp := &restartMiniport{testMiniport: newTestMiniport(4, 0), status: ndis.StatusResources}
	a := ndis.New(mp, ndis.Config{Name: "restart"})
	if err := a.Initialize(); err != nil {
		t.Fatal(err)
	}
	if err := a.Restart(); err == nil || a.State() != ndis.Paused {
		t.Fatalf("failed restart: err %v, state %v; want an error and Paused", err, a.State())
	}
	mp.status = ndis.StatusPending
	if err := a.Restart(); err != nil || a.State() != ndis.Restarting {
		t.Fatalf("pending restart: err %v, state %v; want Restarting", err, a.State())
	}
	if err := a.RestartComplete(ndis.StatusFailure); err != nil || a.State() != ndis.Paused {
		t.Fatalf("RestartComplete(FAILURE): err %v, state %v; want Paused", err, a.State())
	}
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := a.RestartComplete(ndis.StatusSuccess); err != nil || a.State() != ndis.Running {
		t.Fatalf("RestartComplete(SUCCESS): err %v, state %v; want Running", err, a.State())
	}
}

type restartMiniport struct {
	*testMiniport
	status ndis.Status
}

func (m *restartMiniport) Restart() ndis.Status { return m.status }

// TestBadAttributesHaltTheMiniport: attributes NDIS cannot accept fail initialize with a clear
// error, after the miniport was halted with HaltDeviceInitializationFailed to undo its work.
func TestBadAttributesHaltTheMiniport(t *testing.T) {
	m := newTestMiniport(4, 0)
	m.attrs.MaxFrameSize = 0
	a := ndis.New(m, ndis.Config{Name: "badattrs"})
	err := a.Initialize()
	if err == nil || !strings.Contains(err.Error(), "MaxFrameSize 0") {
		t.Fatalf("Initialize: %v, want an error naming MaxFrameSize", err)
	}
	if !m.halted || m.haltErr != nil || a.State() != ndis.Halted || len(a.NBLPools()) != 0 || len(a.Reports()) != 0 {
		t.Fatalf("halted %v (%v), state %v, pools %d, reports %v", m.halted, m.haltErr, a.State(), len(a.NBLPools()), a.Reports())
	}
}
