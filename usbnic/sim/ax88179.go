package sim

import (
	"encoding/binary"
	"fmt"
	"time"

	"webminiport/usbnic"
)

// AX88179 vendor requests (§1.2), all with recipient device.
const (
	axAccessMAC     = 0x01 // wValue register, wIndex = wLength = byte count
	axAccessPHY     = 0x02 // wValue PHY address, wIndex MII register, 2 bytes
	axAccessEEPROM  = 0x04 // wValue word address, wIndex 1, 2 bytes
	axAccessEFuse   = 0x05 // wValue offset, wLength bytes of the 64-byte eFuse
	axReloadEEPROM  = 0x06 // reload NODE_ID from the EEPROM/eFuse
	axTxFIFOStatus  = 0x81 // read with wValue 0x8C: LE32, bit 30 = TX FIFO not yet ready
	axTxFIFOValue   = 0x8C
	axTxFIFONotIdle = 0x40000000
)

// AX88179 MAC registers and bits (§1.3).
const (
	ax179LinkStatus   = 0x02 // read-only: USB speed
	ax179GeneralSts   = 0x03 // read-only: 0x04 = UA2 silicon
	ax179SROMAddr     = 0x07
	ax179SROMDataLow  = 0x08
	ax179SROMDataHigh = 0x09
	ax179SROMCmd      = 0x0A
	ax179RxCtl        = 0x0B
	ax179NodeID       = 0x10
	ax179MultiFilter  = 0x16
	ax179Medium       = 0x22
	ax179PhyPower     = 0x26
	ax179BulkInQCtrl  = 0x2E
	ax179RxCOE        = 0x34
	ax179TxCOE        = 0x35

	ax179USBSuper   = 0x04
	ax179USBHigh    = 0x02
	ax179SECLD      = 0x04
	ax179SROMRead   = 0x04
	ax179RxStart    = 0x0080
	ax179ReceiveEn  = 0x0100
	ax179JumboEn    = 0x8040
	ax179PowerIPRL  = 0x0020
	ax179PHYAddress = 0x03

	ax179DropErr    = 0x80000000 // RX metadata DROP_ERR: also marks the dummy entries
	ax179TxPadFlags = 0x80008000 // TX header 2: "padding" (a zero byte follows the frame)
)

// AX88179 endpoints, as the real chip has them (lsusb of an AX88179: interrupt IN 0x81, 8 bytes;
// bulk IN 0x82; bulk OUT 0x03).
const (
	ax179EpIntr = 0x81
	ax179EpIn   = 0x82
	ax179EpOut  = 0x03
	// ax179AEpExtra is the AX88179A's fourth endpoint. Real devices have one; its address and
	// purpose are not known (ASSUMPTION: a bulk IN the model never sends on).
	ax179AEpExtra = 0x84
)

// ax179MaxAggregate bounds an RX aggregate: the 16-bit hdr_off field must reach the metadata.
const ax179MaxAggregate = 64<<10 - 8

// ax88179 models the AX88179 at register level: the MAC register file, the gigabit PHY at MDIO
// address 3, the EEPROM and eFuse, the interrupt endpoint's link status, RX aggregation with the
// trailer format of §1.8 and the TX header of §1.9.
type ax88179 struct {
	p      *port
	regs   [256]byte
	eeprom [256]uint16
	efuse  [64]byte
	phy    *phy

	rxOn        bool
	linkSeen    bool   // the link state last seen by tick
	intrPending bool   // the link changed since the host last read the interrupt endpoint
	fifoShown   uint64 // the phy.upCount whose TX-FIFO "not idle" bit the host has seen

	// The aggregate being built in chip memory: packets region (each packet a 2-byte pseudo
	// header, the frame, zero padding to 8 bytes), then its metadata entries.
	agg      []byte
	aggLen   int
	meta     []uint32
	aggBytes uint64
	aggMulti uint64
	aggFirst time.Time
	aggFull  bool
	staged   int // length of a filtered frame in p.stage that did not fit the last aggregate
}

// phyIDAX88179 is what PHYSID1/2 read. The AX88179's integrated PHY's ID is not in the sources
// read (ASSUMPTION: a Realtek RTL8211F's ID).
const phyIDAX88179 = 0x001CC916

func newAX88179(p *port) *ax88179 {
	m := &ax88179{
		p:    p,
		phy:  newPHY(p, true, phyIDAX88179),
		agg:  make([]byte, 64<<10),
		meta: make([]uint32, 0, ax179MaxAggregate/8),
	}
	for i := range m.eeprom {
		m.eeprom[i] = 0xFFFF // blank: Linux then falls back to its built-in LED defaults
	}
	for i := range m.efuse {
		m.efuse[i] = 0xFF
	}
	return m
}

func (m *ax88179) powerOn(now time.Time) {
	m.regs = [256]byte{}
	copy(m.regs[ax179NodeID:], m.p.mac[:])
	m.regs[ax179GeneralSts] = ax179SECLD
	// The PHY runs from power-up, so the link may already be up when a driver binds.
	binary.LittleEndian.PutUint16(m.regs[ax179PhyPower:], ax179PowerIPRL)
	copy(m.regs[ax179BulkInQCtrl:], []byte{0x07, 0x4F, 0x00, 0x12, 0xFF}) // the §1.5 table[0] default
	m.phy.powered = false
	m.phy.setPower(true, now)
	m.intrPending = false
	m.linkSeen = false
	m.fifoShown = 0
	m.rxOn = false
	m.resetAggregate()
}

func (m *ax88179) configured(now time.Time) {
	m.p.st.RxDropped += uint64(len(m.meta))
	m.resetAggregate()
	m.tick(now)
}

func (m *ax88179) setAlt(iface, alt uint8, now time.Time) bool { return alt == 0 }

func (m *ax88179) cableChanged(now time.Time) { m.tick(now) }

func (m *ax88179) reg16(r int) uint16 { return binary.LittleEndian.Uint16(m.regs[r:]) }

// tick brings the PHY up to now, notes link changes for the interrupt endpoint and re-evaluates
// the receiver. Every entry point calls it, and control writes call it again after their effect.
func (m *ax88179) tick(now time.Time) {
	m.phy.tick(now)
	if m.phy.up != m.linkSeen {
		m.linkSeen = m.phy.up
		m.intrPending = true
	}
	on := m.reg16(ax179RxCtl)&ax179RxStart != 0 && m.reg16(ax179Medium)&ax179ReceiveEn != 0 && m.phy.up
	if on && !m.rxOn {
		m.p.drain()
	}
	m.rxOn = on
}

func (m *ax88179) controlIn(s usbnic.Setup, buf []byte, now time.Time) (int, bool) {
	if s.Type != usbnic.Vendor || s.Recipient != usbnic.ToDevice {
		return 0, false
	}
	m.tick(now)
	switch s.Request {
	case axAccessMAC:
		addr, size := int(s.Value), int(s.Index)
		if size == 0 || size != len(buf) || addr+size > len(m.regs) {
			return 0, false
		}
		copy(buf, m.regs[addr:addr+size])
		if addr <= ax179LinkStatus && ax179LinkStatus < addr+size {
			buf[ax179LinkStatus-addr] = m.usbSpeedBits()
		}
		return size, true
	case axAccessPHY:
		if len(buf) != 2 || s.Index > 0x1F {
			return 0, false
		}
		v := uint16(0xFFFF) // no PHY answers at other MDIO addresses
		if s.Value == ax179PHYAddress {
			v = m.phy.read(s.Index, now)
		}
		binary.LittleEndian.PutUint16(buf, v)
		return 2, true
	case axAccessEEPROM:
		if len(buf) != 2 || s.Index != 1 || s.Value >= uint16(len(m.eeprom)) {
			return 0, false
		}
		binary.LittleEndian.PutUint16(buf, m.eeprom[s.Value])
		return 2, true
	case axAccessEFuse:
		if int(s.Value) >= len(m.efuse) {
			return 0, false
		}
		return copy(buf, m.efuse[s.Value:]), true
	case axTxFIFOStatus:
		if s.Value != axTxFIFOValue || len(buf) != 4 {
			return 0, false
		}
		// After each link-up the first poll finds the TX FIFO not yet idle, so a driver's
		// link_reset loop (§1.6) runs at least twice.
		var v uint32
		if m.phy.up && m.fifoShown != m.phy.upCount {
			m.fifoShown = m.phy.upCount
			v = axTxFIFONotIdle
		}
		binary.LittleEndian.PutUint32(buf, v)
		return 4, true
	}
	return 0, false
}

func (m *ax88179) usbSpeedBits() uint8 {
	switch m.p.speed {
	case usbnic.SpeedSuper:
		return ax179USBSuper
	case usbnic.SpeedHigh:
		return ax179USBHigh
	}
	return 0
}

func (m *ax88179) controlOut(s usbnic.Setup, data []byte, now time.Time) bool {
	if s.Type != usbnic.Vendor || s.Recipient != usbnic.ToDevice {
		return false
	}
	m.tick(now)
	defer m.tick(now)
	switch s.Request {
	case axAccessMAC:
		addr, size := int(s.Value), int(s.Index)
		if size == 0 || size != len(data) || addr+size > len(m.regs) {
			return false
		}
		m.writeMAC(addr, data, now)
		return true
	case axAccessPHY:
		if len(data) != 2 || s.Index > 0x1F {
			return false
		}
		if s.Value == ax179PHYAddress {
			m.phy.write(s.Index, binary.LittleEndian.Uint16(data), now)
		}
		return true
	case axAccessEEPROM:
		if len(data) != 2 || s.Index != 1 || s.Value >= uint16(len(m.eeprom)) {
			return false
		}
		m.eeprom[s.Value] = binary.LittleEndian.Uint16(data)
		return true
	case axReloadEEPROM:
		if len(data) != 0 {
			return false
		}
		copy(m.regs[ax179NodeID:], m.p.mac[:])
		return true
	}
	return false
}

// writeMAC stores data at register addr and applies the side effects of the registers it covers.
func (m *ax88179) writeMAC(addr int, data []byte, now time.Time) {
	covers := func(r int) bool { return addr <= r && r < addr+len(data) }
	saved := [2]byte{m.regs[ax179LinkStatus], m.regs[ax179GeneralSts]}
	copy(m.regs[addr:], data)
	m.regs[ax179LinkStatus], m.regs[ax179GeneralSts] = saved[0], saved[1] // read-only
	if covers(ax179SROMCmd) && m.regs[ax179SROMCmd]&ax179SROMRead != 0 {
		// The register-based SROM read completes at once: data loaded, busy (0x10) never seen.
		w := m.eeprom[m.regs[ax179SROMAddr]]
		m.regs[ax179SROMDataLow], m.regs[ax179SROMDataHigh] = uint8(w), uint8(w>>8)
		m.regs[ax179SROMCmd] &^= ax179SROMRead
	}
	if covers(ax179PhyPower) || covers(ax179PhyPower+1) {
		m.phy.setPower(m.reg16(ax179PhyPower)&ax179PowerIPRL != 0, now)
	}
}

// bulkIn timer and size limit from RX_BULKIN_QCTRL {ctrl, timer_lo, timer_hi, size, ifg}.
// ASSUMPTION: the timer counts microseconds and size is the KiB limit of the whole transfer
// (packets, metadata and trailer); the driver source says neither (§1.5).
func (m *ax88179) aggTimer() time.Duration {
	return time.Duration(m.reg16(ax179BulkInQCtrl+1)) * time.Microsecond
}

func (m *ax88179) aggLimit() int {
	return min(int(m.regs[ax179BulkInQCtrl+3])*1024, ax179MaxAggregate)
}

func (m *ax88179) maxFrame() int {
	if m.reg16(ax179Medium)&ax179JumboEn == ax179JumboEn {
		return 4088 + etherHeader + 4 // Linux's max MTU, header and a VLAN tag
	}
	return vlanMaxFrame
}

func (m *ax88179) resetAggregate() {
	m.aggLen, m.meta, m.aggBytes, m.aggMulti, m.aggFull, m.staged = 0, m.meta[:0], 0, 0, false, 0
}

func (m *ax88179) in(ep uint8, buf []byte, now time.Time, r *inResult) {
	m.tick(now)
	switch ep {
	case ax179EpIntr:
		if !m.intrPending {
			r.wakeAt = m.phy.wakeAt()
			return
		}
		m.intrPending = false
		var b [8]byte // LE32 intdata1 (bit 16: link), LE32 intdata2 (unused)
		if m.phy.up {
			binary.LittleEndian.PutUint32(b[:], 1<<16)
		}
		r.framing(0, 8)
		r.deliver(buf, b[:])
	case ax179EpIn:
		if !m.rxOn {
			return // a register write or the link coming up will wake the transfer
		}
		r.wantWire = true
		m.fill(now)
		if len(m.meta) == 0 {
			return
		}
		if due := m.aggFirst.Add(m.aggTimer()); !m.aggFull && now.Before(due) {
			r.wakeAt = due
			return
		}
		m.flush(buf, r)
	}
}

// fill moves frames from the wire into the aggregate until it is full or the wire is empty.
func (m *ax88179) fill(now time.Time) {
	limit := m.aggLimit()
	for !m.aggFull {
		n := m.staged
		m.staged = 0
		if n == 0 && limit > 0 && m.p.floods != nil && m.fillFlood(now, limit) {
			continue
		}
		if n == 0 {
			if n = m.p.pull(); n == 0 {
				return
			}
			if !m.accept(m.p.stage[:n]) {
				continue
			}
		}
		f := m.p.stage[:n]
		padded := (2 + n + 7) &^ 7
		// The whole transfer: packets, two metadata entries per packet, padding2 and rx_hdr.
		if len(m.meta) > 0 && (m.aggLen+padded+8*(len(m.meta)+1)+8 > limit || len(m.meta) == cap(m.meta)) {
			m.staged, m.aggFull = n, true
			return
		}
		if len(m.meta) == 0 {
			m.aggFirst = now
		}
		b := m.agg[m.aggLen : m.aggLen+padded]
		b[0], b[1] = 0, 0 // IP-alignment pseudo header
		copy(b[2:], f)
		clear(b[2+n:])
		m.aggLen += padded
		pktLen := uint32(2 + n)
		m.meta = append(m.meta, pktLen<<16|rxChecksumBits(f, m.regs[ax179RxCOE], m.p.stageGood))
		m.aggBytes += uint64(n)
		if isMulticast(f) {
			m.aggMulti++
		}
		if limit == 0 {
			m.aggFull = true // aggregation off: one frame per transfer
		}
	}
}

// fillFlood takes as many flood frames as the aggregate has room for in one run from a wire
// that hands floods over so (floodRunWire), and reports whether it took any. They are the frames
// one pull at a time would give and go through the same checks, made once for the run: flood
// frames differ only in their sequence numbers and UDP checksums, not in their length,
// addresses or protocol, so the filter passes all or none and the metadata bits (the wire
// vouches for the checksums) are the same for all. The frame that does not fit any more is left
// to pull, which stages it for the next transfer as for any other frame.
func (m *ax88179) fillFlood(now time.Time, limit int) bool {
	size := m.p.floods.FloodSize()
	if size == 0 {
		return false
	}
	padded := (2 + size + 7) &^ 7
	// Each frame takes its padded bytes and a metadata entry of 8; padding2 and rx_hdr 8 more.
	room := min((limit-m.aggLen-8*len(m.meta)-8)/(padded+8), cap(m.meta)-len(m.meta))
	if room <= 0 {
		return false
	}
	first := m.aggLen
	n, size := m.p.floods.ToHostFlood(m.agg[first+2:first+room*padded], padded, room)
	if n == 0 {
		return false
	}
	f := m.agg[first+2 : first+2+size]
	if !m.accept(f) {
		// accept counted one refusal; the rest of the run is refused alike.
		if len(f) < etherHeader || len(f) > m.maxFrame() {
			m.p.st.RxDropped += uint64(n - 1)
		} else {
			m.p.st.RxFiltered += uint64(n - 1)
		}
		return true
	}
	md := uint32(2+size)<<16 | rxChecksumBits(f, m.regs[ax179RxCOE], true)
	if len(m.meta) == 0 {
		m.aggFirst = now
	}
	for i := range n {
		b := m.agg[first+i*padded : first+(i+1)*padded]
		b[0], b[1] = 0, 0 // IP-alignment pseudo header
		clear(b[2+size:])
		m.meta = append(m.meta, md)
	}
	m.aggLen += n * padded
	m.aggBytes += uint64(n * size)
	if isMulticast(f) {
		m.aggMulti += uint64(n)
	}
	return true
}

// accept applies length checks and the RX_CTL filter to a frame from the wire.
func (m *ax88179) accept(f []byte) bool {
	if len(f) < etherHeader || len(f) > m.maxFrame() {
		m.p.st.RxDropped++
		return false
	}
	node := [6]byte(m.regs[ax179NodeID:])
	hash := [8]byte(m.regs[ax179MultiFilter:])
	if !asixAccept(m.reg16(ax179RxCtl), &node, &hash, f) {
		m.p.st.RxFiltered++
		return false
	}
	return true
}

// flush writes the metadata and trailer behind the packets and hands the transfer to the host:
// [packets][meta 1][dummy]...[meta N][dummy][padding2][rx_hdr = pkt_cnt | hdr_off<<16].
func (m *ax88179) flush(buf []byte, r *inResult) {
	hdrOff := m.aggLen
	o := hdrOff
	// rx_hdr first: it is the framing every parse starts from, so a corrupt fault hits it
	// as often as any one metadata entry.
	n := len(m.meta)
	total := hdrOff + 8*n + 8
	r.framing(total-4, 4)
	for i, md := range m.meta {
		binary.LittleEndian.PutUint32(m.agg[o:], md)
		binary.LittleEndian.PutUint32(m.agg[o+4:], ax179DropErr)
		if i < maxSpans-1 {
			r.framing(o, 4)
		}
		o += 8
	}
	binary.LittleEndian.PutUint32(m.agg[o:], 0)
	binary.LittleEndian.PutUint32(m.agg[o+4:], uint32(2*n)|uint32(hdrOff)<<16)
	r.deliver(buf, m.agg[:total])
	if r.status == usbnic.StatusOK {
		m.p.st.RxFrames += uint64(n)
		m.p.st.RxBytes += m.aggBytes
		m.p.st.RxMulticast += m.aggMulti
	} else {
		m.p.st.RxDropped += uint64(n)
	}
	staged := m.staged
	m.resetAggregate()
	m.staged = staged
}

// out takes one bulk-OUT transfer: an 8-byte header {LE32 length, LE32 MSS | padding flags},
// the frame, and one zero byte when header + frame fill whole packets (§1.9).
func (m *ax88179) out(ep uint8, data []byte, now time.Time) {
	if ep != ax179EpOut {
		return
	}
	m.tick(now)
	if err := m.parseTx(data); err != "" {
		m.p.st.TxErrors++
		m.p.st.LastTxError = err
	}
}

func (m *ax88179) parseTx(data []byte) string {
	if len(data) < 8 {
		return fmt.Sprintf("AX88179 TX: %d-byte transfer is shorter than the 8-byte header", len(data))
	}
	l := int(binary.LittleEndian.Uint32(data))
	hdr2 := binary.LittleEndian.Uint32(data[4:])
	mss := int(hdr2 &^ ax179TxPadFlags)
	switch {
	case l < etherHeader:
		return fmt.Sprintf("AX88179 TX: header length %d at offset 0 is shorter than an Ethernet header", l)
	case mss == 0 && l > m.maxFrame():
		return fmt.Sprintf("AX88179 TX: header length %d at offset 0 exceeds the %d-byte frame limit", l, m.maxFrame())
	case mss != 0 && l > ax179TSOMax:
		return fmt.Sprintf("AX88179 TX: header length %d at offset 0 exceeds the %d-byte TSO limit", l, ax179TSOMax)
	case l > len(data)-8:
		return fmt.Sprintf("AX88179 TX: header length %d at offset 0 exceeds the %d bytes after the header", l, len(data)-8)
	}
	switch extra := len(data) - 8 - l; {
	case extra == 0:
	case extra == 1 && (l+8)%m.p.bulkMPS() == 0 && data[len(data)-1] == 0:
		// usbnet's one zero byte instead of a ZLP.
	default:
		return fmt.Sprintf("AX88179 TX: %d bytes after the %d-byte frame at offset %d", extra, l, 8+l)
	}
	f := data[8 : 8+l]
	if mss != 0 {
		// TX header 2 carries the MSS: segment (tso.go).
		return m.p.transmitTSO(f, mss, m.maxFrame(), m.phy.up)
	}
	if coe := m.regs[ax179TxCOE]; coe != 0 {
		f = m.p.scratch[:copy(m.p.scratch, f)]
		fillChecksums(f, coe)
	}
	m.p.transmit(f, m.phy.up)
	return ""
}

// asixSerial is the serial number string ASIX adapters report: "00" and the MAC in hex (an
// AX88179 with MAC 8c:ae:4c:fd:21:8a reports iSerial "008CAE4CFD218A").
func asixSerial(mac [6]byte) string { return fmt.Sprintf("00%X", mac[:]) }

func macOr(s *settings, def [6]byte) [6]byte {
	if s.macSet {
		return s.mac
	}
	return def
}

var (
	ax179Intr = epSpec{addr: ax179EpIntr, typ: usbnic.EndpointInterrupt, intrMPS: 8, fsInterval: 128, hsInterval: 11}
	ax179In   = epSpec{addr: ax179EpIn, typ: usbnic.EndpointBulk, burst: 3}
	ax179Out  = epSpec{addr: ax179EpOut, typ: usbnic.EndpointBulk, burst: 15}
)

func asixVendorInterface(eps ...epSpec) []ifaceSpec {
	return []ifaceSpec{{number: 0, alts: []altSpec{{class: 0xFF, subclass: 0xFF, iInterface: 4, eps: eps}}}}
}

// buildAX88179 is the original AX88179 as lsusb shows it: bcdUSB 3.00 (2.10 at high speed),
// device class 0xFF/0xFF/0, one configuration (bmAttributes 0xA0, 496 mA at SuperSpeed, 248 mA
// below) with one vendor interface.
func buildAX88179(p *port, s *settings) *deviceSpec {
	p.mac = macOr(s, [6]byte{0x00, 0x0E, 0xC6, 0x81, 0x79, 0x01})
	return &deviceSpec{
		bcdUSB2: 0x0210, bcdUSB3: 0x0300, class: 0xFF, subclass: 0xFF,
		vendorID: 0x0b95, productID: 0x1790, bcdDevice: 0x0100,
		iManufacturer: 1, iProduct: 2, iSerial: 3, maxSpeed: usbnic.SpeedSuper,
		strings: []string{"", "ASIX Elec. Corp.", "AX88179", asixSerial(p.mac), "Network_Interface"},
		configs: []*configSpec{{value: 1, attributes: 0xA0, power2: 124, power3: 62,
			ifaces: asixVendorInterface(ax179Intr, ax179In, ax179Out), fn: newAX88179(p)}},
		initialConfig: 1,
	}
}

// buildAX88179A is the AX88179A: bcdDevice 2.00, bcdUSB 3.20, device class 0, three
// configurations. Configuration 1 is the vendor interface with four endpoints; 2 is CDC-NCM and
// 3 is CDC-ECM (as a 2025 linux-usb thread lists them). Linux picks configuration 2, so that is
// where the device starts. ASSUMPTION: configurations 2 and 3 behave like Linux's f_ncm and
// f_ecm, on the ASIX endpoint numbers, with iMACAddress string 5.
func buildAX88179A(p *port, s *settings) *deviceSpec {
	p.mac = macOr(s, [6]byte{0x00, 0x0E, 0xC6, 0x81, 0x79, 0xA1})
	cdc := cdcLayout{ctrl: 0, data: 1, notify: 0x81, in: 0x82, out: 0x03, iMAC: 5}
	return &deviceSpec{
		bcdUSB2: 0x0210, bcdUSB3: 0x0320,
		vendorID: 0x0b95, productID: 0x1790, bcdDevice: 0x0200,
		iManufacturer: 1, iProduct: 2, iSerial: 3, maxSpeed: usbnic.SpeedSuper,
		strings: []string{"", "ASIX", "AX88179A", fmt.Sprintf("%X", p.mac[2:]), "Network_Interface", fmt.Sprintf("%X", p.mac[:])},
		configs: []*configSpec{
			{value: 1, attributes: 0xA0, power2: 92, power3: 23,
				ifaces: asixVendorInterface(ax179Intr, ax179In, ax179Out, epSpec{addr: ax179AEpExtra, typ: usbnic.EndpointBulk}),
				fn:     newAX88179(p)},
			ncmConfig(2, cdc, 0xA0, 92, 23, p),
			ecmConfig(3, cdc, 0xA0, 92, 23, p),
		},
		initialConfig: 2,
	}
}
