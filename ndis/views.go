package ndis

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"webminiport/pool"
)

// The views of !ndiskd (specs/ndis.md §7), rendered from the model: as data for the UI, and as
// text (Command) for tests and the console.

// PoolView describes one NBL pool: a row of !ndiskd.nblpool and the header of nblpool <handle>.
type PoolView struct {
	Handle      uint16 // the pool's handle in these views
	Name        string
	Tag         string // the PoolTag as !ndiskd shows it
	AllocatedBy string // the function that made the pool
	Component   Component
	Shape       pool.Shape
	Flags       string // CONTAINS_NET_BUFFER when every NBL has an NB
	ContextSize uint16
	DataSize    uint32
	Stats       pool.Stats
}

// NBLPools lists the pools made through the adapter and still allocated.
func (a *Adapter) NBLPools() []PoolView {
	pools := *a.pools.Load()
	out := make([]PoolView, 0, len(pools))
	for _, e := range pools {
		out = append(out, e.view())
	}
	return out
}

func (e *poolEntry) view() PoolView {
	pr := e.p.Params()
	v := PoolView{Handle: e.handle, Name: e.name, Tag: pool.TagString(pr.Tag), AllocatedBy: e.allocatedBy,
		Component: e.component, Shape: e.p.Shape(), ContextSize: pr.ContextSize, DataSize: pr.DataSize, Stats: e.p.Stats()}
	if pr.AllocateNB {
		v.Flags = "CONTAINS_NET_BUFFER"
	}
	return v
}

func (a *Adapter) poolByHandle(h uint16) (*poolEntry, error) {
	for _, e := range *a.pools.Load() {
		if e.handle == h {
			return e, nil
		}
	}
	return nil, fmt.Errorf("ndis: adapter %q has no pool %#x", a.name, h)
}

// AllocationView is one NBL of a pool: a row of !ndiskd.nblpool -allocations.
type AllocationView struct {
	NBL    pool.NBL
	Index  int
	Active bool // "Allocated" (true) or "Freed"
	Owner  pool.Owner
	HeldBy Component
}

// Allocations lists every slot of pool handle h.
func (a *Adapter) Allocations(h uint16) ([]AllocationView, error) {
	e, err := a.poolByHandle(h)
	if err != nil {
		return nil, err
	}
	var out []AllocationView
	for _, al := range e.p.Allocations(nil) {
		out = append(out, AllocationView{NBL: al.Handle, Index: al.Index, Active: al.Active, Owner: al.Owner,
			HeldBy: OwnerComponent(al.Owner, e.component)})
	}
	return out, nil
}

// NBLView is what !ndiskd.nbl and !ndiskd.nb show of one NBL and its first NB.
type NBLView struct {
	NBL          pool.NBL
	Next         pool.NBL
	FirstNB      pool.NB
	Pool         uint16
	PoolName     string
	SourceHandle uint32
	Source       string // the adapter's name when SourceHandle is its handle
	Owner        pool.Owner
	HeldBy       Component
	Flags        uint32
	NblFlags     uint32
	Status       Status
	NextNB       pool.NB
	DataOffset   uint32
	DataLength   uint32
	BufferSize   int
	// HeldFor is how long the NBL has been with the protocol or in flight, when it is.
	HeldFor time.Duration
}

// NBL describes one live NBL of a pool made through the adapter. It reads NBL fields that only
// the NBL's current owner may write (specs/ndis.md §3.2), so natively it gives an exact answer
// only while that owner is not changing them; the owner map and the log are always safe to read.
func (a *Adapter) NBL(h pool.NBL) (NBLView, error) {
	e := a.entryOfNBL(h)
	if e == nil {
		return NBLView{}, fmt.Errorf("ndis: %v is not an NBL of adapter %q", h, a.name)
	}
	p := e.p
	if err := p.Check(h); err != nil {
		return NBLView{}, err
	}
	nb := p.FirstNB(h)
	v := NBLView{NBL: h, Next: p.Next(h), FirstNB: nb, Pool: e.handle, PoolName: e.name,
		SourceHandle: p.SourceHandle(h), Owner: p.Owner(h), Flags: p.Flags(h), NblFlags: p.NblFlags(h),
		Status: Status(p.Status(h))}
	v.HeldBy = OwnerComponent(v.Owner, e.component)
	if v.SourceHandle == a.handle {
		v.Source = a.name
	}
	if nb != 0 {
		v.NextNB, v.DataOffset, v.DataLength, v.BufferSize = p.NextNB(nb), p.DataOffset(nb), p.DataLength(nb), len(p.Buffer(nb))
	}
	if watched(v.Owner) {
		if since := e.slots[p.Index(h)].since.load(); since != 0 {
			v.HeldFor = time.Duration(a.nowNanos() - since)
		}
	}
	return v, nil
}

// watched reports whether the adapter times NBLs with owner o.
func watched(o pool.Owner) bool {
	return o == OwnerProtocol || o == OwnerReclaim || o == OwnerSendInFlight
}

// NBLHistory returns every kept tracking-log entry about h, oldest first (!ndiskd.nbl -log).
func (a *Adapter) NBLHistory(h pool.NBL) []LogEntry { return a.log.history(h) }

// NBLLog returns the last n tracking-log entries, oldest first; n <= 0 means all kept
// (!ndiskd.nbllog).
func (a *Adapter) NBLLog(n int) []LogEntry { return a.log.tail(n) }

// PendingView is !ndiskd.pendingnbls: every allocated NBL that is not at home, i.e. held by a
// component other than the one whose pool it came from.
type PendingView struct {
	Pools   int // NBL pools found
	Freed   int // NBLs free in their pools
	Total   int // NBLs allocated
	Pending []PendingNBL
}

// PendingNBL is one NBL away from home.
type PendingNBL struct {
	NBL         pool.NBL
	Pool        uint16
	PoolName    string
	AllocatedBy Component // the component whose pool it is (its home)
	HeldBy      Component
	Owner       pool.Owner
	HeldFor     time.Duration // 0 when not timed
}

// PendingNBLs finds the NBLs not at home.
func (a *Adapter) PendingNBLs() PendingView {
	var v PendingView
	now := a.nowNanos()
	for _, e := range *a.pools.Load() {
		v.Pools++
		for _, al := range e.p.Allocations(nil) {
			if !al.Active {
				v.Freed++
				continue
			}
			v.Total++
			held := OwnerComponent(al.Owner, e.component)
			if held == e.component {
				continue
			}
			pn := PendingNBL{NBL: al.Handle, Pool: e.handle, PoolName: e.name, AllocatedBy: e.component, HeldBy: held, Owner: al.Owner}
			if since := e.slots[al.Index].since.load(); since != 0 && watched(al.Owner) {
				pn.HeldFor = time.Duration(now - since)
			}
			v.Pending = append(v.Pending, pn)
		}
	}
	return v
}

// Command renders a view as text, taking a command line like the debugger's:
//
//	nblpool                    every pool
//	nblpool <pool>             one pool
//	nblpool [<pool>] -allocations
//	nbl <nbl>                  one NBL and its NB
//	nbl <nbl> -log             its history
//	pendingnbls                NBLs not at home
//	nbllog [<n>]               the last n log entries (default 200)
//
// Handles are hexadecimal, with or without 0x.
func (a *Adapter) Command(line string) (string, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return "", fmt.Errorf("ndis: empty command")
	}
	args, flags := f[1:], map[string]bool{}
	for len(args) > 0 && strings.HasPrefix(args[len(args)-1], "-") {
		flags[args[len(args)-1]] = true
		args = args[:len(args)-1]
	}
	allowed := map[string]string{"nblpool": "-allocations", "nbl": "-log"}[f[0]]
	for fl := range flags {
		if fl != allowed {
			return "", fmt.Errorf("ndis: %s: unknown option %q", f[0], fl)
		}
	}
	var b strings.Builder
	switch f[0] {
	case "nblpool":
		if len(args) > 1 {
			return "", fmt.Errorf("ndis: usage: nblpool [<pool>] [-allocations]")
		}
		var pools []PoolView
		if len(args) == 1 {
			h, err := parseHandle(args[0])
			if err != nil {
				return "", err
			}
			e, err := a.poolByHandle(uint16(h))
			if err != nil {
				return "", err
			}
			pools = []PoolView{e.view()}
			if !flags["-allocations"] {
				renderPool(&b, pools[0])
				return b.String(), nil
			}
		} else {
			pools = a.NBLPools()
		}
		if !flags["-allocations"] {
			renderPools(&b, pools)
			return b.String(), nil
		}
		for _, pv := range pools {
			allocs, err := a.Allocations(pv.Handle)
			if err != nil {
				return "", err
			}
			renderAllocations(&b, pv, allocs)
		}
	case "nbl":
		if len(args) != 1 {
			return "", fmt.Errorf("ndis: usage: nbl <nbl> [-log]")
		}
		h, err := parseHandle(args[0])
		if err != nil {
			return "", err
		}
		if flags["-log"] {
			a.renderHistory(&b, pool.NBL(h), a.NBLHistory(pool.NBL(h)))
			return b.String(), nil
		}
		v, err := a.NBL(pool.NBL(h))
		if err != nil {
			return "", err
		}
		renderNBL(&b, v)
	case "pendingnbls":
		renderPending(&b, a.PendingNBLs())
	case "nbllog":
		n := 200
		if len(args) == 1 {
			var err error
			if n, err = strconv.Atoi(args[0]); err != nil || n <= 0 {
				return "", fmt.Errorf("ndis: nbllog: %q is not a positive count", args[0])
			}
		}
		a.renderLog(&b, a.NBLLog(n))
	default:
		return "", fmt.Errorf("ndis: unknown command %q (nblpool, nbl, pendingnbls, nbllog)", f[0])
	}
	return b.String(), nil
}

func parseHandle(s string) (uint32, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 32)
	if err != nil {
		return 0, fmt.Errorf("ndis: %q is not a hexadecimal handle", s)
	}
	return uint32(v), nil
}

func renderPools(b *strings.Builder, pools []PoolView) {
	fmt.Fprintf(b, "%-6s %-4s %-20s %-9s %-20s %s\n", "Pool", "Tag", "Name", "Owner", "Flags", "Allocated by")
	for _, p := range pools {
		fmt.Fprintf(b, "%#04x %-4s %-20s %-9v %-20s %s\n", p.Handle, p.Tag, p.Name, p.Component, p.Flags, p.AllocatedBy)
	}
}

func renderPool(b *strings.Builder, p PoolView) {
	fmt.Fprintf(b, "NBL pool %#04x %q\n", p.Handle, p.Name)
	fmt.Fprintf(b, "  Allocation tag     %s\n", p.Tag)
	fmt.Fprintf(b, "  Owner              %v\n", p.Component)
	fmt.Fprintf(b, "  Allocated by       %s\n", p.AllocatedBy)
	fmt.Fprintf(b, "  Flags              %s\n", p.Flags)
	fmt.Fprintf(b, "  Shape              %v\n", p.Shape)
	fmt.Fprintf(b, "  Context size       %d\n", p.ContextSize)
	fmt.Fprintf(b, "  Data size          %d\n", p.DataSize)
	fmt.Fprintf(b, "  NBLs               %d allocated, %d free, %d capacity, high water %d, %d failures\n",
		p.Stats.Allocated, p.Stats.Free, p.Stats.Capacity, p.Stats.HighWater, p.Stats.Failures)
	for o, n := range p.Stats.PerOwner {
		if n != 0 && o != int(pool.OwnerPool) {
			fmt.Fprintf(b, "    %-28s %d\n", OwnerName(pool.Owner(o)), n)
		}
	}
}

func renderAllocations(b *strings.Builder, p PoolView, allocs []AllocationView) {
	fmt.Fprintf(b, "NBL pool %#04x %q: %d NBLs\n", p.Handle, p.Name, len(allocs))
	fmt.Fprintf(b, "  %-6s %-10s %-10s %s\n", "Index", "NBL", "Active?", "Owner")
	for _, al := range allocs {
		active := "Freed"
		if al.Active {
			active = "Allocated"
		}
		fmt.Fprintf(b, "  %-6d 0x%08x %-10s %s [%v]\n", al.Index, uint32(al.NBL), active, OwnerName(al.Owner), al.HeldBy)
	}
}

func renderNBL(b *strings.Builder, v NBLView) {
	fmt.Fprintf(b, "NBL                0x%08x\n", uint32(v.NBL))
	fmt.Fprintf(b, "Next NBL           0x%08x\n", uint32(v.Next))
	fmt.Fprintf(b, "First NB           0x%08x\n", uint32(v.FirstNB))
	fmt.Fprintf(b, "Source             0x%08x - %s\n", v.SourceHandle, v.Source)
	fmt.Fprintf(b, "Pool               %#04x - %s\n", v.Pool, v.PoolName)
	fmt.Fprintf(b, "Current owner      %s [%v]", OwnerName(v.Owner), v.HeldBy)
	if v.HeldFor > 0 {
		fmt.Fprintf(b, " for %v", v.HeldFor)
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "Flags              0x%08x  NblFlags 0x%08x\n", v.Flags, v.NblFlags)
	fmt.Fprintf(b, "Status             %v\n", v.Status)
	if v.FirstNB != 0 {
		fmt.Fprintf(b, "NB 0x%08x: Next NB 0x%08x  DataOffset %d  DataLength %d  Buffer %d bytes\n",
			uint32(v.FirstNB), uint32(v.NextNB), v.DataOffset, v.DataLength, v.BufferSize)
	}
}

func (a *Adapter) renderHistory(b *strings.Builder, h pool.NBL, log []LogEntry) {
	fmt.Fprintf(b, "History of NBL 0x%08x: %d events\n", uint32(h), len(log))
	a.renderEntries(b, log)
}

func (a *Adapter) renderLog(b *strings.Builder, log []LogEntry) {
	fmt.Fprintf(b, "NBL log of %q: last %d events\n", a.name, len(log))
	a.renderEntries(b, log)
}

func (a *Adapter) renderEntries(b *strings.Builder, log []LogEntry) {
	fmt.Fprintf(b, "  %-7s %-12s %-10s %-18s %-9s %s\n", "Seq", "Time", "NBL", "Event", "By", "Owner after")
	for _, e := range log {
		t := time.Duration(e.Time - a.created.UnixNano()).Seconds()
		fmt.Fprintf(b, "  %-7d %12.6f 0x%08x %-18v %-9v %s\n", e.Seq, t, uint32(e.NBL), e.Kind, e.Component, OwnerName(e.Owner))
	}
}

func renderPending(b *strings.Builder, v PendingView) {
	fmt.Fprintf(b, "Phase 1/3: Found %d NBL pool(s)\n", v.Pools)
	fmt.Fprintf(b, "Phase 2/3: Found %d freed NBL(s)\n", v.Freed)
	fmt.Fprintf(b, "Phase 3/3: Found %d allocated NBL(s)\n", v.Total)
	for _, p := range v.Pending {
		fmt.Fprintf(b, "  NBL 0x%08x  pool %#04x %-16q Currently held by %v (%s)", uint32(p.NBL), p.Pool, p.PoolName, p.HeldBy, OwnerName(p.Owner))
		if p.HeldFor > 0 {
			fmt.Fprintf(b, " for %v", p.HeldFor)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "%d pending of %d total\n", len(v.Pending), v.Total)
}
