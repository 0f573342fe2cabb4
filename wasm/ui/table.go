package ui

import "math"

// MaxScrollHeight bounds the height of the virtual table's scroll spacer in CSS pixels. Browsers
// stop laying out elements somewhere above 16 million pixels (Chromium: 2^24 / 64 layout units
// per pixel ≈ 33.5 M), so a longer table scrolls proportionally instead of one row per RowHeight.
const MaxScrollHeight = 8_000_000

// Window is the part of a virtual table to render: rows First .. First+Count-1, the first of them
// drawn Offset CSS pixels below the top of the scroll content.
type Window struct {
	First, Count int
	Offset       float64
	// Height is the height the scroll spacer must have.
	Height float64
	// Scale is content pixels per row pixel: 1 unless the table is taller than MaxScrollHeight.
	Scale float64
}

// VisibleRows computes the window of a table of total rows of rowHeight CSS pixels, scrolled to
// scrollTop in a viewport viewport pixels high, with overscan extra rows drawn above and below so
// that fast scrolling does not show blanks before the next frame.
func VisibleRows(scrollTop, viewport, rowHeight float64, total, overscan int) Window {
	if rowHeight <= 0 || total <= 0 {
		return Window{Scale: 1}
	}
	full := float64(total) * rowHeight
	w := Window{Height: full, Scale: 1}
	if full > MaxScrollHeight {
		w.Height = MaxScrollHeight
		// Map the scroll range onto the row range so that the bottom of the spacer is the last row.
		w.Scale = (full - viewport) / (MaxScrollHeight - viewport)
	}
	scrollTop = math.Max(0, math.Min(scrollTop, w.Height-viewport))
	content := scrollTop * w.Scale // the row-space pixel at the top of the viewport
	first := int(content / rowHeight)
	visible := int(math.Ceil(viewport/rowHeight)) + 1
	w.First = max(first-overscan, 0)
	last := min(first+visible+overscan, total)
	w.Count = max(last-w.First, 0)
	// Row First sits where it would in an unscaled table, shifted by what scaling skipped.
	w.Offset = scrollTop + (float64(w.First)*rowHeight - content)
	return w
}

// ScrollFor returns the scrollTop that shows row i with at least one row of margin, given the
// current scrollTop: unchanged when the row is already in view. For keyboard navigation.
func ScrollFor(i int, scrollTop, viewport, rowHeight float64, total int) float64 {
	w := VisibleRows(scrollTop, viewport, rowHeight, total, 0)
	top := float64(i) * rowHeight / w.Scale
	bottom := top + rowHeight
	switch {
	case top < scrollTop:
		return math.Max(top-rowHeight, 0)
	case bottom > scrollTop+viewport:
		return bottom - viewport + rowHeight
	}
	return scrollTop
}

// Key is a navigation key of the frame table.
type Key uint8

// Navigation keys.
const (
	KeyUp Key = iota + 1
	KeyDown
	KeyPageUp
	KeyPageDown
	KeyHome
	KeyEnd
)

// KeyFromName maps a KeyboardEvent.key value to a navigation key, or 0.
func KeyFromName(name string) Key {
	switch name {
	case "ArrowUp", "k":
		return KeyUp
	case "ArrowDown", "j":
		return KeyDown
	case "PageUp":
		return KeyPageUp
	case "PageDown":
		return KeyPageDown
	case "Home":
		return KeyHome
	case "End":
		return KeyEnd
	}
	return 0
}

// Move returns the row selected after key k, from row cur (-1: none) in a table of total rows of
// which page rows fit on screen. With no row selected, Down and Home select the first row and the
// other keys the last.
func Move(cur int, k Key, page, total int) int {
	if total <= 0 {
		return -1
	}
	page = max(page-1, 1)
	if cur < 0 || cur >= total {
		if k == KeyDown || k == KeyHome {
			return 0
		}
		return total - 1
	}
	switch k {
	case KeyUp:
		cur--
	case KeyDown:
		cur++
	case KeyPageUp:
		cur -= page
	case KeyPageDown:
		cur += page
	case KeyHome:
		cur = 0
	case KeyEnd:
		cur = total - 1
	}
	return min(max(cur, 0), total-1)
}

// FrameIndex is the list of frame numbers a display filter kept, oldest first, in a ring of fixed
// capacity: frames evicted from the capture ring are dropped from its front, new matches appended
// at its back. With no filter the page does not need one: row i is frame first+i.
type FrameIndex struct {
	nums        []uint64
	head, count int
}

// NewFrameIndex returns an index that holds up to capacity frame numbers (the capture ring's frame
// capacity is enough).
func NewFrameIndex(capacity int) *FrameIndex {
	return &FrameIndex{nums: make([]uint64, max(capacity, 1))}
}

// Len returns how many frames the index holds.
func (x *FrameIndex) Len() int { return x.count }

// Clear empties the index.
func (x *FrameIndex) Clear() { x.head, x.count = 0, 0 }

// Append adds frame number num, which must be above every number held; when the index is full the
// oldest goes.
func (x *FrameIndex) Append(num uint64) {
	if x.count == len(x.nums) {
		x.head = (x.head + 1) % len(x.nums)
		x.count--
	}
	x.nums[(x.head+x.count)%len(x.nums)] = num
	x.count++
}

// At returns the i-th frame number, oldest first.
func (x *FrameIndex) At(i int) uint64 { return x.nums[(x.head+i)%len(x.nums)] }

// DropBefore removes the numbers below first (frames the capture ring evicted).
func (x *FrameIndex) DropBefore(first uint64) {
	for x.count > 0 && x.nums[x.head] < first {
		x.head = (x.head + 1) % len(x.nums)
		x.count--
	}
}

// Search returns the position of frame num, or of the first frame above it, and whether num itself
// is held.
func (x *FrameIndex) Search(num uint64) (int, bool) {
	lo, hi := 0, x.count
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x.At(m) < num {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < x.count && x.At(lo) == num
}
