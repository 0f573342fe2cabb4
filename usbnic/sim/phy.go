package sim

import "time"

// Standard MII registers and bits (IEEE 802.3 clause 22, Linux uapi mii.h).
const (
	miiBMCR     = 0x00
	miiBMSR     = 0x01
	miiPHYSID1  = 0x02
	miiPHYSID2  = 0x03
	miiADVERT   = 0x04
	miiLPA      = 0x05
	miiCTRL1000 = 0x09
	miiSTAT1000 = 0x0A
	miiMMDCtrl  = 0x0D
	miiMMDData  = 0x0E
	miiESTATUS  = 0x0F

	bmcrSpeed1000 = 0x0040
	bmcrFullDplx  = 0x0100
	bmcrANRestart = 0x0200
	bmcrPowerDown = 0x0800
	bmcrANEnable  = 0x1000
	bmcrSpeed100  = 0x2000
	bmcrReset     = 0x8000

	bmsrLinkStatus = 0x0004
	bmsrANComplete = 0x0020

	adv10Half   = 0x0020
	adv10Full   = 0x0040
	adv100Half  = 0x0080
	adv100Full  = 0x0100
	advPause    = 0x0400
	adv1000Full = 0x0200 // in CTRL1000

	lpaAck = 0x4000

	mmdFunction = 0xC000 // MMD control function field: 00 selects the address, others move data
)

// AX88179 PHY vendor registers (§1.4).
const (
	physrReg      = 0x11
	physrSpeed1G  = 0x8000
	physrSpeed100 = 0x4000
	physrFull     = 0x2000
	physrLink     = 0x0400
	phyExtPage    = 0x1E
	phyPageSelect = 0x1F
	phyPageExt    = 0x0007
)

// phy models an autonegotiating Ethernet PHY as seen through MDIO: the clause-22 registers,
// autonegotiation that completes a delay after it starts (power-up, reset, restart, cable in),
// the latched-low link bit of BMSR, and, for the AX88179's gigabit PHY, its page-select and
// status (PHYSR) registers and the clause-45 MMD window.
type phy struct {
	p       *port
	gigabit bool
	id      uint32
	defBMCR uint16
	defADV  uint16

	regs      [32]uint16
	paged     map[uint32]uint16 // (page<<16 | ext page<<8 | reg) for pages other than 0
	mmd       map[uint32]uint16 // (devad<<16 | register) through 0x0D/0x0E
	mmdAddr   uint16
	powered   bool
	up        bool
	anAt      time.Time // autonegotiation completes then; zero when not running
	latchDown bool      // the link dropped since BMSR was last read
	mbps      int
	full      bool
	upCount   uint64 // link-up events, so models can react to each
}

func newPHY(p *port, gigabit bool, id uint32) *phy {
	x := &phy{p: p, gigabit: gigabit, id: id, defBMCR: bmcrANEnable | bmcrFullDplx | bmcrSpeed100,
		defADV: advPause | adv100Full | adv100Half | adv10Full | adv10Half | 0x0001}
	if gigabit {
		x.defBMCR = bmcrANEnable | bmcrFullDplx | bmcrSpeed1000
	}
	return x
}

// reset puts the registers in their power-on state; the link drops.
func (x *phy) reset(now time.Time) {
	x.regs = [32]uint16{}
	x.regs[miiBMCR] = x.defBMCR
	x.regs[miiADVERT] = x.defADV
	if x.gigabit {
		x.regs[miiCTRL1000] = adv1000Full
	}
	x.paged = map[uint32]uint16{}
	x.mmd = map[uint32]uint16{}
	x.mmdAddr = 0
	x.linkDown()
	x.restart(now)
}

// setPower powers the PHY up (autonegotiation starts) or down (the link drops).
func (x *phy) setPower(on bool, now time.Time) {
	if on == x.powered {
		return
	}
	x.powered = on
	if on {
		x.reset(now)
	} else {
		x.linkDown()
	}
}

func (x *phy) linkDown() {
	if x.up {
		x.latchDown = true
	}
	x.up = false
	x.anAt = time.Time{}
}

// restart drops the link and starts autonegotiation (or forced-mode link-up) when the PHY is
// powered, not powered down by BMCR, and a cable is in.
func (x *phy) restart(now time.Time) {
	x.linkDown()
	if x.powered && x.p.cable && x.regs[miiBMCR]&bmcrPowerDown == 0 {
		x.anAt = now.Add(x.p.delay)
	}
}

// tick brings the PHY up to now.
func (x *phy) tick(now time.Time) {
	switch {
	case !x.p.cable || !x.powered:
		x.linkDown()
	case !x.up && x.anAt.IsZero():
		x.restart(now) // the cable came back
	}
	if !x.up && !x.anAt.IsZero() && !now.Before(x.anAt) {
		x.anAt = time.Time{}
		x.mbps, x.full = x.resolve()
		if x.mbps > 0 {
			x.up = true
			x.upCount++
		}
	}
}

// resolve picks the link mode: with autonegotiation, the best mode both ends advertise (the
// partner offers everything up to its speed, full and half duplex); forced, what BMCR says if the
// partner can do that speed.
func (x *phy) resolve() (int, bool) {
	partner := x.p.partner
	bmcr := x.regs[miiBMCR]
	if bmcr&bmcrANEnable == 0 {
		mbps := 10
		switch {
		case bmcr&bmcrSpeed1000 != 0 && x.gigabit:
			mbps = 1000
		case bmcr&bmcrSpeed100 != 0:
			mbps = 100
		}
		if mbps > partner {
			return 0, false
		}
		return mbps, bmcr&bmcrFullDplx != 0
	}
	adv := x.regs[miiADVERT]
	switch {
	case x.gigabit && partner >= 1000 && x.regs[miiCTRL1000]&adv1000Full != 0:
		return 1000, true
	case partner >= 100 && adv&adv100Full != 0:
		return 100, true
	case partner >= 100 && adv&adv100Half != 0:
		return 100, false
	case adv&adv10Full != 0:
		return 10, true
	case adv&adv10Half != 0:
		return 10, false
	}
	return 0, false
}

// wakeAt is when the PHY's state changes next without anyone touching it.
func (x *phy) wakeAt() time.Time { return x.anAt }

func (x *phy) page() uint16 {
	if !x.gigabit {
		return 0
	}
	return x.regs[phyPageSelect]
}

func (x *phy) pagedKey(reg uint16) uint32 {
	k := uint32(x.page())<<16 | uint32(reg)
	if x.page() == phyPageExt {
		k |= uint32(x.regs[phyExtPage]&0xFF) << 8
	}
	return k
}

func (x *phy) read(reg uint16, now time.Time) uint16 {
	x.tick(now)
	if x.page() != 0 && reg >= 0x10 && reg != phyPageSelect && !(x.page() == phyPageExt && reg == phyExtPage) {
		return x.paged[x.pagedKey(reg)]
	}
	switch reg {
	case miiBMSR:
		v := uint16(0x7849) // 100FD|100HD|10FD|10HD|MFPRESUPPR|ANEGCAPABLE|EXTCAP
		if x.gigabit {
			v |= 0x0100 // ESTATEN: extended status (1000BASE-T) in register 15
		}
		if x.up && !x.latchDown {
			v |= bmsrLinkStatus
		}
		if x.up {
			v |= bmsrANComplete
		}
		x.latchDown = false
		return v
	case miiPHYSID1:
		return uint16(x.id >> 16)
	case miiPHYSID2:
		return uint16(x.id)
	case miiLPA:
		if !x.up || x.regs[miiBMCR]&bmcrANEnable == 0 {
			return 0
		}
		v := uint16(lpaAck | advPause | adv10Full | adv10Half | 0x0001)
		if x.p.partner >= 100 {
			v |= adv100Full | adv100Half
		}
		return v
	case miiSTAT1000:
		if x.gigabit && x.up && x.p.partner >= 1000 && x.regs[miiBMCR]&bmcrANEnable != 0 {
			return 0x3C00 // local and remote receiver OK, partner 1000 full and half
		}
		return 0
	case miiESTATUS:
		if x.gigabit {
			return 0x3000 // 1000BASE-T full and half
		}
		return 0
	case miiMMDData:
		return x.mmd[x.mmdKey()]
	case physrReg:
		if !x.gigabit {
			return x.regs[reg]
		}
		if !x.up {
			return 0
		}
		v := uint16(physrLink)
		switch x.mbps {
		case 1000:
			v |= physrSpeed1G
		case 100:
			v |= physrSpeed100
		}
		if x.full {
			v |= physrFull
		}
		return v
	}
	return x.regs[reg&0x1F]
}

func (x *phy) mmdKey() uint32 {
	return uint32(x.regs[miiMMDCtrl]&0x1F)<<16 | uint32(x.mmdAddr)
}

func (x *phy) write(reg, v uint16, now time.Time) {
	x.tick(now)
	if x.page() != 0 && reg >= 0x10 && reg != phyPageSelect && !(x.page() == phyPageExt && reg == phyExtPage) {
		x.paged[x.pagedKey(reg)] = v
		return
	}
	switch reg {
	case miiBMCR:
		if v&bmcrReset != 0 {
			x.regs = [32]uint16{}
			x.regs[miiBMCR] = x.defBMCR
			x.regs[miiADVERT] = x.defADV
			if x.gigabit {
				x.regs[miiCTRL1000] = adv1000Full
			}
			x.restart(now)
			return
		}
		old := x.regs[miiBMCR]
		x.regs[miiBMCR] = v &^ bmcrANRestart // self-clearing
		if v&bmcrANRestart != 0 || (old^v)&(bmcrANEnable|bmcrPowerDown|bmcrSpeed100|bmcrSpeed1000|bmcrFullDplx) != 0 {
			x.restart(now)
		}
	case miiBMSR, miiPHYSID1, miiPHYSID2, miiLPA, miiSTAT1000, miiESTATUS:
		// read-only
	case miiMMDCtrl:
		x.regs[reg] = v
	case miiMMDData:
		if x.regs[miiMMDCtrl]&mmdFunction == 0 {
			x.mmdAddr = v // address function: select the MMD register
		} else {
			x.mmd[x.mmdKey()] = v
		}
	case physrReg:
		if !x.gigabit {
			x.regs[reg] = v
		}
	default:
		x.regs[reg&0x1F] = v
	}
}
