package nic_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/ndis/capture"
	"webminiport/usbnic"
	"webminiport/usbnic/nic"
	"webminiport/usbnic/sim"
)

// propertySeed returns USBNIC_SEED if set, else a fresh seed, and logs it so that a failure can
// be replayed with USBNIC_SEED=<seed> go test -run <test>.
func propertySeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("USBNIC_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("USBNIC_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (rerun with USBNIC_SEED=%d)", seed, seed)
	return seed
}

// faultKinds are the sim's fault kinds but removal, which each run places itself.
var faultKinds = []sim.FaultKind{sim.FaultStall, sim.FaultBabble, sim.FaultShort, sim.FaultOversize,
	sim.FaultCorrupt, sim.FaultError, sim.FaultDelay}

// TestFaultsAtRandomMomentsLeaveEveryNBLAccountedFor is the property test of the core: while
// web-like traffic flows in and pings go out, a seeded schedule injects every fault kind of the
// sim on every endpoint (control, bulk IN, bulk OUT, interrupt), pulls and plugs the cable,
// pauses and restarts, holds and returns NBLs, reprograms the packet filter, and in half the
// runs unplugs the device at a random moment. Throughout, the receive engine's conservation law
// must hold; at the end every receive NBL is back on the free list, every send completed exactly
// once, ndis reported no misuse, and the adapter is in a state it reports: a removed adapter is
// halted with HaltDeviceSurpriseRemoved and says so, a present one recovers and answers a ping.
func TestFaultsAtRandomMomentsLeaveEveryNBLAccountedFor(t *testing.T) {
	rng := rand.New(rand.NewPCG(propertySeed(t), 0x5eed))
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	for round := range rounds {
		for _, m := range trafficModels {
			seed := rng.Uint64()
			t.Run(fmt.Sprintf("%s/%d", m.Name, round), func(t *testing.T) {
				t.Logf("run seed %d", seed)
				chaos(t, m, seed)
			})
		}
	}
}

func chaos(t *testing.T, m *sim.Model, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	opts := nic.Options{NIC: usbnicOptions(rng)}
	r := newRig(t, m, opts, sim.WithFaultSeed(seed))
	r.waitLink()
	info := r.ad.NIC.Info()
	mac := info.MAC
	eps := []uint8{0, info.InEndpoint, info.OutEndpoint, info.IntrEndpoint}
	if err := r.w.Web(2000 + rng.IntN(8000)); err != nil {
		t.Fatal(err)
	}

	// A sender pings the gateway every millisecond; sends the pool cannot take are skipped.
	var (
		stop    = make(chan struct{})
		senders sync.WaitGroup
	)
	senders.Add(1)
	go func() {
		defer senders.Done()
		buf := make([]byte, 1536)
		for seq := uint16(1); ; seq++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			n, err := capture.BuildEchoRequest(buf, &capture.EchoRequest{SrcMAC: mac, DstMAC: gatewayMAC,
				SrcIP: hostIP, DstIP: gatewayIP, ID: 0x7e57, Seq: seq, PayloadLen: int(seq % 1400)})
			if err != nil {
				t.Error(err)
				return
			}
			_ = r.proto.trySend(buf[:n])
		}
	}()

	steps := 20 + rng.IntN(30)
	removeAt := -1
	if rng.IntN(2) == 0 {
		removeAt = rng.IntN(steps)
	}
	cable := true
	var events []string
	for step := range steps {
		time.Sleep(time.Duration(rng.IntN(8)) * time.Millisecond)
		if step == removeAt {
			if rng.IntN(2) == 0 {
				r.dev.RemoveNow()
				events = append(events, "unplug now")
			} else {
				f := sim.Fault{Kind: sim.FaultRemove, Endpoint: eps[rng.IntN(len(eps))]}
				_ = r.dev.Inject(f)
				events = append(events, "unplug at next transfer: "+f.String())
			}
		}
		switch k := rng.IntN(12); {
		case k < 6:
			f := sim.RandomFault(rng, eps, faultKinds...)
			if err := r.dev.Inject(f); err != nil {
				t.Fatal(err)
			}
			events = append(events, f.String())
		case k == 6:
			n := rng.IntN(48)
			r.proto.holdNext(n)
			events = append(events, fmt.Sprintf("hold %d NBLs", n))
		case k == 7:
			r.proto.releaseHeld()
			events = append(events, "return held NBLs")
		case k == 8:
			cable = !cable
			r.dev.SetCable(cable)
			events = append(events, fmt.Sprintf("cable %v", cable))
		case k == 9:
			// A pause needs every NBL back: the protocol returns what it holds first.
			r.proto.releaseHeld()
			ctx, cancel := context.WithTimeout(context.Background(), waitLong)
			err := r.ad.Stop(ctx)
			cancel()
			if err == nil {
				err = r.ad.Start()
			}
			select {
			case <-r.dev.Disconnected():
				// Restart fails on a removed device (and Stop and Start on a halted adapter).
			default:
				if err != nil {
					t.Fatalf("pause and restart: %v", err)
				}
			}
			events = append(events, "pause, restart")
		case k == 10:
			bits := []uint32{testFilter, ndis.FilterDirected, ndis.FilterPromiscuous, ndis.FilterBroadcast | ndis.FilterDirected}[rng.IntN(4)]
			select {
			case <-r.dev.Disconnected():
				// An OID to an adapter about to halt would race with the halt.
			default:
				r.setFilter(bits)
			}
			events = append(events, fmt.Sprintf("packet filter %#x", bits))
		default:
			events = append(events, "quiet")
		}
		checkConservation(t, r)
	}
	close(stop)
	senders.Wait()
	r.dev.ClearFaults()
	r.proto.releaseHeld()
	r.w.Quiet()
	t.Logf("events: %s", strings.Join(events, "; "))
	t.Logf("faults fired: %v", r.dev.FaultsFired())
	// With the faults gone every send still in the core completes, whatever state it is in.
	r.proto.checkCompletions(t)

	select {
	case <-r.dev.Disconnected():
		checkRemoved(t, r)
	default:
		checkRecovers(t, r)
	}
	r.proto.checkCompletions(t)
	t.Logf("core stats: %+v", r.ad.NIC.Stats())
}

// usbnicOptions picks small, varied sizes so that the free list runs low (RESOURCES, drops)
// and few transfers are in flight.
func usbnicOptions(rng *rand.Rand) (o usbnic.Options) {
	o.RxNBLs = 32 + rng.IntN(224)
	o.RxTransfers = 1 + rng.IntN(8)
	o.TxTransfers = 1 + rng.IntN(4)
	return o
}

// checkConservation checks the receive engine's law at any moment: free + held by the miniport
// + posted + outstanding at the protocol + lent with RESOURCES = the NBLs preallocated, and the
// pool has them all allocated. Once the device is gone the adapter halts and frees the
// engine, so a check that may have raced with that halt is not judged.
func checkConservation(t *testing.T, r *rig) {
	t.Helper()
	if removed(r) {
		return
	}
	err := r.ad.NIC.RxEngine().Conservation()
	if err != nil && !removed(r) {
		t.Fatalf("conservation: %v", err)
	}
}

func removed(r *rig) bool {
	select {
	case <-r.ad.NIC.Removed():
		return true
	default:
		return false
	}
}

// checkRemoved: the unplugged adapter pauses (the protocol returns what it held) and halts with
// HaltDeviceSurpriseRemoved, and says it is removed and disconnected.
func checkRemoved(t *testing.T, r *rig) {
	t.Helper()
	select {
	case <-r.ad.Done():
	case <-time.After(waitLong):
		t.Fatalf("removed adapter never halted; state %v, outstanding %d, sends pending %d",
			r.ad.NDIS.State(), r.ad.NDIS.Outstanding(), r.ad.NDIS.SendsPending())
	}
	if a, ok := r.ad.HaltAction(); !ok || a != ndis.HaltDeviceSurpriseRemoved {
		t.Errorf("halt action %v (halted %v), want surprise removed", a, ok)
	}
	if st := r.ad.NDIS.State(); st != ndis.Halted {
		t.Errorf("state %v, want Halted", st)
	}
	info, stats := r.ad.NIC.Info(), r.ad.NIC.Stats()
	if !info.Removed || !stats.Removed || info.Running || info.Link.MediaConnect != ndis.MediaConnectDisconnected {
		t.Errorf("removed adapter reports removed %v/%v, running %v, link %+v", info.Removed, stats.Removed, info.Running, info.Link)
	}
	if r.ad.NDIS.Outstanding() != 0 || r.ad.NDIS.SendsPending() != 0 {
		t.Errorf("after the halt: %d receive NBLs outstanding, %d sends pending", r.ad.NDIS.Outstanding(), r.ad.NDIS.SendsPending())
	}
	if err := r.ad.Start(); err != nic.ErrHalted {
		t.Errorf("start after removal: %v, want ErrHalted", err)
	}
}

// checkRecovers: with the faults gone and the cable plugged in again, the adapter comes back,
// answers a ping, and once paused holds every receive NBL on its free list.
func checkRecovers(t *testing.T, r *rig) {
	t.Helper()
	if r.ad.NDIS.State() != ndis.Running {
		if err := r.ad.Start(); err != nil {
			t.Fatalf("restart: %v", err)
		}
	}
	// A notification lost to a fault leaves the link as the host last heard it; a cable cycle
	// makes the device tell again.
	r.dev.SetCable(false)
	time.Sleep(20 * time.Millisecond)
	r.dev.SetCable(true)
	r.waitLink()
	r.setFilter(testFilter)
	mac := r.ad.NIC.Info().MAC
	n, err := capture.BuildEchoRequest(r.buf, &capture.EchoRequest{SrcMAC: mac, DstMAC: gatewayMAC,
		SrcIP: hostIP, DstIP: gatewayIP, ID: 0xbac, Seq: 1, PayloadLen: 100})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLong)
	for got := false; !got; {
		// The first request may fall into a throttle or a link reset still settling: retry.
		r.send(r.buf[:n])
		timeout := time.After(200 * time.Millisecond)
	wait:
		for {
			select {
			case f := <-r.proto.frames:
				r.dec.Summarize(f, len(f), &r.sum)
				if r.sum.Protocol == capture.ProtoICMP && bytes.HasPrefix(r.sum.Info(), []byte("Echo (ping) reply id=0x0bac")) {
					got = true
					break wait
				}
			case <-timeout:
				break wait
			}
		}
		if !got && time.Now().After(deadline) {
			t.Fatalf("no echo reply after the faults; stats %+v; log:\n%s", r.ad.NIC.Stats(), strings.Join(r.ad.NIC.Info().Log, "\n"))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	r.proto.releaseHeld()
	if err := r.ad.Stop(ctx); err != nil {
		t.Fatalf("pause: %v", err)
	}
	rx := r.ad.NIC.RxEngine()
	if err := rx.Audit(); err != nil {
		t.Errorf("audit after pause: %v", err)
	}
	if c := rx.Counts(); c.Free != c.Total {
		t.Errorf("after pause %d of %d receive NBLs on the free list: %+v", c.Free, c.Total, c)
	}
	if free, total := r.proto.sp.Counts(); free != total {
		t.Errorf("after pause %d of %d send NBLs back in the protocol's pool", free, total)
	}
}
