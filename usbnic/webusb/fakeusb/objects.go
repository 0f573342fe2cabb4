//go:build js && wasm

package fakeusb

import (
	"fmt"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic"
)

// The USBConfiguration, USBInterface, USBAlternateInterface and USBEndpoint objects of a fake
// device, built from the transport's descriptors with WebUSB's field names. Plain objects: the
// WebUSB interface objects have no constructors.

// config is one configuration: parsed, and as JS objects.
type config struct {
	cfg    *usbnic.Config
	js     safejs.Value
	ifaces map[uint8]*iface
}

// iface is one USBInterface, with its alternates by bAlternateSetting.
type iface struct {
	js   safejs.Value
	alts map[uint8]safejs.Value
}

func (u *USB) newObject(fields map[string]any) (safejs.Value, error) {
	o, err := u.object.New()
	if err != nil {
		return safejs.Undefined(), err
	}
	for k, v := range fields {
		if err := o.Set(k, v); err != nil {
			return safejs.Undefined(), err
		}
	}
	return o, nil
}

func (u *USB) newArray(items []safejs.Value) (safejs.Value, error) {
	a, err := u.array.New(len(items))
	if err != nil {
		return safejs.Undefined(), err
	}
	for i, v := range items {
		if err := a.SetIndex(i, v); err != nil {
			return safejs.Undefined(), err
		}
	}
	return a, nil
}

// newConfig builds the objects of one configuration.
func (u *USB) newConfig(c *usbnic.Config) (*config, error) {
	out := &config{cfg: c, ifaces: map[uint8]*iface{}}
	var ifaceObjs []safejs.Value
	for _, it := range c.Interfaces {
		f := &iface{alts: map[uint8]safejs.Value{}}
		var altObjs []safejs.Value
		for _, a := range it.Alternates {
			var eps []safejs.Value
			for _, e := range a.Endpoints {
				ep, err := u.newObject(map[string]any{
					"endpointNumber": int(e.Address & 0x0F),
					"direction":      direction(e),
					"type":           endpointType(e),
					"packetSize":     int(e.MaxPacketSize),
				})
				if err != nil {
					return nil, err
				}
				eps = append(eps, ep)
			}
			epArr, err := u.newArray(eps)
			if err != nil {
				return nil, err
			}
			alt, err := u.newObject(map[string]any{
				"alternateSetting":  int(a.Alternate),
				"interfaceClass":    int(a.Class),
				"interfaceSubclass": int(a.Subclass),
				"interfaceProtocol": int(a.Protocol),
				"interfaceName":     nil,
				"endpoints":         epArr,
			})
			if err != nil {
				return nil, err
			}
			f.alts[a.Alternate] = alt
			altObjs = append(altObjs, alt)
		}
		altArr, err := u.newArray(altObjs)
		if err != nil {
			return nil, err
		}
		if f.js, err = u.newObject(map[string]any{
			"interfaceNumber": int(it.Number),
			"alternate":       altObjs[0],
			"alternates":      altArr,
			"claimed":         false,
		}); err != nil {
			return nil, err
		}
		out.ifaces[it.Number] = f
		ifaceObjs = append(ifaceObjs, f.js)
	}
	ifArr, err := u.newArray(ifaceObjs)
	if err != nil {
		return nil, err
	}
	if out.js, err = u.newObject(map[string]any{
		"configurationValue": int(c.Value),
		"configurationName":  nil,
		"interfaces":         ifArr,
	}); err != nil {
		return nil, fmt.Errorf("fakeusb: configuration %d: %w", c.Value, err)
	}
	return out, nil
}

func direction(e usbnic.Endpoint) string {
	if e.In() {
		return "in"
	}
	return "out"
}

func endpointType(e usbnic.Endpoint) string {
	switch e.Type() {
	case usbnic.EndpointBulk:
		return "bulk"
	case usbnic.EndpointInterrupt:
		return "interrupt"
	case usbnic.EndpointIsochronous:
		return "isochronous"
	}
	return "control"
}
