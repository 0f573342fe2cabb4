package ax88772

import (
	"context"
	"fmt"

	"webminiport/usbnic"
)

// LinkReset runs after the interrupt endpoint reported the link up. It reads the PHY over MDIO
// (the latched link bit twice, as mii_link_ok does; then BMCR and, with autonegotiation, the
// advertisement and, once negotiation completed, the partner's abilities), resolves speed,
// duplex and pause as phylink would, and writes the medium mode Linux 6.18's
// ax88772_mac_link_up writes: AC | RE, plus FD, PS at 100 Mb/s, TFC and RFC for the pause
// directions. A PHY that says the link is down leaves the carrier off.
func (m *Minidriver) LinkReset(ctx context.Context, d *usbnic.Device) error {
	// The first read returns the link bit latched low since the last read.
	if _, err := m.mdioRead(ctx, d, miiBMSR); err != nil {
		return err
	}
	bmsr, err := m.mdioRead(ctx, d, miiBMSR)
	if err != nil {
		return err
	}
	if bmsr&bmsrLink == 0 {
		m.carrier.Store(false)
		d.Link = usbnic.LinkState{}
		d.Logf("ax88772: link reset: PHY reports no link (BMSR 0x%04x)", bmsr)
		return nil
	}
	bmcr, err := m.mdioRead(ctx, d, miiBMCR)
	if err != nil {
		return err
	}
	var adv, lpa uint16
	if bmcr&bmcrANEnable != 0 {
		if adv, err = m.mdioRead(ctx, d, miiAdvertise); err != nil {
			return err
		}
		if bmsr&bmsrANDone != 0 {
			if lpa, err = m.mdioRead(ctx, d, miiLPA); err != nil {
				return err
			}
		}
	}
	l := resolveLink(bmcr, adv, lpa)
	mode := uint16(mediumAC | mediumRE)
	if l.full {
		mode |= mediumFD
	}
	if l.mbps == 100 {
		mode |= mediumPS
	}
	if l.txPause {
		mode |= mediumTFC
	}
	if l.rxPause {
		mode |= mediumRFC
	}
	if err := writeCmd(ctx, d, cmdWriteMedium, mode, 0, nil); err != nil {
		return err
	}
	m.carrier.Store(true)
	d.Link = usbnic.LinkState{Up: true, Speed: uint64(l.mbps) * 1_000_000, FullDuplex: l.full}
	d.Logf("ax88772: link up %d Mb/s %s duplex, pause tx %v rx %v, medium mode 0x%04x",
		l.mbps, duplex(l.full), l.txPause, l.rxPause, mode)
	return nil
}

type linkResult struct {
	mbps             int
	full             bool
	txPause, rxPause bool
}

// resolveLink turns the MII registers into speed, duplex and pause. With autonegotiation the
// best common mode wins in mii_nway_result's order (100 full, 100BASE-T4, 100 half, 10 full,
// 10 half); without it BMCR forces speed and duplex. Pause is resolved as IEEE 802.3 Annex 28B
// (linkmode_resolve_pause) and only on a full-duplex link, as phylink does.
func resolveLink(bmcr, adv, lpa uint16) linkResult {
	var l linkResult
	if bmcr&bmcrANEnable == 0 {
		l.full = bmcr&bmcrFullDpx != 0
		l.mbps = 10
		if bmcr&bmcrSpeed100 != 0 {
			l.mbps = 100
		}
		return l
	}
	common := adv & lpa
	switch {
	case common&adv100Full != 0:
		l.mbps, l.full = 100, true
	case common&(adv100Base4|adv100Half) != 0:
		l.mbps = 100
	case common&adv10Full != 0:
		l.mbps, l.full = 10, true
	default:
		l.mbps = 10
	}
	if l.full {
		switch {
		case common&advPause != 0:
			l.txPause, l.rxPause = true, true
		case common&advPauseAsym != 0:
			l.rxPause = adv&advPause != 0
			l.txPause = lpa&advPause != 0
		}
	}
	return l
}

func duplex(full bool) string {
	if full {
		return "full"
	}
	return "half"
}

// Status parses one interrupt-IN transfer (asix_status): 8 bytes, the link in bit 0 of byte 2.
// Like Linux it reports only a change against the carrier, and a link that came up asks for a
// link reset. Status runs on the datapath goroutine while the hooks run elsewhere, so the
// carrier it compares against is atomic.
func (m *Minidriver) Status(d *usbnic.Device, data []byte) (usbnic.StatusEvent, error) {
	if len(data) < 8 {
		return usbnic.StatusEvent{}, &StatusError{Len: len(data)}
	}
	link := data[2]&0x01 != 0
	if m.carrier.Load() == link {
		return usbnic.StatusEvent{}, nil
	}
	m.carrier.Store(link)
	return usbnic.StatusEvent{HasLink: true, LinkUp: link, NeedReset: link}, nil
}

// StatusError is an interrupt transfer shorter than the 8-byte status block; Linux ignores
// such transfers.
type StatusError struct{ Len int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("ax88772: interrupt transfer of %d bytes, want 8 (link in byte 2)", e.Len)
}
