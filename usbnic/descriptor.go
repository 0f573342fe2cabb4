package usbnic

import (
	"encoding/binary"
	"fmt"
)

// Descriptor types (bDescriptorType) the parser knows by name.
const (
	DescDevice        = 0x01
	DescConfiguration = 0x02
	DescString        = 0x03
	DescInterface     = 0x04
	DescEndpoint      = 0x05
	DescIAD           = 0x0B
	DescCSInterface   = 0x24 // class-specific interface descriptor (CDC functional descriptors)
)

// CDC functional descriptor subtypes (bDescriptorSubtype of a 0x24 descriptor).
const (
	CDCSubtypeHeader   = 0x00
	CDCSubtypeUnion    = 0x06
	CDCSubtypeEthernet = 0x0F
	CDCSubtypeNCM      = 0x1A
)

// Interface classes the match table and the CDC minidrivers look for.
const (
	ClassComm       = 0x02 // Communications (CDC control interface)
	ClassCDCData    = 0x0A // CDC Data
	SubclassCDCECM  = 0x06
	SubclassCDCNCM  = 0x0D
	ProtocolCDCNone = 0x00
)

// Fixed descriptor sizes. Endpoints may be longer (audio endpoints carry 9 bytes), the others
// are checked for at least this many bytes as Linux does.
const (
	deviceDescLen    = 18
	configDescLen    = 9
	interfaceDescLen = 9
	endpointDescLen  = 7
	iadDescLen       = 8
	cdcHeaderLen     = 5  // Linux requires exactly 5
	cdcUnionMinLen   = 5  // master + at least one slave
	cdcEthernetLen   = 13 // Linux requires exactly 13
	cdcNCMLen        = 6
)

// DescriptorError says what was wrong in a descriptor set and where. Offset is the byte
// offset of the offending descriptor inside the set, or -1 when the set as a whole is wrong
// (too short, length fields that disagree).
type DescriptorError struct {
	Set     string // "device descriptor", "config descriptor" or "string descriptor"
	Offset  int
	Type    uint8 // bDescriptorType at Offset; 0 when not known
	Subtype uint8 // bDescriptorSubtype when Type is DescCSInterface
	Reason  string
}

func (e *DescriptorError) Error() string {
	if e.Offset < 0 {
		return e.Set + ": " + e.Reason
	}
	return fmt.Sprintf("%s: %s at offset %d: %s", e.Set, DescriptorName(e.Type, e.Subtype), e.Offset, e.Reason)
}

// DescriptorName names a descriptor type (and CDC subtype) for messages.
func DescriptorName(typ, subtype uint8) string {
	switch typ {
	case DescDevice:
		return "device descriptor"
	case DescConfiguration:
		return "configuration descriptor"
	case DescString:
		return "string descriptor"
	case DescInterface:
		return "interface descriptor"
	case DescEndpoint:
		return "endpoint descriptor"
	case DescIAD:
		return "interface association descriptor"
	case DescCSInterface:
		switch subtype {
		case CDCSubtypeHeader:
			return "CDC Header descriptor"
		case CDCSubtypeUnion:
			return "CDC Union descriptor"
		case CDCSubtypeEthernet:
			return "CDC Ethernet Networking descriptor"
		case CDCSubtypeNCM:
			return "CDC NCM descriptor"
		}
		return fmt.Sprintf("class-specific interface descriptor (subtype %#02x)", subtype)
	case 0:
		return "descriptor"
	}
	return fmt.Sprintf("descriptor type %#02x", typ)
}

// ParseDeviceDesc parses the 18-byte device descriptor.
func ParseDeviceDesc(b []byte) (DeviceDesc, error) {
	const set = "device descriptor"
	if len(b) < 2 {
		return DeviceDesc{}, &DescriptorError{Set: set, Offset: -1, Reason: fmt.Sprintf("%d bytes, want %d", len(b), deviceDescLen)}
	}
	if b[1] != DescDevice {
		return DeviceDesc{}, &DescriptorError{Set: set, Offset: 0, Type: b[1], Reason: fmt.Sprintf("bDescriptorType %#02x, want %#02x", b[1], DescDevice)}
	}
	if b[0] != deviceDescLen {
		return DeviceDesc{}, &DescriptorError{Set: set, Offset: 0, Type: DescDevice, Reason: fmt.Sprintf("bLength %d, want %d", b[0], deviceDescLen)}
	}
	if len(b) < deviceDescLen {
		return DeviceDesc{}, &DescriptorError{Set: set, Offset: -1, Reason: fmt.Sprintf("%d bytes, want %d", len(b), deviceDescLen)}
	}
	le := binary.LittleEndian
	return DeviceDesc{
		BcdUSB:            le.Uint16(b[2:]),
		Class:             b[4],
		Subclass:          b[5],
		Protocol:          b[6],
		MaxPacketSize0:    b[7],
		VendorID:          le.Uint16(b[8:]),
		ProductID:         le.Uint16(b[10:]),
		BcdDevice:         le.Uint16(b[12:]),
		IManufacturer:     b[14],
		IProduct:          b[15],
		ISerial:           b[16],
		NumConfigurations: b[17],
	}, nil
}

// configParser walks one configuration descriptor set. Interfaces are built in place in
// cfg.Interfaces; ifIdx/altIdx name the alternate setting the following endpoint and
// class-specific descriptors belong to (-1 before the first interface descriptor).
type configParser struct {
	b      []byte
	cfg    *Config
	ifIdx  int
	altIdx int
	altOff int // offset of the current interface descriptor
	numEPs int // its bNumEndpoints
	unions []unionAt
	iads   []int // offsets of the IADs, parallel to cfg.IADs
}

type unionAt struct {
	off   int
	owner uint8 // the interface carrying the descriptor
	u     *CDCUnion
}

func (p *configParser) fail(off int, typ, sub uint8, format string, args ...any) error {
	return &DescriptorError{Set: "config descriptor", Offset: off, Type: typ, Subtype: sub, Reason: fmt.Sprintf(format, args...)}
}

// ParseConfig parses a full configuration descriptor set (all wTotalLength bytes): the
// configuration, its interfaces with their alternate settings and endpoints, the interface
// association descriptors, and the CDC functional descriptors of Communications-class
// interfaces. Class-specific descriptors of other classes and unknown descriptor types are
// skipped. CDC descriptors placed before the first interface (a Motorola quirk Linux copes
// with) are skipped too.
//
// The parser is stricter than Linux, which warns and carries on: every length and count must
// agree, and the interfaces a CDC Union or an IAD names must exist. The error says what was
// wrong and at which byte offset.
func ParseConfig(b []byte) (*Config, error) {
	p := &configParser{b: b, ifIdx: -1, altIdx: -1}
	if len(b) < 2 {
		return nil, &DescriptorError{Set: "config descriptor", Offset: -1, Reason: fmt.Sprintf("%d bytes, want at least %d", len(b), configDescLen)}
	}
	if b[1] != DescConfiguration {
		return nil, p.fail(0, b[1], 0, "bDescriptorType %#02x, want %#02x", b[1], DescConfiguration)
	}
	if b[0] < configDescLen {
		return nil, p.fail(0, DescConfiguration, 0, "bLength %d, want %d", b[0], configDescLen)
	}
	if len(b) < configDescLen {
		return nil, &DescriptorError{Set: "config descriptor", Offset: -1, Reason: fmt.Sprintf("%d bytes, want at least %d", len(b), configDescLen)}
	}
	total := int(binary.LittleEndian.Uint16(b[2:]))
	if total != len(b) {
		return nil, &DescriptorError{Set: "config descriptor", Offset: -1, Reason: fmt.Sprintf("wTotalLength %d, but %d bytes given", total, len(b))}
	}
	p.cfg = &Config{Value: b[5], IConfig: b[6], Attributes: b[7], MaxPower: b[8]}

	for off := int(b[0]); off < len(b); {
		if len(b)-off < 2 {
			return nil, p.fail(off, 0, 0, "1 byte left, a descriptor needs at least 2")
		}
		l, typ := int(b[off]), b[off+1]
		if l < 2 {
			return nil, p.fail(off, typ, 0, "bLength %d, want at least 2", l)
		}
		if off+l > len(b) {
			return nil, p.fail(off, typ, 0, "bLength %d runs past the end (%d bytes left)", l, len(b)-off)
		}
		if err := p.descriptor(off, b[off:off+l]); err != nil {
			return nil, err
		}
		off += l
	}
	if err := p.endInterface(); err != nil {
		return nil, err
	}
	if n := len(p.cfg.Interfaces); n != int(b[4]) {
		return nil, p.fail(0, DescConfiguration, 0, "bNumInterfaces %d, but %d interfaces described", b[4], n)
	}
	if err := p.checkReferences(); err != nil {
		return nil, err
	}
	return p.cfg, nil
}

func (p *configParser) descriptor(off int, d []byte) error {
	switch typ := d[1]; typ {
	case DescInterface:
		return p.interfaceDesc(off, d)
	case DescEndpoint:
		return p.endpointDesc(off, d)
	case DescIAD:
		if len(d) < iadDescLen {
			return p.fail(off, typ, 0, "bLength %d, want %d", len(d), iadDescLen)
		}
		if d[3] == 0 {
			return p.fail(off, typ, 0, "bInterfaceCount 0")
		}
		p.cfg.IADs = append(p.cfg.IADs, IAD{FirstInterface: d[2], InterfaceCount: d[3], Class: d[4], Subclass: d[5], Protocol: d[6], IFunction: d[7]})
		p.iads = append(p.iads, off)
	case DescCSInterface:
		if p.altIdx < 0 {
			return nil // before any interface: not ours to interpret
		}
		alt := &p.cfg.Interfaces[p.ifIdx].Alternates[p.altIdx]
		if alt.Class != ClassComm {
			return nil // 0x24 means something else in other classes (audio, video)
		}
		return p.cdcDesc(off, d, alt)
	case DescDevice, DescConfiguration:
		return p.fail(off, typ, 0, "not allowed inside a configuration")
	}
	return nil
}

func (p *configParser) interfaceDesc(off int, d []byte) error {
	if len(d) < interfaceDescLen {
		return p.fail(off, DescInterface, 0, "bLength %d, want %d", len(d), interfaceDescLen)
	}
	if err := p.endInterface(); err != nil {
		return err
	}
	num, altNum := d[2], d[3]
	ifIdx := -1
	for i := range p.cfg.Interfaces {
		if p.cfg.Interfaces[i].Number == num {
			ifIdx = i
		}
	}
	if ifIdx < 0 {
		p.cfg.Interfaces = append(p.cfg.Interfaces, Interface{Number: num})
		ifIdx = len(p.cfg.Interfaces) - 1
	}
	iface := &p.cfg.Interfaces[ifIdx]
	for _, a := range iface.Alternates {
		if a.Alternate == altNum {
			return p.fail(off, DescInterface, 0, "interface %d alternate setting %d described twice", num, altNum)
		}
	}
	iface.Alternates = append(iface.Alternates, AltSetting{
		Number: num, Alternate: altNum, Class: d[5], Subclass: d[6], Protocol: d[7], IInterface: d[8],
	})
	p.ifIdx, p.altIdx, p.altOff, p.numEPs = ifIdx, len(iface.Alternates)-1, off, int(d[4])
	return nil
}

// endInterface checks that the interface just finished had as many endpoints as it said.
func (p *configParser) endInterface() error {
	if p.altIdx < 0 {
		return nil
	}
	alt := &p.cfg.Interfaces[p.ifIdx].Alternates[p.altIdx]
	if len(alt.Endpoints) != p.numEPs {
		return p.fail(p.altOff, DescInterface, 0, "interface %d alternate %d: bNumEndpoints %d, but %d endpoint descriptors follow",
			alt.Number, alt.Alternate, p.numEPs, len(alt.Endpoints))
	}
	return nil
}

func (p *configParser) endpointDesc(off int, d []byte) error {
	if len(d) < endpointDescLen {
		return p.fail(off, DescEndpoint, 0, "bLength %d, want %d", len(d), endpointDescLen)
	}
	if p.altIdx < 0 {
		return p.fail(off, DescEndpoint, 0, "comes before any interface descriptor")
	}
	alt := &p.cfg.Interfaces[p.ifIdx].Alternates[p.altIdx]
	ep := Endpoint{
		Address:       d[2],
		Attributes:    d[3],
		MaxPacketSize: binary.LittleEndian.Uint16(d[4:]) & 0x7FF,
		Interval:      d[6],
	}
	if ep.Address&0x0F == 0 {
		return p.fail(off, DescEndpoint, 0, "endpoint address %#02x: endpoint 0 is the control endpoint", ep.Address)
	}
	if ep.Address&0x70 != 0 {
		return p.fail(off, DescEndpoint, 0, "endpoint address %#02x has reserved bits set", ep.Address)
	}
	for _, e := range alt.Endpoints {
		if e.Address == ep.Address {
			return p.fail(off, DescEndpoint, 0, "endpoint %#02x described twice in interface %d alternate %d", ep.Address, alt.Number, alt.Alternate)
		}
	}
	alt.Endpoints = append(alt.Endpoints, ep)
	return nil
}

func (p *configParser) cdcDesc(off int, d []byte, alt *AltSetting) error {
	if len(d) < 3 {
		return p.fail(off, 0, 0, "class-specific interface descriptor of %d bytes has no subtype", len(d))
	}
	sub := d[2]
	le := binary.LittleEndian
	switch sub {
	case CDCSubtypeHeader:
		if len(d) != cdcHeaderLen {
			return p.fail(off, DescCSInterface, sub, "bLength %d, want %d", len(d), cdcHeaderLen)
		}
		if alt.CDC.Header != nil {
			return p.fail(off, DescCSInterface, sub, "second one on interface %d alternate %d", alt.Number, alt.Alternate)
		}
		alt.CDC.Header = &CDCHeader{BcdCDC: le.Uint16(d[3:])}
	case CDCSubtypeUnion:
		if len(d) < cdcUnionMinLen {
			return p.fail(off, DescCSInterface, sub, "bLength %d, want at least %d", len(d), cdcUnionMinLen)
		}
		if alt.CDC.Union != nil {
			return nil // Linux keeps the first union and ignores the rest
		}
		u := &CDCUnion{Master: d[3], Slaves: append([]uint8(nil), d[4:]...)}
		alt.CDC.Union = u
		p.unions = append(p.unions, unionAt{off: off, owner: alt.Number, u: u})
	case CDCSubtypeEthernet:
		if len(d) != cdcEthernetLen {
			return p.fail(off, DescCSInterface, sub, "bLength %d, want %d", len(d), cdcEthernetLen)
		}
		if alt.CDC.Ethernet != nil {
			return p.fail(off, DescCSInterface, sub, "second one on interface %d alternate %d", alt.Number, alt.Alternate)
		}
		alt.CDC.Ethernet = &CDCEthernet{
			IMACAddress:        d[3],
			EthernetStatistics: le.Uint32(d[4:]),
			MaxSegmentSize:     le.Uint16(d[8:]),
			NumberMCFilters:    le.Uint16(d[10:]),
			NumberPowerFilters: d[12],
		}
	case CDCSubtypeNCM:
		if len(d) < cdcNCMLen {
			return p.fail(off, DescCSInterface, sub, "bLength %d, want %d", len(d), cdcNCMLen)
		}
		if alt.CDC.NCM != nil {
			return p.fail(off, DescCSInterface, sub, "second one on interface %d alternate %d", alt.Number, alt.Alternate)
		}
		alt.CDC.NCM = &CDCNCM{BcdNCMVersion: le.Uint16(d[3:]), NetworkCapabilities: d[5]}
	}
	return nil
}

// checkReferences makes sure every interface a CDC Union or an IAD names exists.
func (p *configParser) checkReferences() error {
	for _, ua := range p.unions {
		if p.cfg.Interface(ua.u.Master) == nil {
			return p.fail(ua.off, DescCSInterface, CDCSubtypeUnion, "interface %d: master interface %d does not exist", ua.owner, ua.u.Master)
		}
		for _, s := range ua.u.Slaves {
			if p.cfg.Interface(s) == nil {
				return p.fail(ua.off, DescCSInterface, CDCSubtypeUnion, "interface %d: slave interface %d does not exist", ua.owner, s)
			}
		}
	}
	for i, iad := range p.cfg.IADs {
		for n := int(iad.FirstInterface); n < int(iad.FirstInterface)+int(iad.InterfaceCount); n++ {
			if n > 0xFF || p.cfg.Interface(uint8(n)) == nil {
				return p.fail(p.iads[i], DescIAD, 0, "interfaces %d..%d: interface %d does not exist",
					iad.FirstInterface, int(iad.FirstInterface)+int(iad.InterfaceCount)-1, n)
			}
		}
	}
	return nil
}

// Interface returns the interface with bInterfaceNumber n, or nil.
func (c *Config) Interface(n uint8) *Interface {
	for i := range c.Interfaces {
		if c.Interfaces[i].Number == n {
			return &c.Interfaces[i]
		}
	}
	return nil
}

// Alt returns alternate setting a of the interface, or nil.
func (i *Interface) Alt(a uint8) *AltSetting {
	for k := range i.Alternates {
		if i.Alternates[k].Alternate == a {
			return &i.Alternates[k]
		}
	}
	return nil
}

// Default returns the alternate setting a device starts in (alternate 0). Linux matches
// drivers against it; a malformed interface without alternate 0 falls back to the first one
// described.
func (i *Interface) Default() *AltSetting {
	if a := i.Alt(0); a != nil {
		return a
	}
	return &i.Alternates[0]
}

// FindInterface returns the first interface whose default alternate setting has the given
// class, subclass and protocol, or nil. The match table and the minidrivers use the same
// rule, so a minidriver binds the interface the table matched.
func (c *Config) FindInterface(class, subclass, protocol uint8) *Interface {
	for i := range c.Interfaces {
		a := c.Interfaces[i].Default()
		if a.Class == class && a.Subclass == subclass && a.Protocol == protocol {
			return &c.Interfaces[i]
		}
	}
	return nil
}

// IADFor returns the interface association that contains interface n, or nil.
func (c *Config) IADFor(n uint8) *IAD {
	for i := range c.IADs {
		a := &c.IADs[i]
		if n >= a.FirstInterface && int(n) < int(a.FirstInterface)+int(a.InterfaceCount) {
			return a
		}
	}
	return nil
}
