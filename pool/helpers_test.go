package pool

import (
	"errors"
	"testing"
)

// newPool creates an NBL pool or fails the test.
func newPool(t testing.TB, params Params) *Pool {
	t.Helper()
	p, err := NewNBLPool(params)
	if err != nil {
		t.Fatalf("NewNBLPool(%+v): %v", params, err)
	}
	return p
}

func newNBPool(t testing.TB, params NBPoolParams) *NBPool {
	t.Helper()
	p, err := NewNBPool(params)
	if err != nil {
		t.Fatalf("NewNBPool(%+v): %v", params, err)
	}
	return p
}

// Pool parameters of each shape, small enough to exhaust.
var (
	shapeA = Params{Name: "shape A", Tag: MakeTag("TstA"), Capacity: 4}
	shapeB = Params{Name: "shape B", Tag: MakeTag("TstB"), AllocateNB: true, Capacity: 4}
	shapeC = Params{Name: "shape C", Tag: MakeTag("TstC"), AllocateNB: true, DataSize: 64, Capacity: 4}
)

func mustAlloc(t testing.TB, p *Pool) NBL {
	t.Helper()
	h, err := p.AllocateNBL(0, 0)
	if err != nil {
		t.Fatalf("AllocateNBL: %v", err)
	}
	return h
}

func mustFree(t testing.TB, h NBL) {
	t.Helper()
	if err := FreeNBL(h); err != nil {
		t.Fatalf("FreeNBL(%v): %v", h, err)
	}
}

// wantMisuse checks that err is a *MisuseError of class c.
func wantMisuse(t testing.TB, err error, c MisuseClass) *MisuseError {
	t.Helper()
	if !errors.Is(err, &MisuseError{Class: c}) {
		t.Fatalf("got %v, want a %v misuse", err, c)
	}
	var m *MisuseError
	errors.As(err, &m)
	return m
}

// checkInvariants checks what must hold between any two operations.
func checkInvariants(t testing.TB, p *Pool) Stats {
	t.Helper()
	s := p.Stats()
	if s.Allocated+s.Free != s.Capacity {
		t.Fatalf("Allocated %d + Free %d != Capacity %d", s.Allocated, s.Free, s.Capacity)
	}
	if s.PerOwner[OwnerPool] != s.Free {
		t.Fatalf("PerOwner[OwnerPool] %d != Free %d", s.PerOwner[OwnerPool], s.Free)
	}
	sum := 0
	for _, n := range s.PerOwner {
		sum += n
	}
	if sum != s.Capacity {
		t.Fatalf("PerOwner sums to %d, capacity %d", sum, s.Capacity)
	}
	if s.HighWater < s.Allocated {
		t.Fatalf("HighWater %d < Allocated %d", s.HighWater, s.Allocated)
	}
	return s
}
