package ui

import "math"

// MapLayout places one square cell per NBL on a canvas, row by row, in device pixels.
type MapLayout struct {
	N          int     // cells (NBLs in the pool)
	Cols, Rows int     // grid
	Pitch      int     // device pixels from one cell to the next, gap included
	Gap        int     // device pixels between cells
	Width      int     // canvas width in device pixels (Cols*Pitch)
	Height     int     // canvas height in device pixels (Rows*Pitch)
	DPR        float64 // device pixels per CSS pixel
}

// Cell sizes in CSS pixels, largest first: a map picks the largest that keeps it within its
// height, so a small pool has big cells you can point at and 65535 NBLs still fit.
var cellSizes = [...]float64{14, 12, 10, 8, 6, 5, 4, 3, 2, 1}

// LayoutMap lays out n cells in a canvas widthCSS CSS pixels wide, at most maxHeightCSS high when
// any cell size allows, on a screen with dpr device pixels per CSS pixel. A zero width or count
// gives an empty layout.
func LayoutMap(n int, widthCSS, maxHeightCSS, dpr float64) MapLayout {
	if dpr <= 0 || math.IsNaN(dpr) {
		dpr = 1
	}
	l := MapLayout{N: n, DPR: dpr}
	width := int(widthCSS * dpr)
	if n <= 0 || width <= 0 {
		return l
	}
	for i, size := range cellSizes {
		pitch := max(int(math.Round(size*dpr)), 1)
		cols := width / pitch
		if cols == 0 {
			continue
		}
		rows := (n + cols - 1) / cols
		if float64(rows*pitch) <= maxHeightCSS*dpr || i == len(cellSizes)-1 {
			l.Pitch, l.Cols, l.Rows = pitch, cols, rows
			break
		}
	}
	if l.Pitch == 0 { // narrower than one cell: one column of one-pixel cells
		l.Pitch, l.Cols, l.Rows = 1, 1, n
	}
	// A one-pixel gap separates cells once they are big enough that losing a pixel still leaves
	// a readable square.
	if l.Pitch >= 4 {
		l.Gap = 1
	}
	l.Cols = min(l.Cols, n)
	l.Width, l.Height = l.Cols*l.Pitch, l.Rows*l.Pitch
	return l
}

// Index returns the cell under the point (x, y) in CSS pixels from the canvas's top left corner,
// or -1 outside every cell.
func (l MapLayout) Index(x, y float64) int {
	if l.Pitch == 0 || x < 0 || y < 0 {
		return -1
	}
	px, py := int(x*l.DPR), int(y*l.DPR)
	col, row := px/l.Pitch, py/l.Pitch
	if col >= l.Cols || row >= l.Rows {
		return -1
	}
	i := row*l.Cols + col
	if i >= l.N {
		return -1
	}
	return i
}

// CellCenter returns the centre of cell i in CSS pixels, for placing a tooltip.
func (l MapLayout) CellCenter(i int) (x, y float64) {
	if l.Cols == 0 {
		return 0, 0
	}
	col, row := i%l.Cols, i/l.Cols
	return (float64(col*l.Pitch) + float64(l.Pitch)/2) / l.DPR, (float64(row*l.Pitch) + float64(l.Pitch)/2) / l.DPR
}

// unknownOwner marks a cell whose colour is not in the pixel buffer yet.
const unknownOwner = 0xff

// MapPainter paints a pool's owner map into an RGBA pixel buffer, one cell per NBL, repainting
// only the cells whose owner changed since the last Paint. The buffer is the canvas's ImageData
// contents: the page copies Pixels to JavaScript in one call when Paint reports a change.
type MapPainter struct {
	layout  MapLayout
	pix     []byte
	prev    []byte // owner painted in each cell, unknownOwner if none
	palette *[256]RGBA
	mark    RGBA
	marked  int // cell drawn with the mark (the selected NBL), -1 for none
}

// NewMapPainter returns a painter that colours owner o with palette[o] and outlines the marked
// cell with mark. The palette is read at every Paint, so the page can switch themes by changing it
// and calling Invalidate.
func NewMapPainter(palette *[256]RGBA, mark RGBA) *MapPainter {
	return &MapPainter{palette: palette, mark: mark, marked: -1}
}

// Layout returns the current layout.
func (p *MapPainter) Layout() MapLayout { return p.layout }

// Pixels returns the pixel buffer: Width*Height*4 bytes, RGBA, row by row.
func (p *MapPainter) Pixels() []byte { return p.pix }

// SetLayout switches to layout l, reusing the buffers when they are big enough; every cell is
// painted again at the next Paint.
func (p *MapPainter) SetLayout(l MapLayout) {
	p.layout = l
	size := l.Width * l.Height * 4
	if cap(p.pix) < size {
		p.pix = make([]byte, size)
	}
	p.pix = p.pix[:size]
	clear(p.pix)
	if cap(p.prev) < l.N {
		p.prev = make([]byte, l.N)
	}
	p.prev = p.prev[:l.N]
	p.Invalidate()
}

// SetMark sets the colour of the outline drawn around the marked cell.
func (p *MapPainter) SetMark(c RGBA) {
	p.mark = c
	p.Invalidate()
}

// Invalidate makes the next Paint repaint every cell (after a palette change).
func (p *MapPainter) Invalidate() {
	for i := range p.prev {
		p.prev[i] = unknownOwner
	}
}

// Mark outlines cell i (-1: none), repainting the cells that gain or lose the outline at the next
// Paint.
func (p *MapPainter) Mark(i int) {
	if i == p.marked {
		return
	}
	if p.marked >= 0 && p.marked < len(p.prev) {
		p.prev[p.marked] = unknownOwner
	}
	if i >= 0 && i < len(p.prev) {
		p.prev[i] = unknownOwner
	}
	p.marked = i
}

// Paint brings the pixels up to date with owners (one owner byte per NBL, as pool.CopyOwners
// writes them) and reports whether any pixel changed.
func (p *MapPainter) Paint(owners []byte) bool {
	n := min(len(owners), len(p.prev))
	changed := false
	for i := 0; i < n; i++ {
		o := owners[i]
		if o == p.prev[i] {
			continue
		}
		p.prev[i] = o
		p.paintCell(i, p.palette[o])
		changed = true
	}
	return changed
}

// paintCell fills cell i with c, leaving the gap transparent, and draws the outline if i is the
// marked cell.
func (p *MapPainter) paintCell(i int, c RGBA) {
	l := p.layout
	size := l.Pitch - l.Gap
	x0, y0 := (i%l.Cols)*l.Pitch, (i/l.Cols)*l.Pitch
	stride := l.Width * 4
	ring := 0
	if i == p.marked {
		ring = max(size/4, 1)
	}
	for y := 0; y < size; y++ {
		row := p.pix[(y0+y)*stride+x0*4 : (y0+y)*stride+(x0+size)*4]
		for x := 0; x < size; x++ {
			px := c
			if ring > 0 && (x < ring || y < ring || x >= size-ring || y >= size-ring) {
				px = p.mark
			}
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = px.R, px.G, px.B, px.A
		}
	}
}
