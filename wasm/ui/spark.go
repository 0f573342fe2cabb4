package ui

import "math"

// Series is the recent history of one measurement for a sparkline: a ring of the last Cap
// samples, oldest first.
type Series struct {
	v           []float64
	head, count int
}

// NewSeries returns a series that keeps the last n samples.
func NewSeries(n int) *Series { return &Series{v: make([]float64, max(n, 2))} }

// Cap returns how many samples the series keeps.
func (s *Series) Cap() int { return len(s.v) }

// Len returns how many samples it holds.
func (s *Series) Len() int { return s.count }

// Push adds a sample, dropping the oldest when full. NaN and infinities count as 0.
func (s *Series) Push(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	if s.count == len(s.v) {
		s.v[s.head] = v
		s.head = (s.head + 1) % len(s.v)
		return
	}
	s.v[(s.head+s.count)%len(s.v)] = v
	s.count++
}

// At returns sample i, oldest first.
func (s *Series) At(i int) float64 { return s.v[(s.head+i)%len(s.v)] }

// Last returns the newest sample, 0 when empty.
func (s *Series) Last() float64 {
	if s.count == 0 {
		return 0
	}
	return s.At(s.count - 1)
}

// Max returns the largest sample, 0 when empty.
func (s *Series) Max() float64 {
	m := 0.0
	for i := 0; i < s.count; i++ {
		m = math.Max(m, s.At(i))
	}
	return m
}

// Reset empties the series.
func (s *Series) Reset() { s.head, s.count = 0, 0 }

// NiceCeil rounds v up to 1, 2 or 5 times a power of ten, the top of a sparkline's scale; 1 for
// v <= 0 so an idle line lies on the bottom.
func NiceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range [...]float64{1, 2, 5, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// Points appends the series as a polyline to dst[:0]: the newest sample at the right edge of a
// w×h box, one slot per sample of capacity to its left, y from h-pad (0) up to pad (top). Values
// above top are drawn at the top.
func (s *Series) Points(dst []float32, w, h, pad, top float64) []float32 {
	dst = dst[:0]
	if s.count == 0 || top <= 0 {
		return dst
	}
	step := (w - 2*pad) / float64(len(s.v)-1)
	x0 := w - pad - float64(s.count-1)*step
	span := h - 2*pad
	for i := 0; i < s.count; i++ {
		v := math.Min(s.At(i)/top, 1)
		dst = append(dst, float32(x0+float64(i)*step), float32(h-pad-v*span))
	}
	return dst
}

// Meter turns a counter that only grows into a rate per second. A counter that went down (the
// adapter was brought up again and counts from zero) restarts the meter instead of giving a
// negative rate.
type Meter struct {
	t     float64 // seconds
	v     uint64
	valid bool
}

// Sample records counter value v at time t seconds and returns the rate since the previous
// sample, or 0 for the first one.
func (m *Meter) Sample(t float64, v uint64) float64 {
	prevT, prevV, ok := m.t, m.v, m.valid
	m.t, m.v, m.valid = t, v, true
	if !ok || v < prevV || t <= prevT {
		return 0
	}
	return float64(v-prevV) / (t - prevT)
}

// Reset forgets the previous sample.
func (m *Meter) Reset() { m.valid = false }
