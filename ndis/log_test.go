package ndis

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"

	"webminiport/pool"
)

var logSeedFlag = flag.Uint64("ndis.logseed", 0, "seed for the tracking-log property test (0: from the clock)")

// TestLogKeepsEveryEventAsWritten is the property test of the run-length tracking log against the
// simplest model, a list of whole entries: random events, written one by one (put) or as chains
// (putAll), often sharing their fields so that runs form and break, into rings small enough to
// wrap many times. After every write, the last n events the log returns are the model's last n,
// each with its own Seq, for several n.
func TestLogKeepsEveryEventAsWritten(t *testing.T) {
	seed := *logSeedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -ndis.logseed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, size := range []int{1, 2, 3, 8, 64} {
		l := newEventLog(size)
		kept := len(l.nbls)
		var model []LogEntry
		for step := range 2000 {
			// Few distinct values, so that consecutive events often match.
			t0 := int64(rng.IntN(3))
			kind := LogKind(1 + rng.IntN(int(numLogKinds)-1))
			if rng.IntN(2) == 0 {
				kind = LogTaken
			}
			comp, owner := Component(rng.IntN(3)), pool.Owner(rng.IntN(int(numOwners)))
			handle, arg := uint16(1+rng.IntN(2)), uint32(rng.IntN(2))*0xffffffff
			attrs := makeAttrs(handle, kind, comp, owner, arg)
			nbls := make([]pool.NBL, 1+rng.IntN(5))
			for i := range nbls {
				nbls[i] = pool.NBL(rng.Uint32())
			}
			if rng.IntN(2) == 0 {
				for _, h := range nbls {
					l.put(t0, h, attrs)
				}
			} else {
				l.putAll(t0, nbls, attrs)
			}
			for _, h := range nbls {
				model = append(model, LogEntry{Seq: uint64(len(model) + 1), Time: t0, NBL: h, Pool: handle,
					Kind: kind, Component: comp, Owner: owner, Arg: arg})
			}
			for _, n := range []int{0, 1, rng.IntN(kept + 2), kept + 5} {
				want := model[max(0, len(model)-kept):]
				if n > 0 && n < len(want) {
					want = want[len(want)-n:]
				}
				got := l.tail(n)
				if len(got) != len(want) {
					t.Fatalf("size %d step %d: tail(%d) has %d events, want %d", size, step, n, len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("size %d step %d: tail(%d)[%d] = %+v, want %+v", size, step, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestLogRunsKeepLongChainsCompact: a chain moved at once costs one run however long it is, and
// a run is broken by any field that differs.
func TestLogRunsKeepLongChainsCompact(t *testing.T) {
	l := newEventLog(1024)
	nbls := make([]pool.NBL, 200)
	for i := range nbls {
		nbls[i] = pool.NBL(i + 1)
	}
	a := makeAttrs(1, LogIndicated, ComponentMiniport, OwnerProtocol, 0)
	l.putAll(5, nbls, a)
	l.putAll(5, nbls[:10], a) // the same fields: the same run
	if l.nrun != 1 || l.seq != 210 {
		t.Fatalf("%d runs, %d events; want 1 run of 210", l.nrun, l.seq)
	}
	for _, next := range []struct {
		t     int64
		attrs runAttrs
	}{
		{6, a},
		{6, makeAttrs(2, LogIndicated, ComponentMiniport, OwnerProtocol, 0)},
		{6, makeAttrs(2, LogReturned, ComponentMiniport, OwnerProtocol, 0)},
		{6, makeAttrs(2, LogReturned, ComponentProtocol, OwnerProtocol, 0)},
		{6, makeAttrs(2, LogReturned, ComponentProtocol, OwnerMiniport, 0)},
		{6, makeAttrs(2, LogReturned, ComponentProtocol, OwnerMiniport, 1)},
	} {
		before := l.nrun
		l.put(next.t, 99, next.attrs)
		if l.nrun != before+1 {
			t.Errorf("event with fields %#x at %d joined the run before", uint64(next.attrs), next.t)
		}
	}
}
