package sim

import (
	"encoding/binary"
	"unicode/utf16"

	"webminiport/usbnic"
)

// Descriptor types (USB 2.0 table 9-5, USB 3.2 table 9-6, CDC 1.2 table 12).
const (
	dtDevice      = 0x01
	dtConfig      = 0x02
	dtString      = 0x03
	dtInterface   = 0x04
	dtEndpoint    = 0x05
	dtIAD         = 0x0B
	dtCSInterface = 0x24
	dtSSCompanion = 0x30
)

// langEnglishUS is the only language the models answer string requests in, like a Linux gadget
// (usb_gadget_strings tables are per language; everything here is 0x0409).
const langEnglishUS = 0x0409

// deviceSpec is everything a model says about itself before any configuration is chosen.
type deviceSpec struct {
	bcdUSB2, bcdUSB3 uint16 // bcdUSB at full/high speed and at SuperSpeed
	class            uint8
	subclass         uint8
	protocol         uint8
	vendorID         uint16
	productID        uint16
	bcdDevice        uint16
	iManufacturer    uint8
	iProduct         uint8
	iSerial          uint8
	maxSpeed         usbnic.Speed // a USB 2.0 chip on a USB 3 port runs at high speed
	strings          []string     // string descriptor i is strings[i]; strings[0] is unused
	configs          []*configSpec
	// initialConfig is the configuration the host OS selected before the page opened the
	// device: Linux picks the first whose first interface is not vendor-specific, if any.
	initialConfig uint8
}

// configSpec is one configuration: its descriptors and the function that answers for it.
type configSpec struct {
	value      uint8
	attributes uint8
	// bMaxPower at full/high speed (2 mA units) and at SuperSpeed (8 mA units); devices report
	// different currents at each speed.
	power2, power3 uint8
	iad            *iadSpec
	ifaces         []ifaceSpec
	fn             function
}

type iadSpec struct{ first, count, class, subclass, protocol, iFunction uint8 }

type ifaceSpec struct {
	number uint8
	alts   []altSpec
}

type altSpec struct {
	alt, class, subclass, protocol, iInterface uint8
	functional                                 []byte // class-specific descriptors after the interface descriptor
	eps                                        []epSpec
}

// epSpec is one endpoint. Bulk wMaxPacketSize follows the bus speed (64, 512, 1024); interrupt
// endpoints keep theirs. bInterval is in frames (1 ms) at full speed and in 2^(n-1) (micro)frame
// units at high and SuperSpeed.
type epSpec struct {
	addr       uint8
	typ        uint8 // usbnic.EndpointBulk or usbnic.EndpointInterrupt
	intrMPS    uint16
	fsInterval uint8
	hsInterval uint8
	burst      uint8 // SuperSpeed companion bMaxBurst
}

func (e epSpec) maxPacket(speed usbnic.Speed) uint16 {
	if e.typ == usbnic.EndpointInterrupt {
		return e.intrMPS
	}
	switch speed {
	case usbnic.SpeedSuper:
		return 1024
	case usbnic.SpeedHigh:
		return 512
	}
	return 64
}

func (s *deviceSpec) encodeDevice(speed usbnic.Speed) []byte {
	bcd, mps0 := s.bcdUSB2, uint8(64)
	if speed == usbnic.SpeedSuper {
		// USB 3.2 §9.6.1: bMaxPacketSize0 is an exponent (2^9 = 512) at SuperSpeed.
		bcd, mps0 = s.bcdUSB3, 9
	}
	b := make([]byte, 18)
	b[0], b[1] = 18, dtDevice
	binary.LittleEndian.PutUint16(b[2:], bcd)
	b[4], b[5], b[6], b[7] = s.class, s.subclass, s.protocol, mps0
	binary.LittleEndian.PutUint16(b[8:], s.vendorID)
	binary.LittleEndian.PutUint16(b[10:], s.productID)
	binary.LittleEndian.PutUint16(b[12:], s.bcdDevice)
	b[14], b[15], b[16], b[17] = s.iManufacturer, s.iProduct, s.iSerial, uint8(len(s.configs))
	return b
}

func (c *configSpec) encode(speed usbnic.Speed) []byte {
	power := c.power2
	if speed == usbnic.SpeedSuper {
		power = c.power3
	}
	b := []byte{9, dtConfig, 0, 0, uint8(len(c.ifaces)), c.value, 0, c.attributes, power}
	if a := c.iad; a != nil {
		b = append(b, 8, dtIAD, a.first, a.count, a.class, a.subclass, a.protocol, a.iFunction)
	}
	for _, i := range c.ifaces {
		for _, a := range i.alts {
			b = append(b, 9, dtInterface, i.number, a.alt, uint8(len(a.eps)), a.class, a.subclass, a.protocol, a.iInterface)
			b = append(b, a.functional...)
			for _, e := range a.eps {
				interval := e.fsInterval
				if speed >= usbnic.SpeedHigh {
					interval = e.hsInterval
				}
				mps := e.maxPacket(speed)
				b = append(b, 7, dtEndpoint, e.addr, e.typ, uint8(mps), uint8(mps>>8), interval)
				if speed == usbnic.SpeedSuper {
					// USB 3.2 §9.6.7: wBytesPerInterval is the periodic payload per service interval.
					var perInterval uint16
					if e.typ == usbnic.EndpointInterrupt {
						perInterval = mps
					}
					b = append(b, 6, dtSSCompanion, e.burst, 0, uint8(perInterval), uint8(perInterval>>8))
				}
			}
		}
	}
	binary.LittleEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// altFor returns the interface that has endpoint ep in its alternate setting alts[iface], or
// nil. alts is indexed by interface number.
func (c *configSpec) altFor(ep uint8, alts *[32]uint8) (*ifaceSpec, *epSpec) {
	for i := range c.ifaces {
		f := &c.ifaces[i]
		a := f.alt(alts[f.number])
		if a == nil {
			continue
		}
		for j := range a.eps {
			if a.eps[j].addr == ep {
				return f, &a.eps[j]
			}
		}
	}
	return nil, nil
}

func (c *configSpec) iface(n uint8) *ifaceSpec {
	for i := range c.ifaces {
		if c.ifaces[i].number == n {
			return &c.ifaces[i]
		}
	}
	return nil
}

func (f *ifaceSpec) alt(n uint8) *altSpec {
	for i := range f.alts {
		if f.alts[i].alt == n {
			return &f.alts[i]
		}
	}
	return nil
}

// stringDescriptor encodes s as a USB string descriptor (UTF-16LE, USB 2.0 §9.6.7).
func stringDescriptor(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2+2*len(u))
	b[0], b[1] = uint8(len(b)), dtString
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2+2*i:], r)
	}
	return b
}

// Class-specific functional descriptors (CDC 1.2 §5.2.3, ECM 1.2 §5.4, NCM 1.0 §5.2.1).
func cdcHeader(bcd uint16) []byte {
	return []byte{5, dtCSInterface, 0x00, uint8(bcd), uint8(bcd >> 8)}
}

func cdcUnion(master, slave uint8) []byte {
	return []byte{5, dtCSInterface, 0x06, master, slave}
}

func cdcEthernet(iMAC uint8, maxSegment uint16) []byte {
	// bmEthernetStatistics 0, wNumberMCFilters 0, bNumberPowerFilters 0, as f_ecm and f_ncm.
	return []byte{13, dtCSInterface, 0x0F, iMAC, 0, 0, 0, 0, uint8(maxSegment), uint8(maxSegment >> 8), 0, 0, 0}
}

func cdcNCM(bcd uint16, caps uint8) []byte {
	return []byte{6, dtCSInterface, 0x1A, uint8(bcd), uint8(bcd >> 8), caps}
}
