package usbnic

import "errors"

// ErrTxFull is returned by Minidriver.TxAppend when a frame does not fit behind the frames
// already in the transfer.
var ErrTxFull = errors.New("usbnic: frame does not fit in the transfer being built")

// Packet filter bits as NDIS defines them (NDIS_PACKET_TYPE_*); SetRxMode receives these.
const (
	PacketDirected     = 0x01
	PacketMulticast    = 0x02
	PacketAllMulticast = 0x04
	PacketBroadcast    = 0x08
	PacketPromiscuous  = 0x20
)

// Driver names a minidriver and makes one per device, like a Linux driver_info.
type Driver struct {
	Name string // the Linux driver it follows: "ax88179_178a", "asix", "cdc_ether", "cdc_ncm"
	New  func() Minidriver
}

// ID is one row of the match table: a VID:PID (optionally narrowed to an interface class, as
// Linux's USB_DEVICE_AND_INTERFACE_INFO), or an interface class alone (USB_INTERFACE_INFO).
type ID struct {
	VendorID  uint16
	ProductID uint16
	// MatchInterface: the device must have an interface with Class/Subclass/Protocol.
	// With VendorID 0 the row is a pure class match.
	MatchInterface bool
	Class          uint8
	Subclass       uint8
	Protocol       uint8
	Product        string // human name from the Linux id table comment
	Driver         *Driver
}
