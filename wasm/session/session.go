// Package session is what the page runs, without the page: one adapter at a time — a virtual one
// (a usbnic/sim model with its virtual network) or a USB adapter behind any usbnic.Transport —
// brought up through usbnic/nic as an NDIS adapter, with the capture protocol driver bound to it
// recording every frame into one capture ring that outlives adapter changes, and the page's own
// host (package station) on the network behind it.
//
// It gives the page everything it shows and does: the control operations (model and traffic
// profile, pause, restart, halt, initialize, return policy, receive pool size and transfers in
// flight, sends, pcap replay and export), a per-frame Sample that copies counters without
// allocating, slower views (NBL view and history, pendingnbls, nbllog, reports), and the
// JSON-shaped state of window.webminiport.state(). It builds and tests natively: nothing in it
// touches JavaScript.
//
// Concurrency: control operations are serialized by one mutex and may take seconds (an ASIX
// bring-up sleeps as Linux does); the page calls them from goroutines, never from an event
// handler directly. Sample and the views never wait for a control operation: they read the
// current adapter through an atomic pointer.
package session

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"webminiport/ndis"
	"webminiport/ndis/capture"
	"webminiport/pool"
	"webminiport/usbnic"
	"webminiport/usbnic/nic"
	"webminiport/usbnic/sim"
	"webminiport/usbnic/sim/wire"
	"webminiport/wasm/station"
)

// Source is where the adapter comes from.
type Source uint8

// Sources.
const (
	SourceNone    Source = iota // nothing brought up yet
	SourceVirtual               // a usbnic/sim model with a virtual network
	SourceUSB                   // a USB adapter (WebUSB in the page)
)

func (s Source) String() string {
	switch s {
	case SourceVirtual:
		return "virtual"
	case SourceUSB:
		return "usb"
	}
	return "none"
}

// Profile is a traffic profile of the virtual network.
type Profile struct {
	Name  string // as the page and window.webminiport.setVirtual name it
	Label string // for the picker
}

// Profiles are the traffic profiles the page offers, in picker order. "replay" is not among them:
// opening a capture selects it.
var Profiles = []Profile{
	{"idle", "Idle chatter"},
	{"mix", "Web mix"},
	{"flood64", "64-byte flood"},
	{"flood1514", "1514-byte flood"},
	{"quiet", "Quiet (replies only)"},
}

// Traffic rates of the profiles. The web mix runs at a rate a small office would see; the floods
// at gigabit line rate (wire.LineRate): what the pipeline cannot take, the wire counts as missed,
// as a real wire does not wait for a slow host.
const (
	mixRate = 400
)

// Defaults for Config.
const (
	DefaultRxNBLs   = 256 // netvmini's receive NBL count
	DefaultHostName = "webminiport"
	// housekeepingEvery paces the station (DHCP, ARP and echo answers); watchdogs run once a
	// second.
	housekeepingEvery = 50 * time.Millisecond
	watchdogEvery     = time.Second
	infoEvery         = 200 * time.Millisecond
	// opTimeout bounds a pause or halt that waits for NBLs to come home.
	opTimeout = 10 * time.Second
	// filterWait bounds the wait for the capture driver's packet filter set before a halt.
	filterWait = time.Second
)

// Config sets up a session.
type Config struct {
	// Ring is the capture ring every adapter of the session records into; default a 32 MiB
	// ring (capture.NewRing with zero config).
	Ring *capture.Ring
	// RxNBLs is the receive pool size (preallocated receive NBLs); default DefaultRxNBLs.
	RxNBLs int
	// RxTransfers is the number of bulk-IN transfers in flight; 0 lets the core size it.
	RxTransfers int
	// Gate, when set, throttles bulk-IN submissions so the page gets its turn (see Gate).
	Gate *Gate
	// HostName is the station's DHCP host name; default DefaultHostName.
	HostName string
	// Clock is the source of time; default time.Now.
	Clock func() time.Time
	// LinkDelay is the virtual PHYs' autonegotiation time; 0 keeps the sim's default.
	LinkDelay time.Duration
	// Logf receives the core's log lines; nil drops them (Info keeps the last ones).
	Logf func(format string, args ...any)
}

// Session runs one adapter at a time. Its methods are safe for concurrent use.
type Session struct {
	cfg   Config
	ring  *capture.Ring
	start time.Time

	mu     sync.Mutex // serializes control operations; guards the fields below it
	stack  *stack
	rxNBLs int
	rxXfer int
	policy capture.ReturnPolicy
	delay  time.Duration
	hold   int

	view atomic.Pointer[view] // what Sample and the views read
	gen  atomic.Uint64
	// info is the adapter's usbnic.Info, refreshed by housekeeping: NIC.Info waits for the
	// minidriver's control hooks, which in the browser wait for the event loop, so the page's
	// callbacks must never call it themselves.
	info atomic.Pointer[infoSnap]

	decMu sync.Mutex
	dec   *capture.Decoder

	quit chan struct{}
	done chan struct{}
}

// stack is one adapter with everything around it. Its fields change only under Session.mu.
type stack struct {
	source  Source
	model   *sim.Model  // virtual
	dev     *sim.Device // virtual
	wire    *wire.Wire  // virtual
	profile string      // virtual
	replay  int         // frames of the capture being replayed
	t       usbnic.Transport
	label   string // what the adapter is called in the bar (model, or the USB product name)

	ad  *nic.Adapter     // nil before the first successful initialize
	drv *capture.Driver  // bound while initialized
	st  *station.Station // the host on this adapter's network
	err error            // the last bring-up or operation error, shown in the adapter bar
}

// view is an immutable picture of the current stack for the lock-free readers.
type view struct {
	gen    uint64
	source Source
	label  string
	model  string
	prof   string
	ad     *nic.Adapter
	drv    *capture.Driver
	st     *station.Station
	wire   *wire.Wire
	dev    *sim.Device
	pools  []poolRef
	err    string
	start  time.Time
	replay int
	set    Settings
}

// infoSnap is usbnic.Info of one adapter.
type infoSnap struct {
	ad   *nic.Adapter
	info usbnic.Info
}

// poolRef is one NBL pool of the adapter with its description.
type poolRef struct {
	p *pool.Pool
	v ndis.PoolView
}

// New makes a session with nothing brought up, and starts its housekeeping goroutine (station,
// watchdogs, removal); Close stops it.
func New(cfg Config) *Session {
	if cfg.Ring == nil {
		cfg.Ring = capture.NewRing(capture.RingConfig{})
	}
	if cfg.RxNBLs <= 0 {
		cfg.RxNBLs = DefaultRxNBLs
	}
	if cfg.HostName == "" {
		cfg.HostName = DefaultHostName
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	s := &Session{cfg: cfg, ring: cfg.Ring, start: cfg.Clock(), rxNBLs: cfg.RxNBLs, rxXfer: cfg.RxTransfers,
		dec: capture.NewDecoder(), quit: make(chan struct{}), done: make(chan struct{})}
	s.view.Store(&view{start: s.start, set: s.settingsLocked()})
	go s.housekeeping()
	return s
}

// Ring returns the capture ring.
func (s *Session) Ring() *capture.Ring { return s.ring }

// Start returns when the session began: frame times are shown relative to it.
func (s *Session) Start() time.Time { return s.start }

// Close halts the adapter and stops the housekeeping goroutine.
func (s *Session) Close() error {
	s.mu.Lock()
	err := s.dropStackLocked()
	s.mu.Unlock()
	close(s.quit)
	<-s.done
	return err
}

// ModelNames returns the virtual models in picker order.
func ModelNames() []string {
	names := make([]string, len(sim.Models))
	for i, m := range sim.Models {
		names[i] = m.Name
	}
	return names
}

// StartVirtual replaces the current adapter with a virtual one of the named model (see
// ModelNames) on a fresh virtual network running profile (see Profiles), brings it up and
// starts it.
func (s *Session) StartVirtual(ctx context.Context, model, profile string) error {
	m, ok := sim.ModelByName(model)
	if !ok {
		return fmt.Errorf("session: no virtual model %q (have %s)", model, strings.Join(ModelNames(), ", "))
	}
	if profile == "" {
		profile = "idle"
	}
	if !knownProfile(profile) {
		return fmt.Errorf("session: no traffic profile %q (have %s)", profile, profileNames())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dropStackLocked(); err != nil {
		s.cfg.logf("session: halting the previous adapter: %v", err)
	}
	w, err := wire.New(wire.Config{})
	if err != nil {
		return fmt.Errorf("session: virtual network: %w", err)
	}
	var opts []sim.Option
	if s.cfg.LinkDelay > 0 {
		opts = append(opts, sim.WithLinkDelay(s.cfg.LinkDelay))
	}
	dev := sim.New(m, w, opts...)
	st := &stack{source: SourceVirtual, model: m, dev: dev, wire: w, profile: profile, label: m.Name,
		t: gated(dev, s.cfg.Gate)}
	s.stack = st
	if err := s.bringUpLocked(ctx, true); err != nil {
		return err
	}
	return s.applyProfileLocked(st, profile, nil)
}

// AttachUSB replaces the current adapter with the USB adapter t (label names it in the adapter
// bar), brings it up and starts it.
func (s *Session) AttachUSB(ctx context.Context, t usbnic.Transport, label string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dropStackLocked(); err != nil {
		s.cfg.logf("session: halting the previous adapter: %v", err)
	}
	s.stack = &stack{source: SourceUSB, t: gated(t, s.cfg.Gate), label: label}
	return s.bringUpLocked(ctx, true)
}

// SetProfile switches the virtual network's traffic.
func (s *Session) SetProfile(profile string) error {
	if !knownProfile(profile) {
		return fmt.Errorf("session: no traffic profile %q (have %s)", profile, profileNames())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stack
	if st == nil || st.source != SourceVirtual {
		return errors.New("session: traffic profiles belong to the virtual adapter; none is running")
	}
	return s.applyProfileLocked(st, profile, nil)
}

// Replay reads a pcap or pcapng capture and replays its frames, byte for byte and in order,
// through the virtual adapter (bringing the default model up if another source is running). It
// returns how many frames the capture holds.
func (s *Session) Replay(ctx context.Context, data []byte) (int, error) {
	frames, err := wire.LoadPcap(strings.NewReader(string(data)))
	if err != nil {
		return 0, fmt.Errorf("session: reading the capture: %w", err)
	}
	if len(frames) == 0 {
		return 0, errors.New("session: the capture holds no frames")
	}
	s.mu.Lock()
	st := s.stack
	virtual := st != nil && st.source == SourceVirtual
	model := sim.AX88179.Name
	if virtual {
		model = st.model.Name
	}
	s.mu.Unlock()
	if !virtual {
		if err := s.StartVirtual(ctx, model, "quiet"); err != nil {
			return 0, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stack == nil || s.stack.source != SourceVirtual {
		return 0, errors.New("session: the virtual adapter went away before the replay started")
	}
	return len(frames), s.applyProfileLocked(s.stack, "replay", frames)
}

func (s *Session) applyProfileLocked(st *stack, profile string, frames []wire.Frame) error {
	var err error
	switch profile {
	case "idle":
		st.wire.Idle()
	case "mix":
		err = st.wire.Web(mixRate)
	case "flood64":
		err = st.wire.Flood(60, wire.LineRate(60))
	case "flood1514":
		err = st.wire.Flood(wire.MaxFrameLen, wire.LineRate(wire.MaxFrameLen))
	case "quiet":
		st.wire.Quiet()
	case "replay":
		err = st.wire.Replay(frames, wire.AsFastAsPulled)
		st.replay = len(frames)
	}
	if err != nil {
		return fmt.Errorf("session: traffic profile %s: %w", profile, err)
	}
	st.profile = profile
	s.publishLocked()
	return nil
}

func knownProfile(p string) bool {
	for _, k := range Profiles {
		if k.Name == p {
			return true
		}
	}
	return false
}

func profileNames() string {
	names := make([]string, len(Profiles))
	for i, p := range Profiles {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// bringUpLocked initializes the current stack's adapter, binds the capture driver and the
// station, and with start restarts it (Paused → Running).
func (s *Session) bringUpLocked(ctx context.Context, start bool) error {
	st := s.stack
	// NDIS reduces a failed initialize to a status; the core logs why (a minidriver or transport
	// error, which for WebUSB carries the platform's fix), so the log line goes into the error.
	var causeMu sync.Mutex
	var cause string
	logf := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		if strings.Contains(line, "initialize:") {
			causeMu.Lock()
			cause = line
			causeMu.Unlock()
		}
		s.cfg.logf("%s", line)
	}
	opts := nic.Options{NIC: usbnic.Options{RxNBLs: s.rxNBLs, RxTransfers: s.rxXfer, Logf: logf},
		NDIS: ndis.Config{Name: "usbnic0", Clock: s.cfg.Clock}}
	ad, err := nic.Open(ctx, st.t, opts)
	if err != nil {
		causeMu.Lock()
		if cause != "" {
			err = &BringUpError{Err: err, Cause: cause}
		}
		causeMu.Unlock()
		st.err = err
		s.publishLocked()
		return err
	}
	st.ad, st.err = ad, nil
	drv := capture.NewDriver(capture.DriverConfig{Ring: s.ring, RecordSent: true, Clock: s.cfg.Clock,
		// A capture tool sees every frame on the segment, not only the ones for its address.
		PacketFilter: ndis.FilterDirected | ndis.FilterMulticast | ndis.FilterAllMulticast | ndis.FilterBroadcast |
			ndis.FilterPromiscuous,
		Policy: s.policy, Delay: s.delay, Hold: s.hold})
	if err := drv.Bind(ad.NDIS); err != nil {
		st.err = fmt.Errorf("session: binding the capture driver: %w", err)
		_ = ad.Close(ctx)
		s.publishLocked()
		return st.err
	}
	st.drv = drv
	mac := ad.NIC.Info().MAC
	st.st = station.New(station.Config{MAC: mac, HostName: s.cfg.HostName, Send: drv.SendFrame,
		Seed: uint64(s.cfg.Clock().UnixNano())})
	if _, last, ok := s.ring.Span(); ok {
		st.st.SkipTo(last + 1)
	}
	if start {
		if err := ad.Start(); err != nil {
			st.err = fmt.Errorf("session: restart: %w", err)
			s.publishLocked()
			return st.err
		}
	}
	// The station starts DHCP from housekeeping once the link is up: a discover sent before
	// the PHY has negotiated would be lost and retried only seconds later.
	s.publishLocked()
	return nil
}

// BringUpError is a failed bring-up with the core's own account of it.
type BringUpError struct {
	Err   error  // what nic.Open returned
	Cause string // the core's log line saying what failed
}

func (e *BringUpError) Error() string { return e.Cause + " (" + e.Err.Error() + ")" }

// Unwrap returns the error of nic.Open.
func (e *BringUpError) Unwrap() error { return e.Err }

// haltLocked brings the current adapter down in NDIS order: the protocol gives back what it
// holds, the adapter pauses, the protocol unbinds, the adapter halts.
func (s *Session) haltLocked(ctx context.Context) error {
	st := s.stack
	if st == nil || st.ad == nil {
		return nil
	}
	if _, done := st.ad.HaltAction(); done {
		// Halted on its own (surprise removal): only the protocol is left to unbind.
		var err error
		if st.drv != nil {
			err = errors.Join(st.drv.Release(), st.drv.Unbind())
			st.drv = nil
		}
		s.publishLocked()
		return err
	}
	s.hidePoolsLocked()
	if st.drv != nil {
		if err := st.drv.Release(); err != nil {
			s.publishLocked()
			return err
		}
		// Halt is refused while an OID request is pending, and the capture driver's packet
		// filter may still be on its way to the device right after a bring-up. Natively its
		// status can also stay PENDING after the set completed (Bind stores the first answer
		// after the completion may have run), so the wait is short and not an error.
		waitFilterSet(ctx, st.drv, filterWait)
	}
	stopCtx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := st.ad.Stop(stopCtx); err != nil {
		// Still Pausing: something holds NBLs. Halting now would be refused; the adapter
		// stays as it is and the user can release them and try again.
		s.publishLocked()
		return fmt.Errorf("session: the pause before the halt did not complete: %w", err)
	}
	var errs []error
	if st.drv != nil {
		errs = append(errs, st.drv.Unbind())
		st.drv = nil
	}
	errs = append(errs, st.ad.Close(ctx))
	s.publishLocked()
	return errors.Join(errs...)
}

// waitFilterSet waits up to d for the packet filter the capture driver set at Bind to complete.
func waitFilterSet(ctx context.Context, drv *capture.Driver, d time.Duration) {
	deadline := time.Now().Add(d)
	for drv.Counters().FilterStatus == ndis.StatusPending && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
}

// hidePoolsLocked publishes a view without pools ahead of a halt, so that the readers stop
// looking at pools about to be freed.
func (s *Session) hidePoolsLocked() {
	v := *s.view.Load()
	v.pools = nil
	v.gen = s.gen.Add(1)
	s.view.Store(&v)
}

// dropStackLocked halts the current adapter and lets its device go.
func (s *Session) dropStackLocked() error {
	st := s.stack
	if st == nil {
		return nil
	}
	err := s.haltLocked(context.Background())
	if st.wire != nil {
		st.wire.Close()
	}
	s.stack = nil
	s.publishLocked()
	return err
}

// publishLocked makes a new view of the current stack for the readers.
func (s *Session) publishLocked() {
	v := &view{gen: s.gen.Add(1), start: s.start, set: s.settingsLocked()}
	if st := s.stack; st != nil {
		v.replay = st.replay
		v.source, v.label, v.ad, v.drv, v.st, v.wire, v.dev = st.source, st.label, st.ad, st.drv, st.st, st.wire, st.dev
		if st.model != nil {
			v.model = st.model.Name
		}
		v.prof = st.profile
		if st.err != nil {
			v.err = st.err.Error()
		}
		if st.ad != nil && st.ad.NDIS.State() != ndis.Halted {
			v.pools = poolsOf(st.ad.NDIS)
		}
	}
	s.view.Store(v)
	s.refreshInfo(v)
}

// refreshInfo caches the adapter's usbnic.Info for Adapter. Only goroutines that may wait call
// it (control operations, housekeeping).
func (s *Session) refreshInfo(v *view) {
	if v.ad == nil {
		s.info.Store(nil)
		return
	}
	s.info.Store(&infoSnap{ad: v.ad, info: v.ad.NIC.Info()})
}

// poolsOf finds the *pool.Pool behind each pool view of a: the handle of any of its NBLs names
// it (pool.PoolOf is NdisGetPoolFromNetBufferList). Every pool made here preallocates its NBLs,
// so each has one.
func poolsOf(a *ndis.Adapter) []poolRef {
	var refs []poolRef
	for _, pv := range a.NBLPools() {
		allocs, err := a.Allocations(pv.Handle)
		if err != nil {
			continue
		}
		for _, al := range allocs {
			if p := pool.PoolOf(al.NBL); p != nil {
				refs = append(refs, poolRef{p: p, v: pv})
				break
			}
		}
	}
	return refs
}

// Pause pauses the running adapter. It returns at once: while the protocol holds NBLs the
// adapter stays Pausing, and it becomes Paused when the last one comes home.
func (s *Session) Pause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ad, err := s.adapterLocked()
	if err != nil {
		return err
	}
	err = ad.NDIS.Pause()
	s.publishLocked()
	return err
}

// Restart restarts a paused adapter.
func (s *Session) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ad, err := s.adapterLocked()
	if err != nil {
		return err
	}
	err = ad.Start()
	s.publishLocked()
	return err
}

// Halt halts the adapter (from Running it pauses first, after the protocol released what it
// held).
func (s *Session) Halt(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.haltLocked(ctx)
}

// Initialize brings a halted adapter up again, with the current receive pool size and transfers
// in flight; it stays Paused until Restart.
func (s *Session) Initialize(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stack
	if st == nil {
		return errors.New("session: no adapter")
	}
	if st.ad != nil {
		if _, done := st.ad.HaltAction(); !done {
			return fmt.Errorf("session: initialize needs a halted adapter; it is %v", st.ad.NDIS.State())
		}
	}
	if st.source == SourceUSB && removed(st) {
		return errors.New("session: the USB adapter is unplugged; plug it in again")
	}
	return s.bringUpLocked(ctx, false)
}

func removed(st *stack) bool {
	if st.ad == nil {
		return false
	}
	a, halted := st.ad.HaltAction()
	return halted && a == ndis.HaltDeviceSurpriseRemoved
}

// Reconfigure sets the receive pool size and the bulk-IN transfers in flight (0: the core's
// choice) and applies them the way NDIS does: halt, then initialize, then restart.
func (s *Session) Reconfigure(ctx context.Context, rxNBLs, rxTransfers int) error {
	if rxNBLs < 8 || rxNBLs > pool.MaxCapacity {
		return fmt.Errorf("session: receive pool size %d outside 8..%d", rxNBLs, pool.MaxCapacity)
	}
	if rxTransfers < 0 || rxTransfers > 64 {
		return fmt.Errorf("session: %d bulk-IN transfers in flight outside 1..64 (0 for the default)", rxTransfers)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rxNBLs, s.rxXfer = rxNBLs, rxTransfers
	s.publishLocked()
	if s.stack == nil {
		return nil
	}
	if err := s.haltLocked(ctx); err != nil {
		return err
	}
	if err := s.bringUpLocked(ctx, true); err != nil {
		return err
	}
	if st := s.stack; st.source == SourceVirtual {
		return s.applyProfileLocked(st, st.profile, nil)
	}
	return nil
}

// Settings are the values of the page's controls.
type Settings struct {
	RxNBLs      int
	RxTransfers int // 0: the core's choice
	Policy      capture.ReturnPolicy
	Delay       time.Duration
	Hold        int
}

// Settings returns the current control values. It never waits.
func (s *Session) Settings() Settings { return s.view.Load().set }

func (s *Session) settingsLocked() Settings {
	return Settings{RxNBLs: s.rxNBLs, RxTransfers: s.rxXfer, Policy: s.policy, Delay: s.delay, Hold: s.hold}
}

// SetReturnDelay makes the capture driver return each indication d after it arrived (0: at
// once). A hold in force is released first.
func (s *Session) SetReturnDelay(d time.Duration) error {
	if d < 0 || d > time.Minute {
		return fmt.Errorf("session: return delay %v outside 0..1m", d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay, s.hold = d, 0
	s.policy = capture.ReturnAtOnce
	if d > 0 {
		s.policy = capture.ReturnAfterDelay
	}
	return s.applyPolicyLocked()
}

// Hold makes the capture driver keep up to n received NBLs (to push the miniport into RESOURCES
// indications and then drops); Release gives them back.
func (s *Session) Hold(n int) error {
	if n < 0 || n > pool.MaxCapacity {
		return fmt.Errorf("session: cannot hold %d NBLs (0..%d)", n, pool.MaxCapacity)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = n
	s.policy = capture.ReturnHold
	return s.applyPolicyLocked()
}

// Release returns every held NBL and goes back to the return delay in force.
func (s *Session) Release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = 0
	s.policy = capture.ReturnAtOnce
	if s.delay > 0 {
		s.policy = capture.ReturnAfterDelay
	}
	return s.applyPolicyLocked()
}

func (s *Session) applyPolicyLocked() error {
	s.publishLocked()
	if s.stack == nil || s.stack.drv == nil {
		return nil
	}
	return s.stack.drv.SetReturnPolicy(s.policy, s.delay, s.hold)
}

// SendOptions are the arguments of Send.
type SendOptions struct {
	// Target is the IPv4 address to ask for (ARP) or ping; default the router of the lease.
	Target netip.Addr
	// Size is the ping payload in bytes; default 56, as ping's.
	Size int
	// Count is how many pings to send; default 1.
	Count int
}

// Send sends a test frame from the station: "arp" (who-has Target), "ping" (echo requests to
// Target) or "dhcp" (a discover, followed through to a lease).
func (s *Session) Send(kind string, o SendOptions) error {
	v := s.view.Load()
	if v.st == nil || v.ad == nil || v.drv == nil {
		return errors.New("session: no adapter is running")
	}
	if st := v.ad.NDIS.State(); st != ndis.Running {
		return fmt.Errorf("session: the adapter is %v; sends need Running", st)
	}
	now := s.cfg.Clock()
	target := o.Target
	if !target.IsValid() && kind != "dhcp" {
		target = v.st.State().Router
		if !target.IsValid() {
			return errors.New("session: no target given and no router known yet (no DHCP lease)")
		}
	}
	switch kind {
	case "arp":
		return waitForSendBuffer(func() error { return v.st.ARP(target) })
	case "ping":
		size, count := o.Size, o.Count
		if size == 0 {
			size = 56
		}
		if count <= 0 {
			count = 1
		}
		if count > 1000 {
			return fmt.Errorf("session: %d pings at once is too many (at most 1000)", count)
		}
		for range count {
			if err := waitForSendBuffer(func() error { return v.st.Ping(now, target, size) }); err != nil {
				return err
			}
		}
		return nil
	case "dhcp":
		return waitForSendBuffer(func() error { return v.st.DHCPDiscover(now) })
	}
	return fmt.Errorf("session: unknown send kind %q (arp, ping or dhcp)", kind)
}

// sendBufferWait bounds how long a send waits for one of the capture driver's send buffers.
const sendBufferWait = 5 * time.Second

// waitForSendBuffer runs send until it is not refused for want of a send buffer: a burst of
// pings longer than the buffers (or an adapter slow to complete sends) waits for them to come
// home rather than failing, as long as the adapter completes some within sendBufferWait.
func waitForSendBuffer(send func() error) error {
	deadline := time.Now().Add(sendBufferWait)
	for pause := time.Millisecond; ; pause = min(2*pause, 20*time.Millisecond) {
		err := send()
		if !errors.Is(err, capture.ErrSendBusy) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w for %v: the adapter completes no send", err, sendBufferWait)
		}
		time.Sleep(pause)
	}
}

// adapterLocked returns the current adapter if it is initialized.
func (s *Session) adapterLocked() (*nic.Adapter, error) {
	st := s.stack
	if st == nil || st.ad == nil {
		return nil, errors.New("session: no adapter")
	}
	if _, done := st.ad.HaltAction(); done {
		return nil, errors.New("session: the adapter is halted; initialize it first")
	}
	return st.ad, nil
}

// housekeeping runs the station and the watchdogs, and notices a surprise removal.
func (s *Session) housekeeping() {
	defer close(s.done)
	tick := time.NewTicker(housekeepingEvery)
	defer tick.Stop()
	lastCheck, lastInfo := s.cfg.Clock(), s.cfg.Clock()
	var seenRemoved *nic.Adapter
	for {
		select {
		case <-s.quit:
			return
		case <-tick.C:
		}
		now := s.cfg.Clock()
		v := s.view.Load()
		if v.st != nil {
			v.st.Poll(s.ring, now)
			if v.ad != nil && v.st.State().Phase == station.PhaseNone && v.ad.NDIS.State() == ndis.Running &&
				v.ad.NDIS.Link().MediaConnect == ndis.MediaConnectConnected {
				_ = v.st.StartDHCP(now)
			}
		}
		if v.ad == nil {
			continue
		}
		if now.Sub(lastInfo) >= infoEvery {
			lastInfo = now
			s.refreshInfo(v)
		}
		if now.Sub(lastCheck) >= watchdogEvery {
			lastCheck = now
			v.ad.NDIS.Check(now)
		}
		if v.ad == seenRemoved {
			continue
		}
		select {
		case <-v.ad.NIC.Removed():
			// nic pauses and halts the adapter on its own, and the pause waits for every
			// NBL the protocol holds: the protocol must let go, as NDIS makes a protocol
			// unbind before the miniport of a removed device is halted.
			if v.drv != nil {
				_ = v.drv.Release()
			}
		default:
			continue
		}
		select {
		case <-v.ad.Done():
			seenRemoved = v.ad
			s.noteRemoval(v.ad)
		default:
		}
	}
}

// noteRemoval unbinds the capture driver of an adapter the core halted after its device went
// away, and says so in the adapter bar.
func (s *Session) noteRemoval(ad *nic.Adapter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stack
	if st == nil || st.ad != ad {
		return
	}
	if st.drv != nil {
		_ = st.drv.Release()
		if err := st.drv.Unbind(); err != nil {
			s.cfg.logf("session: unbinding after removal: %v", err)
		}
		st.drv = nil
	}
	st.err = errors.New("the adapter was unplugged: every NBL went home and the adapter halted; plug it in again to reconnect")
	s.publishLocked()
}

func (c *Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}
