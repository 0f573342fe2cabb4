package ffs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
)

// Errors a File returns for the FunctionFS and GadgetFS answers that are not failures of the
// program.
var (
	// ErrStalled: the read or write stalled the control request, as asked (EL2HLT).
	ErrStalled = errors.New("ffs: request stalled")
	// ErrCancelled: the host gave the control request up, or a new event replaced it, before
	// its data stage ran (EIDRM).
	ErrCancelled = errors.New("ffs: request cancelled")
	// ErrDisabled: the endpoint was disabled under the transfer: a disconnect, a reset or a new
	// configuration (ESHUTDOWN).
	ErrDisabled = errors.New("ffs: endpoint disabled")
)

// File is one file of a mounted FunctionFS or GadgetFS instance. Read and Write must each make
// exactly one read(2) or write(2), even for an empty buffer: both give zero-length reads and
// writes a meaning (on ep0 they complete or stall a request's status stage; on an IN endpoint a
// zero-length write sends a zero-length packet). Errors wrap ErrStalled, ErrCancelled and
// ErrDisabled where they apply.
type File interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Close() error
}

// Dir is a mounted instance: it opens its files by name ("ep0", "ep1", ... for FunctionFS;
// the UDC's name and its endpoints' names, "ep1in-bulk" and so on, for GadgetFS) and lists them.
type Dir interface {
	Open(name string) (File, error)
	List() ([]string, error)
}

// Config is what a Function serves.
type Config struct {
	Model         *sim.Model
	Configuration uint8 // the model's bConfigurationValue to serve (0: its first configuration)
	Wire          sim.Wire
	Options       []sim.Option
	// Speed reports the bus speed; FunctionFS asks it when the host has configured the device
	// (for a UDC, /sys/class/udc/NAME/current_speed). The model is built for that speed.
	// GadgetFS reports the speed itself.
	Speed func() (usbnic.Speed, error)
	// Logf receives one line per event, stall and error; nil logs nothing.
	Logf func(format string, args ...any)
	// Trace adds one line to Logf per control request: the request and what became of it.
	Trace bool
}

// Counters are the function's own counts, beside the model's sim.Stats.
type Counters struct {
	Binds, Unbinds, Enables, Disables, Suspends, Resumes uint64 // FunctionFS events
	Connects, Disconnects                                uint64 // GadgetFS events
	Setups                                               uint64 // control requests handed to the model
	Stalls                                               uint64 // stalled because the model refused them
	LateStalls                                           uint64 // refused by the model after FunctionFS had completed them (OUT data stage)
	Cancelled                                            uint64 // given up by the host before their data stage
	Instances                                            uint64 // model instances built: one per bind, and a new one when the bus speed changes

	InTransfers, InBytes, ZLPs uint64
	OutTransfers, OutBytes     uint64
	Errors                     uint64 // endpoint and ep0 I/O that failed for another reason than a disabled endpoint
}

// Snapshot is the function's state for a report.
type Snapshot struct {
	Model    string
	Speed    string    // the bus speed the current model instance runs at; "" before the first enable
	MAC      string    // its permanent MAC address
	Counters Counters  // the function's counts since Start
	Device   sim.Stats // the current (or last) model instance's counters
}

// ioBuffer is the size of each endpoint's transfer buffer: the largest transfer any model sends
// (an AX88179 aggregate is under 64 KiB) and a multiple of every bulk wMaxPacketSize, which
// OUT reads must be so that one read is one host transfer.
const ioBuffer = 64 << 10

// closeWait bounds how long Close waits for the endpoint goroutines: they end when their
// transfer does, which a disabled endpoint ends at once.
const closeWait = 3 * time.Second

// Function serves one model through one FunctionFS or GadgetFS instance.
//
// Each endpoint has one goroutine for the life of the function. It serves one session at a
// time, a session being what one configuration runs: with FunctionFS an ENABLE starts one (the
// host configured the device) and the next DISABLE, ENABLE or UNBIND ends it; with GadgetFS,
// SET_CONFIGURATION and SET_INTERFACE start one and DISCONNECT ends it. Between sessions it
// waits. Goroutines that live as long as the function, rather than per session, mean that no two
// ever take turns on one file: a read that was still starting when the host reset the device
// belongs to the session that follows.
type Function struct {
	cfg      Config
	layout   *Layout
	gadgetFS bool
	maxSpeed usbnic.Speed
	dir      Dir
	ep0      File
	ctl      []byte // control data stages
	pumps    sync.WaitGroup

	mu      sync.Mutex
	changed *sync.Cond // signalled when sess changes or the function closes
	// files are the endpoint files in Layout.Endpoints order: FunctionFS's are open for the
	// function's life; GadgetFS's are opened and configured at the first SET_CONFIGURATION of
	// a connection and closed at its DISCONNECT.
	files    []File
	sess     *session // the running session; nil while the endpoints are disabled
	gen      uint64   // sessions started so far
	closed   bool
	speed    usbnic.Speed // GadgetFS: the speed CONNECT reported
	gadget   *sim.Gadget  // the model instance of this bind or connection; nil until needed
	last     *sim.Gadget  // the latest instance, kept for Snapshot after an unbind
	counters Counters
}

// session is one configuration running: the model instance serving it, the files, a context
// that its end cancels (which ends IN transfers waiting in the model), and the endpoint
// goroutines working in it.
type session struct {
	gen    uint64
	g      *sim.Gadget
	files  []File
	ctx    context.Context
	cancel context.CancelFunc
	inside sync.WaitGroup
}

// New lays out cfg's model as a FunctionFS function in dir. Nothing is opened until Start. A
// model configuration with class-specific descriptors fails with ErrNotFunctionFS: serve it
// with NewGadgetFS.
func New(dir Dir, cfg Config) (*Function, error) {
	if cfg.Model == nil || cfg.Speed == nil {
		return nil, errors.New("ffs: Config needs a Model and a Speed function")
	}
	l, err := Describe(cfg.Model, cfg.Configuration, cfg.Options...)
	if err != nil {
		return nil, err
	}
	return newFunction(dir, cfg, l, false), nil
}

// NewGadgetFS lays out cfg's model as a GadgetFS device in dir (Speed may be nil: GadgetFS
// reports the speed). Nothing is opened until Start.
func NewGadgetFS(dir Dir, cfg Config) (*Function, error) {
	if cfg.Model == nil {
		return nil, errors.New("ffs: Config needs a Model")
	}
	l, err := DescribeGadgetFS(cfg.Model, cfg.Configuration, cfg.Options...)
	if err != nil {
		return nil, err
	}
	return newFunction(dir, cfg, l, true), nil
}

func newFunction(dir Dir, cfg Config, l *Layout, gadgetFS bool) *Function {
	f := &Function{cfg: cfg, layout: l, gadgetFS: gadgetFS, maxSpeed: usbnic.SpeedHigh, dir: dir, ctl: make([]byte, 0xFFFF)}
	f.changed = sync.NewCond(&f.mu)
	if l.Device.MaxSpeed == "super-speed" {
		f.maxSpeed = usbnic.SpeedSuper
	}
	return f
}

// Layout returns the function's layout: what the configfs gadget must carry.
func (f *Function) Layout() *Layout { return f.layout }

// Start writes the model's description and starts the endpoint goroutines. FunctionFS: it opens
// ep0, writes the descriptors and strings and opens the endpoint files FunctionFS then creates;
// after Start the configfs gadget may be bound to a UDC. GadgetFS: it opens the instance's one
// file, the UDC's, and writes the configuration and device descriptors, which binds the device
// to the UDC.
func (f *Function) Start() error {
	if f.gadgetFS {
		if err := f.startGadgetFS(); err != nil {
			return err
		}
	} else if err := f.startFunctionFS(); err != nil {
		return err
	}
	for i, e := range f.layout.Endpoints {
		f.pumps.Add(1)
		go f.pump(i, e)
	}
	return nil
}

func (f *Function) startFunctionFS() error {
	ep0, err := f.dir.Open("ep0")
	if err != nil {
		return err
	}
	f.ep0 = ep0
	if _, err := ep0.Write(f.layout.Descriptors); err != nil {
		return fmt.Errorf("ffs: writing the %d-byte descriptor blob to ep0: %w", len(f.layout.Descriptors), err)
	}
	if _, err := ep0.Write(f.layout.Strings); err != nil {
		return fmt.Errorf("ffs: writing the %d-byte strings blob to ep0: %w", len(f.layout.Strings), err)
	}
	for i := range f.layout.Endpoints {
		ep, err := f.dir.Open(fmt.Sprintf("ep%d", i+1))
		if err != nil {
			return err
		}
		f.files = append(f.files, ep)
	}
	return nil
}

// Serve handles ep0's events until ctx is done and the device is gone (the caller unbinds the
// gadget from its UDC, or disconnects the UDC, after cancelling ctx: FunctionFS then reports
// UNBIND, GadgetFS DISCONNECT), or until ep0 fails.
func (f *Function) Serve(ctx context.Context) error {
	buf := make([]byte, maxEvents*EventSize)
	parse, last := ParseEvents, EventUnbind
	if f.gadgetFS {
		parse, last = ParseGadgetFSEvents, EventDisconnect
	}
	for {
		n, err := f.ep0.Read(buf)
		if errors.Is(err, ErrCancelled) {
			continue // a cancelled request is reported once, by the next read
		}
		if err != nil {
			return fmt.Errorf("ffs: reading events from ep0: %w", err)
		}
		evs, err := parse(buf[:n])
		if err != nil {
			return err
		}
		for _, ev := range evs {
			f.handle(ev)
			if ev.Type == last && ctx.Err() != nil {
				return nil
			}
		}
	}
}

func (f *Function) logf(format string, args ...any) {
	if f.cfg.Logf != nil {
		f.cfg.Logf(format, args...)
	}
}

func (f *Function) count(fn func(c *Counters)) {
	f.mu.Lock()
	fn(&f.counters)
	f.mu.Unlock()
}

func (f *Function) handle(ev Event) {
	if ev.Type != EventSetup {
		f.logf("ffs: %v", ev.Type)
	}
	switch ev.Type {
	case EventBind:
		f.count(func(c *Counters) { c.Binds++ })
		f.setCurrent(nil) // a new plug-in powers the chip up afresh
	case EventUnbind:
		f.count(func(c *Counters) { c.Unbinds++ })
		f.endSession(false)
		f.setCurrent(nil)
	case EventEnable:
		f.count(func(c *Counters) { c.Enables++ })
		f.endSession(false)
		f.enable()
	case EventDisable:
		f.count(func(c *Counters) { c.Disables++ })
		f.endSession(false)
	case EventConnect:
		f.count(func(c *Counters) { c.Connects++ })
		f.mu.Lock()
		f.speed = ev.Speed
		f.mu.Unlock()
		f.setCurrent(nil)
		f.instance(ev.Speed) // the host reads its strings before configuring it
	case EventDisconnect:
		f.count(func(c *Counters) { c.Disconnects++ })
		f.endSession(true)
		f.closeEndpoints()
	case EventSuspend:
		f.count(func(c *Counters) { c.Suspends++ })
	case EventResume:
		f.count(func(c *Counters) { c.Resumes++ })
	case EventSetup:
		f.setup(ev.Setup)
	}
}

func (f *Function) current() *sim.Gadget {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gadget
}

func (f *Function) setCurrent(g *sim.Gadget) {
	f.mu.Lock()
	f.gadget = g
	if g != nil {
		f.last = g
	}
	f.mu.Unlock()
}

// instance returns the model instance for a bus at speed sp: the one already running, or a new
// one when there is none or it runs at another speed.
func (f *Function) instance(sp usbnic.Speed) *sim.Gadget {
	if sp < usbnic.SpeedFull {
		f.logf("ffs: bus speed unknown; running the model at high speed")
		sp = usbnic.SpeedHigh
	}
	sp = min(sp, f.maxSpeed)
	g := f.current()
	if g == nil || g.Speed() != sp {
		g = sim.NewGadget(f.cfg.Model, f.cfg.Wire, sp, f.cfg.Options...)
		f.count(func(c *Counters) { c.Instances++ })
		f.logf("ffs: %s at %v speed, MAC %x", f.cfg.Model.Name, sp, g.MAC())
		f.setCurrent(g)
	}
	return g
}

// enable (FunctionFS) runs the model for the configuration the host selected.
func (f *Function) enable() {
	sp, err := f.cfg.Speed()
	if err != nil {
		f.logf("ffs: %v", err)
	}
	g := f.instance(sp)
	if !g.SetConfiguration(f.layout.Device.Configuration) {
		f.logf("ffs: %s refused configuration %d", f.cfg.Model.Name, f.layout.Device.Configuration)
	}
	f.startSession(g)
}

func (f *Function) startSession(g *sim.Gadget) {
	ctx, cancel := context.WithCancel(context.Background())
	f.mu.Lock()
	f.gen++
	f.sess = &session{gen: f.gen, g: g, files: f.files, ctx: ctx, cancel: cancel}
	f.changed.Broadcast()
	f.mu.Unlock()
}

// endSession ends the running session, if any: its IN transfers waiting in the model return,
// and the endpoint goroutines go on to wait for the next one. With wait it also waits (bounded)
// until none is still working in it, so that its files may be closed.
func (f *Function) endSession(wait bool) {
	f.mu.Lock()
	s := f.sess
	f.sess = nil
	f.changed.Broadcast()
	f.mu.Unlock()
	if s == nil {
		return
	}
	s.cancel()
	if wait && !waitTimeout(&s.inside, closeWait) {
		f.logf("ffs: endpoint goroutines still in a transfer after %v", closeWait)
	}
}

// waitTimeout waits for wg, at most d; it reports whether wg finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// nextSession waits for a session newer than gen and enters it; false means the function
// closed.
func (f *Function) nextSession(gen uint64) (*session, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for !f.closed && (f.sess == nil || f.sess.gen <= gen) {
		f.changed.Wait()
	}
	if f.closed {
		return nil, false
	}
	f.sess.inside.Add(1)
	return f.sess, true
}

// setup answers one control request through ep0.
func (f *Function) setup(s Setup) {
	f.count(func(c *Counters) { c.Setups++ })
	g := f.current()
	us := s.Usbnic()
	if us.Recipient == usbnic.ToEndpoint && !f.gadgetFS {
		// f_fs put the endpoint's index (1 for ep1) in wIndex; the model knows its address.
		if i := int(s.Index); i >= 1 && i <= len(f.layout.Endpoints) {
			us.Index = uint16(f.layout.Endpoints[i-1].Address)
		}
	}
	buf := f.ctl[:s.Length]
	n := -1 // bytes of the data stage; -1 when the request stalled
	var err error
	switch {
	case s.In():
		ok := false
		if g != nil {
			n, ok = g.Control(us, true, buf)
		}
		if !ok {
			n, err = -1, f.stall(s, func() error { _, err := f.ep0.Read(f.ctl[:1]); return err })
			break
		}
		_, err = f.ep0.Write(buf[:n])
	case s.Length == 0:
		if g == nil || !answered(g.Control(us, false, nil)) {
			err = f.stall(s, func() error { _, err := f.ep0.Write(nil); return err })
			break
		}
		if f.gadgetFS {
			f.configured(g, us)
		}
		n, err = f.ep0.Read(buf) // the zero-length read completes the status stage
	default:
		if n, err = f.ep0.Read(buf); err != nil {
			break
		}
		if g == nil || !answered(g.Control(us, false, buf[:n])) {
			f.count(func(c *Counters) { c.LateStalls++ })
			f.logf("ffs: the model refused %v after FunctionFS had completed it: %x", s, buf[:n])
		}
	}
	if f.cfg.Trace {
		f.logf("ffs: %v: %s", s, traceOutcome(s, buf, n, err))
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrCancelled):
		f.count(func(c *Counters) { c.Cancelled++ })
		f.logf("ffs: cancelled: %v", s)
	default:
		f.count(func(c *Counters) { c.Errors++ })
		f.logf("ffs: %v: %v", s, err)
	}
}

func answered(_ int, ok bool) bool { return ok }

// traceOutcome says in a few words what became of a request: its data stage, a stall or the
// error.
func traceOutcome(s Setup, buf []byte, n int, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case n < 0:
		return "stall"
	case n == 0:
		return "ok"
	case s.In():
		return fmt.Sprintf("in % x", buf[:n])
	}
	return fmt.Sprintf("out % x", buf[:n])
}

// stall stalls the request with the ep0 operation of the wrong direction; FunctionFS answers it
// with EL2HLT (ErrStalled), which is success here.
func (f *Function) stall(s Setup, op func() error) error {
	f.count(func(c *Counters) { c.Stalls++ })
	f.logf("ffs: stall %v", s)
	if err := op(); !errors.Is(err, ErrStalled) {
		if err == nil {
			return fmt.Errorf("stalling: ep0 accepted the wrong-direction transfer")
		}
		return err
	}
	return nil
}

// configured (GadgetFS) follows a SET_CONFIGURATION or SET_INTERFACE the model accepted, before
// its status stage lets the host go on: the endpoints of a new configuration are opened and
// configured, and a new session starts, so that the endpoint goroutines serve the endpoints of
// the alternate settings now selected.
func (f *Function) configured(g *sim.Gadget, s usbnic.Setup) {
	if s.Type != usbnic.Standard {
		return
	}
	switch {
	case s.Request == reqSetConfiguration && s.Recipient == usbnic.ToDevice:
		f.endSession(false)
		if s.Value == 0 {
			return
		}
		if err := f.openEndpoints(); err != nil {
			f.count(func(c *Counters) { c.Errors++ })
			f.logf("ffs: %v", err)
			return
		}
		f.startSession(g)
	case s.Request == reqSetInterface && s.Recipient == usbnic.ToInterface:
		f.endSession(false)
		f.startSession(g)
	}
}

// Standard requests GadgetFS passes on that change what the endpoints carry (USB 2.0 §9.4).
const (
	reqSetConfiguration = 0x09
	reqSetInterface     = 0x0B
)

// pump moves endpoint i's transfers in every session.
func (f *Function) pump(i int, e Endpoint) {
	defer f.pumps.Done()
	buf := make([]byte, ioBuffer)
	move := f.transferOut
	if e.In() {
		move = f.transferIn
	}
	var gen uint64
	for {
		s, ok := f.nextSession(gen)
		if !ok {
			return
		}
		gen = s.gen
		for i < len(s.files) && s.ctx.Err() == nil && move(s, e, s.files[i], buf) {
		}
		s.inside.Done()
	}
}

// transferIn takes one IN transfer from the model and writes it to the endpoint's file, followed
// by a zero-length packet when the bus needs one to end it. It reports whether the session goes
// on.
func (f *Function) transferIn(s *session, e Endpoint, file File, buf []byte) bool {
	n, zlp, err := s.g.In(s.ctx, e.Address, buf)
	if err != nil {
		if s.ctx.Err() == nil {
			f.ioError(e, err)
		}
		return false
	}
	if _, err := file.Write(buf[:n]); err != nil {
		f.ioError(e, err)
		return false
	}
	if zlp {
		if _, err := file.Write(buf[:0]); err != nil {
			f.ioError(e, err)
			return false
		}
	}
	f.mu.Lock()
	f.counters.InTransfers++
	f.counters.InBytes += uint64(n)
	if zlp {
		f.counters.ZLPs++
	}
	f.mu.Unlock()
	return true
}

// transferOut reads one of the host's OUT transfers from the endpoint's file and hands it to the
// model. The read is a multiple of wMaxPacketSize, so it ends at the host's short or zero-length
// packet; where the model's device reads a fixed length (an NCM NTB of dwNtbOutMaxSize, which
// the host may send with neither) it reads exactly that, as the device does. It reports whether
// the session goes on.
func (f *Function) transferOut(s *session, e Endpoint, file File, buf []byte) bool {
	if size := s.g.OutTransferSize(e.Address); size > 0 && size < len(buf) {
		buf = buf[:size]
	}
	n, err := file.Read(buf)
	if err != nil {
		f.ioError(e, err)
		return false
	}
	if err := s.g.Out(e.Address, buf[:n]); err != nil {
		f.ioError(e, err)
		return false
	}
	f.mu.Lock()
	f.counters.OutTransfers++
	f.counters.OutBytes += uint64(n)
	f.mu.Unlock()
	return true
}

func (f *Function) ioError(e Endpoint, err error) {
	if errors.Is(err, ErrDisabled) || errors.Is(err, sim.ErrAborted) || errors.Is(err, sim.ErrNotFound) {
		// The host reset or reconfigured the device, or the endpoint is not in the alternate
		// setting it selected; the next session serves the endpoint again.
		return
	}
	f.count(func(c *Counters) { c.Errors++ })
	f.logf("ffs: endpoint %#02x: %v", e.Address, err)
}

// Snapshot returns the function's counters and the model's.
func (f *Function) Snapshot() Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Snapshot{Model: f.cfg.Model.Name, Counters: f.counters}
	if g := f.last; g != nil {
		mac := g.MAC()
		s.Speed = g.Speed().String()
		s.MAC = fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
		s.Device = g.Stats()
	}
	return s
}

// Close ends the endpoint goroutines and closes every file; FunctionFS takes the function down
// when its last file closes, GadgetFS when ep0 closes. Unbind or disconnect first: that ends the
// transfers the goroutines are in (a goroutine still in one after closeWait is left behind).
func (f *Function) Close() error {
	f.mu.Lock()
	f.closed = true
	if f.sess != nil {
		f.sess.cancel()
		f.sess = nil
	}
	f.changed.Broadcast()
	f.mu.Unlock()
	if !waitTimeout(&f.pumps, closeWait) {
		f.logf("ffs: endpoint goroutines still in a transfer after %v; leaving them", closeWait)
	}
	errs := []error{f.closeEndpoints()}
	if f.ep0 != nil {
		errs = append(errs, f.ep0.Close())
	}
	return errors.Join(errs...)
}
