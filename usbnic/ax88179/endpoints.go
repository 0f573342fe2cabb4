package ax88179

import (
	"context"
	"errors"
	"fmt"

	"webminiport/usbnic"
)

// claimVendorInterface finds the vendor interface (0xFF/0xFF/0x00 on its first altsetting, which
// is what Linux's USB_DEVICE_AND_INTERFACE_INFO matched), picks its endpoints the way
// usbnet_get_endpoints does, claims it and selects the altsetting. Linux issues SET_INTERFACE
// even for altsetting 0 because this driver lacks FLAG_NO_SETINT; so do we.
func (m *Minidriver) claimVendorInterface(ctx context.Context, d *usbnic.Device) error {
	if d.Config == nil {
		return errors.New("ax88179: bind: no active configuration")
	}
	for _, ifc := range d.Config.Interfaces {
		if len(ifc.Alternates) == 0 {
			continue
		}
		a0 := ifc.Alternates[0]
		if a0.Class != 0xff || a0.Subclass != 0xff || a0.Protocol != 0x00 {
			continue
		}
		alt, in, out, intr, hasIntr, ok := pickEndpoints(ifc)
		if !ok {
			return fmt.Errorf("ax88179: bind: vendor interface %d has no altsetting with a bulk IN and a bulk OUT endpoint", ifc.Number)
		}
		if err := d.T.ClaimInterface(ctx, ifc.Number); err != nil {
			return fmt.Errorf("ax88179: bind: claim interface %d: %w", ifc.Number, err)
		}
		m.iface, m.claimed = ifc.Number, true
		if err := d.T.SelectAlternate(ctx, ifc.Number, alt); err != nil {
			return fmt.Errorf("ax88179: bind: select interface %d altsetting %d: %w", ifc.Number, alt, err)
		}
		d.In, d.Out, d.Intr, d.HasIntr = in, out, intr, hasIntr
		return nil
	}
	return fmt.Errorf("ax88179: bind: configuration %d has no vendor interface 0xff/0xff/0x00", d.Config.Value)
}

// pickEndpoints is usbnet_get_endpoints: scan the altsettings in order, skip endpoints that
// cannot move data (wMaxPacketSize 0), take the first bulk IN, first bulk OUT and first
// interrupt IN, and stop at the first altsetting that has both bulk directions.
func pickEndpoints(ifc usbnic.Interface) (alt uint8, in, out, intr usbnic.Endpoint, hasIntr, ok bool) {
	for _, as := range ifc.Alternates {
		var haveIn, haveOut bool
		in, out, intr, hasIntr = usbnic.Endpoint{}, usbnic.Endpoint{}, usbnic.Endpoint{}, false
		for _, ep := range as.Endpoints {
			if ep.MaxPacketSize == 0 {
				continue
			}
			switch {
			case ep.Type() == usbnic.EndpointInterrupt && ep.In():
				if !hasIntr {
					intr, hasIntr = ep, true
				}
			case ep.Type() == usbnic.EndpointBulk && ep.In():
				if !haveIn {
					in, haveIn = ep, true
				}
			case ep.Type() == usbnic.EndpointBulk:
				if !haveOut {
					out, haveOut = ep, true
				}
			}
		}
		if haveIn && haveOut {
			return as.Alternate, in, out, intr, hasIntr, true
		}
	}
	return 0, usbnic.Endpoint{}, usbnic.Endpoint{}, usbnic.Endpoint{}, false, false
}
