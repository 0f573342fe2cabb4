//go:build !wasm

package ndis

import "sync/atomic"

// sharedNanos is a time in Unix nanoseconds that other goroutines read while the datapath
// writes it (the adapter's stamp, an NBL's watchdog start). Natively every access is atomic.
type sharedNanos struct{ v atomic.Int64 }

func (n *sharedNanos) load() int64   { return n.v.Load() }
func (n *sharedNanos) store(t int64) { n.v.Store(t) }

// sharedBool is a bool shared the same way (an NBL's watchdog report).
type sharedBool struct{ v atomic.Bool }

func (f *sharedBool) load() bool                      { return f.v.Load() }
func (f *sharedBool) store(b bool)                    { f.v.Store(b) }
func (f *sharedBool) compareAndSwap(old, v bool) bool { return f.v.CompareAndSwap(old, v) }

// sharedPtr is a pointer replaced whole on every change and read by every chain or frame (the
// receive filter, the binding, the pool registry).
type sharedPtr[T any] struct{ p atomic.Pointer[T] }

func (s *sharedPtr[T]) Load() *T                      { return s.p.Load() }
func (s *sharedPtr[T]) Store(x *T)                    { s.p.Store(x) }
func (s *sharedPtr[T]) CompareAndSwap(old, x *T) bool { return s.p.CompareAndSwap(old, x) }

// sharedCount is a counter several goroutines change and read.
type sharedCount struct{ v atomic.Int32 }

func (c *sharedCount) add(d int32) { c.v.Add(d) }
func (c *sharedCount) load() int32 { return c.v.Load() }

// sharedInt64 and sharedUint64 are counters the datapath adds to once per chain and others read
// (outstanding NBLs, statistics).
type sharedInt64 struct{ v atomic.Int64 }

func (c *sharedInt64) Add(d int64) int64 { return c.v.Add(d) }
func (c *sharedInt64) Load() int64       { return c.v.Load() }

type sharedUint64 struct{ v atomic.Uint64 }

func (c *sharedUint64) Add(d uint64) uint64 { return c.v.Add(d) }
func (c *sharedUint64) Load() uint64        { return c.v.Load() }
