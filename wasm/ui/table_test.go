package ui

import (
	"math/rand/v2"
	"testing"
)

func TestVisibleRows(t *testing.T) {
	tests := []struct {
		name                      string
		scrollTop, viewport, rowH float64
		total, overscan           int
		first, count              int
		offset, height            float64
	}{
		{name: "top of a long table", scrollTop: 0, viewport: 100, rowH: 20, total: 1000, overscan: 0,
			first: 0, count: 6, offset: 0, height: 20000},
		{name: "scrolled mid-row", scrollTop: 210, viewport: 100, rowH: 20, total: 1000, overscan: 0,
			// rows 10 (half hidden) .. 15
			first: 10, count: 6, offset: 200, height: 20000},
		{name: "overscan adds rows both sides", scrollTop: 210, viewport: 100, rowH: 20, total: 1000, overscan: 2,
			first: 8, count: 10, offset: 160, height: 20000},
		{name: "short table is cut at its end", scrollTop: 0, viewport: 100, rowH: 20, total: 3, overscan: 4,
			first: 0, count: 3, offset: 0, height: 60},
		{name: "scroll past the end is clamped", scrollTop: 1e9, viewport: 100, rowH: 20, total: 10, overscan: 0,
			// clamped to 100: rows 5..9
			first: 5, count: 5, offset: 100, height: 200},
		{name: "empty table", scrollTop: 0, viewport: 100, rowH: 20, total: 0, overscan: 3,
			first: 0, count: 0, offset: 0, height: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := VisibleRows(tc.scrollTop, tc.viewport, tc.rowH, tc.total, tc.overscan)
			if w.First != tc.first || w.Count != tc.count || w.Offset != tc.offset || w.Height != tc.height {
				t.Fatalf("got %+v, want first %d count %d offset %v height %v", w, tc.first, tc.count, tc.offset, tc.height)
			}
		})
	}
}

func TestVisibleRowsOfAHugeTableReachesEveryRow(t *testing.T) {
	const rowH, viewport = 20.0, 400.0
	total := 2 * MaxScrollHeight / 20 // twice what fits
	top := VisibleRows(0, viewport, rowH, total, 0)
	if top.Height != MaxScrollHeight || top.First != 0 || top.Offset != 0 {
		t.Fatalf("top: %+v", top)
	}
	bottom := VisibleRows(MaxScrollHeight-viewport, viewport, rowH, total, 0)
	if last := bottom.First + bottom.Count - 1; last != total-1 {
		t.Fatalf("scrolled to the bottom, last row drawn is %d, want %d (%+v)", last, total-1, bottom)
	}
	// The last row must end at the bottom of the viewport, not below it.
	end := bottom.Offset + float64(total-bottom.First)*rowH
	if scrollBottom := MaxScrollHeight; end > float64(scrollBottom)+0.001 || end < float64(scrollBottom)-rowH {
		t.Fatalf("last row ends at %v, viewport bottom at %v", end, scrollBottom)
	}
}

func TestScrollForKeepsTheRowInView(t *testing.T) {
	const rowH, viewport = 20.0, 100.0
	if got := ScrollFor(2, 0, viewport, rowH, 100); got != 0 {
		t.Errorf("row in view moved the scroll to %v", got)
	}
	if got := ScrollFor(10, 0, viewport, rowH, 100); got != 10*rowH+rowH-viewport+rowH {
		t.Errorf("row below: scroll %v, want %v", got, 10*rowH+rowH-viewport+rowH)
	}
	if got := ScrollFor(3, 200, viewport, rowH, 100); got != 2*rowH {
		t.Errorf("row above: scroll %v, want %v", got, 2*rowH)
	}
}

func TestMove(t *testing.T) {
	tests := []struct {
		name              string
		cur               int
		k                 Key
		page, total, want int
	}{
		{"down", 3, KeyDown, 10, 100, 4},
		{"up", 3, KeyUp, 10, 100, 2},
		{"up at top stays", 0, KeyUp, 10, 100, 0},
		{"down at bottom stays", 99, KeyDown, 10, 100, 99},
		{"page down moves a page less one row", 3, KeyPageDown, 10, 100, 12},
		{"page up clamps", 3, KeyPageUp, 10, 100, 0},
		{"home", 50, KeyHome, 10, 100, 0},
		{"end", 50, KeyEnd, 10, 100, 99},
		{"down without selection takes the first", -1, KeyDown, 10, 100, 0},
		{"up without selection takes the last", -1, KeyUp, 10, 100, 99},
		{"empty table selects nothing", 5, KeyDown, 10, 0, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Move(tc.cur, tc.k, tc.page, tc.total); got != tc.want {
				t.Fatalf("Move(%d, %d, %d, %d) = %d, want %d", tc.cur, tc.k, tc.page, tc.total, got, tc.want)
			}
		})
	}
}

func TestKeyFromName(t *testing.T) {
	for name, want := range map[string]Key{"ArrowUp": KeyUp, "ArrowDown": KeyDown, "j": KeyDown, "k": KeyUp,
		"PageUp": KeyPageUp, "PageDown": KeyPageDown, "Home": KeyHome, "End": KeyEnd, "a": 0, "Enter": 0} {
		if got := KeyFromName(name); got != want {
			t.Errorf("KeyFromName(%q) = %d, want %d", name, got, want)
		}
	}
}

// TestFrameIndexMatchesASliceModel runs random appends, evictions and searches against a plain
// slice.
func TestFrameIndexMatchesASliceModel(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	const capacity = 50
	x := NewFrameIndex(capacity)
	var model []uint64
	next := uint64(1)
	for step := 0; step < 5000; step++ {
		switch r.IntN(4) {
		case 0, 1:
			next += uint64(1 + r.IntN(3))
			x.Append(next)
			model = append(model, next)
			if len(model) > capacity {
				model = model[1:]
			}
		case 2:
			cut := next - uint64(r.IntN(40))
			x.DropBefore(cut)
			for len(model) > 0 && model[0] < cut {
				model = model[1:]
			}
		case 3:
			num := next - uint64(r.IntN(60))
			pos, found := x.Search(num)
			wantPos, wantFound := len(model), false
			for i, v := range model {
				if v >= num {
					wantPos, wantFound = i, v == num
					break
				}
			}
			if pos != wantPos || found != wantFound {
				t.Fatalf("step %d: Search(%d) = %d, %v; want %d, %v", step, num, pos, found, wantPos, wantFound)
			}
		}
		if x.Len() != len(model) {
			t.Fatalf("step %d: Len %d, model %d", step, x.Len(), len(model))
		}
		for i, v := range model {
			if x.At(i) != v {
				t.Fatalf("step %d: At(%d) = %d, want %d", step, i, x.At(i), v)
			}
		}
	}
}
