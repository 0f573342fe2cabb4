package pool

import "strconv"

// Cache is a per-owner fast path in the style of DPDK's rte_mempool cache (specs/ndis.md §11): a
// LIFO stack of free NBLs that refills from the pool and flushes back to it in bulk, under the
// pool's lock, so that allocating and freeing take no lock and write no shared word (a free
// writes the owner map only if someone had set the NBL's owner).
//
// A Cache is not safe for concurrent use: make one per goroutine or owner. It runs the same checks
// as FreeNBL (double free, stale, foreign or forged handles, context leaks).
//
// NBLs a Cache holds are outside the pool, as DPDK counts them "in use": they count in
// Stats.Allocated, show as OwnerAllocated in the owner map and in Stats.CacheHeld, and an
// allocation from the pool (or another Cache) may fail while Caches hold free NBLs. An NBL taken
// from a Cache keeps that look until someone calls SetOwner. Flush gives the parked NBLs back;
// Pool.Free needs every Cache flushed. On VERIFY pools a Cache passes every call to the pool, so
// that frees go through the quarantine.
type Cache struct {
	nblSlots
	slots []uint32 // the handles the parked NBLs get next; the top is the most recently freed
	n     int
	pool  *Pool    // keeps the pool, and so its id, alive
	p     *nblPool // the same pool, one indirection closer
}

// NewCache returns an empty Cache of size NBLs (clamped to 1..Capacity). A refill takes half of
// size from the pool; a free into a full Cache first flushes its older half.
func (p *Pool) NewCache(size int) *Cache {
	size = max(1, min(size, len(p.meta)))
	return &Cache{nblSlots: p.fast, slots: make([]uint32, size), pool: p, p: p.nblPool}
}

// Len returns the number of NBLs parked in the Cache.
func (c *Cache) Len() int { return c.n }

// AllocateNBL is AllocateNBL(0, 0) through the Cache: an NBL with Next and Scratch nil, no used
// context and, for shapes B and C, its NB. When neither the Cache nor the pool has a free NBL it
// returns 0 and an error matching ErrExhausted.
func (c *Cache) AllocateNBL() (NBL, error) {
	// Parked NBLs were reset when they entered the Cache, so this path is a pop and one store.
	// A VERIFY pool's Cache is always empty.
	if c.n == 0 {
		return c.allocateSlow()
	}
	c.n--
	h := c.slots[c.n]
	c.meta[h&c.idxMask] = h
	return NBL(h), nil
}

func (c *Cache) allocateSlow() (NBL, error) {
	if c.verify {
		return c.p.allocate(0, 0)
	}
	if err := c.refill(); err != nil {
		return 0, err
	}
	c.n--
	h := c.slots[c.n]
	c.meta[h&c.idxMask] = h
	return NBL(h), nil
}

// FreeNBL frees h into the Cache. Misuse gives the same *MisuseError as FreeNBL, and an NBL of
// another pool gives ForeignNBLFree (DPDK: never put an object into another mempool).
func (c *Cache) FreeNBL(h NBL) error {
	x := uint32(h)
	i := x & c.idxMask
	if x>>handleBits != c.idTop || int(i) >= len(c.meta) || c.meta[i] != x || c.verify {
		return c.freeSlow(x) // misuse, or VERIFY: the pool's path reports or quarantines it
	}
	hd := &c.hdr[i]
	var nb *nbHeader
	if c.nbs != nil {
		nb = &c.nbs[i]
	}
	if hd.ctxDynamic != 0 || nb != nil && nb.front != 0 {
		return c.freeSlow(x) // a context leak to report, or a retreat block to give back
	}
	if c.n == len(c.slots) {
		c.flush((len(c.slots) + 1) / 2)
	}
	next := c.nextFree(x)
	c.meta[i] = next
	if c.view[i].load() != cacheHeldView {
		c.view[i].store(cacheHeldView) // only when someone set an owner since the NBL left the Cache
	}
	c.resetAt(hd, nb, c.id|next, 0) // also drops a caller's MDL
	c.slots[c.n] = c.id | next
	c.n++
	return nil
}

func (c *Cache) freeSlow(x uint32) error {
	p := c.p
	if x != 0 && x&kindNB == 0 && x>>idShift != p.id>>idShift {
		if e := lookup(x); e != nil && e.nbl != nil {
			return p.misuse(&MisuseError{Class: ForeignNBLFree, Handle: x, Pool: e.nbl.name, Detail: "freed into a Cache of pool " + strconv.Quote(p.name)})
		}
	}
	return p.freeNBL(x)
}

// Flush gives every parked NBL back to the pool.
func (c *Cache) Flush() { c.flush(c.n) }

// refill moves up to half a Cache of free NBLs from the pool, all under one lock.
func (c *Cache) refill() error {
	p := c.p
	p.mu.Lock()
	if p.freed {
		p.mu.Unlock()
		return p.misuse(poolFreed())
	}
	k := min((len(c.slots)+1)/2, p.free.n)
	if k == 0 {
		p.mu.Unlock()
		p.failures.add(1)
		return p.errNoNBL
	}
	for j := k - 1; j >= 0; j-- { // the first slot taken ends on top
		i := p.free.take(false)
		h := p.id | p.meta[i]
		p.view[i].store(cacheHeldView)
		p.fast.reset(i, h, 0)
		c.slots[j] = h
	}
	c.n = k
	p.allocated += k
	if p.allocated > p.highWater {
		p.highWater = p.allocated
	}
	p.mu.Unlock()
	return nil
}

// flush moves the k oldest parked NBLs back to the pool under one lock.
func (c *Cache) flush(k int) {
	if k == 0 {
		return
	}
	p := c.p
	p.mu.Lock()
	for _, h := range c.slots[:k] {
		i := h & p.idxMask
		v := uint32(0) // never handed out
		if h&p.genMask != 0 {
			v = (h-p.genOne)&lowMask<<viewLowShift | viewFreed
		}
		p.view[i].store(v)
		p.free.push(i)
	}
	p.allocated -= k
	p.mu.Unlock()
	c.n = copy(c.slots, c.slots[k:c.n])
}
