//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic/webusb"
	"webminiport/wasm/session"
	"webminiport/wasm/ui"
)

// reconnectWait bounds the getDevices call at start: a browser that never answers must not keep
// the virtual adapter from coming up.
const reconnectWait = 2 * time.Second

// usbLink is the page's WebUSB side: the pair button, reconnecting previously paired adapters
// (getDevices), and plug and unplug events.
type usbLink struct {
	p   *page
	usb *webusb.USB

	mu      sync.Mutex
	current *webusb.Device // the adapter attached last (or being attached)
}

// setUpUSB binds the pair button, or disables it and says why when WebUSB is missing. It
// returns nil without WebUSB.
func (p *page) setUpUSB() *usbLink {
	nav, err := navigatorUSB()
	if err != nil {
		p.ops.Flag(p.btnPair, ui.FlagDisabled, true)
		p.ops.TextString(p.pairReason, pairUnavailable(err))
		p.ops.Flag(p.pairReason, ui.FlagHidden, false)
		p.byID("pair").Set("title", err.Error())
		return nil
	}
	u := &usbLink{p: p, usb: nav}
	_, err = nav.BindPairButton(safejs.Safe(p.byID("pair")), func(d *webusb.Device, err error) {
		if errors.Is(err, webusb.ErrNoDeviceSelected) {
			return
		}
		if err != nil {
			p.run("pair", func() error { return err })
			return
		}
		u.attach(d)
	})
	if err != nil {
		p.ops.Flag(p.btnPair, ui.FlagDisabled, true)
		p.ops.TextString(p.pairReason, "pairing is unavailable: "+err.Error())
		p.ops.Flag(p.pairReason, ui.FlagHidden, false)
		return nil
	}
	// A permitted adapter plugged in (again) takes over from the virtual one or from an
	// adapter that was unplugged; one plugged in while another runs waits for the pair button.
	nav.Watch(func(d *webusb.Device) {
		u.mu.Lock()
		same := d == u.current
		u.mu.Unlock()
		a := p.s.Adapter()
		// Granting a device in the chooser also announces it: that one is being attached.
		if !same && (a.Source != session.SourceUSB || a.Info.Removed || a.Err != "") {
			u.attach(d)
		}
	}, nil)
	return u
}

// pairUnavailable says why the pair button is off, and what would make it work.
func pairUnavailable(error) string {
	return "WebUSB is not available here: open the page in Chrome, Edge or Opera, on https or " +
		"http://localhost. The virtual adapter works everywhere."
}

// deviceLabel names a USB adapter for the adapter bar.
func deviceLabel(d *webusb.Device) string {
	if n := d.ProductName(); n != "" {
		return n
	}
	return fmt.Sprintf("USB adapter %04x:%04x", d.VendorID(), d.ProductID())
}

// attach brings the adapter up in place of whatever runs now. When it cannot come up (a kernel
// driver holds it, no permission, unplugged meanwhile) the error and its fix stay in the adapter
// bar and the virtual adapter of the picker's model runs again, so the page never ends up with
// nothing running; plugging the adapter in again retries it.
func (u *usbLink) attach(d *webusb.Device) {
	u.mu.Lock()
	u.current = d
	u.mu.Unlock()
	model := u.p.modelEl.Get("value").String()
	u.p.run("USB adapter "+deviceLabel(d), func() error {
		err := u.p.s.AttachUSB(context.Background(), d, deviceLabel(d))
		if err == nil {
			return nil
		}
		if verr := u.p.s.StartVirtual(context.Background(), model, "idle"); verr != nil {
			return errors.Join(err, fmt.Errorf("and the virtual adapter did not come back: %w", verr))
		}
		return err
	})
}

// reconnect brings up a previously paired adapter that is plugged in, and reports whether it
// found one.
func (u *usbLink) reconnect(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, reconnectWait)
	defer cancel()
	devs, err := u.usb.Devices(ctx)
	if err != nil || len(devs) == 0 {
		return false
	}
	u.attach(devs[0])
	return true
}
