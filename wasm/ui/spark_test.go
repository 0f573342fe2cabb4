package ui

import (
	"math"
	"testing"
)

func TestSeriesKeepsTheLastN(t *testing.T) {
	s := NewSeries(3)
	for _, v := range []float64{1, 2, 3, 4, math.NaN()} {
		s.Push(v)
	}
	got := []float64{s.At(0), s.At(1), s.At(2)}
	if s.Len() != 3 || got[0] != 3 || got[1] != 4 || got[2] != 0 {
		t.Fatalf("len %d, samples %v; want [3 4 0] (NaN as 0)", s.Len(), got)
	}
	if s.Max() != 4 || s.Last() != 0 {
		t.Fatalf("max %v last %v, want 4 and 0", s.Max(), s.Last())
	}
	s.Reset()
	if s.Len() != 0 || s.Max() != 0 || s.Last() != 0 {
		t.Fatal("reset series not empty")
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{0, 1}, {-3, 1}, {1, 1}, {1.01, 2}, {2, 2}, {3, 5}, {7, 10}, {10, 10}, {11, 20},
		{480, 500}, {1_488_095, 2_000_000}, {0.03, 0.05},
	} {
		if got := NiceCeil(tc.in); math.Abs(got-tc.want) > 1e-12*tc.want {
			t.Errorf("NiceCeil(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSeriesPointsPlaceTheNewestAtTheRightEdge(t *testing.T) {
	s := NewSeries(5)
	s.Push(0)
	s.Push(5)
	s.Push(10)
	pts := s.Points(nil, 104, 54, 2, 10)
	// 5 slots over 100 px: a step of 25; three samples end at x = 102.
	want := []float32{52, 52, 77, 27, 102, 2}
	if len(pts) != len(want) {
		t.Fatalf("points %v, want %v", pts, want)
	}
	for i := range want {
		if math.Abs(float64(pts[i]-want[i])) > 1e-4 {
			t.Fatalf("points %v, want %v", pts, want)
		}
	}
	s.Push(99) // above the top: drawn at the top
	pts = s.Points(pts, 104, 54, 2, 10)
	if pts[len(pts)-1] != 2 {
		t.Fatalf("value above top drawn at y %v, want 2", pts[len(pts)-1])
	}
	if n := testing.AllocsPerRun(20, func() { pts = s.Points(pts, 104, 54, 2, 10) }); n != 0 {
		t.Fatalf("%v allocations reusing the slice, want 0", n)
	}
}

func TestMeter(t *testing.T) {
	var m Meter
	if r := m.Sample(1, 100); r != 0 {
		t.Fatalf("first sample rate %v, want 0", r)
	}
	if r := m.Sample(1.5, 600); r != 1000 {
		t.Fatalf("rate %v, want 1000/s", r)
	}
	if r := m.Sample(2, 10); r != 0 {
		t.Fatalf("counter went down: rate %v, want 0", r)
	}
	if r := m.Sample(3, 20); r != 10 {
		t.Fatalf("after a restart: rate %v, want 10/s", r)
	}
	if r := m.Sample(3, 30); r != 0 {
		t.Fatalf("no time passed: rate %v, want 0", r)
	}
}
