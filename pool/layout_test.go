package pool

import (
	"bytes"
	"testing"
)

// Layout and FirstBuffer must read exactly what the accessors read, for every way an NBL's first
// NB can look.
func TestLayoutReadsWhatTheAccessorsRead(t *testing.T) {
	withData := newNBPool(t, NBPoolParams{Name: "nbs with data", DataSize: 32, Capacity: 2})
	nbp := newNBPool(t, NBPoolParams{Name: "nbs", Capacity: 2})
	for _, tt := range []struct {
		name  string
		shape Params
		setup func(t *testing.T, p *Pool, h NBL)
	}{
		{"shape C, fresh", shapeC, func(*testing.T, *Pool, NBL) {}},
		{"shape C, data moved", shapeC, func(t *testing.T, p *Pool, h NBL) {
			if err := p.SetData(p.FirstNB(h), 10, 20); err != nil {
				t.Fatal(err)
			}
			p.SetSourceHandle(h, 7)
			if err := p.SetOwner(h, 5); err != nil {
				t.Fatal(err)
			}
		}},
		{"shape C, data spans a retreat block", shapeC, func(t *testing.T, p *Pool, h NBL) {
			nb := p.FirstNB(h)
			if err := p.SetData(nb, 2, 10); err != nil {
				t.Fatal(err)
			}
			if err := p.RetreatDataStart(nb, 6, 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"shape C, linked", shapeC, func(t *testing.T, p *Pool, h NBL) {
			if err := p.SetNext(h, mustAlloc(t, p)); err != nil {
				t.Fatal(err)
			}
		}},
		{"shape C, two NBs", shapeC, func(t *testing.T, p *Pool, h NBL) {
			nb, err := withData.AllocateNBMdlAndData()
			if err != nil {
				t.Fatal(err)
			}
			if err := p.SetNextNB(p.FirstNB(h), nb); err != nil {
				t.Fatal(err)
			}
		}},
		{"NB of an NB pool", shapeB, func(t *testing.T, p *Pool, h NBL) {
			nb, err := nbp.AllocateNB(make([]byte, 40), 4, 30)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.SetFirstNB(h, nb); err != nil {
				t.Fatal(err)
			}
		}},
		{"NB of an NB pool, freed", shapeB, func(t *testing.T, p *Pool, h NBL) {
			nb, err := nbp.AllocateNB(nil, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.SetFirstNB(h, nb); err != nil {
				t.Fatal(err)
			}
			if err := FreeNB(nb); err != nil {
				t.Fatal(err)
			}
		}},
		{"shape B, no MDL", shapeB, func(*testing.T, *Pool, NBL) {}},
		{"shape A, no NB", shapeA, func(*testing.T, *Pool, NBL) {}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.shape)
			h := mustAlloc(t, p)
			tt.setup(t, p, h)
			got, ok := p.Layout(h)
			if !ok {
				t.Fatal("Layout refused a live NBL")
			}
			nb := p.FirstNB(h)
			want := Layout{Index: p.Index(h), Next: p.Next(h), FirstNB: nb, SourceHandle: p.SourceHandle(h), Owner: p.Owner(h),
				NBLive: nb != 0 && p.CheckNB(nb) == nil, NextNB: p.NextNB(nb), DataOffset: p.DataOffset(nb), DataLength: p.DataLength(nb),
				Data: p.Data(nb)}
			if fields(got) != fields(want) {
				t.Errorf("Layout %+v, accessors %+v", got, want)
			}
			if !bytes.Equal(got.Data, want.Data) || (got.Data == nil) != (want.Data == nil) {
				t.Errorf("Layout.Data %q, Data %q", got.Data, want.Data)
			}
			if fb, b := p.FirstBuffer(h), p.Buffer(nb); len(fb) != len(b) || cap(fb) != cap(b) || (len(b) > 0 && &fb[0] != &b[0]) {
				t.Errorf("FirstBuffer is %d/%d bytes, Buffer(FirstNB) %d/%d", len(fb), cap(fb), len(b), cap(b))
			}
		})
	}
	p := newPool(t, shapeC)
	if l, ok := p.Layout(freed(t, p)); ok || fields(l) != fields(Layout{}) || l.Data != nil {
		t.Errorf("Layout of a freed NBL: %+v, %v", l, ok)
	}
	if _, ok := p.Layout(mustAlloc(t, newPool(t, shapeC))); ok {
		t.Error("Layout read an NBL of another pool")
	}
	if p.FirstBuffer(freed(t, p)) != nil {
		t.Error("FirstBuffer of a freed NBL")
	}
}

// fields is a Layout without Data, to compare.
func fields(l Layout) [9]uint64 {
	live := uint64(0)
	if l.NBLive {
		live = 1
	}
	return [9]uint64{uint64(l.Index), uint64(l.Next), uint64(l.FirstNB), uint64(l.SourceHandle), uint64(l.Owner), live,
		uint64(l.NextNB), uint64(l.DataOffset), uint64(l.DataLength)}
}

// Rearm is SetData(FirstNB, 0, length), SetSourceHandle and SetStatus plus the buffer, and
// refuses what SetData would.
func TestRearm(t *testing.T) {
	t.Run("frame at the start of the buffer", func(t *testing.T) {
		p := newPool(t, shapeC)
		h := mustAlloc(t, p)
		nb := p.FirstNB(h)
		if err := p.SetData(nb, 8, 4); err != nil {
			t.Fatal(err)
		}
		buf := p.Rearm(h, 20, 9, 3)
		if len(buf) != 20 || cap(buf) != 20 || p.DataOffset(nb) != 0 || p.DataLength(nb) != 20 || p.SourceHandle(h) != 9 || p.Status(h) != 3 {
			t.Fatalf("buffer %d/%d, offset %d, length %d, SourceHandle %d, Status %d",
				len(buf), cap(buf), p.DataOffset(nb), p.DataLength(nb), p.SourceHandle(h), p.Status(h))
		}
		copy(buf, "0123456789abcdefghij")
		if string(p.Data(nb)) != "0123456789abcdefghij" || &buf[0] != &p.Buffer(nb)[0] {
			t.Fatalf("Data %q does not alias the buffer", p.Data(nb))
		}
		if p.Rearm(h, 64, 0, 0) == nil || p.Rearm(h, 0, 0, 0) == nil {
			t.Fatal("the whole buffer, or nothing, refused")
		}
	})
	t.Run("retreat block given back", func(t *testing.T) {
		p := newPool(t, shapeC)
		h := mustAlloc(t, p)
		nb := p.FirstNB(h)
		for i := range RetreatBlocks + 1 {
			if err := p.RetreatDataStart(nb, 8, 0); err != nil {
				t.Fatalf("retreat %d: %v", i, err)
			}
			if p.Rearm(h, 14, 0, 0) == nil {
				t.Fatal("Rearm refused")
			}
			if head, tail := p.DataParts(nb); len(head) != 14 || tail != nil || &head[0] != &p.Buffer(nb)[0] {
				t.Fatalf("after Rearm the data is not the buffer's first 14 bytes")
			}
		}
	})
	for _, tt := range []struct {
		name    string
		shape   Params
		length  uint32
		dead    bool
		misuses uint64
	}{
		{"longer than the buffer", shapeC, 65, false, 0},
		{"no MDL", shapeB, 1, false, 0},
		{"no NB", shapeA, 0, false, 1},
		{"freed NBL", shapeC, 1, true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.shape)
			h := mustAlloc(t, p)
			if tt.dead {
				mustFree(t, h)
			}
			nb := p.FirstNB(h)
			off, length, src := p.DataOffset(nb), p.DataLength(nb), p.SourceHandle(h)
			if buf := p.Rearm(h, tt.length, 5, 5); buf != nil {
				t.Fatalf("Rearm(%d) gave a %d-byte buffer", tt.length, len(buf))
			}
			if p.DataOffset(nb) != off || p.DataLength(nb) != length || p.SourceHandle(h) != src {
				t.Errorf("refused Rearm changed the NBL")
			}
			if got := p.Stats().Misuses; got != tt.misuses {
				t.Errorf("Misuses %d, want %d", got, tt.misuses)
			}
		})
	}
}

func TestLinkChainsInOrder(t *testing.T) {
	p := newPool(t, shapeC)
	hs := []NBL{mustAlloc(t, p), mustAlloc(t, p), mustAlloc(t, p)}
	_ = p.SetNext(hs[2], hs[0]) // stale link: Link must end the chain
	for _, tt := range []struct {
		nbls []NBL
		next []NBL // Next of each after Link
	}{
		{[]NBL{hs[0], hs[1], hs[2]}, []NBL{hs[1], hs[2], 0}},
		{[]NBL{hs[2], hs[0]}, []NBL{hs[0], 0}},
		{[]NBL{hs[1]}, []NBL{0}},
	} {
		head, err := p.Link(tt.nbls)
		if err != nil || head != tt.nbls[0] {
			t.Fatalf("Link(%v) = %v, %v", tt.nbls, head, err)
		}
		for i, h := range tt.nbls {
			if p.Next(h) != tt.next[i] {
				t.Errorf("Link(%v): Next(%v) = %v, want %v", tt.nbls, h, p.Next(h), tt.next[i])
			}
		}
		if n := ChainLength(p, head); n != len(tt.nbls) {
			t.Errorf("Link(%v): chain of %d", tt.nbls, n)
		}
	}
	if head, err := p.Link(nil); head != 0 || err != nil {
		t.Errorf("Link(nil) = %v, %v", head, err)
	}
	other := newPool(t, shapeC)
	wantMisuse(t, func() error { _, err := p.Link([]NBL{hs[0], mustAlloc(t, other)}); return err }(), ForeignNBLFree)
}

func TestSetOwnersSetsEveryLiveNBL(t *testing.T) {
	p := newPool(t, shapeC)
	a, b, c := mustAlloc(t, p), mustAlloc(t, p), mustAlloc(t, p)
	if err := p.SetOwners([]NBL{a, b, c}, 7); err != nil {
		t.Fatal(err)
	}
	for _, h := range []NBL{a, b, c} {
		if p.Owner(h) != 7 {
			t.Errorf("owner of %v is %d, want 7", h, p.Owner(h))
		}
	}
	// A dead NBL in the middle is reported; the live ones still change.
	mustFree(t, b)
	wantMisuse(t, p.SetOwners([]NBL{a, b, c}, 9), UseAfterFree)
	if p.Owner(a) != 9 || p.Owner(c) != 9 {
		t.Errorf("owners %d and %d, want 9", p.Owner(a), p.Owner(c))
	}
	if s := checkInvariants(t, p); s.PerOwner[9] != 2 || s.PerOwner[OwnerPool] != 2 {
		t.Errorf("per owner %v", s.PerOwner[:10])
	}
}
