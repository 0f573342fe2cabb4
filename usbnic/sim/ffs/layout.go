// Package ffs puts a usbnic/sim model on a real USB bus through Linux FunctionFS, so that real
// host drivers (Linux's ax88179_178a and asix, or Chromium through usbfs) judge the model.
//
// FunctionFS is a user-space USB function: the program writes the function's interface and
// endpoint descriptors and its strings to ep0 of a mounted functionfs instance, the kernel
// creates one file per endpoint, and from then on ep0 delivers events (bind, enable, disable,
// unbind, setup, suspend, resume) and carries the data stages of control requests, while the
// endpoint files carry bulk and interrupt data. The device descriptor and the configuration
// descriptor's header belong to the configfs gadget the function is linked into; Layout says
// what to write there.
//
// Facts from the Linux 6.1 sources (include/uapi/linux/usb/functionfs.h and
// drivers/usb/gadget/function/f_fs.c) this package rests on:
//   - descriptors use the v2 format (FUNCTIONFS_DESCRIPTORS_MAGIC_V2) with full-, high- and
//     SuperSpeed lists; the endpoint files ep1, ep2, ... follow the order of the endpoint
//     descriptors, and every speed must list the same endpoints in the same order;
//   - ffs_do_single_desc accepts interface, endpoint, SuperSpeed companion, IAD, OTG and the HID
//     and CCID class descriptors only: a CDC functional descriptor (CS_INTERFACE, 0x24) is
//     rejected with EINVAL, so CDC-ECM and CDC-NCM cannot be a FunctionFS function;
//   - the ASIX chips' vendor requests are addressed to the device: ffs_func_setup passes them
//     to user space only with FUNCTIONFS_ALL_CTRL_RECIP (ffs_func_req_match's default case);
//     FUNCTIONFS_CONFIG0_SETUP would add requests that arrive before SET_CONFIGURATION, which no
//     model answers (every function request needs a configuration), so it is not set;
//   - for an interface request f_fs replaces wIndex by the function's own interface number, for
//     an endpoint request by the endpoint's index (1 for ep1); device requests keep theirs;
//   - a request with no data stage waits for user space (USB_GADGET_DELAYED_STATUS): a
//     zero-length read of ep0 completes it, a write stalls it. A request with an IN data stage
//     is answered by writing ep0 (a short answer gets a zero-length packet) and stalled by
//     reading it; one with an OUT data stage is taken by reading ep0, which also completes its
//     status stage, so the model can no longer stall it afterwards (counted as a late stall).
package ffs

import (
	"encoding/binary"
	"errors"
	"fmt"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
)

// Magic numbers and flags of the descriptor and string blobs (functionfs.h).
const (
	descriptorsMagicV2 = 3
	stringsMagic       = 2

	flagHasFS       = 1
	flagHasHS       = 2
	flagHasSS       = 4
	flagAllCtrlRcp  = 64
	langEnglishUS   = 0x0409
	dtConfig        = 0x02
	dtInterface     = 0x04
	dtEndpoint      = 0x05
	dtIAD           = 0x0B
	dtCSInterface   = 0x24
	dtSSCompanion   = 0x30
	dtDevice        = 0x01
	configHeaderLen = 9
	deviceDescLen   = 18
)

// ErrNotFunctionFS is returned for a configuration with class-specific interface descriptors
// (CDC functional descriptors): f_fs.c's ffs_do_single_desc rejects them with EINVAL, so such a
// configuration cannot be a FunctionFS function. GadgetFS (NewGadgetFS) carries them.
var ErrNotFunctionFS = errors.New("FunctionFS rejects class-specific descriptors; use GadgetFS")

// Endpoint is one endpoint of the function, in the order of the endpoint files: Endpoints[0] is
// ep1.
type Endpoint struct {
	Address uint8 // bEndpointAddress in the model's descriptors; the bus address is the UDC's choice
	Type    uint8 // usbnic.EndpointBulk or usbnic.EndpointInterrupt
}

// In reports whether the endpoint moves data to the host.
func (e Endpoint) In() bool { return e.Address&0x80 != 0 }

// Device is what the configfs gadget carries for the model: the device descriptor's fields and
// strings, and the configuration's attributes.
type Device struct {
	VendorID, ProductID, BCDDevice      uint16
	Class, SubClass, Protocol           uint8
	Manufacturer, Product, SerialNumber string
	Configuration                       uint8 // the model's bConfigurationValue the function carries
	Attributes                          uint8 // bmAttributes of that configuration
	MaxPowerMA                          int   // its high-speed bMaxPower, in mA (configfs MaxPower)
	// MaxSpeed is the fastest bus the model runs on: "super-speed" or "high-speed", as the
	// configfs gadget's max_speed takes it (a USB 2.0 chip on a USB 3 port runs at high speed).
	MaxSpeed string
}

// Layout is a model as a FunctionFS function or a GadgetFS device: the blobs for ep0 and the
// endpoints.
type Layout struct {
	Device Device
	// Descriptors is what ep0 takes first: FunctionFS's v2 descriptor blob, or GadgetFS's
	// configuration and device descriptors.
	Descriptors []byte
	Strings     []byte     // FunctionFS's strings blob, written second; GadgetFS has none
	Endpoints   []Endpoint // FunctionFS: ep1, ep2, ...; GadgetFS: the endpoints to configure
	// epConfigs (GadgetFS) are what each endpoint's file takes to configure the endpoint.
	epConfigs [][]byte
}

// Describe lays out configuration value cfg of model m (0: its first configuration), built with
// opts (a MAC changes the ASIX serial number), as a FunctionFS function. It fails for a
// configuration FunctionFS cannot carry.
func Describe(m *sim.Model, cfg uint8, opts ...sim.Option) (*Layout, error) {
	speeds := []usbnic.Speed{usbnic.SpeedFull, usbnic.SpeedHigh, usbnic.SpeedSuper}
	hs := sim.NewGadget(m, nil, usbnic.SpeedHigh, opts...)
	l, dev, err := describeDevice(m, hs)
	if err != nil {
		return nil, err
	}
	if sim.NewGadget(m, nil, usbnic.SpeedSuper, opts...).Speed() == usbnic.SpeedSuper {
		l.Device.MaxSpeed = "super-speed"
	} else {
		l.Device.MaxSpeed = "high-speed"
		speeds = speeds[:2]
	}
	index, err := configIndex(hs, cfg, int(dev[17]))
	if err != nil {
		return nil, fmt.Errorf("ffs: %s: %w", m.Name, err)
	}
	strs := &stringTable{}
	var lists [][]byte
	var counts []int
	for i, sp := range speeds {
		g := sim.NewGadget(m, nil, sp, opts...)
		c, err := g.ConfigDescriptor(index)
		if err != nil {
			return nil, fmt.Errorf("ffs: %s: %w", m.Name, err)
		}
		if i == 1 {
			l.Device.Configuration, l.Device.Attributes, l.Device.MaxPowerMA = c[5], c[7], 2*int(c[8])
		}
		list, n, eps, err := functionDescriptors(c, g, strs)
		if err != nil {
			return nil, fmt.Errorf("ffs: %s at %v speed: %w", m.Name, sp, err)
		}
		if i == 0 {
			l.Endpoints = eps
		} else if !sameEndpoints(l.Endpoints, eps) {
			return nil, fmt.Errorf("ffs: %s: the endpoints at %v speed differ from those at full speed", m.Name, sp)
		}
		lists, counts = append(lists, list), append(counts, n)
	}
	l.Descriptors = encodeDescriptors(lists, counts)
	l.Strings = encodeStrings(strs.texts)
	return l, nil
}

// describeDevice starts a layout with the device descriptor's fields and strings.
func describeDevice(m *sim.Model, hs *sim.Gadget) (*Layout, []byte, error) {
	dev := hs.DeviceDescriptor()
	if len(dev) != deviceDescLen || dev[1] != dtDevice {
		return nil, nil, fmt.Errorf("ffs: %s: device descriptor % x is malformed", m.Name, dev)
	}
	l := &Layout{Device: Device{
		VendorID:  binary.LittleEndian.Uint16(dev[8:]),
		ProductID: binary.LittleEndian.Uint16(dev[10:]),
		BCDDevice: binary.LittleEndian.Uint16(dev[12:]),
		Class:     dev[4], SubClass: dev[5], Protocol: dev[6],
	}}
	l.Device.Manufacturer, _ = hs.String(dev[14])
	l.Device.Product, _ = hs.String(dev[15])
	l.Device.SerialNumber, _ = hs.String(dev[16])
	return l, dev, nil
}

// configIndex finds the GET_DESCRIPTOR index of configuration value cfg (0: the first).
func configIndex(g *sim.Gadget, cfg uint8, n int) (int, error) {
	if cfg == 0 {
		return 0, nil
	}
	for i := range n {
		c, err := g.ConfigDescriptor(i)
		if err != nil {
			return 0, err
		}
		if len(c) >= configHeaderLen && c[5] == cfg {
			return i, nil
		}
	}
	return 0, fmt.Errorf("no configuration with value %d among %d", cfg, n)
}

func sameEndpoints(a, b []Endpoint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// stringTable numbers the strings the function's descriptors name, from 1, in order of first
// use: FunctionFS strings are the function's own and f_fs maps them to the gadget's ids.
type stringTable struct {
	model []uint8 // model string index of each function string
	texts []string
}

func (t *stringTable) local(g *sim.Gadget, i uint8) (uint8, error) {
	if i == 0 {
		return 0, nil
	}
	for k, m := range t.model {
		if m == i {
			return uint8(k + 1), nil
		}
	}
	s, ok := g.String(i)
	if !ok {
		return 0, fmt.Errorf("descriptor names string %d, which the model does not have", i)
	}
	t.model, t.texts = append(t.model, i), append(t.texts, s)
	return uint8(len(t.texts)), nil
}

// functionDescriptors takes the descriptors behind a configuration descriptor's header, as
// FunctionFS wants them: string indexes renumbered to the function's own, everything else as
// the model has it. It returns them, their count and the endpoints in order.
func functionDescriptors(c []byte, g *sim.Gadget, strs *stringTable) ([]byte, int, []Endpoint, error) {
	if len(c) < configHeaderLen || c[1] != dtConfig || int(binary.LittleEndian.Uint16(c[2:])) != len(c) {
		return nil, 0, nil, fmt.Errorf("configuration descriptor of %d bytes is malformed", len(c))
	}
	var out []byte
	var eps []Endpoint
	count := 0
	for off := configHeaderLen; off < len(c); {
		n := int(c[off])
		if n < 2 || off+n > len(c) {
			return nil, 0, nil, fmt.Errorf("descriptor at offset %d has bLength %d with %d bytes left", off, n, len(c)-off)
		}
		d := append([]byte(nil), c[off:off+n]...)
		var err error
		switch d[1] {
		case dtInterface:
			if n != 9 {
				return nil, 0, nil, fmt.Errorf("interface descriptor at offset %d has bLength %d, want 9", off, n)
			}
			d[8], err = strs.local(g, d[8])
		case dtIAD:
			if n != 8 {
				return nil, 0, nil, fmt.Errorf("interface association descriptor at offset %d has bLength %d, want 8", off, n)
			}
			d[7], err = strs.local(g, d[7])
		case dtEndpoint:
			if n != 7 {
				return nil, 0, nil, fmt.Errorf("endpoint descriptor at offset %d has bLength %d, want 7", off, n)
			}
			typ := d[3] & 0x03
			if typ != usbnic.EndpointBulk && typ != usbnic.EndpointInterrupt {
				return nil, 0, nil, fmt.Errorf("endpoint %#02x at offset %d is of transfer type %d; only bulk and interrupt are served", d[2], off, typ)
			}
			eps = append(eps, Endpoint{Address: d[2], Type: typ})
		case dtSSCompanion:
		case dtCSInterface:
			return nil, 0, nil, fmt.Errorf("class-specific interface descriptor (type 0x24) at offset %d: %w", off, ErrNotFunctionFS)
		default:
			return nil, 0, nil, fmt.Errorf("descriptor type %#02x at offset %d is not one a FunctionFS function may carry", d[1], off)
		}
		if err != nil {
			return nil, 0, nil, fmt.Errorf("descriptor at offset %d: %w", off, err)
		}
		out = append(out, d...)
		count++
		off += n
	}
	if len(eps) == 0 {
		return nil, 0, nil, fmt.Errorf("configuration has no endpoints")
	}
	return out, count, eps, nil
}

// encodeDescriptors builds the v2 blob: magic, length, flags, one count per speed present, then
// each speed's descriptors. lists holds full speed, high speed and, when present, SuperSpeed.
func encodeDescriptors(lists [][]byte, counts []int) []byte {
	flags := uint32(flagHasFS | flagHasHS | flagAllCtrlRcp)
	if len(lists) == 3 {
		flags |= flagHasSS
	}
	b := make([]byte, 12, 12+4*len(lists)+len(lists[0])*len(lists))
	binary.LittleEndian.PutUint32(b[0:], descriptorsMagicV2)
	binary.LittleEndian.PutUint32(b[8:], flags)
	for _, n := range counts {
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
	}
	for _, l := range lists {
		b = append(b, l...)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
	return b
}

// encodeStrings builds the strings blob: magic, length, str_count, lang_count, then for the one
// language (US English) its code and the strings, each UTF-8 and NUL-terminated. With no strings
// both counts are 0 and the blob is the 16-byte header.
func encodeStrings(texts []string) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b[0:], stringsMagic)
	if len(texts) > 0 {
		binary.LittleEndian.PutUint32(b[8:], uint32(len(texts)))
		binary.LittleEndian.PutUint32(b[12:], 1)
		b = binary.LittleEndian.AppendUint16(b, langEnglishUS)
		for _, s := range texts {
			b = append(append(b, s...), 0)
		}
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
	return b
}
