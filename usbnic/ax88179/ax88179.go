// Package ax88179 is the minidriver for ASIX AX88179 / AX88178A gigabit adapters (USB 3.0 / 2.0)
// and their rebrands. It follows Linux 6.18 drivers/net/usb/ax88179_178a.c as described in
// specs/usbnic.md §1: the same register traffic in the same order, the same RX trailer checks,
// the same TX header and padding rule.
package ax88179

import (
	"context"
	"sync/atomic"
	"time"

	"webminiport/usbnic"
)

// Driver makes one AX88179 minidriver per device; every row of IDs points at it.
var Driver = &usbnic.Driver{Name: "ax88179_178a", New: func() usbnic.Minidriver { return New() }}

// IDs is the Linux 6.18 id table (specs/usbnic.md §1.1). Every row matches only the vendor
// interface 0xFF/0xFF/0x00: the AX88179A also offers a CDC-NCM configuration that this driver
// must leave to cdc_ncm.
var IDs = []usbnic.ID{
	vendorIface(0x0b95, 0x1790, "ASIX AX88179 10/100/1000"),
	vendorIface(0x0b95, 0x178a, "ASIX AX88178A 10/100/1000"),
	vendorIface(0x04b4, 0x3610, "Cypress GX3 SuperSpeed to Gigabit Ethernet Bridge"),
	vendorIface(0x2001, 0x4a00, "D-Link DUB-1312"),
	vendorIface(0x0df6, 0x0072, "Sitecom USB 3.0 to Gigabit"),
	vendorIface(0x04e8, 0xa100, "Samsung USB Ethernet Adapter"),
	vendorIface(0x17ef, 0x304b, "Lenovo OneLinkDock Gigabit LAN"),
	vendorIface(0x050d, 0x0128, "Belkin B2B128 USB 3.0 Hub + Gigabit Ethernet"),
	vendorIface(0x0930, 0x0a13, "Toshiba USB 3.0 GBit Ethernet"),
	vendorIface(0x0711, 0x0179, "Magic Control Technology U3-A9003"),
	vendorIface(0x07c9, 0x000e, "Allied Telesis AT-UMC2000 (gigabit)"),
	vendorIface(0x07c9, 0x000f, "Allied Telesis AT-UMC200 (fast ethernet)"),
	vendorIface(0x07c9, 0x0010, "Allied Telesis AT-UMC2000/SP"),
}

func vendorIface(vid, pid uint16, product string) usbnic.ID {
	return usbnic.ID{
		VendorID: vid, ProductID: pid,
		MatchInterface: true, Class: 0xff, Subclass: 0xff, Protocol: 0x00,
		Product: product, Driver: Driver,
	}
}

// Minidriver is the AX88179 driver bound to one device. The zero value is ready to use; New
// returns one too.
type Minidriver struct {
	// Sleep waits for dur or until ctx is done. Nil means a real timer. Tests set it to record
	// and skip the reset's half-second waits.
	Sleep func(ctx context.Context, dur time.Duration) error
	// Now reads the clock that bounds the polling loops (TX FIFO after link up, EEPROM busy).
	// Nil means time.Now.
	Now func() time.Time

	iface   uint8 // the vendor interface Bind claimed
	claimed bool

	// rxctl is the RX_CTL value link reset rewrites after its stop/start toggle. Linux keeps
	// the set_rx_mode value there; we also record what reset wrote, so that a core which never
	// sets a packet filter does not get its receiver stopped by the first link reset.
	rxctl uint16

	// carrier mirrors Linux's netif_carrier_ok as the status parser needs it: Status compares
	// the interrupt's link bit against it, LinkReset settles it. Status runs on the datapath
	// goroutine while the hooks run elsewhere, hence atomic.
	carrier atomic.Bool

	wol       bool // MONITOR_MOD answered at reset: wake-on-LAN is supported
	eeeActive bool // link reset found EEE negotiated with the partner
}

// New returns an unbound AX88179 minidriver.
func New() *Minidriver { return &Minidriver{} }

// Vendor requests (specs/usbnic.md §1.2).
const (
	reqAccessMAC    = 0x01
	reqAccessPHY    = 0x02
	reqAccessEEPROM = 0x04
	reqAccessEFuse  = 0x05
	reqTxFIFOStatus = 0x81 // read wValue 0x8C: LE32, bit 30 = USB TX FIFO busy
)

// MAC registers (§1.3) and their bits.
const (
	regPhysicalLinkStatus = 0x02
	usbSS                 = 0x04
	usbHS                 = 0x02

	regGeneralStatus = 0x03
	secondSilicon    = 0x04 // AX_SECLD: clear on "UA1" silicon

	regSROMAddr     = 0x07
	regSROMDataLow  = 0x08
	regSROMDataHigh = 0x09
	regSROMCmd      = 0x0a
	sromRead        = 0x04
	sromBusy        = 0x10

	regRxCtl        = 0x0b
	rxCtlPromisc    = 0x0001
	rxCtlAllMulti   = 0x0002
	rxCtlBroadcast  = 0x0008
	rxCtlMulticast  = 0x0010
	rxCtlAcceptPhys = 0x0020
	rxCtlStart      = 0x0080
	rxCtlDropCRCErr = 0x0100
	rxCtlIPE        = 0x0200

	regNodeID       = 0x10
	regMulticastTbl = 0x16

	regMediumStatusMode = 0x22
	mediumGiga          = 0x0001
	mediumFullDuplex    = 0x0002
	mediumEn125MHz      = 0x0008
	mediumRxFlowCtrl    = 0x0010
	mediumTxFlowCtrl    = 0x0020
	mediumReceiveEn     = 0x0100
	mediumPS            = 0x0200
	mediumJumboEn       = 0x8040

	regMonitorMode  = 0x24
	monitorRWMP     = 0x04
	monitorPMEPol   = 0x20
	monitorPMEType  = 0x40
	regGPIOCtrl     = 0x25
	gpio1To3Enabled = 0xe0

	regPhyPwrRstCtl = 0x26
	phyPwrIPRL      = 0x0020
	phyPwrAutoDet   = 0x1000

	regRxBulkInQCtrl = 0x2e

	regClkSelect = 0x33
	clkBCS       = 0x01
	clkACS       = 0x02
	clkULR       = 0x08

	regRxCOECtl = 0x34
	regTxCOECtl = 0x35
	coeAll      = 0x67 // IP | TCP | UDP | TCPv6 | UDPv6

	regPauseWaterLow  = 0x55
	regPauseWaterHigh = 0x54
	regLEDCtrl        = 0x73
)

// PHY registers (§1.4); the PHY sits at MII address 3.
const (
	phyAddr = 0x03

	miiBMCR     = 0x00
	bmcrANRst   = 0x0200
	bmcrANEna   = 0x1000
	miiBMSR     = 0x01
	bmsrANDone  = 0x0020
	miiAdv      = 0x04
	miiLPA      = 0x05
	miiCtrl1000 = 0x09
	miiStat1000 = 0x0a
	miiMMDCtrl  = 0x0d
	miiMMDData  = 0x0e
	mmdNoIncr   = 0x4000
	miiPhyAddr  = 0x19 // MII_PHYADDR: the vendor EEE control register on page 3

	phyPHYSR      = 0x11
	physrSpeed    = 0xc000
	physrGiga     = 0x8000
	physr100      = 0x4000
	physrFull     = 0x2000
	physrLink     = 0x0400
	phyLEDAct     = 0x1a
	phyLEDLink    = 0x1c
	phyPage       = 0x1e
	phyPageSelect = 0x1f
	pageExt       = 0x0007
	page0         = 0x0000
	page3         = 0x0003

	mmdPCS      = 3
	mmdAN       = 7
	pcsEEEAble  = 20
	anEEEAdv    = 60
	anEEELPAble = 61
)

// maxMulticast is AX_MAX_MCAST: more addresses than this and the filter accepts all multicast.
const maxMulticast = 64

// hardMTU is usbnet's default hard_mtu: a 1500-byte MTU plus the 14-byte Ethernet header.
const hardMTU = 1514

// bulkIn is one row of AX88179_BULKIN_SIZE (§1.5): {ctrl, timer_lo, timer_hi, size, ifg}.
type bulkIn [5]byte

// rxBufferSize is the bulk-IN transfer size Linux pairs with the row: 1024 × (size + 2).
func (b bulkIn) rxBufferSize() int { return 1024 * (int(b[3]) + 2) }

var bulkInTable = [4]bulkIn{
	{0x07, 0x4f, 0x00, 0x12, 0xff}, // 1000 Mb/s on SuperSpeed; also the reset default
	{0x07, 0x20, 0x03, 0x16, 0xff}, // 1000 Mb/s on high speed
	{0x07, 0xae, 0x07, 0x18, 0xff}, // 100 Mb/s on SuperSpeed or high speed
	{0x07, 0xcc, 0x4c, 0x18, 0x08}, // everything else
}

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

func (m *Minidriver) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}
