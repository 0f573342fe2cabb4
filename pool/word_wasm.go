//go:build wasm

package pool

// word is one slot's owner-map word (see nblPool.view). GOARCH=wasm runs one thread and switches
// goroutines only at calls, so a plain aligned load or store is already atomic: it is what
// sync/atomic does there, minus the calls the compiler does not inline on wasm (and which would
// keep the accessors that use these types from being inlined).
type word struct{ v uint32 }

func (w *word) load() uint32   { return w.v }
func (w *word) store(x uint32) { w.v = x }

// counter is a statistic bumped outside the pool's lock.
type counter struct{ v uint64 }

func (c *counter) add(n uint64) { c.v += n }
func (c *counter) load() uint64 { return c.v }
