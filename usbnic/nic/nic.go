// Package nic brings a USB network adapter up as an NDIS adapter: it reads the device's
// descriptors, lets the match table (usbnic/drivers) choose the minidriver and configuration,
// makes the usbnet-like core (usbnic.NIC) and the ndis.Adapter that drives it, and plays the
// part of the PnP manager when the device is unplugged: pause, then halt with
// ndis.HaltDeviceSurpriseRemoved.
//
// It sits above usbnic and usbnic/drivers (which imports the minidrivers, which import
// usbnic), so the core itself never imports the match table.
package nic

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"webminiport/ndis"
	"webminiport/usbnic"
	"webminiport/usbnic/cdcncm"
	"webminiport/usbnic/drivers"
)

// Options configure Open.
type Options struct {
	// NIC tunes the core. A zero TxFlushDelay becomes cdcncm.TxTimer, cdc_ncm's wait for more
	// frames before an NTB goes out (drivers that send one frame per transfer never wait).
	NIC usbnic.Options
	// NDIS configures the adapter; its Name defaults to "usbnic0".
	NDIS ndis.Config
}

// Adapter is a USB adapter brought up: the ndis adapter, the core under it, and what the match
// table chose.
type Adapter struct {
	NDIS   *ndis.Adapter
	NIC    *usbnic.NIC
	Choice drivers.Choice
	Desc   usbnic.DeviceDesc

	mu         sync.Mutex // serializes Start, Stop, Close and the surprise removal
	halted     bool
	haltAction ndis.HaltAction
	done       chan struct{} // closed by the one halt, which also ends watchRemoval

}

// Open matches the device, makes the core and its adapter and initializes it: on success the
// adapter is Paused, with the device bound and reset. Bind a protocol (NDIS.Bind), then Start.
// A device that is unplugged later is paused and halted on its own (Done is closed then).
func Open(ctx context.Context, t usbnic.Transport, opts Options) (*Adapter, error) {
	desc, err := usbnic.ParseDeviceDesc(t.DeviceDescriptor())
	if err != nil {
		return nil, fmt.Errorf("nic: device descriptor: %w", err)
	}
	configs := make([]*usbnic.Config, 0, desc.NumConfigurations)
	for i := range int(desc.NumConfigurations) {
		b, err := t.ConfigDescriptor(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("nic: reading configuration descriptor %d: %w", i, err)
		}
		c, err := usbnic.ParseConfig(b)
		if err != nil {
			return nil, fmt.Errorf("nic: configuration descriptor %d: %w", i, err)
		}
		configs = append(configs, c)
	}
	choice, err := drivers.Match(desc, configs)
	if err != nil {
		return nil, fmt.Errorf("nic: %w", err)
	}
	var cfg *usbnic.Config
	for _, c := range configs {
		if c.Value == choice.Config {
			cfg = c
		}
	}
	if opts.NIC.TxFlushDelay == 0 {
		opts.NIC.TxFlushDelay = cdcncm.TxTimer
	}
	if opts.NIC.Description == "" {
		opts.NIC.Description = choice.ID.Product
	}
	if opts.NDIS.Name == "" {
		opts.NDIS.Name = "usbnic0"
	}
	core := usbnic.New(t, desc, cfg, choice.Driver, opts.NIC)
	a := &Adapter{NDIS: ndis.New(core, opts.NDIS), NIC: core, Choice: choice, Desc: desc,
		done: make(chan struct{})}
	if err := a.NDIS.Initialize(); err != nil {
		return nil, fmt.Errorf("nic: %s (%s): %w", choice.Driver.Name, choice.Reason, err)
	}
	go a.watchRemoval()
	return a, nil
}

// ErrHalted is returned by Start and Stop once the adapter is halted (closed, or the device
// was unplugged).
var ErrHalted = errors.New("nic: adapter halted")

// Start restarts the adapter (MiniportRestart): Paused → Running.
func (a *Adapter) Start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.halted {
		return ErrHalted
	}
	return a.NDIS.Restart()
}

// Stop pauses a running adapter and waits until the pause completed (every receive NBL
// returned by the protocol, every send completed), or ctx is done.
func (a *Adapter) Stop(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.halted {
		return ErrHalted
	}
	return a.stopLocked(ctx)
}

func (a *Adapter) stopLocked(ctx context.Context) error {
	if a.NDIS.State() == ndis.Running {
		if err := a.NDIS.Pause(); err != nil {
			return err
		}
	}
	return a.NIC.WaitPaused(ctx)
}

// Close stops the adapter and halts it (ndis.HaltDeviceDisabled), as disabling the device
// does. Closing a halted adapter does nothing. When the pause does not complete before ctx is
// done, Close returns the error and the adapter stays as it was (still watched for removal):
// Close may be called again.
func (a *Adapter) Close(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.halted {
		return nil
	}
	return a.haltLocked(ctx, ndis.HaltDeviceDisabled)
}

// Done is closed once the adapter is halted: after Close, or after the device was unplugged.
func (a *Adapter) Done() <-chan struct{} { return a.done }

// HaltAction returns the halt action the adapter was halted with, and false before it halted.
func (a *Adapter) HaltAction() (ndis.HaltAction, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.haltAction, a.halted
}

// watchRemoval is the PnP manager's part of a surprise removal: when the core reports the
// device gone, pause the adapter and halt it with HaltDeviceSurpriseRemoved.
func (a *Adapter) watchRemoval() {
	select {
	case <-a.NIC.Removed():
	case <-a.done:
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.halted {
		return
	}
	if err := a.haltLocked(context.Background(), ndis.HaltDeviceSurpriseRemoved); err != nil {
		a.NIC.Logf("nic: halt after surprise removal: %v", err)
	}
}

// haltLocked pauses (if running), waits for the pause, and halts.
func (a *Adapter) haltLocked(ctx context.Context, action ndis.HaltAction) error {
	if err := a.stopLocked(ctx); err != nil {
		return fmt.Errorf("nic: pause before halt: %w", err)
	}
	err := a.NDIS.Halt(action)
	a.halted, a.haltAction = true, action
	close(a.done)
	return err
}
