//go:build wasm

package ndis

// sharedNanos is a time in Unix nanoseconds that other goroutines read while the datapath
// writes it (the adapter's stamp, an NBL's watchdog start). GOARCH=wasm runs one thread and
// switches goroutines only at calls, so a plain aligned load or store is already atomic: it is
// what sync/atomic does there, minus a call per access (the compiler does not inline sync/atomic
// on wasm), which the per-NBL paths pay several times per frame.
type sharedNanos struct{ v int64 }

func (n *sharedNanos) load() int64   { return n.v }
func (n *sharedNanos) store(t int64) { n.v = t }

// sharedBool is a bool shared the same way (an NBL's watchdog report).
type sharedBool struct{ v bool }

func (f *sharedBool) load() bool   { return f.v }
func (f *sharedBool) store(b bool) { f.v = b }

func (f *sharedBool) compareAndSwap(old, v bool) bool {
	if f.v != old {
		return false
	}
	f.v = v
	return true
}

// sharedPtr is a pointer replaced whole on every change and read by every chain or frame (the
// receive filter, the binding, the pool registry).
type sharedPtr[T any] struct{ p *T }

func (s *sharedPtr[T]) Load() *T   { return s.p }
func (s *sharedPtr[T]) Store(x *T) { s.p = x }

func (s *sharedPtr[T]) CompareAndSwap(old, x *T) bool {
	if s.p != old {
		return false
	}
	s.p = x
	return true
}

// sharedCount is a counter several goroutines change and read.
type sharedCount struct{ v int32 }

func (c *sharedCount) add(d int32) { c.v += d }
func (c *sharedCount) load() int32 { return c.v }

// sharedInt64 and sharedUint64 are counters the datapath adds to once per chain and others read
// (outstanding NBLs, statistics).
type sharedInt64 struct{ v int64 }

func (c *sharedInt64) Add(d int64) int64 { c.v += d; return c.v }
func (c *sharedInt64) Load() int64       { return c.v }

type sharedUint64 struct{ v uint64 }

func (c *sharedUint64) Add(d uint64) uint64 { c.v += d; return c.v }
func (c *sharedUint64) Load() uint64        { return c.v }
