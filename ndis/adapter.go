package ndis

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"webminiport/pool"
)

// Config sets up an Adapter. Zero values pick the defaults named on each field.
type Config struct {
	// Name is the adapter's name in views ("usbnic0"); default "adapter".
	Name string
	// Clock gives the time for log entries and watchdogs; default time.Now. Tests inject one.
	Clock func() time.Time
	// LogSize is the capacity of the tracking log, rounded up to a power of two; default
	// DefaultLogSize.
	LogSize int
	// MaxReports bounds Reports; default DefaultMaxReports.
	MaxReports int
	// StuckNBLTimeout: an NBL held by the protocol (or left to reclaim after a RESOURCES
	// indication) longer than this is reported by Check; default 10 s (a modelling choice; the
	// real tracker's limit is configurable and undocumented).
	StuckNBLTimeout time.Duration
	// SendTimeout: a send not completed after this is SEND_NOT_COMPLETED; default 30 s, the limit
	// of the NdisTimedDataSend verifier rule.
	SendTimeout time.Duration
	// PauseTimeout and HaltTimeout: a pause or halt that has not finished after this raises
	// WATCHDOG_PAUSE / WATCHDOG_HALT; default 30 s each (a modelling choice).
	PauseTimeout, HaltTimeout time.Duration
}

// Defaults for Config.
const (
	DefaultMaxReports      = 256
	DefaultStuckNBLTimeout = 10 * time.Second
	DefaultSendTimeout     = 30 * time.Second
	DefaultPauseTimeout    = 30 * time.Second
	DefaultHaltTimeout     = 30 * time.Second
)

// adapterHandles numbers adapters; the handle is what a miniport writes into SourceHandle.
var adapterHandles atomic.Uint32

// Adapter is the NDIS side of one miniport adapter (the "miniport block"): it owns the state
// machine, the binding to a protocol, the OID and statistics state, the registry of NBL pools
// made through it, the tracking log and the misuse reports.
type Adapter struct {
	name    string
	handle  uint32
	mp      Miniport
	cfg     Config
	clock   func() time.Time
	created time.Time

	// mu guards the control state below. The datapath takes it once per chain to check the
	// state and raise the outstanding counters together, so a pause cannot complete between the
	// two (netvmini raises its counter first and checks the state after, for the same reason).
	mu             sync.Mutex
	state          State
	restartPending bool
	pausePending   bool
	halting        bool
	pauseStarted   time.Time // while Pausing
	haltStarted    time.Time // while halting
	pauseWatched   bool      // WATCHDOG_PAUSE already raised for this pause
	haltWatched    bool
	attrs          Attributes
	link           LinkState
	lookahead      uint32
	multicast      [][6]byte
	oidActive      *OIDRequest   // the request the miniport is working on
	oidQueue       []*OIDRequest // forwarded requests waiting for it, oldest first
	poolSeq        uint16

	// stamp is the last time read from the clock, Unix nanoseconds. Reading the clock costs more
	// than the rest of a frame's bookkeeping (tens of ns natively, two JS calls under wasm), so
	// per-frame log entries (Taken, Posted, Filtered, Recycled) carry the time of the latest
	// per-chain event or watchdog check instead, and so do returns made while an indication is
	// in progress (indicating > 0), whose clock read is that recent.
	stamp      sharedNanos
	indicating sharedCount // IndicateReceive calls between their clock read and their end

	outstanding  sharedInt64 // receive NBLs indicated and not yet back (RESOURCES ones during the call)
	sendsPending sharedInt64 // send NBLs given to the miniport and not completed

	binding sharedPtr[binding]
	filter  sharedPtr[rxFilter]
	pools   sharedPtr[[]*poolEntry] // copy-on-write: the datapath reads it without a lock

	stats   counters
	log     eventLog
	walks   uint64 // chain walks numbered for slot.walk; guarded by log.mu
	reports reportLog
}

// binding is the bound protocol.
type binding struct{ proto Protocol }

// poolEntry is an NBL pool made through the adapter, with per-NBL side data the checks need.
type poolEntry struct {
	p           *pool.Pool
	handle      uint16 // the pool's handle in views and log entries: 1, 2, ... per adapter
	name        string
	component   Component
	allocatedBy string
	slots       []slot // by pool.Index
	// moving is room (len(slots)) to gather the NBLs of a chain that change owner together, so
	// that the pool is called once per chain (mover.moveAll). Only under the log lock, sliced
	// to [:0] into a local each time: appending to a field would cost a write barrier per NBL.
	moving []pool.NBL
}

// slot is what the adapter remembers about one NBL while it is away from its owner.
type slot struct {
	// since is when the NBL reached an owner the watchdogs watch (held by protocol, send in
	// flight, to reclaim), Unix nanoseconds; reported is set once Check has reported it.
	since    sharedNanos
	reported sharedBool
	// The layout at indication, to detect a protocol that returns it changed (NB_LIST_TAMPERED).
	nb       pool.NB
	off, len uint32
	// next is the Next link before a RESOURCES indication (CHAIN_NOT_RESTORED check, as FNMP does).
	next pool.NBL
	// cancelID is NDIS_SET_NET_BUFFER_LIST_CANCEL_ID of a send NBL.
	cancelID uint64
	// walk is the chain walk (Adapter.walks) that last met the NBL. Walks that change owners
	// only after the walk (mover.moveAll) check it: meeting an NBL twice means the chain goes
	// round a cycle, and the second meeting must be refused as it would be after a move.
	walk uint64
}

// watch starts timing the NBL for the watchdogs. since means nothing unless the owner is one the
// watchdogs watch, so it is never cleared.
func (s *slot) watch(now int64) {
	s.since.store(now)
	if s.reported.load() { // a load is cheaper than a store: most NBLs were never reported
		s.reported.store(false)
	}
}

// New makes an adapter for miniport mp in state Halted. Call Initialize to bring it up.
func New(mp Miniport, cfg Config) *Adapter {
	if cfg.Name == "" {
		cfg.Name = "adapter"
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxReports <= 0 {
		cfg.MaxReports = DefaultMaxReports
	}
	if cfg.StuckNBLTimeout <= 0 {
		cfg.StuckNBLTimeout = DefaultStuckNBLTimeout
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	if cfg.PauseTimeout <= 0 {
		cfg.PauseTimeout = DefaultPauseTimeout
	}
	if cfg.HaltTimeout <= 0 {
		cfg.HaltTimeout = DefaultHaltTimeout
	}
	a := &Adapter{
		name:    cfg.Name,
		handle:  adapterHandles.Add(1),
		mp:      mp,
		cfg:     cfg,
		clock:   cfg.Clock,
		log:     newEventLog(cfg.LogSize),
		reports: reportLog{max: cfg.MaxReports},
	}
	a.created = a.clock()
	a.stamp.store(a.created.UnixNano())
	a.filter.Store(&rxFilter{})
	a.pools.Store(&[]*poolEntry{})
	return a
}

// Name returns the adapter's name.
func (a *Adapter) Name() string { return a.name }

// Handle returns the MiniportAdapterHandle: the value a miniport must write into every NBL's
// SourceHandle before indicating it.
func (a *Adapter) Handle() uint32 { return a.handle }

// State returns the adapter state.
func (a *Adapter) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// Outstanding returns how many receive NBLs are indicated and not yet back at the miniport.
func (a *Adapter) Outstanding() int { return int(a.outstanding.Load()) }

// SendsPending returns how many send NBLs the miniport has not completed.
func (a *Adapter) SendsPending() int { return int(a.sendsPending.Load()) }

// nowNanos reads the clock.
func (a *Adapter) nowNanos() int64 {
	t := a.clock().UnixNano()
	a.stamp.store(t)
	return t
}

// misuse records a misuse report and returns it as the error for the caller.
func (a *Adapter) misuse(class pool.MisuseClass, e *poolEntry, h pool.NBL, format string, args ...any) *pool.MisuseError {
	err := &pool.MisuseError{Class: class, Handle: uint32(h), Detail: fmt.Sprintf(format, args...)}
	if e != nil {
		err.Pool = e.name
	}
	a.reports.add(a.clock(), err)
	return err
}

// illegal records an IllegalStateTransition.
func (a *Adapter) illegal(format string, args ...any) error {
	return a.misuse(pool.IllegalStateTransition, nil, 0, "adapter %q: "+format, append([]any{a.name}, args...)...)
}

// transitionLocked applies event ev to the state, or records and returns the illegal transition.
func (a *Adapter) transitionLocked(ev Event) error {
	next, err := Transition(a.state, ev)
	if err != nil {
		return a.illegal("%v in state %v", ev, a.state)
	}
	a.state = next
	return nil
}

// ---- Pools ----

// AllocateNBLPool is NdisAllocateNetBufferListPool with the adapter (for the miniport) or the
// binding (for the protocol, c == ComponentProtocol) as NdisHandle. The pool is registered for
// the views and checks; free it with FreeNBLPool.
func (a *Adapter) AllocateNBLPool(c Component, params pool.Params) (*pool.Pool, error) {
	e, err := a.registerPool(c, params, 1)
	if err != nil {
		return nil, err
	}
	return e.p, nil
}

// registerPool makes and registers a pool; skip counts the frames between registerPool's caller
// and the function to name as "Allocated by".
func (a *Adapter) registerPool(c Component, params pool.Params, skip int) (*poolEntry, error) {
	p, err := pool.NewNBLPool(params)
	if err != nil {
		return nil, err
	}
	e := &poolEntry{p: p, name: params.Name, component: c, allocatedBy: callerName(skip + 1),
		slots: make([]slot, params.Capacity), moving: make([]pool.NBL, 0, params.Capacity)}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.poolSeq++
	e.handle = a.poolSeq
	old := *a.pools.Load()
	pools := make([]*poolEntry, len(old), len(old)+1)
	copy(pools, old)
	pools = append(pools, e)
	a.pools.Store(&pools)
	return e, nil
}

// callerName names the function skip frames up, as "pkg.Func (file.go:line)": the "Allocated
// by" column of !ndiskd.nblpool.
func callerName(skip int) string {
	pc, file, line, ok := runtime.Caller(skip + 1)
	if !ok {
		return "?"
	}
	fn := "?"
	if f := runtime.FuncForPC(pc); f != nil {
		fn = f.Name()[strings.LastIndex(f.Name(), "/")+1:]
	}
	return fmt.Sprintf("%s (%s:%d)", fn, file[strings.LastIndex(file, "/")+1:], line)
}

// FreeNBLPool is NdisFreeNetBufferListPool: every NBL of p must be freed first.
func (a *Adapter) FreeNBLPool(p *pool.Pool) error {
	e := a.entryOf(p)
	if e == nil {
		return fmt.Errorf("ndis: adapter %q: FreeNBLPool: pool was not allocated through this adapter", a.name)
	}
	if err := p.Free(); err != nil {
		return a.record(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	old := *a.pools.Load()
	pools := make([]*poolEntry, 0, len(old))
	for _, x := range old {
		if x != e {
			pools = append(pools, x)
		}
	}
	a.pools.Store(&pools)
	return nil
}

// entryOfNBL finds the registry entry of h's pool; nil if h is not an NBL handle of a pool made
// through this adapter. It reads only the handle's pool id, where pool.PoolOf would resolve a
// weak pointer through the runtime.
func (a *Adapter) entryOfNBL(h pool.NBL) *poolEntry {
	for _, e := range *a.pools.Load() {
		if e.p.Index(h) >= 0 {
			return e
		}
	}
	return nil
}

// entryOf finds the registry entry of p; nil if p was not made through this adapter. The
// registry holds a handful of pools, so a scan beats a map.
func (a *Adapter) entryOf(p *pool.Pool) *poolEntry {
	for _, e := range *a.pools.Load() {
		if e.p == p {
			return e
		}
	}
	return nil
}

// AllocateNBL is NdisAllocateNetBufferList(p, 0, 0) for a pool made through the adapter, logged
// as Allocated. Pool exhaustion is not misuse: the error matches pool.ErrExhausted.
func (a *Adapter) AllocateNBL(p *pool.Pool) (pool.NBL, error) {
	e := a.entryOf(p)
	if e == nil {
		return 0, fmt.Errorf("ndis: adapter %q: AllocateNBL: pool was not allocated through this adapter", a.name)
	}
	return a.allocateNBL(e, pool.OwnerAllocated)
}

func (a *Adapter) allocateNBL(e *poolEntry, owner pool.Owner) (pool.NBL, error) {
	h, err := e.p.AllocateNBL(0, 0)
	if err != nil {
		return 0, err
	}
	m := a.beginMoves(e.component)
	m.move(e, h, owner, LogAllocated, 0)
	m.done()
	return h, nil
}

// FreeNBL is NdisFreeNetBufferList for an NBL of a pool made through the adapter, logged as Freed.
func (a *Adapter) FreeNBL(h pool.NBL) error {
	e := a.entryOfNBL(h)
	if e == nil {
		return a.misuse(pool.NonPoolNBL, nil, h, "FreeNBL: not from a pool of adapter %q", a.name)
	}
	return a.freeNBL(e, h)
}

func (a *Adapter) freeNBL(e *poolEntry, h pool.NBL) error {
	if o := e.p.Owner(h); lentToProtocol(o) || o == OwnerSendInFlight {
		return a.misuse(pool.AccessWhileLent, e, h, "freed while %s", OwnerName(o))
	}
	if err := pool.FreeNBL(h); err != nil {
		return a.record(err)
	}
	m := a.beginMoves(e.component)
	m.freed(e, h)
	m.done()
	return nil
}

// ---- State machine ----

// Initialize runs MiniportInitializeEx: Halted → Initializing → Paused, or back to Halted when
// the miniport fails. A failed initialize must leave nothing live; pools it left behind are
// reported as LEAKED_NBL.
func (a *Adapter) Initialize() error {
	a.mu.Lock()
	if err := a.transitionLocked(EventInitialize); err != nil {
		a.mu.Unlock()
		return err
	}
	a.mu.Unlock()

	attrs, st := a.mp.Initialize(a)
	if st == StatusSuccess {
		if err := attrs.validate(); err != nil {
			// NDIS refuses the adapter after the miniport said yes, so the miniport gets a halt to
			// undo its initialize (NdisHaltDeviceInitializationFailed).
			a.mu.Lock()
			a.state = Paused
			a.halting = true
			a.mu.Unlock()
			a.mp.Halt(HaltDeviceInitializationFailed)
			a.mu.Lock()
			a.halting = false
			a.state = Halted
			a.mu.Unlock()
			leak := a.checkLeftovers("halt after refused attributes")
			return errors.Join(fmt.Errorf("ndis: adapter %q: %w", a.name, err), leak)
		}
		a.mu.Lock()
		a.state = Paused
		a.attrs = attrs
		a.link = attrs.Link
		a.lookahead = uint32(attrs.MaxFrameSize)
		a.multicast = nil
		a.mu.Unlock()
		a.filter.Store(&rxFilter{mac: addr48(attrs.MAC[:]), maxTotal: attrs.MaxFrameSize + ethernetHeaderLen})
		return nil
	}
	a.mu.Lock()
	a.state = Halted
	a.mu.Unlock()
	leak := a.checkLeftovers("failed initialize")
	return errors.Join(fmt.Errorf("ndis: adapter %q: miniport initialize failed: %v", a.name, st), leak)
}

func (at *Attributes) validate() error {
	switch {
	case at.MaxFrameSize <= 0:
		return fmt.Errorf("attributes: MaxFrameSize %d must be positive", at.MaxFrameSize)
	case at.SupportedPacketFilters&^filterKnown != 0:
		return fmt.Errorf("attributes: SupportedPacketFilters %#x has bits outside %#x", at.SupportedPacketFilters, filterKnown)
	case at.MaxMulticastList < 0:
		return fmt.Errorf("attributes: MaxMulticastList %d is negative", at.MaxMulticastList)
	}
	return nil
}

// checkLeftovers reports every miniport pool still registered after a halt or a failed
// initialize, with its live NBLs, as LEAKED_NBL (RESOURCES_NBL_LEAK for NBLs the miniport never
// reclaimed after a RESOURCES indication).
func (a *Adapter) checkLeftovers(when string) error {
	var errs []error
	for _, e := range *a.pools.Load() {
		if e.component != ComponentMiniport {
			continue
		}
		var live, reclaim []pool.NBL
		for _, al := range e.p.Allocations(nil) {
			if !al.Active {
				continue
			}
			if al.Owner == OwnerReclaim {
				reclaim = append(reclaim, al.Handle)
			} else {
				live = append(live, al.Handle)
			}
		}
		if len(reclaim) > 0 {
			err := a.misuse(pool.ResourcesNBLLeak, e, reclaim[0],
				"%s: %d NBLs indicated with RESOURCES were never reclaimed by the miniport", when, len(reclaim))
			err.Handles = reclaim
			errs = append(errs, err)
		}
		err := a.misuse(pool.LeakedNBL, e, 0, "%s: pool still allocated with %d live NBLs", when, len(live)+len(reclaim))
		err.Handles = live
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Restart runs MiniportRestart: Paused → Restarting → Running (or back to Paused on failure).
func (a *Adapter) Restart() error {
	a.mu.Lock()
	if err := a.transitionLocked(EventRestart); err != nil {
		a.mu.Unlock()
		return err
	}
	a.restartPending = true
	a.mu.Unlock()

	st := a.mp.Restart()
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case st == StatusPending:
		return nil
	case !a.restartPending:
		return a.illegal("MiniportRestart returned %v after calling NdisMRestartComplete", st)
	}
	a.restartPending = false
	if st == StatusSuccess {
		a.state = Running
		return nil
	}
	a.state = Paused
	return fmt.Errorf("ndis: adapter %q: restart failed: %v", a.name, st)
}

// RestartComplete is NdisMRestartComplete: finishes a restart that returned StatusPending.
func (a *Adapter) RestartComplete(st Status) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state != Restarting || !a.restartPending {
		return a.illegal("NdisMRestartComplete with no restart pending (state %v)", a.state)
	}
	a.restartPending = false
	if st == StatusSuccess {
		a.state = Running
	} else {
		a.state = Paused
	}
	return nil
}

// Pause runs MiniportPause: Running → Pausing → Paused. The pause completes only when every
// indicated NBL is back and every send completed.
func (a *Adapter) Pause() error {
	a.mu.Lock()
	if err := a.transitionLocked(EventPause); err != nil {
		a.mu.Unlock()
		return err
	}
	a.pausePending = true
	a.pauseStarted = a.clock()
	a.pauseWatched = false
	a.mu.Unlock()

	st := a.mp.Pause()
	a.mu.Lock()
	defer a.mu.Unlock()
	switch st {
	case StatusPending:
		return nil
	case StatusSuccess:
		if !a.pausePending {
			return a.illegal("MiniportPause returned SUCCESS after calling NdisMPauseComplete")
		}
		return a.completePauseLocked()
	}
	// A pause cannot fail. NDIS would wait for NdisMPauseComplete, which this miniport will
	// probably never call; the pause watchdog reports that.
	return a.misuse(pool.PauseFailed, nil, 0, "adapter %q: MiniportPause returned %v; it may only return SUCCESS or PENDING", a.name, st)
}

// PauseComplete is NdisMPauseComplete: finishes a pause that returned StatusPending.
func (a *Adapter) PauseComplete() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state != Pausing || !a.pausePending {
		return a.illegal("NdisMPauseComplete with no pause pending (state %v)", a.state)
	}
	return a.completePauseLocked()
}

func (a *Adapter) completePauseLocked() error {
	if r, s := a.outstanding.Load(), a.sendsPending.Load(); r != 0 || s != 0 {
		return a.illegal("pause completed with %d receive NBLs outstanding and %d sends pending", r, s)
	}
	if err := a.transitionLocked(EventPauseComplete); err != nil {
		return err
	}
	a.pausePending = false
	return nil
}

// Halt runs MiniportHaltEx: allowed only in Paused with no OID request and no send pending.
// Afterwards every miniport pool must have been freed; what is left is reported as LEAKED_NBL.
func (a *Adapter) Halt(action HaltAction) error {
	a.mu.Lock()
	if _, err := Transition(a.state, EventHalt); err != nil {
		a.mu.Unlock()
		return a.illegal("halt in state %v", a.state)
	}
	if a.oidActive != nil || len(a.oidQueue) > 0 {
		a.mu.Unlock()
		return a.illegal("halt while an OID request is pending")
	}
	if r, s := a.outstanding.Load(), a.sendsPending.Load(); r != 0 || s != 0 {
		a.mu.Unlock()
		return a.illegal("halt with %d receive NBLs outstanding and %d sends pending", r, s)
	}
	a.halting = true
	a.haltStarted = a.clock()
	a.haltWatched = false
	a.mu.Unlock()

	a.mp.Halt(action)

	a.mu.Lock()
	a.halting = false
	a.state = Halted
	a.mu.Unlock()
	return a.checkLeftovers("halt")
}

// Shutdown runs MiniportShutdownEx (if the miniport has one): from Paused, Restarting, Running or
// Pausing to Shutdown, which is terminal.
func (a *Adapter) Shutdown(action ShutdownAction) error {
	a.mu.Lock()
	if err := a.transitionLocked(EventShutdown); err != nil {
		a.mu.Unlock()
		return err
	}
	a.mu.Unlock()
	if sh, ok := a.mp.(ShutdownHandler); ok {
		sh.Shutdown(action)
	}
	return nil
}

// ---- Binding and status ----

// Bind binds protocol p to the adapter (NdisOpenAdapterEx). One protocol at a time.
func (a *Adapter) Bind(p Protocol) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == Shutdown {
		return a.illegal("bind in state %v", a.state)
	}
	if !a.binding.CompareAndSwap(nil, &binding{proto: p}) {
		return fmt.Errorf("ndis: adapter %q: a protocol is already bound", a.name)
	}
	return nil
}

// Unbind unbinds the protocol (NdisCloseAdapterEx). The adapter must not be running, and the
// protocol must hold nothing: no receive NBL, no pending send, no pool of its own. Otherwise the
// unbind is refused and reported as LEAKED_NBL.
func (a *Adapter) Unbind() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.binding.Load() == nil {
		return fmt.Errorf("ndis: adapter %q: no protocol is bound", a.name)
	}
	if r, s := a.outstanding.Load(), a.sendsPending.Load(); r != 0 || s != 0 {
		return a.misuse(pool.LeakedNBL, nil, 0, "protocol unbinds from %q holding %d receive NBLs with %d sends pending", a.name, r, s)
	}
	switch a.state {
	case Running, Pausing, Restarting:
		return a.illegal("unbind in state %v; pause first", a.state)
	}
	for _, e := range *a.pools.Load() {
		if e.component == ComponentProtocol {
			return a.misuse(pool.LeakedNBL, e, 0, "protocol unbinds from %q without freeing its pool", a.name)
		}
	}
	a.binding.Store(nil)
	return nil
}

// IndicateStatus is NdisMIndicateStatusEx. A StatusLinkState indication updates the link state
// the adapter reports (OID_GEN_LINK_STATE, _LINK_SPEED, _MEDIA_CONNECT_STATUS); every indication
// goes on to the bound protocol.
func (a *Adapter) IndicateStatus(s StatusIndication) error {
	a.mu.Lock()
	if a.state == Halted || a.state == Shutdown {
		st := a.state
		a.mu.Unlock()
		return a.illegal("status indication %v in state %v", s.Code, st)
	}
	if s.Code == StatusLinkState {
		a.link = s.Link
	}
	a.mu.Unlock()
	if b := a.binding.Load(); b != nil {
		b.proto.Status(s)
	}
	return nil
}

// Link returns the current link state.
func (a *Adapter) Link() LinkState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.link
}
