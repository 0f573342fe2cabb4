package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"webminiport/usbnic"
)

// Stall halts the endpoint: the armed transfer and every later one stall until ClearHalt; with
// a count of 2 it happens twice.
func TestFaultStallHaltsUntilClearHalt(t *testing.T) {
	q := NewQueue(4)
	d := cdcStart(t, CDCECM, q)
	if err := d.Inject(Fault{Kind: FaultStall, Endpoint: 0x81, Count: 2}); err != nil {
		t.Fatal(err)
	}
	q.Push(frame(gadgetHostMAC, 60, 0))
	for round := 0; round < 2; round++ {
		for i := 0; i < 2; i++ {
			if _, st := in(t, d, 0x81, 1514); st != usbnic.StatusStall {
				t.Fatalf("round %d transfer %d: %v, want stall", round, i, st)
			}
		}
		if err := d.ClearHalt(bg, 0x81); err != nil {
			t.Fatal(err)
		}
	}
	if got, st := in(t, d, 0x81, 1514); st != usbnic.StatusOK || len(got) != 60 {
		t.Errorf("after the faults: %d bytes, %v", len(got), st)
	}
	if d.FaultsFired()[FaultStall] != 2 {
		t.Errorf("fired %v", d.FaultsFired())
	}
}

// A stall on the control endpoint ends one request; the next one works.
func TestFaultStallOnControlIsOneRequest(t *testing.T) {
	d := cdcStart(t, CDCNCM, nil)
	d.Inject(Fault{Kind: FaultStall})
	if _, st := classIn(t, d, 0x80, 28); st != usbnic.StatusStall {
		t.Errorf("first request: %v", st)
	}
	if got, st := classIn(t, d, 0x80, 28); st != usbnic.StatusOK || len(got) != 28 {
		t.Errorf("second request: %d bytes, %v", len(got), st)
	}
}

func TestFaultBabbleShortOversize(t *testing.T) {
	q := NewQueue(8)
	d := cdcStart(t, CDCECM, q)
	for i := 0; i < 4; i++ {
		q.Push(frame(gadgetHostMAC, 100, byte(i)))
	}
	d.Inject(Fault{Kind: FaultBabble, Endpoint: 0x81})
	if got, st := in(t, d, 0x81, 1514); st != usbnic.StatusBabble || len(got) != 100 {
		t.Errorf("babble: %d bytes, %v", len(got), st)
	}
	d.Inject(Fault{Kind: FaultShort, Endpoint: 0x81, Bytes: 30})
	if got, st := in(t, d, 0x81, 1514); st != usbnic.StatusOK || !bytes.Equal(got, frame(gadgetHostMAC, 100, 1)[:30]) {
		t.Errorf("short: %d bytes, %v", len(got), st)
	}
	d.Inject(Fault{Kind: FaultOversize, Endpoint: 0x81, Bytes: 12})
	if got, st := in(t, d, 0x81, 1514); st != usbnic.StatusOK || len(got) != 112 || !bytes.Equal(got[:100], frame(gadgetHostMAC, 100, 2)) {
		t.Errorf("oversize: %d bytes, %v", len(got), st)
	}
	d.Inject(Fault{Kind: FaultOversize, Endpoint: 0x81, Bytes: 12})
	if got, st := in(t, d, 0x81, 104); st != usbnic.StatusBabble || len(got) != 104 {
		t.Errorf("oversize past the buffer: %d bytes, %v", len(got), st)
	}
	if err := d.Inject(Fault{Kind: FaultBabble, Endpoint: 0x02}); err == nil {
		t.Error("babble accepted on an OUT endpoint")
	}
	if err := d.Inject(Fault{Kind: FaultKind(99)}); err == nil {
		t.Error("unknown kind accepted")
	}
}

// Corrupt flips exactly one byte, and it lies in the framing: for NCM in the NTH, the NDP
// header or an NDP entry — never in a datagram.
func TestFaultCorruptFlipsOneFramingByte(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		fs := [][]byte{frame(gadgetHostMAC, 60, 1), frame(gadgetHostMAC, 200, 2)}
		clean := cdcStart(t, CDCNCM, NewQueue(4))
		bad := cdcStart(t, CDCNCM, NewQueue(4), WithFaultSeed(seed))
		for _, f := range fs {
			clean.Wire().(*Queue).Push(f)
			bad.Wire().(*Queue).Push(f)
		}
		bad.Inject(Fault{Kind: FaultCorrupt, Endpoint: 0x81})
		want, _ := in(t, clean, 0x81, 16384)
		got, _ := in(t, bad, 0x81, 16384)
		var diff []int
		for i := range want {
			if got[i] != want[i] {
				diff = append(diff, i)
			}
		}
		_, offs := parseNTB16(t, want)
		ndp := int(binary.LittleEndian.Uint16(want[10:]))
		if len(diff) != 1 {
			t.Fatalf("seed %d: %d bytes differ", seed, len(diff))
		}
		at := diff[0]
		inFraming := at < 12 || at >= ndp && at < ndp+8+4*len(fs)
		inData := at >= offs[0] && at < offs[0]+60 || at >= offs[1] && at < offs[1]+200
		if !inFraming || inData {
			t.Errorf("seed %d: flipped byte %d is not framing (NDP at %d)", seed, at, ndp)
		}
	}
}

// Error fails the transfer without touching the device: the frame stays for the next transfer,
// and an OUT frame never reaches the wire.
func TestFaultErrorFailsWithoutMovingData(t *testing.T) {
	q := NewQueue(4)
	d := cdcStart(t, CDCECM, q)
	q.Push(frame(gadgetHostMAC, 60, 0))
	d.Inject(Fault{Kind: FaultError, Endpoint: 0x81})
	if _, _, err := d.TransferIn(bg, 0x81, make([]byte, 1514)); !errors.Is(err, ErrTransfer) {
		t.Errorf("IN: %v", err)
	}
	if got, _ := in(t, d, 0x81, 1514); len(got) != 60 {
		t.Errorf("frame lost: %d bytes", len(got))
	}
	mine := errors.New("cable melted")
	d.Inject(Fault{Kind: FaultError, Endpoint: 0x02, Err: mine})
	if _, _, err := d.TransferOut(bg, 0x02, frame(peerMAC, 60, 0)); err != mine {
		t.Errorf("OUT: %v", err)
	}
	if len(sent(t, q)) != 0 {
		t.Error("failed OUT transfer reached the wire")
	}
	d.Inject(Fault{Kind: FaultError})
	if _, _, err := d.ControlIn(bg, classSetup(0, 0, 0), nil); !errors.Is(err, ErrTransfer) {
		t.Errorf("control: %v", err)
	}
}

// Short and corrupt OUT faults change what the device receives; the model counts the damage.
func TestFaultShortAndCorruptOnOUT(t *testing.T) {
	q := NewQueue(4)
	d := cdcStart(t, CDCNCM, q)
	ntb := ntb16Out(frame(peerMAC, 60, 0))
	d.Inject(Fault{Kind: FaultShort, Endpoint: 0x02, Bytes: 20})
	if n, _, _ := d.TransferOut(bg, 0x02, ntb); n != 20 {
		t.Errorf("short OUT reported %d bytes", n)
	}
	keep := append([]byte(nil), ntb...)
	d.Inject(Fault{Kind: FaultCorrupt, Endpoint: 0x02})
	out(t, d, 0x02, ntb)
	if !bytes.Equal(keep, ntb) {
		t.Error("corrupt fault changed the caller's buffer")
	}
	if s := d.Stats(); s.TxErrors < 1 || s.OutTransfers != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestFaultDelayHoldsTheCompletion(t *testing.T) {
	q := NewQueue(4)
	d := cdcStart(t, CDCECM, q)
	q.Push(frame(gadgetHostMAC, 60, 0))
	d.Inject(Fault{Kind: FaultDelay, Endpoint: 0x81, Delay: 30 * time.Millisecond})
	start := time.Now()
	if got, _ := in(t, d, 0x81, 1514); len(got) != 60 {
		t.Errorf("%d bytes", len(got))
	}
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Errorf("completed after %v", took)
	}
	d.Inject(Fault{Kind: FaultDelay, Delay: 20 * time.Millisecond})
	start = time.Now()
	classOut(t, d, 0x43, 0x0e, nil)
	if took := time.Since(start); took < 20*time.Millisecond {
		t.Errorf("control completed after %v", took)
	}
}

func TestFaultRemoveAndReplug(t *testing.T) {
	q := NewQueue(4)
	d := cdcStart(t, CDCECM, q)
	d.Inject(Fault{Kind: FaultRemove, Endpoint: 0x02})
	if _, _, err := d.TransferOut(bg, 0x02, frame(peerMAC, 60, 0)); !errors.Is(err, usbnic.ErrDisconnected) {
		t.Errorf("got %v", err)
	}
	select {
	case <-d.Disconnected():
	default:
		t.Fatal("not disconnected")
	}
	d2 := d.Replug()
	if d2 == d || d2.Configuration() != 1 {
		t.Fatal("replug did not give a fresh configured device")
	}
	if err := d2.Open(bg); err != nil {
		t.Fatal(err)
	}
	claimAll(t, d2)
	d2.SelectAlternate(bg, 1, 1)
	q.Push(frame(gadgetHostMAC, 60, 0))
	if got, _ := in(t, d2, 0x81, 1514); len(got) != 60 {
		t.Errorf("replugged device: %d bytes", len(got))
	}
	if _, _, err := d.TransferIn(bg, 0x81, make([]byte, 1514)); !errors.Is(err, usbnic.ErrDisconnected) {
		t.Errorf("old instance: %v", err)
	}
}

// A fault with a negative count stays armed until ClearFaults.
func TestFaultForeverUntilCleared(t *testing.T) {
	d := cdcStart(t, CDCNCM, nil)
	d.Inject(Fault{Kind: FaultStall, Count: -1})
	for i := 0; i < 3; i++ {
		if _, st := classIn(t, d, 0x80, 28); st != usbnic.StatusStall {
			t.Errorf("request %d: %v", i, st)
		}
	}
	d.ClearFaults()
	if _, st := classIn(t, d, 0x80, 28); st != usbnic.StatusOK {
		t.Errorf("after ClearFaults: %v", st)
	}
}

func TestRandomFaultSuitsTheEndpoint(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	seen := map[FaultKind]bool{}
	for i := 0; i < 2000; i++ {
		f := RandomFault(r, []uint8{0, 0x81, 0x02})
		if f.Kind.inOnly() && f.Endpoint == 0x02 {
			t.Fatalf("%v on an OUT endpoint", f)
		}
		if f.Count < 1 || f.Count > 3 || f.Delay <= 0 {
			t.Fatalf("bad parameters %+v", f)
		}
		seen[f.Kind] = true
	}
	if len(seen) != len(FaultKinds) {
		t.Errorf("kinds drawn: %v", seen)
	}
	if f := RandomFault(r, []uint8{0x02}, FaultBabble); f.Endpoint != 0 {
		t.Errorf("babble on OUT-only endpoints went to %#02x", f.Endpoint)
	}
}

// Property: a host running ECM traffic while random faults of every kind fire never sees a
// panic, a hung call or a leaked transfer; each call ends with data, a status or an error, and
// the device's counters add up. The seed is printed so a failure can be replayed.
func TestRandomFaultsNeverWedgeTheDevice(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	q := NewQueue(64)
	d := cdcStart(t, CDCECM, q, WithFaultSeed(seed))
	eps := []uint8{0, 0x81, 0x02, 0x85}
	for step := 0; step < 300; step++ {
		if r.IntN(10) == 0 {
			f := RandomFault(r, eps, FaultStall, FaultBabble, FaultShort, FaultOversize, FaultCorrupt, FaultError, FaultDelay)
			f.Delay = time.Duration(r.IntN(3)) * time.Millisecond
			if err := d.Inject(f); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		ctx, cancel := contextTimeout(10 * time.Millisecond)
		switch r.IntN(4) {
		case 0:
			q.Push(frame(gadgetHostMAC, 14+r.IntN(1500), byte(step)))
			_, st, err := d.TransferIn(ctx, 0x81, make([]byte, 1514))
			if st == usbnic.StatusStall {
				d.ClearHalt(bg, 0x81)
			}
			_ = err
		case 1:
			_, st, _ := d.TransferOut(ctx, 0x02, frame(peerMAC, 14+r.IntN(1500), byte(step)))
			if st == usbnic.StatusStall {
				d.ClearHalt(bg, 0x02)
			}
		case 2:
			d.ControlOut(ctx, classSetup(0x43, 0x0e, 0), nil)
		case 3:
			_, st, _ := d.TransferIn(ctx, 0x85, make([]byte, 16))
			if st == usbnic.StatusStall {
				d.ClearHalt(bg, 0x85)
			}
		}
		cancel()
		if n := d.Outstanding(); n != 0 {
			t.Fatalf("step %d: %d calls left inside the device", step, n)
		}
	}
	s := d.Stats()
	if s.TxFrames+s.TxErrors+s.TxDropped > s.OutTransfers {
		t.Errorf("more OUT outcomes than OUT transfers: %+v", s)
	}
	d.RemoveNow()
	if _, _, err := d.TransferIn(bg, 0x81, make([]byte, 1514)); !errors.Is(err, usbnic.ErrDisconnected) {
		t.Errorf("after removal: %v", err)
	}
}
