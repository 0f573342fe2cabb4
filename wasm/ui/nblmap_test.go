package ui

import (
	"math/rand/v2"
	"testing"
)

func TestLayoutMapPicksLargestCellThatFits(t *testing.T) {
	tests := []struct {
		name           string
		n              int
		width, maxH    float64
		dpr            float64
		pitch, cols    int
		rows, gap      int
		wantW, wantH   int
		wantEmptyPitch bool
	}{
		{name: "small pool gets 14px cells", n: 64, width: 400, maxH: 200, dpr: 1,
			pitch: 14, cols: 28, rows: 3, gap: 1, wantW: 28 * 14, wantH: 3 * 14},
		{name: "fewer NBLs than columns shrink the canvas", n: 10, width: 400, maxH: 200, dpr: 1,
			pitch: 14, cols: 10, rows: 1, gap: 1, wantW: 140, wantH: 14},
		{name: "high dpr doubles device pixels", n: 64, width: 400, maxH: 200, dpr: 2,
			pitch: 28, cols: 28, rows: 3, gap: 1, wantW: 28 * 28, wantH: 3 * 28},
		{name: "4096 NBLs in 400x160 take 4px cells", n: 4096, width: 400, maxH: 160, dpr: 1,
			// 14: 28 cols, 147 rows; ... 5: 80 cols, 52 rows = 260 > 160; 4: 100 cols, 41 rows = 164 > 160;
			// 3: 133 cols, 31 rows = 93 <= 160.
			pitch: 3, cols: 133, rows: 31, gap: 0, wantW: 399, wantH: 93},
		{name: "huge pool falls back to 1px cells past the height", n: 65535, width: 100, maxH: 50, dpr: 1,
			pitch: 1, cols: 100, rows: 656, gap: 0, wantW: 100, wantH: 656},
		{name: "zero width is empty", n: 64, width: 0, maxH: 100, dpr: 1, wantEmptyPitch: true},
		{name: "zero NBLs is empty", n: 0, width: 300, maxH: 100, dpr: 1, wantEmptyPitch: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := LayoutMap(tc.n, tc.width, tc.maxH, tc.dpr)
			if tc.wantEmptyPitch {
				if l.Pitch != 0 || l.Width != 0 || l.Height != 0 {
					t.Fatalf("got %+v, want an empty layout", l)
				}
				return
			}
			if l.Pitch != tc.pitch || l.Cols != tc.cols || l.Rows != tc.rows || l.Gap != tc.gap ||
				l.Width != tc.wantW || l.Height != tc.wantH {
				t.Fatalf("got %+v\nwant pitch %d cols %d rows %d gap %d size %dx%d",
					l, tc.pitch, tc.cols, tc.rows, tc.gap, tc.wantW, tc.wantH)
			}
		})
	}
}

func TestMapIndexAndCellCenterAgree(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for k := 0; k < 200; k++ {
		n := 1 + r.IntN(5000)
		dpr := []float64{1, 1.25, 1.5, 2, 3}[r.IntN(5)]
		l := LayoutMap(n, 50+r.Float64()*600, 40+r.Float64()*300, dpr)
		i := r.IntN(n)
		x, y := l.CellCenter(i)
		if got := l.Index(x, y); got != i {
			t.Fatalf("layout %+v: centre of cell %d at (%.2f, %.2f) maps back to %d", l, i, x, y, got)
		}
	}
}

func TestMapIndexOutsideCellsIsMinusOne(t *testing.T) {
	l := LayoutMap(10, 400, 100, 1) // 10 cells of 14px in one row
	for _, p := range [][2]float64{{-1, 5}, {5, -1}, {140, 5}, {5, 14}, {1000, 1000}} {
		if i := l.Index(p[0], p[1]); i != -1 {
			t.Errorf("Index(%v, %v) = %d, want -1", p[0], p[1], i)
		}
	}
	if i := l.Index(13.5, 13.5); i != 0 {
		t.Errorf("Index(13.5, 13.5) = %d, want 0 (the gap pixel still belongs to the cell)", i)
	}
}

func testPalette() *[256]RGBA {
	var p [256]RGBA
	for i := range p {
		p[i] = RGBA{uint8(i), uint8(i * 2), uint8(i * 3), 255}
	}
	return &p
}

func pixel(p *MapPainter, x, y int) RGBA {
	i := (y*p.layout.Width + x) * 4
	px := p.pix[i : i+4]
	return RGBA{px[0], px[1], px[2], px[3]}
}

func TestMapPainterPaintsCellsAndLeavesGapsTransparent(t *testing.T) {
	pal := testPalette()
	p := NewMapPainter(pal, RGBA{255, 255, 255, 255})
	p.SetLayout(LayoutMap(3, 100, 100, 1)) // 3 cells of 14px, 1px gap
	if !p.Paint([]byte{0, 5, 9}) {
		t.Fatal("first paint reported no change")
	}
	for i, o := range []byte{0, 5, 9} {
		x0 := i * 14
		if got := pixel(p, x0, 0); got != pal[o] {
			t.Errorf("cell %d top-left = %v, want owner %d colour %v", i, got, o, pal[o])
		}
		if got := pixel(p, x0+12, 12); got != pal[o] {
			t.Errorf("cell %d bottom-right = %v, want %v", i, got, pal[o])
		}
		if got := pixel(p, x0+13, 5); got != (RGBA{}) {
			t.Errorf("cell %d gap column = %v, want transparent", i, got)
		}
		if got := pixel(p, x0+5, 13); got != (RGBA{}) {
			t.Errorf("cell %d gap row = %v, want transparent", i, got)
		}
	}
	if p.Paint([]byte{0, 5, 9}) {
		t.Fatal("painting the same owners again reported a change")
	}
	if !p.Paint([]byte{0, 6, 9}) || pixel(p, 14, 0) != pal[6] {
		t.Fatal("owner change of cell 1 not painted")
	}
}

func TestMapPainterMarkOutlinesOneCell(t *testing.T) {
	pal := testPalette()
	mark := RGBA{250, 0, 0, 255}
	p := NewMapPainter(pal, mark)
	p.SetLayout(LayoutMap(2, 100, 100, 1))
	p.Paint([]byte{4, 4})
	p.Mark(1)
	if !p.Paint([]byte{4, 4}) {
		t.Fatal("marking a cell reported no change")
	}
	if got := pixel(p, 14, 0); got != mark {
		t.Errorf("marked cell edge = %v, want mark %v", got, mark)
	}
	if got := pixel(p, 14+6, 6); got != pal[4] {
		t.Errorf("marked cell centre = %v, want owner colour %v", got, pal[4])
	}
	if got := pixel(p, 0, 0); got != pal[4] {
		t.Errorf("unmarked cell edge = %v, want owner colour", got)
	}
	p.Mark(-1)
	p.Paint([]byte{4, 4})
	if got := pixel(p, 14, 0); got != pal[4] {
		t.Errorf("after unmarking, edge = %v, want owner colour", got)
	}
}

func TestMapPainterPaintDoesNotAllocate(t *testing.T) {
	p := NewMapPainter(testPalette(), RGBA{})
	p.SetLayout(LayoutMap(1024, 400, 200, 2))
	owners := make([]byte, 1024)
	i := 0
	if n := testing.AllocsPerRun(50, func() {
		i++
		owners[i%1024] = byte(i % 12)
		p.Paint(owners)
	}); n != 0 {
		t.Fatalf("%v allocations per paint, want 0", n)
	}
}

func BenchmarkMapPainterFullRepaint(b *testing.B) {
	p := NewMapPainter(testPalette(), RGBA{})
	p.SetLayout(LayoutMap(1024, 420, 200, 2))
	a, c := make([]byte, 1024), make([]byte, 1024)
	for i := range c {
		c[i] = 3
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			p.Paint(a)
		} else {
			p.Paint(c)
		}
	}
}
