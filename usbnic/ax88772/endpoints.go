package ax88772

import (
	"context"
	"errors"
	"fmt"

	"webminiport/usbnic"
)

// claimInterface takes the first interface on which usbnet_get_endpoints finds a bulk IN and a
// bulk OUT endpoint (Linux probes interfaces in order and the AX88772 has just one), claims it
// and selects the altsetting: the asix driver lacks FLAG_NO_SETINT, so Linux issues
// SET_INTERFACE even for altsetting 0.
func (m *Minidriver) claimInterface(ctx context.Context, d *usbnic.Device) error {
	if d.Config == nil {
		return errors.New("ax88772: bind: no active configuration")
	}
	for _, ifc := range d.Config.Interfaces {
		alt, in, out, intr, hasIntr, ok := pickEndpoints(ifc)
		if !ok {
			continue
		}
		if err := d.T.ClaimInterface(ctx, ifc.Number); err != nil {
			return fmt.Errorf("ax88772: bind: claim interface %d: %w", ifc.Number, err)
		}
		m.iface, m.claimed = ifc.Number, true
		if err := d.T.SelectAlternate(ctx, ifc.Number, alt); err != nil {
			return fmt.Errorf("ax88772: bind: select interface %d altsetting %d: %w", ifc.Number, alt, err)
		}
		d.In, d.Out, d.Intr, d.HasIntr = in, out, intr, hasIntr
		return nil
	}
	return fmt.Errorf("ax88772: bind: configuration %d has no interface with a bulk IN and a bulk OUT endpoint", d.Config.Value)
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
