package sim

import (
	"encoding/binary"
	"fmt"

	"webminiport/usbnic"
)

// CDC class requests and notifications (§3.3, §3.5, §4.1).
const (
	cdcSetEthernetPacketFilter = 0x43

	cdcNotifyNetworkConnection = 0x00
	cdcNotifySpeedChange       = 0x2A
)

// cdcLayout places a CDC function in its configuration: interface numbers, endpoint addresses
// and string indexes (0: none).
type cdcLayout struct {
	ctrl, data            uint8
	notify, in, out       uint8
	iMAC                  uint8
	iCtrl, iData, iIAD    uint8
	dataAlt0HasNoIfString bool // f_ecm's data alt 0 has iInterface 0, f_ncm's has the data string
}

// cdcConfig builds a configuration shaped like Linux's f_ecm/f_ncm descriptors: IAD, control
// interface (header, union, Ethernet networking[, NCM] functional descriptors, interrupt
// endpoint of 16 bytes polled every 32 ms), data interface alt 0 without endpoints and alt 1
// with bulk IN and OUT.
func cdcConfig(value, attributes, power2, power3 uint8, l cdcLayout, subclass, dataProto uint8, functional []byte, fn function) *configSpec {
	alt0Str := l.iData
	if l.dataAlt0HasNoIfString {
		alt0Str = 0
	}
	return &configSpec{
		value: value, attributes: attributes, power2: power2, power3: power3,
		iad: &iadSpec{first: l.ctrl, count: 2, class: 0x02, subclass: subclass, iFunction: l.iIAD},
		ifaces: []ifaceSpec{
			{number: l.ctrl, alts: []altSpec{{class: 0x02, subclass: subclass, iInterface: l.iCtrl, functional: functional,
				eps: []epSpec{{addr: l.notify, typ: usbnic.EndpointInterrupt, intrMPS: 16, fsInterval: 32, hsInterval: 9}}}}},
			{number: l.data, alts: []altSpec{
				{alt: 0, class: 0x0A, protocol: dataProto, iInterface: alt0Str},
				{alt: 1, class: 0x0A, protocol: dataProto, iInterface: l.iData, eps: []epSpec{
					{addr: l.in, typ: usbnic.EndpointBulk},
					{addr: l.out, typ: usbnic.EndpointBulk},
				}},
			}},
		},
		fn: fn,
	}
}

func cdcFunctional(l cdcLayout, ncmCaps int) []byte {
	b := append(cdcHeader(0x0110), cdcUnion(l.ctrl, l.data)...)
	b = append(b, cdcEthernet(l.iMAC, etherMaxFrame)...)
	if ncmCaps >= 0 {
		b = append(b, cdcNCM(0x0100, uint8(ncmCaps))...)
	}
	return b
}

// cdcBitrate is the speed f_ecm and f_ncm announce in CONNECTION_SPEED_CHANGE: the peak bulk
// rate of the bus (ecm_bitrate / ncm_bitrate), the same value for both directions.
func cdcBitrate(s usbnic.Speed) uint32 {
	switch s {
	case usbnic.SpeedSuper:
		return 13 * 1024 * 8 * 1000 * 8
	case usbnic.SpeedHigh:
		return 13 * 512 * 8 * 1000 * 8
	}
	return 19 * 64 * 1 * 1000 * 8
}

// Notification states, as f_ecm's and f_ncm's notify_state.
const (
	notifyNone = iota
	notifyConnect
	notifySpeed
)

// notifier is the gadget functions' notification machine: one request, so one notification in
// flight (queued on the interrupt endpoint until the host reads it); when it completes the next
// one is built from the state at that moment. f_ecm sends NETWORK_CONNECTION then SPEED_CHANGE,
// f_ncm the other way round.
type notifier struct {
	p          *port
	ctrl       uint8
	speedFirst bool
	state      int
	fifo       [16]byte
	fifoLen    int
}

func (n *notifier) reset() { n.state, n.fifoLen = notifyNone, 0 }

// notify restarts the pair (ecm_notify / ncm_notify).
func (n *notifier) notify(open bool) {
	n.state = notifyConnect
	if n.speedFirst {
		n.state = notifySpeed
	}
	n.build(open)
}

// build queues the next notification if none is in flight (ecm_do_notify / ncm_do_notify).
func (n *notifier) build(open bool) {
	if n.fifoLen != 0 {
		return
	}
	b := n.fifo[:]
	clear(b)
	b[0] = 0xA1
	binary.LittleEndian.PutUint16(b[4:], uint16(n.ctrl))
	switch n.state {
	case notifyConnect:
		b[1] = cdcNotifyNetworkConnection
		if open {
			b[2] = 1
		}
		n.fifoLen = 8
		n.state = notifySpeed
		if n.speedFirst {
			n.state = notifyNone
		}
	case notifySpeed:
		b[1] = cdcNotifySpeedChange
		b[6] = 8 // wLength: two LE32 bit rates follow
		rate := cdcBitrate(n.p.speed)
		binary.LittleEndian.PutUint32(b[8:], rate)
		binary.LittleEndian.PutUint32(b[12:], rate)
		n.fifoLen = 16
		n.state = notifyNone
		if n.speedFirst {
			n.state = notifyConnect
		}
	}
}

// in completes an interrupt IN transfer with the queued notification, then builds the next.
func (n *notifier) in(buf []byte, open bool, r *inResult) {
	if n.fifoLen == 0 {
		return
	}
	r.framing(0, 8)
	r.deliver(buf, n.fifo[:n.fifoLen])
	n.fifoLen = 0
	n.build(open)
}

// cdcMACString is the iMACAddress string: 12 hex digits, lower case as Linux's gadget prints it.
func cdcMACString(mac [6]byte) string { return fmt.Sprintf("%x", mac[:]) }
