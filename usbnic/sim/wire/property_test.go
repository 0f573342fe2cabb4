package wire

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// propertySeed returns WIRE_SEED if set, else a fresh seed, and logs it so a failure can be
// replayed with WIRE_SEED=<seed> go test -run <test>.
func propertySeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("WIRE_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("WIRE_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (rerun with WIRE_SEED=%d)", seed, seed)
	return seed
}

// TestReplyQueueMatchesABoundedQueueModel drives random host requests and pulls against a
// model: a FIFO of reply kinds that drops what does not fit.
func TestReplyQueueMatchesABoundedQueueModel(t *testing.T) {
	seed := propertySeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	requests := []struct {
		frame []byte
		size  int // of the reply
	}{
		{arpWhoHasGateway, 60},
		{ethFrame(webMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, webIP, echoRequest(2, 2, 300))), 342},
		{dnsFrame(dnsMAC, dnsIP, dnsQuery(1, 0, 1, 1, "dns", "wire", "test")), 42 + 12 + 19 + 16},
	}
	for round := range 50 {
		size := 1 + rng.IntN(8)
		w, _ := newTestWire(t, Config{ReplyQueue: size})
		var queue []int
		var drops uint64
		buf := make([]byte, 9216)
		for step := range 200 {
			if rng.IntN(3) > 0 {
				r := requests[rng.IntN(len(requests))]
				w.FromHost(r.frame)
				if len(queue) < size {
					queue = append(queue, r.size)
				} else {
					drops++
				}
				continue
			}
			n := w.ToHost(buf)
			want := 0
			if len(queue) > 0 {
				want, queue = queue[0], queue[1:]
			}
			if n != want {
				t.Fatalf("round %d (queue %d) step %d: ToHost = %d, model says %d", round, size, step, n, want)
			}
		}
		if s := w.Snapshot(); s.ReplyDrops != drops {
			t.Fatalf("round %d: %d drops, model says %d", round, s.ReplyDrops, drops)
		}
	}
}

// TestPacingMatchesAFrameByFrameModel moves a manual clock and pulls at random and compares
// the sequence numbers the host sees with a model that walks frame by frame: frame i is due
// at ceil(i*1e9/rate) ns, missed once MaxLag or more behind, and delivered once due.
func TestPacingMatchesAFrameByFrameModel(t *testing.T) {
	seed := propertySeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	const maxLag = 50 * time.Millisecond
	for round := range 30 {
		rate := 1 + rng.IntN(2_000_000)
		if round%3 == 0 {
			rate = 1 + rng.IntN(1000)
		}
		w, clk := newTestWire(t, Config{MaxLag: maxLag})
		if err := w.Flood(60, rate); err != nil {
			t.Fatal(err)
		}
		due := func(i uint64) time.Duration {
			ns := i * 1e9 / uint64(rate)
			if ns*uint64(rate) != i*1e9 {
				ns++
			}
			return time.Duration(ns)
		}
		var (
			elapsed time.Duration
			next    uint64 // model: next frame index
			missed  uint64
		)
		buf := make([]byte, 9216)
		for step := range 300 {
			var d time.Duration
			switch rng.IntN(4) {
			case 0: // no time passes
			case 1:
				d = time.Duration(rng.IntN(100_000)) // under 0.1 ms
			case 2:
				d = time.Duration(rng.IntN(5_000_000))
			default:
				d = time.Duration(rng.IntN(120_000_000)) // up to 120 ms, beyond MaxLag
			}
			clk.Advance(d)
			elapsed += d
			for due(next)+maxLag <= elapsed {
				next++
				missed++
			}
			pulls := rng.IntN(400)
			for p := range pulls {
				n := w.ToHost(buf)
				if due(next) > elapsed {
					if n != 0 {
						t.Fatalf("round %d (rate %d) step %d pull %d: got a frame, model has none due", round, rate, step, p)
					}
					break
				}
				if n != 60 {
					t.Fatalf("round %d (rate %d) step %d pull %d: ToHost = %d, model has frame %d due", round, rate, step, p, n, next)
				}
				if seq := be.Uint64(buf[floodSeqOffset:]); seq != next {
					t.Fatalf("round %d (rate %d) step %d pull %d: seq %d, model says %d", round, rate, step, p, seq, next)
				}
				next++
			}
		}
		if s := w.Snapshot(); s.Missed != missed {
			t.Fatalf("round %d (rate %d): missed %d, model says %d", round, rate, s.Missed, missed)
		}
	}
}
