package pool

import (
	"bytes"
	"errors"
	"testing"
)

// §2.6 and §9 item 11: a retreat within the unused space only moves offset and length, and an
// advance by the same delta restores them.
func TestRetreatAndAdvanceWithinBackfill(t *testing.T) {
	p := newPool(t, shapeC)
	nb := p.NBOf(mustAlloc(t, p))
	if err := p.SetData(nb, 20, 30); err != nil {
		t.Fatal(err)
	}
	copy(p.Buffer(nb), "0123456789abcdefghijKLMNOPQRSTUVWXYZ")
	for _, tt := range []struct {
		retreat, advance uint32
		offset, length   uint32
		data             string
	}{
		{0, 0, 20, 30, "KLMNOPQRSTUVWXYZ"},
		{4, 0, 16, 34, "ghijKLMNOPQRSTUVWXYZ"},
		{16, 0, 0, 50, "0123456789abcdefghijKLMNOPQRSTUVWXYZ"},
		{0, 20, 20, 30, "KLMNOPQRSTUVWXYZ"},
		{0, 30, 50, 0, ""},
	} {
		if err := p.RetreatDataStart(nb, tt.retreat, 0); err != nil {
			t.Fatal(err)
		}
		if err := p.AdvanceDataStart(nb, tt.advance, true); err != nil {
			t.Fatal(err)
		}
		if p.DataOffset(nb) != tt.offset || p.DataLength(nb) != tt.length {
			t.Errorf("retreat %d advance %d: offset %d length %d, want %d %d", tt.retreat, tt.advance, p.DataOffset(nb), p.DataLength(nb), tt.offset, tt.length)
		}
		if got := p.Data(nb); !bytes.HasPrefix(got, []byte(tt.data)) || len(got) != int(tt.length) {
			t.Errorf("Data = %q, want %q...", got, tt.data)
		}
	}
	wantMisuse(t, p.AdvanceDataStart(nb, 1, false), InvalidAllocArgs)
}

// §2.6: retreating past the unused space puts a new block in front of the MDL; an advance with
// freeMdl past it gives it back and restores offset and length exactly.
func TestRetreatPastBackfillAddsBlockInFront(t *testing.T) {
	p := newPool(t, shapeC)
	nb := p.NBOf(mustAlloc(t, p))
	if err := p.SetData(nb, 2, 6); err != nil {
		t.Fatal(err)
	}
	copy(p.Buffer(nb), "..payload")
	if err := p.RetreatDataStart(nb, 14, 16); err != nil { // an Ethernet header, 16 bytes backfill
		t.Fatal(err)
	}
	if p.DataOffset(nb) != 16 || p.DataLength(nb) != 20 {
		t.Fatalf("offset %d length %d, want 16 20", p.DataOffset(nb), p.DataLength(nb))
	}
	if p.Data(nb) != nil {
		t.Error("Data is contiguous across two buffers")
	}
	head, tail := p.DataParts(nb)
	if len(head) != 14 || string(tail) != "payloa" {
		t.Fatalf("parts %q %q", head, tail)
	}
	copy(head, "HEADERHEADERHE")
	// The original buffer did not move.
	if string(p.Buffer(nb)[:8]) != "..payloa" {
		t.Errorf("buffer %q", p.Buffer(nb))
	}
	// Moving inside the block keeps it.
	if err := p.AdvanceDataStart(nb, 6, true); err != nil {
		t.Fatal(err)
	}
	if head, tail := p.DataParts(nb); string(head) != "HEADERHE" || string(tail) != "payloa" {
		t.Errorf("after advance 6: %q %q", head, tail)
	}
	if err := p.AdvanceDataStart(nb, 8, true); err != nil {
		t.Fatal(err)
	}
	if p.DataOffset(nb) != 2 || p.DataLength(nb) != 6 || string(p.Data(nb)) != "payloa" {
		t.Errorf("after freeing the block: offset %d length %d data %q", p.DataOffset(nb), p.DataLength(nb), p.Data(nb))
	}
}

func TestRetreatBlockStaysWithoutFreeMdl(t *testing.T) {
	p := newPool(t, shapeC)
	nb := p.NBOf(mustAlloc(t, p))
	if err := p.RetreatDataStart(nb, 8, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.AdvanceDataStart(nb, 10, false); err != nil {
		t.Fatal(err)
	}
	// The receive-path rule: the chain does not change, so the data sits after the block.
	if p.DataOffset(nb) != 10 || p.DataLength(nb) != 62 || len(p.Data(nb)) != 62 {
		t.Errorf("offset %d length %d", p.DataOffset(nb), p.DataLength(nb))
	}
	if err := p.RetreatDataStart(nb, 10, 0); err != nil {
		t.Fatal(err)
	}
	if head, tail := p.DataParts(nb); len(head) != 8 || len(tail) != 64 {
		t.Errorf("parts %d %d", len(head), len(tail))
	}
}

func TestRetreatFailsWithResourcesAndChangesNothing(t *testing.T) {
	p := newPool(t, Params{Name: "many", AllocateNB: true, DataSize: 16, Capacity: RetreatBlocks + 1})
	var nbs []NB
	for range RetreatBlocks + 1 {
		nbs = append(nbs, p.NBOf(mustAlloc(t, p)))
	}
	for _, nb := range nbs[:RetreatBlocks] {
		if err := p.RetreatDataStart(nb, 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	last := nbs[RetreatBlocks]
	for _, tt := range []struct {
		name           string
		nb             NB
		delta, backful uint32
	}{
		{"no block left", last, 1, 0},
		{"second block on one NB", nbs[0], 2, 0},
		{"more than a block", last, RetreatBlockSize, 1},
	} {
		before := p.Stats()
		off, length := p.DataOffset(tt.nb), p.DataLength(tt.nb)
		err := p.RetreatDataStart(tt.nb, tt.delta, tt.backful)
		if !errors.Is(err, ErrExhausted) {
			t.Errorf("%s: %v, want ErrExhausted", tt.name, err)
		}
		if p.DataOffset(tt.nb) != off || p.DataLength(tt.nb) != length || p.Stats().Failures != before.Failures+1 {
			t.Errorf("%s: changed the NB or did not count a failure", tt.name)
		}
	}
	// Freeing an NBL gives its block back.
	mustFree(t, p.HandleAt(0))
	if err := p.RetreatDataStart(last, 1, 0); err != nil {
		t.Errorf("block not given back on free: %v", err)
	}
	// So does SetData.
	if err := p.SetData(nbs[1], 0, 16); err != nil {
		t.Fatal(err)
	}
	if p.DataOffset(nbs[1]) != 0 || len(p.Data(nbs[1])) != 16 {
		t.Error("SetData kept the block")
	}
	if err := p.RetreatDataStart(nbs[1], 1, 0); err != nil {
		t.Errorf("block not given back by SetData: %v", err)
	}
}

func TestSetDataAndAttachMDL(t *testing.T) {
	p := newPool(t, shapeB)
	h, err := p.AllocateNBLAndNB(0, 0, nil, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	nb := p.FirstNB(h)
	rx := []byte("<<frame>>")
	if err := p.AttachMDL(nb, rx, 2, 5); err != nil {
		t.Fatal(err)
	}
	if string(p.Data(nb)) != "frame" {
		t.Errorf("Data %q", p.Data(nb))
	}
	if err := p.SetData(nb, 0, 9); err != nil || string(p.Data(nb)) != "<<frame>>" {
		t.Errorf("SetData: %v %q", err, p.Data(nb))
	}
	wantMisuse(t, p.SetData(nb, 5, 5), InvalidAllocArgs)
	wantMisuse(t, p.AttachMDL(nb, nil, 0, 1), InvalidAllocArgs)
	c := newPool(t, shapeC)
	wantMisuse(t, c.AttachMDL(c.NBOf(mustAlloc(t, c)), rx, 0, 0), InvalidAllocArgs)
	// Data returns a full slice expression: appending cannot overwrite the bytes after it.
	d := p.Data(nb)
	if cap(d) != len(d) {
		t.Errorf("Data cap %d len %d", cap(d), len(d))
	}
}

// §2.5: NB pools.
func TestNBPoolAllocatesAndFrees(t *testing.T) {
	plain := newNBPool(t, NBPoolParams{Name: "hdrs", Tag: MakeTag("Hdr "), Capacity: 2})
	data := newNBPool(t, NBPoolParams{Name: "bufs", DataSize: 32, Capacity: 1})
	mdl := []byte("abcdef")
	a, err := plain.AllocateNB(mdl, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if string(plain.Data(a)) != "bcd" || plain.NextNB(a) != 0 {
		t.Errorf("Data %q", plain.Data(a))
	}
	b, err := data.AllocateNBMdlAndData()
	if err != nil {
		t.Fatal(err)
	}
	if data.DataLength(b) != 32 || data.DataOffset(b) != 0 || len(data.Buffer(b)) != 32 {
		t.Errorf("MdlAndData NB: %d %d %d", data.DataLength(b), data.DataOffset(b), len(data.Buffer(b)))
	}
	if _, err := data.AllocateNBMdlAndData(); !errors.Is(err, ErrExhausted) {
		t.Errorf("exhausted NB pool: %v", err)
	}
	// An NBL of shape A carries NBs of NB pools, and Pool reads them.
	nbls := newPool(t, shapeA)
	h := mustAlloc(t, nbls)
	if err := plain.SetNextNB(a, b); err != nil {
		t.Fatal(err)
	}
	if err := nbls.SetFirstNB(h, a); err != nil {
		t.Fatal(err)
	}
	if string(nbls.Data(nbls.FirstNB(h))) != "bcd" || nbls.NextNB(a) != b || nbls.DataLength(b) != 32 {
		t.Error("Pool does not read NB-pool NBs")
	}
	if s := data.Stats(); s != (NBStats{Capacity: 1, Allocated: 1, HighWater: 1, Failures: 1}) {
		t.Errorf("Stats %+v", s)
	}
	m := wantMisuse(t, plain.Free(), PoolFreeWithOutstanding)
	if len(m.NBs) != 1 || m.NBs[0] != a {
		t.Errorf("outstanding %v, want [%v]", m.NBs, a)
	}
	for _, nb := range []NB{a, b} {
		if err := FreeNB(nb); err != nil {
			t.Fatal(err)
		}
	}
	if err := plain.CheckNB(a); !errors.Is(err, &MisuseError{Class: UseAfterFree}) {
		t.Errorf("CheckNB of a freed NB: %v", err)
	}
	if string(mdl) != "abcdef" {
		t.Error("free touched the caller's MDL")
	}
	for _, p := range []*NBPool{plain, data} {
		if err := p.Free(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := plain.AllocateNB(nil, 0, 0); !errors.Is(err, &MisuseError{Class: UseAfterFree}) {
		t.Errorf("allocate from freed pool: %v", err)
	}
	if plain.Params().Name != "hdrs" {
		t.Error("Params")
	}
}
