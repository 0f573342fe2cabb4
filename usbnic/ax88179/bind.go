package ax88179

import (
	"context"
	"crypto/rand"
	"time"

	"webminiport/usbnic"
)

// Bind claims the vendor interface, takes its endpoints and runs the full chip reset, as
// ax88179_bind does. When the transport cannot tell the bus speed (WebUSB), the chip's own
// PHYSICAL_LINK_STATUS register says it.
func (m *Minidriver) Bind(ctx context.Context, d *usbnic.Device) error {
	if err := m.claimVendorInterface(ctx, d); err != nil {
		m.release(ctx, d)
		return err
	}
	d.HardMTU = hardMTU
	// One frame per transfer: the 8-byte header, the frame, and the one padding byte TxFinish
	// may add.
	d.TxMaxTransfer = txHeaderLen + hardMTU + 1
	if err := m.reset(ctx, d); err != nil {
		m.release(ctx, d)
		return err
	}
	if d.T.Speed() == usbnic.SpeedUnknown {
		sts, err := readMAC8(ctx, d, regPhysicalLinkStatus)
		if err != nil {
			m.release(ctx, d)
			return err
		}
		d.Speed = busSpeed(sts)
		d.Logf("ax88179: bus speed %s (from PHYSICAL_LINK_STATUS 0x%02x)", d.Speed, sts)
	}
	return nil
}

func busSpeed(linkStatus uint8) usbnic.Speed {
	switch {
	case linkStatus&usbSS != 0:
		return usbnic.SpeedSuper
	case linkStatus&usbHS != 0:
		return usbnic.SpeedHigh
	}
	return usbnic.SpeedFull
}

// Unbind stops the receiver, drops the clocks and powers the PHY down (ax88179_unbind), then
// releases the interface. Errors are only logged: the device may already be gone.
func (m *Minidriver) Unbind(ctx context.Context, d *usbnic.Device) {
	for _, err := range []error{
		writeMAC16(ctx, d, regRxCtl, 0),
		writeMAC8(ctx, d, regClkSelect, 0),
		writeMAC16(ctx, d, regPhyPwrRstCtl, 0),
	} {
		if err != nil {
			d.Logf("ax88179: unbind: %v", err)
		}
	}
	m.release(ctx, d)
}

func (m *Minidriver) release(ctx context.Context, d *usbnic.Device) {
	if !m.claimed {
		return
	}
	m.claimed = false
	if err := d.T.ReleaseInterface(ctx, m.iface); err != nil {
		d.Logf("ax88179: release interface %d: %v", m.iface, err)
	}
}

// Reset is ax88179_net_reset, run when the adapter opens: a PHY that reports anything in PHYSR
// is alive, so only make sure the receiver is enabled; a silent one gets the full reset.
func (m *Minidriver) Reset(ctx context.Context, d *usbnic.Device) error {
	physr, err := readPHY(ctx, d, phyPHYSR)
	if err != nil {
		return err
	}
	if physr == 0 {
		return m.reset(ctx, d)
	}
	mode, err := readMAC16(ctx, d, regMediumStatusMode)
	if err != nil {
		return err
	}
	if mode&mediumReceiveEn != 0 {
		return nil
	}
	return writeMAC16(ctx, d, regMediumStatusMode, mode|mediumReceiveEn)
}

// Stop clears RECEIVE_EN in the medium mode (ax88179_stop).
func (m *Minidriver) Stop(ctx context.Context, d *usbnic.Device) error {
	mode, err := readMAC16(ctx, d, regMediumStatusMode)
	if err != nil {
		return err
	}
	return writeMAC16(ctx, d, regMediumStatusMode, mode&^mediumReceiveEn)
}

// reset is ax88179_reset (specs/usbnic.md §1.6), in Linux 6.18's order. Linux ignores the result
// of nearly every request here; we stop at the first request the transport could not run or the
// device refused, except where Linux uses a failed read as an answer.
func (m *Minidriver) reset(ctx context.Context, d *usbnic.Device) error {
	// Power the PHY down and up again, then select the clocks; the waits are Linux's.
	if err := writeMAC16(ctx, d, regPhyPwrRstCtl, 0); err != nil {
		return err
	}
	if err := writeMAC16(ctx, d, regPhyPwrRstCtl, phyPwrIPRL); err != nil {
		return err
	}
	if err := m.sleep(ctx, 500*time.Millisecond); err != nil {
		return err
	}
	if err := writeMAC8(ctx, d, regClkSelect, clkACS|clkBCS); err != nil {
		return err
	}
	if err := m.sleep(ctx, 200*time.Millisecond); err != nil {
		return err
	}
	if err := m.autoDetach(ctx, d); err != nil {
		return err
	}
	if err := m.readMACAddress(ctx, d); err != nil {
		return err
	}

	// RX aggregation for a gigabit SuperSpeed link until link reset knows better.
	if err := writeMAC(ctx, d, regRxBulkInQCtrl, bulkInTable[0][:]); err != nil {
		return err
	}
	d.RxBufferSize = bulkInTable[0].rxBufferSize()

	if err := writeMAC8(ctx, d, regPauseWaterLow, 0x34); err != nil {
		return err
	}
	if err := writeMAC8(ctx, d, regPauseWaterHigh, 0x52); err != nil {
		return err
	}
	if err := writeMAC8(ctx, d, regRxCOECtl, coeAll); err != nil {
		return err
	}
	if err := writeMAC8(ctx, d, regTxCOECtl, coeAll); err != nil {
		return err
	}
	rxctl := uint16(rxCtlDropCRCErr | rxCtlIPE | rxCtlStart | rxCtlAcceptPhys | rxCtlAllMulti | rxCtlBroadcast)
	if err := writeMAC16(ctx, d, regRxCtl, rxctl); err != nil {
		return err
	}
	m.rxctl = rxctl
	if err := writeMAC8(ctx, d, regMonitorMode, monitorPMEType|monitorPMEPol|monitorRWMP); err != nil {
		return err
	}
	if err := writeMAC16(ctx, d, regMediumStatusMode, mediumReceiveEn|mediumTxFlowCtrl|mediumRxFlowCtrl|mediumFullDuplex|mediumGiga); err != nil {
		return err
	}

	// Linux decides wake-on-LAN support by whether MONITOR_MOD can be read back.
	_, err := readMAC8(ctx, d, regMonitorMode)
	if err != nil && !refused(err) {
		return err
	}
	m.wol = err == nil

	if err := m.ledSetting(ctx, d); err != nil {
		return err
	}
	if err := m.disableEEE(ctx, d); err != nil {
		return err
	}
	if err := restartAutoneg(ctx, d); err != nil {
		return err
	}
	// usbnet_link_change(dev, 0, 0): carrier off until the interrupt endpoint reports a link.
	m.carrier.Store(false)
	d.Link = usbnic.LinkState{}
	d.Logf("ax88179: reset done, MAC %x, wake-on-LAN %v", d.MAC, m.wol)
	return nil
}

// autoDetach enables the PHY auto-detach feature when EEPROM word 0x43 has bit 8 set
// (ax88179_auto_detach). A failed EEPROM read means "no EEPROM, no auto-detach".
func (m *Minidriver) autoDetach(ctx context.Context, d *usbnic.Device) error {
	w, err := readEEPROM(ctx, d, 0x43)
	if err != nil {
		if refused(err) {
			return nil
		}
		return err
	}
	if w == 0xffff || w&0x0100 == 0 {
		return nil
	}
	clk, err := readMAC8(ctx, d, regClkSelect)
	if err != nil {
		return err
	}
	if err := writeMAC8(ctx, d, regClkSelect, clk|clkULR); err != nil {
		return err
	}
	pwr, err := readMAC16(ctx, d, regPhyPwrRstCtl)
	if err != nil {
		return err
	}
	return writeMAC16(ctx, d, regPhyPwrRstCtl, pwr|phyPwrAutoDet)
}

// readMACAddress is ax88179_get_mac_addr: read NODE_ID; an invalid address is replaced by a
// random locally administered one (usbnet gives the netdev such an address, and Linux writes
// the netdev address back); then write the address back to NODE_ID.
func (m *Minidriver) readMACAddress(ctx context.Context, d *usbnic.Device) error {
	var mac [6]byte
	// Linux ignores a failed read here and finds the all-zero address invalid.
	if err := readMAC(ctx, d, regNodeID, mac[:]); err != nil {
		if !refused(err) {
			return err
		}
		mac = [6]byte{}
	}
	if !validMAC(mac) {
		d.Logf("ax88179: chip MAC %x is invalid, using a random one", mac)
		mac = randomMAC()
	}
	if err := writeMAC(ctx, d, regNodeID, mac[:]); err != nil {
		return err
	}
	d.MAC, d.PermanentMAC = mac, mac
	return nil
}

// validMAC is is_valid_ether_addr: not multicast and not all zeros.
func validMAC(mac [6]byte) bool {
	return mac[0]&1 == 0 && mac != [6]byte{}
}

// randomMAC is eth_random_addr: random bits, unicast, locally administered.
func randomMAC() [6]byte {
	var mac [6]byte
	rand.Read(mac[:])
	mac[0] = mac[0]&^0x01 | 0x02
	return mac
}

// disableEEE turns Energy Efficient Ethernet off through the vendor page-3 register, then does
// what ax88179_reset does next: read the three EEE MMD registers (ethtool get_eee) and write an
// empty EEE advertisement. Linux stops the reads at the first failed one.
func (m *Minidriver) disableEEE(ctx context.Context, d *usbnic.Device) error {
	if err := writePHY(ctx, d, phyPageSelect, page3); err != nil {
		return err
	}
	if err := writePHY(ctx, d, miiPhyAddr, 0x3246); err != nil {
		return err
	}
	if err := writePHY(ctx, d, phyPageSelect, page0); err != nil {
		return err
	}
	for _, r := range [...][2]uint16{{pcsEEEAble, mmdPCS}, {anEEEAdv, mmdAN}, {anEEELPAble, mmdAN}} {
		if _, err := readMMD(ctx, d, r[0], r[1]); err != nil {
			if refused(err) {
				break
			}
			return err
		}
	}
	m.eeeActive = false
	return writeMMD(ctx, d, anEEEAdv, mmdAN, 0)
}

// restartAutoneg is mii_nway_restart: set BMCR.ANRESTART when autonegotiation is enabled.
func restartAutoneg(ctx context.Context, d *usbnic.Device) error {
	bmcr, err := readPHY(ctx, d, miiBMCR)
	if err != nil {
		return err
	}
	if bmcr&bmcrANEna == 0 {
		return nil
	}
	return writePHY(ctx, d, miiBMCR, bmcr|bmcrANRst)
}
