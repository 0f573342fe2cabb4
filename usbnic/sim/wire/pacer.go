package wire

import (
	"math"
	"math/bits"
	"time"
)

// pacer spaces a profile's frames evenly: frame i is due i*num/den nanoseconds after start.
// Floods and the web mix use num = 1e9 and den = frames per second; idle chatter uses num =
// the interval in nanoseconds and den = 1. Keeping the ratio instead of a period in whole
// nanoseconds keeps odd rates such as 1,488,095 frames/s from drifting.
type pacer struct {
	unpaced  bool // every frame is due as soon as it is asked for
	start    time.Time
	num, den uint64
	next     uint64 // index of the next frame to deliver
}

func pacedEvery(start time.Time, interval time.Duration) pacer {
	return pacer{start: start, num: uint64(interval), den: 1}
}

// pacedAt returns a pacer for rate frames per second, or an unpaced one for rate 0.
func pacedAt(start time.Time, rate int) pacer {
	if rate == 0 {
		return pacer{unpaced: true}
	}
	return pacer{start: start, num: uint64(time.Second), den: uint64(rate)}
}

// dueBy returns how many frames are due elapsed after start: those with i*num/den <= elapsed.
func (p *pacer) dueBy(elapsed time.Duration) uint64 {
	if elapsed < 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(elapsed), p.den)
	if hi >= p.num { // more than 2^64 frames due: never in practice, but Div64 would panic
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, p.num)
	return q + 1
}

// dueAt returns when frame i is due, rounded up to the nanosecond.
func (p *pacer) dueAt(i uint64) time.Duration {
	hi, lo := bits.Mul64(i, p.num)
	if hi >= p.den {
		return math.MaxInt64
	}
	q, r := bits.Div64(hi, lo, p.den)
	if r != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(q)
}

// skipLate skips the frames due maxLag or more before now and returns how many it skipped.
func (p *pacer) skipLate(now time.Time, maxLag time.Duration) (missed uint64) {
	if p.unpaced {
		return 0
	}
	if elapsed := now.Sub(p.start); elapsed >= maxLag {
		if late := p.dueBy(elapsed - maxLag); late > p.next {
			missed = late - p.next
			p.next = late
		}
	}
	return missed
}

// take claims the next frame if it is due at now.
func (p *pacer) take(now time.Time) bool {
	if p.unpaced {
		return true
	}
	if p.dueBy(now.Sub(p.start)) <= p.next {
		return false
	}
	p.next++
	return true
}

// takeUpTo claims up to max of the frames due at now and returns how many.
func (p *pacer) takeUpTo(now time.Time, max int) int {
	if p.unpaced {
		return max
	}
	due := p.dueBy(now.Sub(p.start))
	if due <= p.next {
		return 0
	}
	n := int(min(due-p.next, uint64(max)))
	p.next += uint64(n)
	return n
}

// wait returns how long after now the next frame falls due.
func (p *pacer) wait(now time.Time) time.Duration {
	return p.dueAt(p.next) - now.Sub(p.start)
}
