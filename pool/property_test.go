package pool

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("seed", 0, "seed of TestPoolMatchesModel (0: from the clock)")

// The reference model: counts and sets, nothing about slots except which handles are live.
type model struct {
	capacity, ctxCap int
	verify           bool
	poolFree         int
	highWater        int
	failures         uint64
	misuses          uint64
	live             map[NBL]*modelNBL
	freed            []NBL        // handles freed, most recent last
	quarantine       map[int]bool // VERIFY: slots freed and not handed out since
	caches           []*modelCache
}

type modelNBL struct {
	owner     Owner
	cacheHeld bool // taken from a Cache, no owner set since
	ctxUsed   int  // context from AllocateNBL
	ctxDyn    int  // context from AllocateContext
}

type modelCache struct {
	c    *Cache
	size int
	n    int
}

func (m *model) allocated() int { return m.capacity - m.poolFree }

func (m *model) took(k int) {
	m.poolFree -= k
	m.highWater = max(m.highWater, m.allocated())
}

// TestPoolMatchesModel runs random operation sequences against the pool and the model and
// compares them after every step. Rerun a failure with -seed.
func TestPoolMatchesModel(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun: go test -run TestPoolMatchesModel -seed %d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>32))
	rounds := 60
	if testing.Short() {
		rounds = 10
	}
	for round := range rounds {
		params := Params{
			Name:        fmt.Sprintf("model %d", round),
			AllocateNB:  rng.IntN(3) != 0,
			ContextSize: uint16(rng.IntN(3) * ContextAlignment),
			Capacity:    1 + rng.IntN(24),
			Verify:      rng.IntN(4) == 0,
		}
		if params.AllocateNB && rng.IntN(2) == 0 {
			params.DataSize = uint32(1 + rng.IntN(100))
		}
		runModel(t, rng, params, 400)
		if t.Failed() {
			t.Fatalf("round %d, params %+v", round, params)
		}
	}
}

func runModel(t *testing.T, rng *rand.Rand, params Params, steps int) {
	p := newPool(t, params)
	m := &model{
		capacity: params.Capacity, ctxCap: int(params.ContextSize) + ContextGrowth, verify: params.Verify,
		poolFree: params.Capacity, live: map[NBL]*modelNBL{}, quarantine: map[int]bool{},
	}
	for range 1 + rng.IntN(3) {
		size := 1 + rng.IntN(8)
		m.caches = append(m.caches, &modelCache{c: p.NewCache(size), size: min(size, m.capacity)})
	}
	var log []string
	for step := range steps {
		op := step0(t, rng, p, m)
		log = append(log, op)
		if !compare(t, p, m) {
			t.Errorf("after step %d (%s); last steps %q", step, op, log[max(0, len(log)-8):])
			return
		}
	}
	// Teardown: everything back, then the pool frees.
	for h, n := range m.live {
		if n.ctxDyn > 0 {
			if err := p.FreeContext(h, uint16(n.ctxDyn)); err != nil {
				t.Fatal(err)
			}
		}
		mustFree(t, h)
	}
	for _, c := range m.caches {
		c.c.Flush()
	}
	if err := p.Free(); err != nil {
		t.Errorf("Free after teardown: %v", err)
	}
}

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

func (m *model) randomLive(rng *rand.Rand) (NBL, bool) {
	if len(m.live) == 0 {
		return 0, false
	}
	k := rng.IntN(len(m.live))
	for h := range m.live {
		if k == 0 {
			return h, true
		}
		k--
	}
	panic("unreachable")
}

// addLive records a new handle and checks it is not live already.
func (m *model) addLive(t *testing.T, p *Pool, h NBL, n *modelNBL) {
	if _, dup := m.live[h]; dup {
		t.Errorf("%v handed out while live", h)
	}
	i := p.Index(h)
	for other := range m.live {
		if p.Index(other) == i {
			t.Errorf("%v and %v share slot %d", h, other, i)
		}
	}
	delete(m.quarantine, i)
	m.live[h] = n
}

func (m *model) removeLive(p *Pool, h NBL) {
	delete(m.live, h)
	m.freed = append(m.freed, h)
	if m.verify {
		m.quarantine[p.Index(h)] = true
	}
}

// expect checks err against what the model predicts: nil, a misuse class, or exhaustion.
func expect(t *testing.T, op string, err error, class MisuseClass, exhausted bool) {
	t.Helper()
	switch {
	case class != 0:
		if !errors.Is(err, &MisuseError{Class: class}) {
			t.Errorf("%s: got %v, want %v", op, err, class)
		}
	case exhausted:
		if !errors.Is(err, ErrExhausted) {
			t.Errorf("%s: got %v, want exhaustion", op, err)
		}
	case err != nil:
		t.Errorf("%s: %v", op, err)
	}
}

// step0 applies one random operation to pool and model and returns its name.
func step0(t *testing.T, rng *rand.Rand, p *Pool, m *model) string {
	switch rng.IntN(12) {
	case 0, 1: // NdisAllocateNetBufferList
		cs, bf := uint16(pick(rng, []int{0, 0, 16, 32, 8})), uint16(pick(rng, []int{0, 16, 64, 24}))
		h, err := p.AllocateNBL(cs, bf)
		op := fmt.Sprintf("AllocateNBL(%d,%d)=%v", cs, bf, h)
		switch {
		case cs%16 != 0 || bf%16 != 0:
			m.misuses++
			expect(t, op, err, InvalidAllocArgs, false)
		case int(cs)+int(bf) > m.ctxCap || m.poolFree == 0:
			m.failures++
			expect(t, op, err, 0, true)
		default:
			expect(t, op, err, 0, false)
			m.took(1)
			m.addLive(t, p, h, &modelNBL{owner: OwnerAllocated, ctxUsed: int(cs)})
		}
		return op
	case 2: // NdisAllocateNetBufferAndNetBufferList
		h, err := p.AllocateNBLAndNB(0, 0, make([]byte, 8), 2, 4)
		op := fmt.Sprintf("AllocateNBLAndNB=%v", h)
		switch {
		case p.Shape() != ShapeNBLWithNB:
			m.misuses++
			expect(t, op, err, InvalidAllocArgs, false)
		case m.poolFree == 0:
			m.failures++
			expect(t, op, err, 0, true)
		default:
			expect(t, op, err, 0, false)
			m.took(1)
			m.addLive(t, p, h, &modelNBL{owner: OwnerAllocated})
		}
		return op
	case 3, 4: // Cache allocation
		mc := pick(rng, m.caches)
		h, err := mc.c.AllocateNBL()
		op := fmt.Sprintf("Cache.AllocateNBL=%v", h)
		if m.verify {
			if m.poolFree == 0 {
				m.failures++
				expect(t, op, err, 0, true)
				return op
			}
			expect(t, op, err, 0, false)
			m.took(1)
			m.addLive(t, p, h, &modelNBL{owner: OwnerAllocated})
			return op
		}
		if mc.n == 0 {
			k := min((mc.size+1)/2, m.poolFree)
			if k == 0 {
				m.failures++
				expect(t, op, err, 0, true)
				return op
			}
			m.took(k)
			mc.n = k
		}
		expect(t, op, err, 0, false)
		mc.n--
		m.addLive(t, p, h, &modelNBL{owner: OwnerAllocated, cacheHeld: true})
		return op
	case 5, 6: // free, through the pool or a Cache
		h, ok := m.randomLive(rng)
		if !ok {
			return "free: nothing live"
		}
		n := m.live[h]
		viaCache := rng.IntN(2) == 0
		var err error
		var mc *modelCache
		if viaCache {
			mc = pick(rng, m.caches)
			err = mc.c.FreeNBL(h)
		} else {
			err = FreeNBL(h)
		}
		op := fmt.Sprintf("free(%v, cache %v)", h, viaCache)
		switch {
		case n.ctxDyn > 0:
			m.misuses++
			expect(t, op, err, ContextLeak, false)
			return op
		case viaCache && !m.verify:
			if mc.n == mc.size {
				f := (mc.size + 1) / 2
				m.poolFree += f
				mc.n -= f
			}
			mc.n++
		default:
			m.poolFree++
		}
		expect(t, op, err, 0, false)
		m.removeLive(p, h)
		return op
	case 7: // flush
		mc := pick(rng, m.caches)
		mc.c.Flush()
		m.poolFree += mc.n
		mc.n = 0
		return "Flush"
	case 8: // SetOwner
		h, ok := m.randomLive(rng)
		if !ok {
			return "SetOwner: nothing live"
		}
		o := Owner(1 + rng.IntN(NumOwners-1))
		expect(t, "SetOwner", p.SetOwner(h, o), 0, false)
		m.live[h].owner = o
		m.live[h].cacheHeld = false
		return fmt.Sprintf("SetOwner(%v,%d)", h, o)
	case 9: // context
		h, ok := m.randomLive(rng)
		if !ok {
			return "context: nothing live"
		}
		n := m.live[h]
		size := pick(rng, []int{8, 16, 40})
		if rng.IntN(2) == 0 {
			err := p.AllocateContext(h, uint16(size), 0)
			op := fmt.Sprintf("AllocateContext(%v,%d)", h, size)
			if size > m.ctxCap-n.ctxUsed-n.ctxDyn {
				m.failures++
				expect(t, op, err, 0, true)
			} else {
				expect(t, op, err, 0, false)
				n.ctxDyn += size
			}
			return op
		}
		err := p.FreeContext(h, uint16(size))
		op := fmt.Sprintf("FreeContext(%v,%d)", h, size)
		if size > n.ctxDyn {
			m.misuses++
			expect(t, op, err, BadContextFree, false)
		} else {
			expect(t, op, err, 0, false)
			n.ctxDyn -= size
		}
		return op
	case 10: // misuse of a freed handle
		if len(m.freed) == 0 {
			return "stale: nothing freed"
		}
		h := m.freed[len(m.freed)-1-rng.IntN(min(len(m.freed), 8))]
		m.misuses++
		switch rng.IntN(3) {
		case 0:
			expect(t, "double free", FreeNBL(h), DoubleFree, false)
		case 1:
			expect(t, "double free into a Cache", pick(rng, m.caches).c.FreeNBL(h), DoubleFree, false)
		default:
			expect(t, "use after free", p.SetOwner(h, 2), UseAfterFree, false)
		}
		return fmt.Sprintf("stale %v", h)
	default: // free the pool while NBLs are out, or use a forged handle
		if m.allocated() > 0 && rng.IntN(2) == 0 {
			m.misuses++
			err := p.Free()
			expect(t, "Free", err, PoolFreeWithOutstanding, false)
			var me *MisuseError
			if errors.As(err, &me) {
				listed := map[NBL]bool{}
				for _, h := range me.Handles {
					listed[h] = true
				}
				for h := range m.live {
					if !listed[h] {
						t.Errorf("Free did not list live %v", h)
					}
				}
				if len(listed) != len(m.live) {
					t.Errorf("Free listed %d, %d live", len(listed), len(m.live))
				}
			}
			return "Free with outstanding"
		}
		// A quarter of the generation space ahead of any slot: never issued.
		forged := NBL(p.id | uint32(rng.IntN(m.capacity)) | p.genOne<<(handleBits-p.idxBits-2))
		if _, live := m.live[forged]; live {
			return "forged: hit a live handle"
		}
		m.misuses++
		expect(t, "forged", FreeNBL(forged), NonPoolNBL, false)
		return fmt.Sprintf("forged %v", forged)
	}
}

// compare checks the pool against the model; false on the first difference.
func compare(t *testing.T, p *Pool, m *model) bool {
	t.Helper()
	s := checkInvariants(t, p)
	want := Stats{Capacity: m.capacity, Allocated: m.allocated(), Free: m.poolFree, HighWater: m.highWater,
		Failures: m.failures, Misuses: m.misuses}
	parked := 0
	for _, mc := range m.caches {
		parked += mc.n
		if mc.c.Len() != mc.n {
			t.Errorf("Cache.Len %d, model %d", mc.c.Len(), mc.n)
		}
	}
	want.PerOwner[OwnerPool] = m.poolFree
	want.PerOwner[OwnerAllocated] = parked
	want.CacheHeld = parked
	for _, n := range m.live {
		want.PerOwner[n.owner]++
		if n.cacheHeld {
			want.CacheHeld++
		}
	}
	if m.verify {
		want.Quarantined = len(m.quarantine)
	}
	if s != want {
		t.Errorf("Stats\n got %+v\nwant %+v", s, want)
		return false
	}
	rows := p.Allocations(nil)
	for h, n := range m.live {
		if err := p.Check(h); err != nil {
			t.Errorf("live %v: %v", h, err)
			return false
		}
		row := rows[p.Index(h)]
		if p.Owner(h) != n.owner || row.Owner != n.owner || !row.Active || row.Cached != n.cacheHeld ||
			(!n.cacheHeld && row.Handle != h) || p.HandleAt(p.Index(h)) != row.Handle {
			t.Errorf("live %v (%+v): Owner %d, row %+v", h, *n, p.Owner(h), row)
			return false
		}
	}
	return !t.Failed()
}
