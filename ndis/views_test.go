package ndis_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"webminiport/ndis"
	"webminiport/pool"
)

// TestPendingNBLsListsExactlyTheHeldNBLs is the acceptance test of the ownership views: after a
// protocol holds 5 NBLs, the text `pendingnbls` view lists exactly those 5 with their owner, and
// `nbl -log` of one of them shows its whole history in order.
func TestPendingNBLsListsExactlyTheHeldNBLs(t *testing.T) {
	r := newRig(t, 16, 0, true)
	// Some traffic first, so that the held NBLs have a history and other NBLs have been around.
	r.m.receive(t, frame(ourMAC, 60, 1), frame(ourMAC, 60, 2))
	if err := r.p.giveBackAll(); err != nil {
		t.Fatal(err)
	}
	r.m.receive(t, frame(ourMAC, 60, 3), frame(bcastMAC, 60, 4), frame(ourMAC, 60, 5))
	r.m.receive(t, frame(ourMAC, 60, 6), frame(ourMAC, 60, 7))
	sp := newSendPool(t, r) // a protocol pool whose NBLs are at home
	held := slices.Clone(r.p.held)
	if len(held) != 5 {
		t.Fatalf("protocol holds %d NBLs, want 5", len(held))
	}

	out, err := r.a.Command("pendingnbls")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pendingnbls:\n%s", out)
	listed := regexp.MustCompile(`NBL 0x([0-9a-f]{8}) .*Currently held by (\S+) \(([^)]*)\)`).FindAllStringSubmatch(out, -1)
	if len(listed) != 5 {
		t.Fatalf("pendingnbls lists %d NBLs, want 5", len(listed))
	}
	for _, l := range listed {
		h := parseHex(t, l[1])
		if !slices.Contains(held, h) {
			t.Errorf("pendingnbls lists %v, which the protocol does not hold", h)
		}
		if l[2] != "Protocol" || l[3] != "held by protocol" {
			t.Errorf("%v: held by %s (%s), want Protocol (held by protocol)", h, l[2], l[3])
		}
	}
	if want := fmt.Sprintf("5 pending of %d total", 16+4); !strings.Contains(out, want) {
		t.Errorf("summary missing %q", want)
	}
	if v := r.a.PendingNBLs(); len(v.Pending) != 5 || v.Pools != 2 {
		t.Errorf("PendingNBLs data: %d pending in %d pools", len(v.Pending), v.Pools)
	}

	// The history of the first NBL of the second indication: allocated at initialize, taken and
	// indicated in the first round, returned, recycled onto the free list (the last one returned,
	// so the LIFO free list hands it out first), taken and indicated again.
	h := held[0]
	out, err = r.a.Command(fmt.Sprintf("nbl 0x%08x -log", uint32(h)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("nbl -log:\n%s", out)
	var kinds []string
	var seqs []int
	for _, m := range regexp.MustCompile(`(?m)^\s+(\d+)\s+\S+\s+0x([0-9a-f]{8}) (\S+)`).FindAllStringSubmatch(out, -1) {
		if parseHex(t, m[2]) != h {
			t.Fatalf("history of %v shows an event of %s", h, m[2])
		}
		var seq int
		fmt.Sscan(m[1], &seq)
		seqs = append(seqs, seq)
		kinds = append(kinds, m[3])
	}
	if !slices.IsSorted(seqs) {
		t.Errorf("events out of order: %v", seqs)
	}
	want := []string{"Allocated", "Taken", "Indicated", "Returned", "Recycled", "Taken", "Indicated"}
	if !slices.Equal(kinds, want) {
		t.Errorf("history %v, want %v", kinds, want)
	}
	if err := r.p.giveBackAll(); err != nil {
		t.Fatal(err)
	}
	if v := r.a.PendingNBLs(); len(v.Pending) != 0 {
		t.Errorf("after returning all: %d pending", len(v.Pending))
	}
	_ = sp
}

func parseHex(t *testing.T, s string) pool.NBL {
	t.Helper()
	var v uint32
	if _, err := fmt.Sscanf(s, "%x", &v); err != nil {
		t.Fatal(err)
	}
	return pool.NBL(v)
}

// TestViewsRenderPoolsAllocationsAndNBL: nblpool, nblpool -allocations, nbl and nbllog.
func TestViewsRenderPoolsAllocationsAndNBL(t *testing.T) {
	r := newRig(t, 4, 0, true)
	r.m.receive(t, frame(ourMAC, 98, 1))
	h := r.p.held[0]

	out, err := r.a.Command("nblpool")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"WmRx", "test rx", "Miniport", "CONTAINS_NET_BUFFER", "Initialize"} {
		if !strings.Contains(out, want) {
			t.Errorf("nblpool lacks %q:\n%s", want, out)
		}
	}
	pv := r.a.NBLPools()[0]
	out, err = r.a.Command(fmt.Sprintf("nblpool %x -allocations", pv.Handle))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "Allocated") != 4 || strings.Count(out, "held by protocol") != 1 || strings.Count(out, "miniport free list") != 3 {
		t.Errorf("nblpool -allocations:\n%s", out)
	}
	out, err = r.a.Command(fmt.Sprintf("nblpool %x", pv.Handle))
	if err != nil || !strings.Contains(out, "Data size          2048") {
		t.Errorf("nblpool <h>: %v\n%s", err, out)
	}

	v, err := r.a.NBL(h)
	if err != nil {
		t.Fatal(err)
	}
	if v.DataLength != 98 || v.DataOffset != 0 || v.BufferSize != 2048 || v.Source != "test0" || v.Owner != ndis.OwnerProtocol || v.HeldBy != ndis.ComponentProtocol {
		t.Errorf("nbl view %+v", v)
	}
	out, err = r.a.Command(fmt.Sprintf("nbl %x", uint32(h)))
	if err != nil || !strings.Contains(out, "DataLength 98") || !strings.Contains(out, "held by protocol [Protocol]") {
		t.Errorf("nbl: %v\n%s", err, out)
	}

	out, err = r.a.Command("nbllog 3")
	if err != nil || strings.Count(out, "\n") != 2+3 {
		t.Errorf("nbllog 3: %v\n%s", err, out)
	}
	for _, bad := range []string{"", "frobnicate", "nbl", "nbl zz", "nblpool 99", "nbllog -3"} {
		if _, err := r.a.Command(bad); err == nil {
			t.Errorf("Command(%q) succeeded", bad)
		}
	}
}

// TestLogReplayReproducesOwners (§9 item 25): replaying the tracking log gives every NBL the
// owner the pool says it has.
func TestLogReplayReproducesOwners(t *testing.T) {
	r := newRig(t, 8, 2, true)
	sp := newSendPool(t, r)
	r.m.receive(t, frame(ourMAC, 60, 1), frame(ourMAC, 60, 2), frame(ourMAC, 60, 3))
	r.m.receive(t, frame(ourMAC, 60, 4), frame(ourMAC, 60, 5), frame(ourMAC, 60, 6), frame(otherMAC, 60, 7))
	if err := r.p.giveBack(1); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Send(frame(peerMAC, 60, 8), 0); err != nil {
		t.Fatal(err)
	}
	h, _ := sp.Take()
	_ = h
	owners := map[pool.NBL]pool.Owner{}
	for _, e := range r.a.NBLLog(0) {
		if e.NBL != 0 {
			owners[e.NBL] = e.Owner
		}
	}
	for _, pv := range r.a.NBLPools() {
		allocs, _ := r.a.Allocations(pv.Handle)
		for _, al := range allocs {
			if al.Active && owners[al.NBL] != al.Owner {
				t.Errorf("%v: log replay says %s, pool says %s", al.NBL, ndis.OwnerName(owners[al.NBL]), ndis.OwnerName(al.Owner))
			}
		}
	}
}
