package ndis_test

import (
	"testing"

	"webminiport/ndis"
	"webminiport/pool"
)

// TestSendCompletesExactlyOnceWithStatus (§9 item 17): sends reach the miniport, are counted as
// pending, and come back to the protocol once each with the status the miniport set.
func TestSendCompletesExactlyOnceWithStatus(t *testing.T) {
	r := newRig(t, 4, 0, true)
	sp := newSendPool(t, r)
	var sent []pool.NBL
	for i := range 3 {
		h, err := sp.Send(frame(peerMAC, 60+i, byte(i)), 0)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, h)
	}
	if r.a.SendsPending() != 3 || len(r.m.sends) != 3 {
		t.Fatalf("pending %d, miniport has %d; want 3", r.a.SendsPending(), len(r.m.sends))
	}
	frame0, err := r.a.SendFrame(sent[0])
	if err != nil || string(frame0) != string(frame(peerMAC, 60, 0)) {
		t.Fatalf("SendFrame: %v, %d bytes", err, len(frame0))
	}
	// The miniport completes them in another order, in two calls.
	if err := r.m.complete([]pool.NBL{sent[2], sent[0]}, ndis.StatusSuccess); err != nil {
		t.Fatal(err)
	}
	if err := r.m.complete([]pool.NBL{sent[1]}, ndis.StatusFailure); err != nil {
		t.Fatal(err)
	}
	if r.a.SendsPending() != 0 {
		t.Fatalf("pending %d after completion", r.a.SendsPending())
	}
	if len(r.p.completed) != 3 || r.p.completed[0] != sent[2] || r.p.statuses[2] != ndis.StatusFailure {
		t.Fatalf("completed %v with %v", r.p.completed, r.p.statuses)
	}
	s := r.a.Statistics()
	if s.OutUcastPkts != 2 || s.OutOctets != 60+62 || s.OutErrors != 1 {
		t.Fatalf("send statistics %+v", s)
	}
	if err := sp.Recycle(linkChain(r.p.completed)); err != nil {
		t.Fatal(err)
	}
	if free, total := sp.Counts(); free != total {
		t.Fatalf("send pool: %d of %d free after recycling", free, total)
	}
	for _, h := range sent {
		kinds := historyKinds(r.a, h)
		if len(kinds) != 5 || kinds[2] != ndis.LogSent || kinds[3] != ndis.LogSendCompleted || kinds[4] != ndis.LogRecycled {
			t.Fatalf("history of %v: %v", h, kinds)
		}
	}
}

func historyKinds(a *ndis.Adapter, h pool.NBL) []ndis.LogKind {
	var k []ndis.LogKind
	for _, e := range a.NBLHistory(h) {
		k = append(k, e.Kind)
	}
	return k
}

// TestSendsWhilePausedCompleteWithPaused (§9 item 17): while Paused the adapter completes sends
// at once with NDIS_STATUS_PAUSED and the miniport never sees them; a pause completes the sends
// the miniport had queued.
func TestSendsWhilePausedCompleteWithPaused(t *testing.T) {
	r := newRig(t, 4, 0, true)
	sp := newSendPool(t, r)
	if _, err := sp.Send(frame(peerMAC, 60, 1), 0); err != nil {
		t.Fatal(err)
	}
	if err := r.a.Pause(); err != nil || r.a.State() != ndis.Paused {
		t.Fatalf("pause: %v, %v", err, r.a.State())
	}
	if len(r.p.statuses) != 1 || r.p.statuses[0] != ndis.StatusPaused {
		t.Fatalf("queued send completed with %v, want PAUSED", r.p.statuses)
	}
	if _, err := sp.Send(frame(peerMAC, 60, 2), 0); err != nil {
		t.Fatal(err)
	}
	if len(r.p.statuses) != 2 || r.p.statuses[1] != ndis.StatusPaused || len(r.m.sends) != 0 || r.a.SendsPending() != 0 {
		t.Fatalf("send while Paused: statuses %v, miniport queue %d, pending %d", r.p.statuses, len(r.m.sends), r.a.SendsPending())
	}
	if s := r.a.Statistics(); s.OutDiscards != 2 || s.OutUcastPkts != 0 {
		t.Fatalf("statistics %+v: want 2 discards", s)
	}
}

// TestCancelSendsAbortsTaggedSends: CancelSends(id) reaches MiniportCancelSend, which completes
// the tagged sends with SEND_ABORTED.
func TestCancelSendsAbortsTaggedSends(t *testing.T) {
	r := newRig(t, 4, 0, true)
	sp := newSendPool(t, r)
	var hs []pool.NBL
	for i := range 3 {
		h, buf := sp.Take()
		copy(buf, frame(peerMAC, 60, byte(i)))
		if err := sp.SetLength(h, 60); err != nil {
			t.Fatal(err)
		}
		if i != 1 {
			r.a.SetCancelID(h, 7)
		}
		if err := r.a.Send(h, 0); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	r.a.CancelSends(7)
	if len(r.p.completed) != 2 || r.p.statuses[0] != ndis.StatusSendAborted || r.a.SendsPending() != 1 {
		t.Fatalf("after cancel: completed %v %v, pending %d", r.p.completed, r.p.statuses, r.a.SendsPending())
	}
	if len(r.m.sends) != 1 || r.m.sends[0] != hs[1] {
		t.Fatalf("miniport still has %v, want the untagged send", r.m.sends)
	}
}

// TestSendRefusesNBLsTheProtocolDoesNotHold: resending an NBL in flight or sending a receive NBL
// is refused before anything changes.
func TestSendRefusesNBLsTheProtocolDoesNotHold(t *testing.T) {
	r := newRig(t, 4, 0, true)
	sp := newSendPool(t, r)
	h, err := sp.Send(frame(peerMAC, 60, 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.a.Send(h, 0); misuseClass(err) != pool.AccessWhileLent {
		t.Fatalf("resend in flight: %v", err)
	}
	r.m.receive(t, frame(ourMAC, 60, 2))
	if err := r.a.Send(r.p.held[0], 0); misuseClass(err) != pool.NonPoolNBL {
		t.Fatalf("send of a receive NBL: %v", err)
	}
	if r.a.SendsPending() != 1 {
		t.Fatalf("pending %d, want 1", r.a.SendsPending())
	}
}
