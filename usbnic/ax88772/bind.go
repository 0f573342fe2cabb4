package ax88772

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"webminiport/usbnic"
)

// Bind is ax88772_bind: claim the interface, read the MAC (EEPROM words 4-6 on the rows that
// say so, else NODE_ID), the PHY address and the chip code, run the chip's hardware reset, and
// wait for the PHY to answer with an identifier.
func (m *Minidriver) Bind(ctx context.Context, d *usbnic.Device) error {
	if err := m.claimInterface(ctx, d); err != nil {
		m.release(ctx, d)
		return err
	}
	if err := m.bind(ctx, d); err != nil {
		m.release(ctx, d)
		return err
	}
	return nil
}

func (m *Minidriver) bind(ctx context.Context, d *usbnic.Device) error {
	row := lookup(d.Desc.VendorID, d.Desc.ProductID)
	var mac [6]byte
	if row.eepromMAC {
		for i := range 3 {
			if err := readCmd(ctx, d, cmdReadEEPROM, uint16(0x04+i), 0, mac[2*i:2*i+2]); err != nil {
				return fmt.Errorf("ax88772: bind: MAC from EEPROM: %w", err)
			}
		}
	} else if err := readCmd(ctx, d, cmdReadNodeID, 0, 0, mac[:]); err != nil {
		return fmt.Errorf("ax88772: bind: MAC from NODE_ID: %w", err)
	}
	if !validMAC(mac) {
		d.Logf("ax88772: MAC %x is invalid, using a random one", mac)
		mac = randomMAC()
	}
	d.MAC, d.PermanentMAC = mac, mac

	var id [2]byte
	if err := readCmd(ctx, d, cmdReadPHYID, 0, 0, id[:]); err != nil {
		return fmt.Errorf("ax88772: bind: PHY address: %w", err)
	}
	// Byte 1 is the PHY Linux drives ("internal"); byte 0 names the external one.
	if id[1] >= maxPHYAddr {
		return fmt.Errorf("ax88772: bind: READ_PHY_ID gives PHY address %d, beyond the %d an MII bus has", id[1], maxPHYAddr)
	}
	m.phy = id[1]

	var sts [1]byte
	if err := readCmd(ctx, d, cmdStatMngSts, 0, 0, sts[:]); err != nil {
		return fmt.Errorf("ax88772: bind: chip code: %w", err)
	}
	m.chip = sts[0] & chipCodeMask

	if m.chip == chip772 {
		if err := m.reset772(ctx, d); err != nil {
			return err
		}
	} else if err := m.reset772A(ctx, d); err != nil {
		return err
	}

	phyID, err := m.waitPHY(ctx, d)
	if err != nil {
		return err
	}
	d.RxBufferSize = rxBufferSize
	d.HardMTU = hardMTU
	// One frame per transfer: the 4-byte header, the frame, and the 4-byte pad TxFinish may add.
	d.TxMaxTransfer = txHeaderLen + hardMTU + 4
	m.rx.reset()
	d.Logf("ax88772: %s (%s), chip code 0x%02x, PHY %d id %08x (%s), MAC %x",
		row.product, row.info, m.chip, m.phy, phyID, phyKind(m.phy), d.MAC)
	return nil
}

func phyKind(addr uint8) string {
	if addr&0x1f == embeddedPHY {
		return "embedded"
	}
	return "external"
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

func (m *Minidriver) embedded() uint16 {
	if m.phy&0x1f == embeddedPHY {
		return 1
	}
	return 0
}

// reset772 is ax88772_hw_reset for the original AX88772 (chip code 0).
func (m *Minidriver) reset772(ctx context.Context, d *usbnic.Device) error {
	steps := []step{
		{cmd: cmdWriteGPIOs, value: gpioRSE | gpioGPO2 | gpioGPO2En, wait: 5 * time.Millisecond},
		{cmd: cmdSWPHYSelect, value: m.embedded()},
	}
	if m.embedded() == 1 {
		steps = append(steps,
			step{cmd: cmdSWReset, value: swResetIPPD, wait: 10 * time.Millisecond},
			step{cmd: cmdSWReset, value: swResetClear, wait: 60 * time.Millisecond},
			step{cmd: cmdSWReset, value: swResetIPRL | swResetPRL, wait: 150 * time.Millisecond})
	} else {
		steps = append(steps, step{cmd: cmdSWReset, value: swResetIPPD | swResetPRL, wait: 150 * time.Millisecond})
	}
	steps = append(steps,
		step{cmd: cmdWriteRxCtl, value: rxCtlDefault},
		step{cmd: cmdWriteMedium, value: mediumDefault},
		// Linux ORs IPG0 and IPG1 into wValue (0x1D) where the chip may want them as two bytes;
		// this is what it sends.
		step{cmd: cmdWriteIPG0, value: ipg0 | ipg1, index: ipg2},
		step{cmd: cmdWriteNodeID, data: d.MAC[:]},
		step{cmd: cmdWriteRxCtl, value: rxCtlDefault})
	if err := m.run(ctx, d, steps); err != nil {
		return err
	}
	return m.readBackForLog(ctx, d)
}

// reset772A is ax88772a_hw_reset for the AX88772A and AX88772B.
func (m *Minidriver) reset772A(ctx context.Context, d *usbnic.Device) error {
	if err := m.run(ctx, d, []step{
		{cmd: cmdWriteGPIOs, value: gpioRSE, wait: 5 * time.Millisecond},
		{cmd: cmdSWPHYSelect, value: m.embedded() | phySelSSEN, wait: 10 * time.Millisecond},
		{cmd: cmdSWReset, value: swResetIPPD | swResetIPRL, wait: 10 * time.Millisecond},
		{cmd: cmdSWReset, value: swResetIPRL, wait: 160 * time.Millisecond},
		{cmd: cmdSWReset, value: swResetClear},
		{cmd: cmdSWReset, value: swResetIPRL, wait: 200 * time.Millisecond},
	}); err != nil {
		return err
	}
	switch m.chip {
	case chip772B:
		// The bulk-in queue setting ("BQ").
		if err := writeCmd(ctx, d, cmdQCTCtrl, 0x8000, 0x8001, nil); err != nil {
			return err
		}
	case chip772A:
		// Some 772A parts come up with wrong values in PHY registers 0x14-0x16: read all three,
		// then restore the ones that differ.
		var got [len(phy772ADefaults)]uint16
		for i, r := range phy772ADefaults {
			v, err := m.mdioRead(ctx, d, r[0])
			if err != nil {
				return err
			}
			got[i] = v
		}
		for i, r := range phy772ADefaults {
			if got[i] != r[1] {
				if err := m.mdioWrite(ctx, d, r[0], r[1]); err != nil {
					return err
				}
			}
		}
	}
	if err := m.run(ctx, d, []step{
		{cmd: cmdWriteIPG0, value: ipg0 | ipg1, index: ipg2},
		{cmd: cmdWriteNodeID, data: d.MAC[:]},
		{cmd: cmdWriteRxCtl, value: rxCtlDefault},
		{cmd: cmdWriteMedium, value: mediumDefault},
		{cmd: cmdWriteRxCtl, value: rxCtlDefault},
	}); err != nil {
		return err
	}
	return m.readBackForLog(ctx, d)
}

// step is one register write of a reset sequence and the wait Linux makes after it.
type step struct {
	cmd          uint8
	value, index uint16
	data         []byte
	wait         time.Duration
}

func (m *Minidriver) run(ctx context.Context, d *usbnic.Device, steps []step) error {
	for _, s := range steps {
		if err := writeCmd(ctx, d, s.cmd, s.value, s.index, s.data); err != nil {
			return err
		}
		if s.wait > 0 {
			if err := m.sleep(ctx, s.wait); err != nil {
				return err
			}
		}
	}
	return nil
}

// readBackForLog reads RX_CTL and the medium status at the end of a hardware reset, as Linux
// does for its debug log. A refused read only costs the log line.
func (m *Minidriver) readBackForLog(ctx context.Context, d *usbnic.Device) error {
	var rxctl, medium [2]byte
	for _, r := range []struct {
		cmd uint8
		buf []byte
	}{{cmdReadRxCtl, rxctl[:]}, {cmdReadMedium, medium[:]}} {
		if err := readCmd(ctx, d, r.cmd, 0, 0, r.buf); err != nil && !refused(err) {
			return err
		}
	}
	d.Logf("ax88772: after reset RX_CTL 0x%04x, medium status 0x%04x",
		binary.LittleEndian.Uint16(rxctl[:]), binary.LittleEndian.Uint16(medium[:]))
	return nil
}

// phyIDPolls bounds the wait for a PHY that reads 0 or 0xFFFF right after reset (asix_get_phyid:
// 100 polls, 1 ms apart).
const phyIDPolls = 100

// waitPHY reads PHYSID1 until the PHY answers with something other than 0 or 0xFFFF, then
// PHYSID2. Linux 6.18 finds the PHY this way when it registers the MDIO bus and refuses to bind
// without one ("Could not find PHY").
func (m *Minidriver) waitPHY(ctx context.Context, d *usbnic.Device) (uint32, error) {
	var id1 uint16
	for i := range phyIDPolls {
		v, err := m.mdioRead(ctx, d, miiPHYSID1)
		if err != nil {
			return 0, err
		}
		if id1 = v; id1 != 0 && id1 != 0xffff {
			break
		}
		if i < phyIDPolls-1 {
			if err := m.sleep(ctx, time.Millisecond); err != nil {
				return 0, err
			}
		}
	}
	if id1 == 0 || id1 == 0xffff {
		return 0, fmt.Errorf("ax88772: bind: PHY %d does not answer: PHYSID1 reads 0x%04x after %d polls", m.phy, id1, phyIDPolls)
	}
	id2, err := m.mdioRead(ctx, d, miiPHYSID2)
	if err != nil {
		return 0, err
	}
	return uint32(id1)<<16 | uint32(id2), nil
}

// Unbind releases the interface. Linux 6.18 sends nothing to the chip on unbind (it tears
// down phylink and the MDIO bus).
func (m *Minidriver) Unbind(ctx context.Context, d *usbnic.Device) {
	m.release(ctx, d)
}

func (m *Minidriver) release(ctx context.Context, d *usbnic.Device) {
	if !m.claimed {
		return
	}
	m.claimed = false
	if err := d.T.ReleaseInterface(ctx, m.iface); err != nil {
		d.Logf("ax88772: release interface %d: %v", m.iface, err)
	}
}

// Reset is ax88772_reset, run when the adapter opens: rewrite the MAC, RX_CTL and the default
// medium mode, then restart autonegotiation as Linux 6.18's phylink_start does through phylib
// (power the PHY up, enable and restart autonegotiation).
func (m *Minidriver) Reset(ctx context.Context, d *usbnic.Device) error {
	if err := m.run(ctx, d, []step{
		{cmd: cmdWriteNodeID, data: d.MAC[:]},
		{cmd: cmdWriteRxCtl, value: rxCtlDefault},
		{cmd: cmdWriteMedium, value: mediumDefault},
	}); err != nil {
		return err
	}
	bmcr, err := m.mdioRead(ctx, d, miiBMCR)
	if err != nil {
		return err
	}
	return m.mdioWrite(ctx, d, miiBMCR, bmcr&^(bmcrIsolate|bmcrPowerDown)|bmcrANEnable|bmcrANRestart)
}

// Stop writes medium mode 0, which is what Linux 6.18 does when phylink_stop takes the link
// down (ax88772_mac_link_down): the receiver and transmitter stop.
func (m *Minidriver) Stop(ctx context.Context, d *usbnic.Device) error {
	m.carrier.Store(false)
	return writeCmd(ctx, d, cmdWriteMedium, 0, 0, nil)
}
