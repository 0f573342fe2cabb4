package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"webminiport/usbnic"
)

// Errors a Device returns besides usbnic.ErrDisconnected, named after the WebUSB DOMException
// each stands for. Returned errors wrap them with what was wrong.
var (
	// ErrInvalidState: the device is not open or not configured, or the interface is not
	// claimed (InvalidStateError).
	ErrInvalidState = errors.New("sim: invalid state")
	// ErrNotFound: no such configuration, interface, alternate setting or endpoint in the
	// selected alternate settings (NotFoundError).
	ErrNotFound = errors.New("sim: not found")
	// ErrAborted: the transfer was cancelled by Close, ReleaseInterface, SelectAlternate,
	// SelectConfiguration or Reset (AbortError).
	ErrAborted = errors.New("sim: transfer aborted")
	// ErrTransfer: the transfer failed on the bus (NetworkError "A transfer error has
	// occurred."); fault injection returns it.
	ErrTransfer = errors.New("sim: transfer error")
	// ErrClaimFailed: a kernel driver holds the interface (NetworkError "Unable to claim
	// interface.").
	ErrClaimFailed = errors.New("sim: unable to claim interface")
)

// Device is one virtual adapter as a USB host sees it; it implements usbnic.Transport. All of its
// methods are safe for concurrent use.
type Device struct {
	model   *Model
	set     settings
	spec    *deviceSpec
	speed   usbnic.Speed
	devDesc []byte
	cfgDesc [][]byte
	wire    Wire
	port    *port

	mu       sync.Mutex
	removed  chan struct{}
	gone     bool
	opened   bool
	cur      *configSpec // nil while unconfigured
	claimed  uint32      // bit i: interface i is claimed
	alts     [32]uint8   // selected alternate setting per interface number
	halted   uint32      // bit epIndex: endpoint halted until ClearHalt
	gen      [32]uint32  // bumped to abort every transfer waiting on an endpoint
	queues   [32]waitQueue
	free     []*waiter
	inflight int
	stats    Stats
	res      inResult // the one in-progress IN result; calls into functions are serialized
	faults   []pendingFault
	fired    [numFaultKinds]uint64
	rng      *rand.Rand
	outBuf   []byte // a copy of OUT data that a fault truncates or corrupts
}

// New plugs in a virtual adapter of the given model with wire behind its Ethernet port (nil: an
// empty port). The device starts powered, in the configuration the host OS would have picked,
// not open.
func New(m *Model, w Wire, opts ...Option) *Device {
	s := defaultSettings()
	for _, o := range opts {
		o(&s)
	}
	return newDevice(m, w, s)
}

func newDevice(m *Model, w Wire, s settings) *Device {
	if w == nil {
		w = nullWire{}
	}
	d := &Device{
		model:   m,
		set:     s,
		wire:    w,
		removed: make(chan struct{}),
		rng:     rand.New(rand.NewPCG(s.seed|1, 0x5eed)),
		outBuf:  make([]byte, 0, 64<<10),
	}
	d.port = &port{
		wire:    w,
		st:      &d.stats,
		cable:   s.cable,
		partner: s.partnerMbps,
		delay:   s.linkDelay,
		stage:   make([]byte, MaxFrameSize),
		scratch: make([]byte, MaxFrameSize),
	}
	d.port.checked, _ = w.(checkedWire)
	d.port.floods, _ = w.(floodRunWire)
	d.spec = m.build(d.port, &s)
	d.speed = s.speed
	if d.speed > d.spec.maxSpeed {
		d.speed = d.spec.maxSpeed
	}
	if d.speed < usbnic.SpeedFull {
		d.speed = usbnic.SpeedFull
	}
	d.port.speed = d.speed
	d.devDesc = d.spec.encodeDevice(d.speed)
	for _, c := range d.spec.configs {
		d.cfgDesc = append(d.cfgDesc, c.encode(d.speed))
	}
	now := time.Now()
	for _, c := range d.spec.configs {
		c.fn.powerOn(now)
	}
	v := d.spec.initialConfig
	if s.configSet {
		v = s.config
	}
	if c := d.config(v); c != nil {
		d.cur = c
		c.fn.configured(now)
	}
	return d
}

// Model returns the model the device was built from.
func (d *Device) Model() *Model { return d.model }

// Wire returns what is plugged into the Ethernet port.
func (d *Device) Wire() Wire { return d.wire }

// MAC returns the permanent MAC address the device reports (for CDC: the host MAC of
// iMACAddress).
func (d *Device) MAC() [6]byte { return d.port.mac }

// DeviceDescriptor implements usbnic.Transport.
func (d *Device) DeviceDescriptor() []byte { return append([]byte(nil), d.devDesc...) }

// ConfigDescriptor implements usbnic.Transport. Like WebUSB's configurations, it needs no open.
func (d *Device) ConfigDescriptor(ctx context.Context, i int) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if i < 0 || i >= len(d.cfgDesc) {
		return nil, fmt.Errorf("%w: configuration index %d (device has %d)", ErrNotFound, i, len(d.cfgDesc))
	}
	return append([]byte(nil), d.cfgDesc[i]...), nil
}

// Speed implements usbnic.Transport.
func (d *Device) Speed() usbnic.Speed { return d.speed }

// Disconnected implements usbnic.Transport.
func (d *Device) Disconnected() <-chan struct{} { return d.removed }

// Open implements usbnic.Transport. Opening an open device succeeds.
func (d *Device) Open(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.alive(ctx); err != nil {
		return err
	}
	d.opened = true
	return nil
}

// Close implements usbnic.Transport: it releases every interface and aborts every transfer.
func (d *Device) Close(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.alive(ctx); err != nil {
		return err
	}
	d.opened = false
	d.claimed = 0
	d.abortAll()
	return nil
}

// Reset implements usbnic.Transport: a USB port reset. Every transfer is aborted and the
// function returns to its power-on state; the host stack then restores the configuration and
// alternate settings, and claims stay, as Linux usb_reset_device does.
func (d *Device) Reset(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(ctx, false); err != nil {
		return err
	}
	d.abortAll()
	d.halted = 0
	now := time.Now()
	for _, c := range d.spec.configs {
		c.fn.powerOn(now)
	}
	if c := d.cur; c != nil {
		c.fn.configured(now)
		for _, f := range c.ifaces {
			if a := d.alts[f.number]; a != 0 {
				c.fn.setAlt(f.number, a, now)
			}
		}
	}
	return nil
}

// SelectConfiguration implements usbnic.Transport. Changing the configuration fails while any
// interface is claimed, as Linux usbfs does (EBUSY).
func (d *Device) SelectConfiguration(ctx context.Context, value uint8) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(ctx, false); err != nil {
		return err
	}
	c := d.config(value)
	if c == nil {
		return fmt.Errorf("%w: configuration value %d", ErrNotFound, value)
	}
	if c == d.cur {
		return nil // WebUSB resolves at once when the configuration is already active
	}
	if d.claimed != 0 {
		return fmt.Errorf("%w: cannot select configuration %d while interfaces are claimed (mask %#x)", ErrInvalidState, value, d.claimed)
	}
	d.abortAll()
	d.cur = c
	d.alts = [32]uint8{}
	d.halted = 0
	c.fn.configured(time.Now())
	d.wakeHeads()
	return nil
}

// Configuration implements usbnic.Transport.
func (d *Device) Configuration() uint8 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur == nil {
		return 0
	}
	return d.cur.value
}

// ClaimInterface implements usbnic.Transport. Claiming a claimed interface succeeds.
func (d *Device) ClaimInterface(ctx context.Context, iface uint8) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(ctx, true); err != nil {
		return err
	}
	if iface >= 32 || d.cur.iface(iface) == nil {
		return fmt.Errorf("%w: interface %d in configuration %d", ErrNotFound, iface, d.cur.value)
	}
	if d.set.kernelDriver {
		return fmt.Errorf("%w %d: a kernel driver is bound to it", ErrClaimFailed, iface)
	}
	d.claimed |= 1 << iface
	return nil
}

// ReleaseInterface implements usbnic.Transport; transfers on the interface's endpoints are
// aborted. Releasing an unclaimed interface succeeds.
func (d *Device) ReleaseInterface(ctx context.Context, iface uint8) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(ctx, true); err != nil {
		return err
	}
	f := d.cur.iface(iface)
	if iface >= 32 || f == nil {
		return fmt.Errorf("%w: interface %d in configuration %d", ErrNotFound, iface, d.cur.value)
	}
	d.abortIface(f)
	d.claimed &^= 1 << iface
	return nil
}

// SelectAlternate implements usbnic.Transport. The interface must be claimed; transfers on its
// endpoints are aborted and the new alternate setting's endpoints start un-halted.
func (d *Device) SelectAlternate(ctx context.Context, iface, alt uint8) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(ctx, true); err != nil {
		return err
	}
	f := d.cur.iface(iface)
	if iface >= 32 || f == nil {
		return fmt.Errorf("%w: interface %d in configuration %d", ErrNotFound, iface, d.cur.value)
	}
	if d.claimed&(1<<iface) == 0 {
		return fmt.Errorf("%w: interface %d is not claimed", ErrInvalidState, iface)
	}
	a := f.alt(alt)
	if a == nil {
		return fmt.Errorf("%w: alternate setting %d of interface %d", ErrNotFound, alt, iface)
	}
	d.abortIface(f)
	for _, e := range a.eps {
		d.halted &^= 1 << epIndex(e.addr)
	}
	if !d.cur.fn.setAlt(iface, alt, time.Now()) {
		// The device stalled SET_INTERFACE; the host keeps the old setting.
		return fmt.Errorf("%w: device refused alternate setting %d of interface %d", ErrTransfer, alt, iface)
	}
	d.alts[iface] = alt
	d.wakeHeads()
	return nil
}

// ClearHalt implements usbnic.Transport.
func (d *Device) ClearHalt(ctx context.Context, ep uint8) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(ctx, true); err != nil {
		return err
	}
	if err := d.endpointUsable(ep); err != nil {
		return err
	}
	d.halted &^= 1 << epIndex(ep)
	d.wakeHeads()
	return nil
}

// alive checks that the device is present and ctx is live.
func (d *Device) alive(ctx context.Context) error {
	if d.gone {
		return usbnic.ErrDisconnected
	}
	return ctx.Err()
}

// usable checks the host-stack preconditions: present, open and (when asked) configured.
func (d *Device) usable(ctx context.Context, needConfig bool) error {
	if err := d.alive(ctx); err != nil {
		return err
	}
	if !d.opened {
		return fmt.Errorf("%w: device is not open", ErrInvalidState)
	}
	if needConfig && d.cur == nil {
		return fmt.Errorf("%w: device is not configured", ErrInvalidState)
	}
	return nil
}

// endpointUsable checks that ep exists in a selected alternate setting of a claimed interface.
func (d *Device) endpointUsable(ep uint8) error {
	f, e := d.cur.altFor(ep, &d.alts)
	if e == nil {
		return fmt.Errorf("%w: endpoint %#02x is not in any selected alternate setting of configuration %d", ErrNotFound, ep, d.cur.value)
	}
	if d.claimed&(1<<f.number) == 0 {
		return fmt.Errorf("%w: interface %d of endpoint %#02x is not claimed", ErrInvalidState, f.number, ep)
	}
	return nil
}

func (d *Device) config(value uint8) *configSpec {
	for _, c := range d.spec.configs {
		if c.value == value {
			return c
		}
	}
	return nil
}

// epIndex maps an endpoint address to 0..31: the number, plus 16 for IN.
func epIndex(ep uint8) int { return int(ep&0x0F) | int(ep>>7)<<4 }

func (d *Device) abortAll() {
	for i := range d.gen {
		d.gen[i]++
	}
	d.wakeAll()
}

func (d *Device) abortIface(f *ifaceSpec) {
	for _, a := range f.alts {
		for _, e := range a.eps {
			d.gen[epIndex(e.addr)]++
		}
	}
	d.wakeAll()
}

// RemoveNow pulls the device out: every pending and future call returns usbnic.ErrDisconnected
// and Disconnected is closed. Calling it again does nothing.
func (d *Device) RemoveNow() {
	d.mu.Lock()
	d.removeLocked()
	d.mu.Unlock()
}

func (d *Device) removeLocked() {
	if d.gone {
		return
	}
	d.gone = true
	d.opened = false
	close(d.removed)
}

// Replug removes the device (if it is still present) and returns a new instance of the same
// model on the same wire, with the same options and the current cable state, as plugging the
// adapter back in gives the host a new device.
func (d *Device) Replug() *Device {
	d.mu.Lock()
	d.removeLocked()
	s := d.set
	s.cable = d.port.cable
	d.mu.Unlock()
	return newDevice(d.model, d.wire, s)
}

// SetCable plugs the Ethernet cable in or pulls it out. The ASIX PHYs drop the link at once and
// autonegotiate again after the link delay; the CDC gadgets report NETWORK_CONNECTION.
func (d *Device) SetCable(plugged bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.port.cable == plugged {
		return
	}
	d.port.cable = plugged
	if d.cur != nil {
		// Only the active function reacts; the others read the cable when next configured.
		d.cur.fn.cableChanged(time.Now())
	}
	d.wakeHeads()
}

// Stats returns a snapshot of the device's counters.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Outstanding returns how many transport calls are inside the device now (waiting for data or
// for their turn). A host that has stopped cleanly leaves none.
func (d *Device) Outstanding() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inflight
}
