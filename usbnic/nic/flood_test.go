package nic_test

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"webminiport/usbnic/nic"
)

// floodSeqOffset is where the wire's flood frames carry their 64-bit big-endian sequence
// number: the first payload byte after the Ethernet, IPv4 and UDP headers (14 + 20 + 8).
const floodSeqOffset = 42

// TestFloodArrivesInOrderWithoutAllocating: a flood of minimum-size frames, pulled as fast as
// the core takes them with several bulk-IN transfers in flight, reaches the protocol in
// sequence order (completions are handed on in the order the transfers were submitted; the
// AX88772 stream even splits frames across transfers), and the whole steady receive path —
// transport, fixup, receive engine, indication, return — allocates nothing per transfer.
func TestFloodArrivesInOrderWithoutAllocating(t *testing.T) {
	for _, m := range trafficModels {
		t.Run(m.Name, func(t *testing.T) {
			r := newRig(t, m, nic.Options{})
			r.waitLink()
			var (
				last             uint64
				frames, disorder int
			)
			r.proto.mu.Lock()
			r.proto.onFrame = func(f []byte) {
				if len(f) < floodSeqOffset+8 {
					return // not a flood frame
				}
				seq := binary.BigEndian.Uint64(f[floodSeqOffset:])
				if frames > 0 && seq <= last {
					disorder++
				}
				last = seq
				frames++
			}
			r.proto.mu.Unlock()
			// Natively the flood is pulled as fast as the core takes it. Under js/wasm a Go
			// program that never blocks never gives the browser its event loop back (no
			// timers, no output), so there the flood is paced: the core waits between frames.
			rate := 0
			if runtime.GOOS == "js" {
				rate = 100_000
			}
			if err := r.w.Flood(60, rate); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // past the start: buffers sized, sessions running

			// The window is a number of transfers, not a time: on a loaded machine a time window
			// holds few transfers and the runtime's own allocations would dominate.
			const window = 1000
			var before, after runtime.MemStats
			s0 := r.ad.NIC.Stats()
			runtime.ReadMemStats(&before)
			deadline := time.Now().Add(waitLong)
			for r.ad.NIC.Stats().RxTransfers-s0.RxTransfers < window && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			runtime.ReadMemStats(&after)
			s1 := r.ad.NIC.Stats()
			r.w.Quiet()

			transfers := s1.RxTransfers - s0.RxTransfers
			mallocs := after.Mallocs - before.Mallocs
			r.proto.mu.Lock()
			got, bad := frames, disorder
			r.proto.mu.Unlock()
			t.Logf("%d frames in %d transfers (%.1f per transfer, %d in flight), %d mallocs in the window, %d frames out of order",
				s1.RxFrames-s0.RxFrames, transfers, float64(s1.RxFrames-s0.RxFrames)/float64(max(transfers, 1)), s1.RxQueue, mallocs, bad)
			if transfers < window {
				t.Fatalf("flood delivered %d frames in %d transfers in %v", got, transfers, waitLong)
			}
			// Completions are handed on in the order the core drew its tickets, just before each
			// TransferIn. Under js/wasm a goroutine runs until it blocks, so that is the order
			// in which the calls reached the device, and it is checked here. Natively the calls
			// of several slots race into the virtual device, whose queue is ordered by who takes
			// its mutex first: a slot that drew ticket k can block on that mutex (held while a
			// 16 KiB transfer is built) and a slot with ticket k+1 that arrives later can take
			// it first (Go mutexes let a running goroutine barge ahead of a woken waiter), so a
			// few transfers in a thousand are filled out of ticket order. Only a transport that
			// numbered its queue entries could rule this out; natively the count is logged.
			if runtime.GOOS == "js" && bad != 0 {
				t.Errorf("%d of %d frames arrived after a frame with a higher sequence number", bad, got)
			}
			// The window also holds the runtime's and the test's own housekeeping; a path that
			// allocated per transfer would show at least one per transfer. Under js/wasm every
			// wait on the pacing timer goes back to the browser's event loop, which allocates
			// (syscall/js) per wakeup, whatever the transfers: there the count is only logged.
			if runtime.GOOS != "js" && mallocs*10 > transfers {
				t.Errorf("%d heap allocations during %d transfers", mallocs, transfers)
			}
		})
	}
}
