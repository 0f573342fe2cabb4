package ax88179

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"webminiport/usbnic"
)

// txFIFOTimeout bounds link reset's wait for the USB TX FIFO (HZ/10 in Linux).
const txFIFOTimeout = 100 * time.Millisecond

// txFIFOBusy is bit 30 of vendor request 0x81 / wValue 0x8C.
const txFIFOBusy = 0x40000000

// LinkReset is ax88179_link_reset, run after the interrupt endpoint reported the link up:
// toggle the receiver until the USB TX FIFO drains, read the USB and Ethernet speeds, program
// the bulk-in aggregation row and medium mode for them, evaluate EEE, and turn the carrier on.
// It records the result in d.Link and the new bulk-IN transfer size in d.RxBufferSize.
func (m *Minidriver) LinkReset(ctx context.Context, d *usbnic.Device) error {
	deadline := m.now().Add(txFIFOTimeout)
	for {
		if err := writeMAC16(ctx, d, regRxCtl, 0); err != nil {
			return err
		}
		if err := writeMAC16(ctx, d, regRxCtl, m.rxctl); err != nil {
			return err
		}
		var b [4]byte
		// Linux reads into a zeroed word and ignores failure, so a refused read ends the wait.
		if err := readCmd(ctx, d, reqTxFIFOStatus, 0x8c, 0, b[:]); err != nil && !refused(err) {
			return err
		}
		// The deadline is checked after every poll, before the bit, as Linux does.
		if m.now().After(deadline) {
			m.carrier.Store(false)
			return fmt.Errorf("ax88179: link reset: USB TX FIFO still busy after %v (vendor request 0x81/0x8c = 0x%08x)",
				txFIFOTimeout, binary.LittleEndian.Uint32(b[:]))
		}
		if binary.LittleEndian.Uint32(b[:])&txFIFOBusy == 0 {
			break
		}
	}

	linkSts, err := readMAC8(ctx, d, regPhysicalLinkStatus)
	if err != nil {
		return err
	}
	physr, err := readPHY(ctx, d, phyPHYSR)
	if err != nil {
		return err
	}
	if d.T.Speed() == usbnic.SpeedUnknown {
		d.Speed = busSpeed(linkSts)
	}
	if physr&physrLink == 0 {
		m.carrier.Store(false)
		d.Link = usbnic.LinkState{}
		d.Logf("ax88179: link reset: PHY reports no link (PHYSR 0x%04x)", physr)
		return nil
	}

	mode := uint16(mediumReceiveEn | mediumTxFlowCtrl | mediumRxFlowCtrl)
	row, speed := linkSettings(physr, linkSts)
	switch speed {
	case 1000:
		mode |= mediumGiga | mediumEn125MHz
		if d.HardMTU > hardMTU {
			mode |= mediumJumboEn
		}
	case 100:
		mode |= mediumPS
	}
	if err := writeMAC(ctx, d, regRxBulkInQCtrl, bulkInTable[row][:]); err != nil {
		return err
	}
	d.RxBufferSize = bulkInTable[row].rxBufferSize()
	full := physr&physrFull != 0
	if full {
		mode |= mediumFullDuplex
	}
	if err := writeMAC16(ctx, d, regMediumStatusMode, mode); err != nil {
		return err
	}
	if m.eeeActive, err = m.checkEEE(ctx, d); err != nil {
		return err
	}
	m.carrier.Store(true)
	d.Link = usbnic.LinkState{Up: true, Speed: uint64(speed) * 1_000_000, FullDuplex: full}
	d.Logf("ax88179: link up %d Mb/s %s duplex on %s USB, bulk-in row %d (%d-byte transfers), EEE %v",
		speed, duplex(full), busSpeed(linkSts), row, d.RxBufferSize, m.eeeActive)
	return nil
}

// linkSettings picks the bulk-in aggregation row (§1.5) and the Ethernet speed in Mb/s from
// PHYSR and PHYSICAL_LINK_STATUS, as ax88179_link_reset does.
func linkSettings(physr uint16, linkSts uint8) (row int, mbps int) {
	switch physr & physrSpeed {
	case physrGiga:
		switch {
		case linkSts&usbSS != 0:
			return 0, 1000
		case linkSts&usbHS != 0:
			return 1, 1000
		}
		return 3, 1000
	case physr100:
		if linkSts&(usbSS|usbHS) != 0 {
			return 2, 100
		}
		return 3, 100
	}
	return 3, 10
}

func duplex(full bool) string {
	if full {
		return "full"
	}
	return "half"
}

// checkEEE is ax88179_chk_eee: mii_ethtool_gset's view of speed and duplex, then, on a
// full-duplex link, whether both ends advertise EEE for that speed. Only the register reads
// matter on the wire; the answer is kept for the log.
func (m *Minidriver) checkEEE(ctx context.Context, d *usbnic.Device) (bool, error) {
	speed, full, err := miiSpeedDuplex(ctx, d)
	if err != nil || !full {
		return false, err
	}
	eeeCap, err := readMMD(ctx, d, pcsEEEAble, mmdPCS)
	if err != nil || eeeCap&eeeCapMask == 0 {
		return false, ignoreRefused(err)
	}
	lp, err := readMMD(ctx, d, anEEELPAble, mmdAN)
	if err != nil {
		return false, ignoreRefused(err)
	}
	adv, err := readMMD(ctx, d, anEEEAdv, mmdAN)
	if err != nil {
		return false, ignoreRefused(err)
	}
	want := uint16(eee100TX)
	if speed == 1000 {
		want = eee1000T
	}
	return lp&adv&want != 0, nil
}

// EEE ability bits of the MMD registers; eeeCapMask is every bit mmd_eee_cap_to_ethtool_sup_t
// knows (100TX, 1000T, 10GT, 1000KX, 10GKX4, 10GKR).
const (
	eee100TX   = 0x0002
	eee1000T   = 0x0004
	eeeCapMask = 0x007e
)

func ignoreRefused(err error) error {
	if refused(err) {
		return nil
	}
	return err
}

// miiSpeedDuplex is the part of mii_ethtool_gset (gigabit MII) chk_eee uses: BMCR, BMSR,
// CTRL1000, STAT1000, then with autonegotiation the advertisement and, once negotiation is
// complete, the partner's abilities.
func miiSpeedDuplex(ctx context.Context, d *usbnic.Device) (mbps int, full bool, err error) {
	var r [4]uint16
	for i, reg := range [...]uint16{miiBMCR, miiBMSR, miiCtrl1000, miiStat1000} {
		if r[i], err = readPHY(ctx, d, reg); err != nil {
			return 0, false, err
		}
	}
	bmcr, bmsr, ctrl1000, stat1000 := r[0], r[1], r[2], r[3]
	if bmcr&bmcrANEna == 0 {
		switch {
		case bmcr&0x0040 != 0 && bmcr&0x2000 == 0:
			mbps = 1000
		case bmcr&0x2000 != 0:
			mbps = 100
		default:
			mbps = 10
		}
		return mbps, bmcr&0x0100 != 0, nil
	}
	adv, err := readPHY(ctx, d, miiAdv)
	if err != nil {
		return 0, false, err
	}
	var lpa uint16
	if bmsr&bmsrANDone != 0 {
		if lpa, err = readPHY(ctx, d, miiLPA); err != nil {
			return 0, false, err
		}
	} else {
		stat1000 = 0
	}
	// 1000BASE-T: CTRL1000 bits 8 (half) / 9 (full) against STAT1000 bits 10 / 11.
	g := ctrl1000 >> 8 & (stat1000 >> 10) & 3
	n := adv & lpa
	switch {
	case g != 0:
		return 1000, g&2 != 0, nil
	case n&0x0180 != 0:
		return 100, n&0x0100 != 0, nil
	}
	return 10, n&0x0040 != 0, nil
}

// Status parses one interrupt-IN transfer (ax88179_status): two LE32 words, the link in bit 16
// of the first. Like Linux it reports only a change against the carrier, and a link that came up
// asks for a link reset.
func (m *Minidriver) Status(d *usbnic.Device, data []byte) (usbnic.StatusEvent, error) {
	if len(data) < 8 {
		return usbnic.StatusEvent{}, &StatusError{Len: len(data)}
	}
	link := binary.LittleEndian.Uint32(data)&intLink != 0
	if m.carrier.Load() == link {
		return usbnic.StatusEvent{}, nil
	}
	m.carrier.Store(link)
	return usbnic.StatusEvent{HasLink: true, LinkUp: link, NeedReset: link}, nil
}

// intLink is AX_INT_PPLS_LINK in intdata1.
const intLink = 0x00010000

// StatusError is an interrupt transfer too short to hold intdata1 and intdata2; Linux ignores
// such transfers.
type StatusError struct{ Len int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("ax88179: interrupt transfer of %d bytes, want 8 (intdata1, intdata2)", e.Len)
}
