//go:build !wasm

package pool

import "sync/atomic"

// word is one slot's owner-map word (see nblPool.view). Readers of the map run on other
// goroutines while the datapath writes it, so natively every access is atomic.
type word struct{ v atomic.Uint32 }

func (w *word) load() uint32   { return w.v.Load() }
func (w *word) store(x uint32) { w.v.Store(x) }
