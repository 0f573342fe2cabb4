//go:build !wasm

package pool

import "sync/atomic"

// word is one slot's owner-map word (see nblPool.view). Readers of the map run on other
// goroutines while the datapath writes it, so natively every access is atomic.
type word struct{ v atomic.Uint32 }

func (w *word) load() uint32   { return w.v.Load() }
func (w *word) store(x uint32) { w.v.Store(x) }

// counter is a statistic bumped outside the pool's lock.
type counter struct{ v atomic.Uint64 }

func (c *counter) add(n uint64) { c.v.Add(n) }
func (c *counter) load() uint64 { return c.v.Load() }
