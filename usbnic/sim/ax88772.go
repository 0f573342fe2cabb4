package sim

import (
	"encoding/binary"
	"fmt"
	"time"

	"webminiport/usbnic"
)

// AX88772 vendor requests (§2.2), recipient device.
const (
	ax772SetSWMII       = 0x06
	ax772ReadMII        = 0x07
	ax772WriteMII       = 0x08
	ax772StatMngSts     = 0x09
	ax772SetHWMII       = 0x0A
	ax772ReadEEPROM     = 0x0B
	ax772WriteEEPROM    = 0x0C
	ax772WriteEnable    = 0x0D
	ax772WriteDisable   = 0x0E
	ax772ReadRxCtl      = 0x0F
	ax772WriteRxCtl     = 0x10
	ax772ReadIPG        = 0x11
	ax772WriteIPG       = 0x12
	ax772ReadNodeID     = 0x13
	ax772WriteNodeID    = 0x14
	ax772WriteMultiHash = 0x16
	ax772ReadPHYID      = 0x19
	ax772ReadMedium     = 0x1A
	ax772WriteMedium    = 0x1B
	ax772ReadMonitor    = 0x1C
	ax772WriteMonitor   = 0x1D
	ax772ReadGPIOs      = 0x1E
	ax772WriteGPIOs     = 0x1F
	ax772SWReset        = 0x20
	ax772SWPHYSelect    = 0x22
	ax772QCTCtrl        = 0x2A // AX88772B only
)

// AX88772 register bits (§2.2).
const (
	ax772HostEn       = 0x01   // STATMNGSTS: software owns MDIO
	ax772RxStart      = 0x0080 // RX_CTL SO
	ax772RxMFBMask    = 0x0300 // RX_CTL max frame burst: 2048 << (field >> 8)
	ax772MediumRE     = 0x0100
	ax772ResetRR      = 0x01 // SW_RESET: reset the RX logic
	ax772ResetIPRL    = 0x20 // internal PHY out of reset
	ax772ResetIPPD    = 0x40 // internal PHY powered down
	ax772PHYSelEmbed  = 0x01 // SW_PHY_SELECT PSEL: the embedded PHY
	ax772EmbeddedPHY  = 0x10 // its MDIO address
	ax772ExternalPHY  = 0xE0 // READ_PHY_ID byte 0 (ASSUMPTION: no external PHY; masks to 0)
	ax772StreamBuffer = 32 << 10
)

// AX88772 endpoints (lsusb of AX88772-based adapters: interrupt IN 0x81 of 8 bytes, bulk IN
// 0x82, bulk OUT 0x03).
const (
	ax772EpIntr = 0x81
	ax772EpIn   = 0x82
	ax772EpOut  = 0x03
)

type chipCode uint8

// Chip codes in STATMNGSTS bits 4..6.
const (
	chip772  chipCode = 0x00
	chip772A chipCode = 0x10
	chip772B chipCode = 0x20
)

// rxRecord is one frame's record in the RX byte stream.
type rxRecord struct {
	pos   uint64 // stream offset of its 4-byte header
	n     int    // frame length
	multi bool
	lost  bool // part of it went into an overrun host buffer
}

// ax88772 models the AX88772/A/B at register level: the vendor registers, the embedded 10/100
// PHY at MDIO address 0x10 behind the SW_MII/HOST_EN handshake, the EEPROM, the interrupt
// endpoint's link byte, the RX byte stream of {LE32 len | ~len<<16, frame, pad to even} records
// cut into bulk-IN transfers wherever the burst ends (records and headers span transfers), and
// the TX records with the 00 00 FF FF pad.
type ax88772 struct {
	p    *port
	chip chipCode
	phy  *phy

	eeprom      [256]uint16
	eepromWrite bool
	rxCtl       uint16
	medium      uint16
	node        [6]byte
	hash        [8]byte
	ipg         [3]byte
	gpio        uint8
	monitor     uint8
	phySel      uint16
	swReset     uint16
	swMII       bool
	qct         [2]uint16

	rxOn        bool
	linkSeen    bool
	intrPending bool

	// The RX stream in chip memory: bytes [head, tail) of stream, which start at stream offset
	// base. recs are the records not yet fully sent.
	stream     []byte
	head, tail int
	base       uint64
	recs       []rxRecord
	recHead    int
	staged     int
}

// PHY IDs: Linux's ax88796b PHY driver matches the AX88772A's as 0x003b1861 and binds its
// AX88772C entry (0x003b1881) on AX88772B adapters. ASSUMPTION: the original AX88772 reports the
// AX88772A's ID.
func phyID772(c chipCode) uint32 {
	if c == chip772B {
		return 0x003b1881
	}
	return 0x003b1861
}

func newAX88772(p *port, c chipCode) *ax88772 {
	m := &ax88772{
		p: p, chip: c,
		phy:    newPHY(p, false, phyID772(c)),
		stream: make([]byte, ax772StreamBuffer),
		recs:   make([]rxRecord, 0, ax772StreamBuffer/(4+etherHeader)),
	}
	for i := range m.eeprom {
		m.eeprom[i] = 0xFFFF
	}
	// Words 4..6 hold the MAC (read by Linux for the AX88772B, FLAG_EEPROM_MAC).
	for i := 0; i < 3; i++ {
		m.eeprom[4+i] = uint16(p.mac[2*i]) | uint16(p.mac[2*i+1])<<8
	}
	return m
}

func (m *ax88772) powerOn(now time.Time) {
	m.eepromWrite = false
	m.rxCtl, m.medium = 0, 0
	for i := 0; i < 3; i++ {
		m.node[2*i], m.node[2*i+1] = uint8(m.eeprom[4+i]), uint8(m.eeprom[4+i]>>8)
	}
	m.hash = [8]byte{}
	m.ipg = [3]byte{0x15, 0x0C, 0x12}
	m.gpio, m.monitor = 0, 0
	m.phySel = ax772PHYSelEmbed
	m.swReset = ax772ResetIPRL | 0x08 // IPRL|PRL: the PHY runs from power-up
	m.swMII = false
	m.qct = [2]uint16{}
	m.phy.powered = false
	m.phy.setPower(true, now)
	m.rxOn, m.linkSeen, m.intrPending = false, false, false
	m.resetStream()
	if m.chip == chip772A {
		// The AX88772A's PHY tuning registers, at the values Linux restores (§2.3).
		m.phy.regs[0x14], m.phy.regs[0x15], m.phy.regs[0x16] = 0x442C, 0x03C8, 0x4044
	}
}

func (m *ax88772) configured(now time.Time) {
	m.dropStream()
	m.tick(now)
}

func (m *ax88772) setAlt(iface, alt uint8, now time.Time) bool { return alt == 0 }

func (m *ax88772) cableChanged(now time.Time) { m.tick(now) }

func (m *ax88772) resetStream() {
	m.head, m.tail, m.base = 0, 0, 0
	m.recs, m.recHead, m.staged = m.recs[:0], 0, 0
}

func (m *ax88772) dropStream() {
	m.p.st.RxDropped += uint64(len(m.recs) - m.recHead)
	m.resetStream()
}

func (m *ax88772) phyPowered() bool {
	return m.phySel&ax772PHYSelEmbed != 0 && m.swReset&ax772ResetIPRL != 0 && m.swReset&ax772ResetIPPD == 0
}

func (m *ax88772) tick(now time.Time) {
	m.phy.setPower(m.phyPowered(), now)
	m.phy.tick(now)
	if m.phy.up != m.linkSeen {
		m.linkSeen = m.phy.up
		m.intrPending = true
	}
	on := m.rxCtl&ax772RxStart != 0 && m.medium&ax772MediumRE != 0 && m.phy.up
	if on && !m.rxOn {
		m.p.drain()
	}
	m.rxOn = on
}

func (m *ax88772) controlIn(s usbnic.Setup, buf []byte, now time.Time) (int, bool) {
	if s.Type != usbnic.Vendor || s.Recipient != usbnic.ToDevice || len(buf) == 0 {
		return 0, false
	}
	m.tick(now)
	var b [8]byte
	var v []byte
	switch s.Request {
	case ax772StatMngSts:
		b[0] = uint8(m.chip)
		if m.swMII {
			b[0] |= ax772HostEn
		}
		v = b[:1]
	case ax772ReadMII:
		if !m.swMII || len(buf) != 2 || s.Index > 0x1F {
			return 0, false // MDIO belongs to the hardware until SET_SW_MII
		}
		r := uint16(0xFFFF)
		if s.Value == ax772EmbeddedPHY {
			r = m.phy.read(s.Index, now)
		}
		binary.LittleEndian.PutUint16(b[:], r)
		v = b[:2]
	case ax772ReadEEPROM:
		if s.Value >= uint16(len(m.eeprom)) {
			return 0, false
		}
		binary.LittleEndian.PutUint16(b[:], m.eeprom[s.Value])
		v = b[:2]
	case ax772ReadRxCtl:
		binary.LittleEndian.PutUint16(b[:], m.rxCtl)
		v = b[:2]
	case ax772ReadIPG:
		v = m.ipg[:]
	case ax772ReadNodeID:
		v = m.node[:]
	case ax772ReadPHYID:
		b[0], b[1] = ax772ExternalPHY, ax772EmbeddedPHY
		v = b[:2]
	case ax772ReadMedium:
		binary.LittleEndian.PutUint16(b[:], m.medium)
		v = b[:2]
	case ax772ReadMonitor:
		b[0] = m.monitor
		v = b[:1]
	case ax772ReadGPIOs:
		b[0] = m.gpio
		v = b[:1]
	default:
		return 0, false
	}
	return copy(buf, v), true
}

func (m *ax88772) controlOut(s usbnic.Setup, data []byte, now time.Time) bool {
	if s.Type != usbnic.Vendor || s.Recipient != usbnic.ToDevice {
		return false
	}
	m.tick(now)
	defer m.tick(now)
	if len(data) != 0 {
		switch s.Request {
		case ax772WriteMII:
			if !m.swMII || len(data) != 2 || s.Index > 0x1F {
				return false
			}
			if s.Value == ax772EmbeddedPHY {
				m.phy.write(s.Index, binary.LittleEndian.Uint16(data), now)
			}
			return true
		case ax772WriteNodeID:
			if len(data) != 6 {
				return false
			}
			copy(m.node[:], data)
			return true
		case ax772WriteMultiHash:
			if len(data) != 8 {
				return false
			}
			copy(m.hash[:], data)
			return true
		}
		return false
	}
	switch s.Request {
	case ax772SetSWMII:
		m.swMII = true
	case ax772SetHWMII:
		m.swMII = false
	case ax772WriteEEPROM:
		if s.Value >= uint16(len(m.eeprom)) {
			return false
		}
		if m.eepromWrite { // without WRITE_ENABLE the EEPROM ignores the write
			m.eeprom[s.Value] = s.Index
		}
	case ax772WriteEnable:
		m.eepromWrite = true
	case ax772WriteDisable:
		m.eepromWrite = false
	case ax772WriteRxCtl:
		m.rxCtl = s.Value
	case ax772WriteIPG:
		m.ipg = [3]byte{uint8(s.Value), uint8(s.Value >> 8), uint8(s.Index)}
	case ax772WriteMedium:
		m.medium = s.Value
	case ax772WriteMonitor:
		m.monitor = uint8(s.Value)
	case ax772WriteGPIOs:
		m.gpio = uint8(s.Value)
	case ax772SWReset:
		m.swReset = s.Value
		if s.Value&ax772ResetRR != 0 {
			m.dropStream()
		}
	case ax772SWPHYSelect:
		m.phySel = s.Value
	case ax772QCTCtrl:
		if m.chip != chip772B {
			return false
		}
		m.qct = [2]uint16{s.Value, s.Index}
	default:
		return false
	}
	return true
}

// burst is the largest bulk-IN transfer the chip sends in one go (RX_CTL MFB).
func (m *ax88772) burst() int { return 2048 << ((m.rxCtl & ax772RxMFBMask) >> 8) }

func (m *ax88772) in(ep uint8, buf []byte, now time.Time, r *inResult) {
	m.tick(now)
	switch ep {
	case ax772EpIntr:
		if !m.intrPending {
			r.wakeAt = m.phy.wakeAt()
			return
		}
		m.intrPending = false
		var b [8]byte // byte 2 bit 0: link up; the rest reserved (§2.4)
		if m.phy.up {
			b[2] = 1
		}
		r.framing(0, 8)
		r.deliver(buf, b[:])
	case ax772EpIn:
		if m.rxOn {
			r.wantWire = true
			m.fill()
		}
		m.send(buf, r) // what is already in the chip still goes out
	}
}

// fill appends records for frames from the wire while the stream buffer has room.
func (m *ax88772) fill() {
	for {
		n := m.staged
		m.staged = 0
		if n == 0 {
			if n = m.p.pull(); n == 0 {
				return
			}
			f := m.p.stage[:n]
			if n < etherHeader || n > vlanMaxFrame {
				m.p.st.RxDropped++
				continue
			}
			if !asixAccept(m.rxCtl, &m.node, &m.hash, f) {
				m.p.st.RxFiltered++
				continue
			}
		}
		rec := 4 + n + n&1
		if m.tail+rec > len(m.stream) {
			m.compact()
		}
		if m.tail+rec > len(m.stream) || len(m.recs) == cap(m.recs) {
			m.staged = n
			return
		}
		b := m.stream[m.tail : m.tail+rec]
		binary.LittleEndian.PutUint32(b, uint32(n)|uint32(n^0xFFFF)<<16)
		copy(b[4:], m.p.stage[:n])
		if n&1 != 0 {
			b[rec-1] = 0
		}
		m.recs = append(m.recs, rxRecord{pos: m.base + uint64(m.tail-m.head), n: n, multi: isMulticast(m.p.stage[:n])})
		m.tail += rec
	}
}

func (m *ax88772) compact() {
	copy(m.stream, m.stream[m.head:m.tail])
	m.tail -= m.head
	m.head = 0
	if m.recHead > 0 {
		m.recs = append(m.recs[:0], m.recs[m.recHead:]...)
		m.recHead = 0
	}
}

// send cuts the next bulk-IN transfer from the stream: up to the burst size, ending wherever
// that falls, inside a frame or a header. A host buffer that is not a whole number of packets
// and too small for what the chip sends is overrun (babble), and the rest of that packet is lost.
func (m *ax88772) send(buf []byte, r *inResult) {
	avail := m.tail - m.head
	if avail == 0 {
		return
	}
	n := min(avail, m.burst())
	consumed := n
	st := usbnic.StatusOK
	if n > len(buf) {
		mps := m.p.bulkMPS()
		if len(buf)%mps == 0 {
			n, consumed = len(buf), len(buf)
		} else {
			consumed = min(n, (len(buf)+mps-1)/mps*mps)
			n, st = len(buf), usbnic.StatusBabble
		}
	}
	copy(buf, m.stream[m.head:m.head+n])
	for i := m.recHead; i < len(m.recs) && r.nspans < maxSpans; i++ {
		off := int(int64(m.recs[i].pos) - int64(m.base))
		if off >= n {
			break
		}
		start := max(off, 0)
		r.framing(start, min(off+4, n)-start)
	}
	r.complete(n, st)
	end := m.base + uint64(consumed)
	for i := m.recHead; i < len(m.recs) && m.recs[i].pos < end; i++ {
		if rec := &m.recs[i]; st != usbnic.StatusOK && rec.pos+4+uint64(rec.n) > m.base+uint64(n) {
			rec.lost = true
		}
	}
	for m.recHead < len(m.recs) {
		rec := m.recs[m.recHead]
		if rec.pos+4+uint64(rec.n) > end {
			break
		}
		if rec.lost {
			m.p.st.RxDropped++
		} else {
			m.p.st.RxFrames++
			m.p.st.RxBytes += uint64(rec.n)
			if rec.multi {
				m.p.st.RxMulticast++
			}
		}
		m.recHead++
	}
	m.head += consumed
	m.base = end
	if m.head == m.tail {
		m.head, m.tail = 0, 0
		m.recs, m.recHead = m.recs[:0], 0
	}
}

// out takes one bulk-OUT transfer of records {LE32 len | (len^0xFFFF)<<16, frame}; an empty
// record (00 00 FF FF) is padding. ASSUMPTION: records do not span OUT transfers and follow
// each other without padding (Linux sends one record per transfer).
func (m *ax88772) out(ep uint8, data []byte, now time.Time) {
	if ep != ax772EpOut {
		return
	}
	m.tick(now)
	for off := 0; off < len(data); {
		if len(data)-off < 4 {
			m.txError(fmt.Sprintf("AX88772 TX: %d bytes at offset %d, shorter than a record header", len(data)-off, off))
			return
		}
		h := binary.LittleEndian.Uint32(data[off:])
		l := int(h & 0xFFFF)
		switch {
		case uint16(h>>16) != uint16(l)^0xFFFF:
			m.txError(fmt.Sprintf("AX88772 TX: header %#08x at offset %d: length %d does not match its complement %#04x", h, off, l, h>>16))
			return
		case l == 0:
			off += 4
			continue
		case l < etherHeader || l > vlanMaxFrame:
			m.txError(fmt.Sprintf("AX88772 TX: header at offset %d: length %d outside [%d, %d]", off, l, etherHeader, vlanMaxFrame))
			return
		case l > len(data)-off-4:
			m.txError(fmt.Sprintf("AX88772 TX: header at offset %d: length %d exceeds the %d bytes after it", off, l, len(data)-off-4))
			return
		}
		m.p.transmit(data[off+4:off+4+l], m.phy.up)
		off += 4 + l
	}
}

func (m *ax88772) txError(s string) {
	m.p.st.TxErrors++
	m.p.st.LastTxError = s
}

var (
	ax772Intr = epSpec{addr: ax772EpIntr, typ: usbnic.EndpointInterrupt, intrMPS: 8, fsInterval: 128, hsInterval: 11}
	ax772In   = epSpec{addr: ax772EpIn, typ: usbnic.EndpointBulk}
	ax772Out  = epSpec{addr: ax772EpOut, typ: usbnic.EndpointBulk}
)

// buildAX88772 builds a USB 2.0 AX88772-family adapter: bcdUSB 2.00, class 0xFF/0xFF/0,
// bcdDevice 0.01, one configuration (bmAttributes 0xA0, 200 mA) with one vendor interface.
func buildAX88772(c chipCode) func(p *port, s *settings) *deviceSpec {
	pid := map[chipCode]uint16{chip772: 0x7720, chip772A: 0x772a, chip772B: 0x772b}[c]
	name := map[chipCode]string{chip772: "AX88772", chip772A: "AX88772A", chip772B: "AX88772B"}[c]
	return func(p *port, s *settings) *deviceSpec {
		p.mac = macOr(s, [6]byte{0x00, 0x0E, 0xC6, 0x87, 0x72, 0x01 + uint8(c>>4)})
		return &deviceSpec{
			bcdUSB2: 0x0200, class: 0xFF, subclass: 0xFF,
			vendorID: 0x0b95, productID: pid, bcdDevice: 0x0001,
			iManufacturer: 1, iProduct: 2, iSerial: 3, maxSpeed: usbnic.SpeedHigh,
			strings: []string{"", "ASIX Elec. Corp.", name, asixSerial(p.mac)},
			configs: []*configSpec{{value: 1, attributes: 0xA0, power2: 100, power3: 100,
				ifaces: []ifaceSpec{{number: 0, alts: []altSpec{{class: 0xFF, subclass: 0xFF, eps: []epSpec{ax772Intr, ax772In, ax772Out}}}}},
				fn:     newAX88772(p, c)}},
			initialConfig: 1,
		}
	}
}
