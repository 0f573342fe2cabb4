// Package ax88772 is the minidriver for ASIX AX88772 / AX88772A / AX88772B USB 2.0 10/100
// adapters and their rebrands. It follows Linux drivers/net/usb/asix_devices.c and asix_common.c
// (6.18) as described in specs/usbnic.md §2: the chip resets, the software-MDIO handshake, the
// RX stream of length-headed records that may span transfers, and the TX header and pad rule.
//
// Link handling uses the interrupt endpoint (as Linux did before phylink, and as AX88178 still
// does) with a link reset that reads the PHY over MDIO and writes the medium mode that Linux
// 6.18's phylink callback writes.
package ax88772

import (
	"context"
	"sync/atomic"
	"time"

	"webminiport/usbnic"
)

// Driver makes one AX88772 minidriver per device; every row of IDs points at it.
var Driver = &usbnic.Driver{Name: "asix", New: func() usbnic.Minidriver { return New() }}

// model is one row of the Linux 6.18 id table for the AX88772 family (specs/usbnic.md §2.1).
type model struct {
	vid, pid  uint16
	product   string
	info      string // the Linux driver_info the row points at
	eepromMAC bool   // FLAG_EEPROM_MAC: the MAC lives in EEPROM words 4-6, not NODE_ID
}

var models = [...]model{
	{0x0b95, 0x7720, "ASIX AX88772", "ax88772_info", false},
	{0x0b95, 0x772b, "ASIX AX88772B", "ax88772b_info", true},
	{0x0b95, 0x772a, "Cables-to-Go USB Ethernet Adapter", "ax88772_info", false},
	{0x0b95, 0x7e2b, "Asus USB Ethernet Adapter", "ax88772b_info", true},
	{0x17ef, 0x7203, "Lenovo U2L100P 10/100", "ax88772b_info", true},
	{0x13b1, 0x0018, "Linksys USB200M Rev 2", "ax88772_info", false},
	{0x1557, 0x7720, "0Q0 cable ethernet", "ax88772_info", false},
	{0x07d1, 0x3c05, "D-Link DUB-E100 H/W Ver B1", "ax88772_info", false},
	{0x2001, 0x3c05, "D-Link DUB-E100 H/W Ver B1 Alternate", "ax88772_info", false},
	{0x2001, 0x1a02, "D-Link DUB-E100 H/W Ver C1", "ax88772_info", false},
	{0x05ac, 0x1402, "Apple USB Ethernet Adapter", "ax88772_info", false},
	{0x0db0, 0xa877, "ASIX 88772a", "ax88772_info", false},
	{0x066b, 0x20f9, "USBLINK HG20F9 (AX88772B-compatible)", "hg20f9_info", true},
	{0x33f7, 0x0004, "Linux Automation USB 10Base-T1L", "lxausb_t1l_info", true},
}

// IDs is the AX88772 family's match table: plain VID:PID rows, as Linux's USB_DEVICE.
var IDs = func() []usbnic.ID {
	ids := make([]usbnic.ID, len(models))
	for i, m := range models {
		ids[i] = usbnic.ID{VendorID: m.vid, ProductID: m.pid, Product: m.product, Driver: Driver}
	}
	return ids
}()

// lookup finds the id-table row of a device; a device matched some other way is treated as a
// plain ax88772_info row.
func lookup(vid, pid uint16) model {
	for _, m := range models {
		if m.vid == vid && m.pid == pid {
			return m
		}
	}
	return model{vid: vid, pid: pid, info: "ax88772_info"}
}

// Minidriver is the AX88772 driver bound to one device. New returns one ready to bind.
type Minidriver struct {
	// Sleep waits for dur or until ctx is done. Nil means a real timer. Tests set it to record
	// and skip the resets' waits.
	Sleep func(ctx context.Context, dur time.Duration) error

	iface   uint8 // the interface Bind claimed
	claimed bool
	phy     uint8 // MII address of the PHY Linux uses (READ_PHY_ID, second byte)
	chip    uint8 // chip code from STATMNGSTS: chip772, chip772A or chip772B

	// carrier mirrors Linux's netif_carrier_ok for the status parser; see Status.
	carrier atomic.Bool

	rx rxState // the RX stream parser's state across transfers
}

// New returns an unbound AX88772 minidriver with its RX reassembly buffer allocated.
func New() *Minidriver {
	return &Minidriver{rx: rxState{frame: make([]byte, maxFrameLen)}}
}

// Vendor requests (specs/usbnic.md §2.2); reads are 0xC0, writes 0x40, recipient device.
const (
	cmdSetSWMII       = 0x06
	cmdReadMII        = 0x07
	cmdWriteMII       = 0x08
	cmdStatMngSts     = 0x09
	cmdSetHWMII       = 0x0a
	cmdReadEEPROM     = 0x0b
	cmdReadRxCtl      = 0x0f
	cmdWriteRxCtl     = 0x10
	cmdWriteIPG0      = 0x12
	cmdReadNodeID     = 0x13
	cmdWriteNodeID    = 0x14
	cmdWriteMulticast = 0x16
	cmdReadPHYID      = 0x19
	cmdReadMedium     = 0x1a
	cmdWriteMedium    = 0x1b
	cmdWriteGPIOs     = 0x1f
	cmdSWReset        = 0x20
	cmdSWPHYSelect    = 0x22
	cmdQCTCtrl        = 0x2a
)

// Register values and bits.
const (
	hostEn       = 0x01 // STATMNGSTS: software owns the MDIO bus
	chipCodeMask = 0x70
	chip772      = 0x00
	chip772A     = 0x10
	chip772B     = 0x20

	rxCtlPromisc   = 0x0001
	rxCtlAllMulti  = 0x0002
	rxCtlMulticast = 0x0010
	rxCtlDefault   = 0x0088 // SO | AB, 2 KiB bursts

	mediumFD  = 0x0002
	mediumAC  = 0x0004
	mediumRFC = 0x0010
	mediumTFC = 0x0020
	mediumRE  = 0x0100
	mediumPS  = 0x0200
	// mediumDefault is AX88772_MEDIUM_DEFAULT as Linux has had it since 2022 ("net: asix: do
	// not force pause frames support"): FD | PS | AC | RE. The spec's 0x0336 is the older value
	// that also forced RFC | TFC.
	mediumDefault = mediumFD | mediumPS | mediumAC | mediumRE

	gpioGPO2En = 0x10
	gpioGPO2   = 0x20
	gpioRSE    = 0x80

	swResetClear = 0x00
	swResetPRL   = 0x08
	swResetIPRL  = 0x20
	swResetIPPD  = 0x40

	phySelSSEN = 0x10

	ipg0 = 0x15
	ipg1 = 0x0c
	ipg2 = 0x12

	embeddedPHY = 0x10 // AX_EMBD_PHY_ADDR
	maxPHYAddr  = 32   // PHY_MAX_ADDR
)

// MII registers and bits.
const (
	miiBMCR       = 0x00
	bmcrFullDpx   = 0x0100
	bmcrANRestart = 0x0200
	bmcrIsolate   = 0x0400
	bmcrPowerDown = 0x0800
	bmcrANEnable  = 0x1000
	bmcrSpeed100  = 0x2000
	miiBMSR       = 0x01
	bmsrLink      = 0x0004
	bmsrANDone    = 0x0020
	miiPHYSID1    = 0x02
	miiPHYSID2    = 0x03
	miiAdvertise  = 0x04
	miiLPA        = 0x05
	adv10Full     = 0x0040
	adv100Half    = 0x0080
	adv100Full    = 0x0100
	adv100Base4   = 0x0200
	advPause      = 0x0400
	advPauseAsym  = 0x0800
)

// AX88772A PHY registers that come up wrong on some parts, with their defaults.
var phy772ADefaults = [...][2]uint16{{0x14, 0x442c}, {0x15, 0x03c8}, {0x16, 0x4044}}

// maxMulticast is AX_MAX_MCAST: more addresses than this and the filter accepts all multicast.
const maxMulticast = 64

const (
	hardMTU      = 1514 // usbnet's default: MTU 1500 plus the Ethernet header
	rxBufferSize = 2048 // FLAG_FRAMING_AX: several frames per 2 KiB bulk-IN transfer
	txHeaderLen  = 4
	// maxFrameLen is the longest record Linux accepts: MTU + ETH_HLEN + VLAN_HLEN.
	maxFrameLen = hardMTU + 4
)

func (m *Minidriver) sleep(ctx context.Context, dur time.Duration) error {
	if m.Sleep != nil {
		return m.Sleep(ctx, dur)
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
