package sim

import (
	"fmt"
	"time"

	"webminiport/usbnic"
)

// ecm models Linux's f_ecm gadget function on u_ether: data interface alt 0 has no endpoints and
// alt 1 moves one Ethernet frame per bulk transfer in each direction, with no header; the packet
// filter is u_ether's; NETWORK_CONNECTION and SPEED_CHANGE go out on the interrupt endpoint.
type ecm struct {
	p       *port
	l       cdcLayout
	dataAlt uint8
	filter  uint16
	note    notifier
}

func newECM(p *port, l cdcLayout) *ecm {
	return &ecm{p: p, l: l, note: notifier{p: p, ctrl: l.ctrl}}
}

// open is what f_ecm reports as is_open: the gadget's netdev is up (here: the cable is in) and
// the host has activated the data interface.
func (m *ecm) open() bool { return m.p.cable && m.dataAlt == 1 }

func (m *ecm) powerOn(now time.Time) {
	m.dataAlt, m.filter = 0, cdcDefaultFilter
	m.note.reset()
}

// configured is SET_CONFIGURATION: the composite driver sets every interface to alt 0, and
// f_ecm's set_alt on the data interface sends a notification pair.
func (m *ecm) configured(now time.Time) {
	m.powerOn(now)
	m.note.notify(m.open())
}

func (m *ecm) setAlt(iface, alt uint8, now time.Time) bool {
	switch iface {
	case m.l.ctrl:
		return alt == 0
	case m.l.data:
		if alt > 1 {
			return false
		}
		m.dataAlt = alt
		if alt == 1 {
			// "Changing altsettings resets filters, statistics, etc."
			m.filter = cdcDefaultFilter
		}
		m.note.notify(m.open())
		return true
	}
	return false
}

func (m *ecm) cableChanged(now time.Time) {
	if m.p.cable {
		m.p.drain()
	}
	if m.dataAlt == 1 {
		m.note.notify(m.open())
	}
}

func (m *ecm) controlIn(s usbnic.Setup, buf []byte, now time.Time) (int, bool) {
	return 0, false // f_ecm answers no IN class request
}

func (m *ecm) controlOut(s usbnic.Setup, data []byte, now time.Time) bool {
	if s.Type != usbnic.Class || s.Recipient != usbnic.ToInterface {
		return false
	}
	if s.Request == cdcSetEthernetPacketFilter && len(data) == 0 && s.Index == uint16(m.l.ctrl) {
		m.filter = s.Value
		return true
	}
	return false
}

func (m *ecm) in(ep uint8, buf []byte, now time.Time, r *inResult) {
	switch ep {
	case m.l.notify:
		m.note.in(buf, m.open(), r)
	case m.l.in:
		if !m.p.cable {
			return
		}
		r.wantWire = true
		for {
			n := m.p.pull()
			if n == 0 {
				return
			}
			f := m.p.stage[:n]
			switch {
			case n < etherHeader || n > etherMaxFrame:
				m.p.st.RxDropped++
			case !cdcAccept(m.filter, f):
				m.p.st.RxFiltered++
			default:
				// ECM has no framing; a corrupt fault flips a byte of the Ethernet header.
				r.framing(0, etherHeader)
				r.deliver(buf, f)
				if r.status == usbnic.StatusOK {
					m.p.delivered(f)
				} else {
					m.p.st.RxDropped++
				}
				return
			}
		}
	}
}

// out takes one frame. A frame whose length is a multiple of wMaxPacketSize arrives with usbnet's
// extra zero byte, which f_ecm passes on like any other byte.
func (m *ecm) out(ep uint8, data []byte, now time.Time) {
	if ep != m.l.out {
		return
	}
	n := len(data)
	padded := n > 1 && (n-1)%m.p.bulkMPS() == 0 && data[n-1] == 0
	if n < etherHeader || n > etherMaxFrame && !(padded && n-1 <= etherMaxFrame) {
		m.p.st.TxErrors++
		m.p.st.LastTxError = fmt.Sprintf("CDC-ECM TX: %d-byte transfer is not one Ethernet frame (14..%d bytes, or one more after a multiple of %d)", n, etherMaxFrame, m.p.bulkMPS())
		return
	}
	m.p.transmit(data, m.p.cable)
}

// ecmConfig is an f_ecm configuration.
func ecmConfig(value uint8, l cdcLayout, attributes, power2, power3 uint8, p *port) *configSpec {
	return cdcConfig(value, attributes, power2, power3, l, 0x06, 0x00, cdcFunctional(l, -1), newECM(p, l))
}

// gadgetLayout is where the Linux gadget puts its functions (data/usb/README.md): interfaces 0
// and 1, notify 0x85, bulk 0x81 and 0x02, strings 4 (control), 5 (MAC), 6 (data), 7 (IAD).
var gadgetLayout = cdcLayout{ctrl: 0, data: 1, notify: 0x85, in: 0x81, out: 0x02, iMAC: 5, iCtrl: 4, iData: 6, iIAD: 7}

// gadgetSpec is the device side of a configfs gadget with one function, as captured: bcdUSB
// 2.00 (3.20 at SuperSpeed), class 0 with an IAD, 1d6b:0104, bcdDevice 1.00, strings "Linux",
// product and serial "0123456789". String 7 (the IAD's iFunction) is not in the capture; it is
// what f_ecm/f_ncm name their IAD.
func gadgetSpec(p *port, product, ctrlName, dataName, iadName string, c *configSpec) *deviceSpec {
	return &deviceSpec{
		bcdUSB2: 0x0200, bcdUSB3: 0x0320,
		vendorID: 0x1d6b, productID: 0x0104, bcdDevice: 0x0100,
		iManufacturer: 1, iProduct: 2, iSerial: 3, maxSpeed: usbnic.SpeedSuper,
		strings:       []string{"", "Linux", product, "0123456789", ctrlName, cdcMACString(p.mac), dataName, iadName},
		configs:       []*configSpec{c},
		initialConfig: 1,
	}
}

// buildECM is Linux's f_ecm gadget as captured in ecm-linux.pcap.
func buildECM(p *port, s *settings) *deviceSpec {
	p.mac = macOr(s, [6]byte{0x02, 0, 0, 0, 0, 0x02})
	l := gadgetLayout
	l.dataAlt0HasNoIfString = true
	c := ecmConfig(1, l, 0x80, 0x32, 13, p)
	return gadgetSpec(p, "CDC ECM gadget", "CDC Ethernet Control Model (ECM)", "CDC Ethernet Data", "CDC ECM", c)
}
