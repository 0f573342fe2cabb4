package sim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"webminiport/usbnic"
)

// The device side. A Device answers a host through usbnic.Transport, with the host stack's rules
// (open, claims) enforced by the Device itself. A Gadget drives the same model from the other end
// of a real bus: a USB device controller's function driver in user space (Linux FunctionFS or
// GadgetFS) hands it each control request and moves endpoint data to and from it, while a real
// host stack on the far side of the wire enforces the host's rules. So a Gadget checks none of
// them: no open, no claims, and it learns the configuration and alternate settings from the bus.

// ErrHalted is returned by Gadget.In and Gadget.Out when the endpoint is halted.
var ErrHalted = errors.New("sim: endpoint halted")

// Gadget is the device side of one model instance. Its methods are safe for concurrent use: the
// control endpoint and every data endpoint may each be served from its own goroutine.
type Gadget struct{ d *Device }

// NewGadget builds a model instance for a bus that runs at speed (the speed the host enumerated
// it at: a model never runs faster than its chip can, so a USB 2.0 chip asked for SuperSpeed
// runs at high speed). It starts powered and in the configuration the host will select first, as
// a function driver is only told about the device once the host has configured it.
func NewGadget(m *Model, w Wire, speed usbnic.Speed, opts ...Option) *Gadget {
	s := defaultSettings()
	for _, o := range opts {
		o(&s)
	}
	s.speed = speed
	return &Gadget{d: newDevice(m, w, s)}
}

// Model returns the model the gadget was built from.
func (g *Gadget) Model() *Model { return g.d.model }

// Speed returns the bus speed the model runs at.
func (g *Gadget) Speed() usbnic.Speed { return g.d.speed }

// MAC returns the permanent MAC address the model reports.
func (g *Gadget) MAC() [6]byte { return g.d.MAC() }

// Stats returns a snapshot of the model's counters.
func (g *Gadget) Stats() Stats { return g.d.Stats() }

// DeviceDescriptor returns the model's device descriptor at its speed.
func (g *Gadget) DeviceDescriptor() []byte { return g.d.DeviceDescriptor() }

// ConfigDescriptor returns the model's configuration descriptor i (0-based, as GET_DESCRIPTOR's
// index) at its speed, with every interface, class-specific and endpoint descriptor behind it.
func (g *Gadget) ConfigDescriptor(i int) ([]byte, error) {
	return g.d.ConfigDescriptor(context.Background(), i)
}

// String returns the text of string descriptor i, and false when the model has none there.
func (g *Gadget) String(i uint8) (string, bool) {
	s := g.d.spec.strings
	if i == 0 || int(i) >= len(s) || s[i] == "" {
		return "", false
	}
	return s[i], true
}

// Standard requests the device side answers besides those Device handles (USB 2.0 §9.4).
const (
	reqSetConfiguration = 0x09
	reqSetInterface     = 0x0B
)

// Control answers one control request as the device. in is the direction of the data stage;
// data holds the OUT data stage, or receives the IN data stage (len(data) is wLength). It returns
// the IN length and whether the request succeeded: false means the device stalls it.
//
// Class and vendor requests go to the configuration's function. Standard requests are answered
// as the device would if the device controller framework passes them on: SET_CONFIGURATION and
// SET_INTERFACE change the model's state as SetConfiguration and SetInterface do.
func (g *Gadget) Control(s usbnic.Setup, in bool, data []byte) (int, bool) {
	d := g.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gone || len(data) > 0xFFFF {
		return 0, false
	}
	d.stats.ControlTransfers++
	now := time.Now()
	n, ok := 0, false
	std := s.Type == usbnic.Standard
	switch {
	case std && !in && s.Request == reqSetConfiguration && s.Recipient == usbnic.ToDevice:
		ok = len(data) == 0 && d.configureLocked(uint8(s.Value), now)
	case std && in && s.Request == reqGetConfiguration && d.cur == nil:
		n, ok = copy(data, []byte{0}), true
	case std && in && s.Request == reqGetDescriptor:
		n, ok = d.standardIn(s, data)
	case d.cur == nil:
		// Unconfigured: the function behind a configuration is not running.
	case std && !in && s.Request == reqSetInterface && s.Recipient == usbnic.ToInterface:
		ok = len(data) == 0 && d.setInterfaceLocked(uint8(s.Index), uint8(s.Value), now)
	case std && in:
		n, ok = d.standardIn(s, data)
	case std:
		ok = d.standardOut(s, data)
	case in:
		n, ok = d.cur.fn.controlIn(s, data, now)
	default:
		ok = d.cur.fn.controlOut(s, data, now)
	}
	d.wakeHeads()
	if !ok {
		d.stats.Stalls++
		return 0, false
	}
	return n, true
}

// SetConfiguration selects configuration value (0: unconfigured), as a SET_CONFIGURATION from
// the host does: every transfer waiting on the old configuration is aborted, every interface
// goes back to alternate setting 0 and the function starts afresh even when the value is the
// current one. It reports false for a value the model does not have.
func (g *Gadget) SetConfiguration(value uint8) bool {
	d := g.d
	d.mu.Lock()
	defer d.mu.Unlock()
	ok := d.configureLocked(value, time.Now())
	d.wakeHeads()
	return ok
}

// SetInterface selects alternate setting alt of interface iface in the current configuration,
// as a SET_INTERFACE from the host does. It reports false when there is no such setting or the
// function refuses it (the device stalls the request).
func (g *Gadget) SetInterface(iface, alt uint8) bool {
	d := g.d
	d.mu.Lock()
	defer d.mu.Unlock()
	ok := d.cur != nil && d.setInterfaceLocked(iface, alt, time.Now())
	d.wakeHeads()
	return ok
}

// Interface returns the alternate setting interface iface is in.
func (g *Gadget) Interface(iface uint8) uint8 {
	d := g.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if iface >= 32 {
		return 0
	}
	return d.alts[iface]
}

func (d *Device) configureLocked(value uint8, now time.Time) bool {
	var c *configSpec
	if value != 0 {
		if c = d.config(value); c == nil {
			return false
		}
	}
	d.abortAll()
	d.cur = c
	d.alts = [32]uint8{}
	d.halted = 0
	if c != nil {
		c.fn.configured(now)
	}
	return true
}

func (d *Device) setInterfaceLocked(iface, alt uint8, now time.Time) bool {
	f := d.cur.iface(iface)
	if iface >= 32 || f == nil {
		return false
	}
	a := f.alt(alt)
	if a == nil {
		return false
	}
	d.abortIface(f)
	for _, e := range a.eps {
		d.halted &^= 1 << epIndex(e.addr)
	}
	if !d.cur.fn.setAlt(iface, alt, now) {
		return false
	}
	d.alts[iface] = alt
	return true
}

// In waits until the model has an IN transfer for endpoint ep (its address in the model's
// descriptors), copies it into buf and returns its length. buf should have room for the largest
// transfer the model sends on ep (64 KiB covers every model); a transfer longer than buf is cut
// and In returns an error, as the host would see babble.
//
// zlp reports that the transfer ends exactly on a packet boundary while the host's reads on ep
// are sized for more: on a real bus the device then ends it with a zero-length packet, or the
// host would take the next transfer's data into the same read. A transfer as long as the reads
// the host is known to post (an AX88772 burst of the RX_CTL size, an NCM NTB of the negotiated
// input size) fills the host's buffer and ends without one.
//
// In returns ctx's error when ctx ends first, and an error wrapping ErrAborted when the host
// changes the configuration or the interface's alternate setting meanwhile.
func (g *Gadget) In(ctx context.Context, ep uint8, buf []byte) (n int, zlp bool, err error) {
	if ep&0x80 == 0 {
		return 0, false, fmt.Errorf("%w: endpoint %#02x is an OUT endpoint", ErrNotFound, ep)
	}
	d := g.d
	d.mu.Lock()
	defer d.mu.Unlock()
	e, err := d.gadgetEndpoint(ctx, ep)
	if err != nil {
		return 0, false, err
	}
	n, st, err := d.gadgetTransfer(ctx, ep, buf, true)
	switch {
	case err != nil:
		return 0, false, err
	case st == usbnic.StatusStall:
		return 0, false, fmt.Errorf("%w: endpoint %#02x", ErrHalted, ep)
	case st == usbnic.StatusBabble:
		return n, false, fmt.Errorf("sim: IN transfer on endpoint %#02x is longer than the %d-byte buffer", ep, len(buf))
	}
	if e.typ == usbnic.EndpointBulk && n > 0 && n%int(e.maxPacket(d.speed)) == 0 {
		full := 0
		if s, ok := d.cur.fn.(fullInSizer); ok {
			full = s.fullInTransfer(ep)
		}
		zlp = n != full
	}
	return n, zlp, nil
}

// Out hands the model one OUT transfer the host sent on endpoint ep.
func (g *Gadget) Out(ep uint8, data []byte) error {
	if ep&0x80 != 0 || ep == 0 {
		return fmt.Errorf("%w: endpoint %#02x is not an OUT data endpoint", ErrNotFound, ep)
	}
	d := g.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.gadgetEndpoint(context.Background(), ep); err != nil {
		return err
	}
	_, st, err := d.gadgetTransfer(context.Background(), ep, data, false)
	if err == nil && st == usbnic.StatusStall {
		err = fmt.Errorf("%w: endpoint %#02x", ErrHalted, ep)
	}
	return err
}

// OutTransferSize returns the length of the reads the device posts on OUT endpoint ep when its
// function fixes it, 0 when it does not. A host may send a transfer of exactly that length with
// no zero-length packet after it: Linux's cdc_ncm pads a full NTB to dwNtbOutMaxSize and sends
// it bare, and f_ncm reads exactly that much (u_ether.c rx_submit: is_fixed, fixed_out_len). A
// longer read would take the next transfer into the same one.
func (g *Gadget) OutTransferSize(ep uint8) int {
	d := g.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur == nil {
		return 0
	}
	if s, ok := d.cur.fn.(fullOutSizer); ok {
		return s.fullOutTransfer(ep)
	}
	return 0
}

// gadgetEndpoint finds ep in the selected alternate settings. Called with the lock held.
func (d *Device) gadgetEndpoint(ctx context.Context, ep uint8) (*epSpec, error) {
	if err := d.alive(ctx); err != nil {
		return nil, err
	}
	if d.cur == nil {
		return nil, fmt.Errorf("%w: device is not configured", ErrInvalidState)
	}
	_, e := d.cur.altFor(ep, &d.alts)
	if e == nil {
		return nil, fmt.Errorf("%w: endpoint %#02x is not in any selected alternate setting of configuration %d", ErrNotFound, ep, d.cur.value)
	}
	return e, nil
}

// gadgetTransfer queues one transfer on ep behind the others there and runs it, as transfer
// does for the host side. Called and returns with the lock held.
func (d *Device) gadgetTransfer(ctx context.Context, ep uint8, buf []byte, in bool) (int, usbnic.Status, error) {
	idx := epIndex(ep)
	q := &d.queues[idx]
	w := d.getWaiter()
	q.ws = append(q.ws, w)
	gen := d.gen[idx]
	d.inflight++
	n, st, err := d.run(ctx, ep, buf, in, w, gen)
	q.remove(w)
	d.putWaiter(w)
	d.inflight--
	wake(q.head())
	return n, st, err
}

// fullInSizer is implemented by functions whose IN transfers on an endpoint can be exactly as
// long as the reads the host posts there; fullInTransfer returns that length (0: none).
type fullInSizer interface {
	fullInTransfer(ep uint8) int
}

// fullOutSizer is implemented by functions whose device posts reads of a fixed length on an
// OUT endpoint; fullOutTransfer returns that length (0: none).
type fullOutSizer interface {
	fullOutTransfer(ep uint8) int
}

// fullInTransfer: an AX88772 bulk-IN burst stops at the RX_CTL size, which is what Linux sizes
// its reads to (asix_devices.c: rx_urb_size 2048 with AX_DEFAULT_RX_CTL's 2 KiB burst). A burst
// cut there fills the host's read; a shorter one that happens to end on a packet boundary needs
// the zero-length packet.
func (m *ax88772) fullInTransfer(ep uint8) int {
	if ep == ax772EpIn {
		return m.burst()
	}
	return 0
}

// fullInTransfer: f_ncm leaves the zero-length packet out of an NTB exactly as long as the
// negotiated input size (u_ether.c eth_start_xmit, is_fixed and fixed_in_len).
func (m *ncm) fullInTransfer(ep uint8) int {
	if ep == m.l.in {
		return m.inSize
	}
	return 0
}

// fullOutTransfer: f_ncm reads whole NTBs of dwNtbOutMaxSize on its bulk-OUT endpoint.
func (m *ncm) fullOutTransfer(ep uint8) int {
	if ep == m.l.out {
		return ncmOutMaxSize
	}
	return 0
}
