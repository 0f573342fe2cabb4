//go:build wasm

package pool

// word is one slot's owner-map word (see nblPool.view). GOARCH=wasm runs one thread and switches
// goroutines only at calls, so a plain aligned load or store is already atomic; it is exactly what
// sync/atomic does there, minus the two calls the compiler does not inline on wasm.
type word struct{ v uint32 }

func (w *word) load() uint32   { return w.v }
func (w *word) store(x uint32) { w.v = x }
