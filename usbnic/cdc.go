package usbnic

import (
	"encoding/binary"
	"fmt"
)

// CDC class requests (bmRequestType 0x21 OUT / 0xA1 IN, wIndex = the control interface).
const (
	CDCSetEthernetMulticastFilters = 0x40
	CDCSetEthernetPMPatternFilter  = 0x41
	CDCGetEthernetPMPatternFilter  = 0x42
	CDCSetEthernetPacketFilter     = 0x43
	CDCGetEthernetStatistic        = 0x44
	NCMGetNTBParameters            = 0x80
	NCMGetNetAddress               = 0x81
	NCMSetNetAddress               = 0x82
	NCMGetNTBFormat                = 0x83
	NCMSetNTBFormat                = 0x84
	NCMGetNTBInputSize             = 0x85
	NCMSetNTBInputSize             = 0x86
	NCMGetMaxDatagramSize          = 0x87
	NCMSetMaxDatagramSize          = 0x88
	NCMGetCRCMode                  = 0x89
	NCMSetCRCMode                  = 0x8A
)

// CDC packet filter bits (wValue of SET_ETHERNET_PACKET_FILTER).
const (
	CDCPacketPromiscuous  = 0x01
	CDCPacketAllMulticast = 0x02
	CDCPacketDirected     = 0x04
	CDCPacketBroadcast    = 0x08
	CDCPacketMulticast    = 0x10 // filtered through SET_ETHERNET_MULTICAST_FILTERS
)

// CDCPacketFilter maps NDIS packet filter bits to the CDC filter bitmap. Like Linux, it never
// uses the filtered-multicast bit: any multicast interest (ALL_MULTICAST, or MULTICAST with a
// non-empty list) becomes ALL_MULTICAST, and the device's multicast filter table is left
// alone — "filtering on the device is an optional feature and not worth the hassle"
// (cdc_ether.c).
func CDCPacketFilter(ndisFilter uint32, multicastCount int) uint16 {
	var f uint16
	if ndisFilter&PacketDirected != 0 {
		f |= CDCPacketDirected
	}
	if ndisFilter&PacketBroadcast != 0 {
		f |= CDCPacketBroadcast
	}
	if ndisFilter&PacketPromiscuous != 0 {
		f |= CDCPacketPromiscuous
	}
	if ndisFilter&PacketAllMulticast != 0 || (ndisFilter&PacketMulticast != 0 && multicastCount > 0) {
		f |= CDCPacketAllMulticast
	}
	return f
}

// CDC notification codes (bNotificationType) on the interrupt IN endpoint.
const (
	NotifyNetworkConnection = 0x00
	NotifyResponseAvailable = 0x01
	NotifySpeedChange       = 0x2A
)

// NotificationHeaderLen is the size of the header every CDC notification starts with.
const NotificationHeaderLen = 8

// Notification is the 8-byte header of a CDC notification.
type Notification struct {
	RequestType uint8 // 0xA1
	Code        uint8 // bNotificationType
	Value       uint16
	Index       uint16 // the control interface
	Length      uint16 // bytes of data after the header
}

// ParseNotification reads the header of one interrupt IN transfer. Linux ignores transfers
// shorter than the header; here they are an error the minidriver passes on.
func ParseNotification(b []byte) (Notification, error) {
	if len(b) < NotificationHeaderLen {
		return Notification{}, fmt.Errorf("CDC notification: %d bytes, shorter than the %d-byte header", len(b), NotificationHeaderLen)
	}
	le := binary.LittleEndian
	return Notification{RequestType: b[0], Code: b[1], Value: le.Uint16(b[2:]), Index: le.Uint16(b[4:]), Length: le.Uint16(b[6:])}, nil
}

// SpeedChangeRates decodes the 8 data bytes of CONNECTION_SPEED_CHANGE: DLBitRate (downlink,
// device to host, the IN pipe) then ULBitRate (uplink, host to device). This is the order of
// the CDC specification and of cdc_ncm; cdc_ether reads the two the other way round (the spec
// notes the disagreement), and we follow the specification for both drivers.
func SpeedChangeRates(b []byte) (rx, tx uint64) {
	le := binary.LittleEndian
	return uint64(le.Uint32(b[0:])), uint64(le.Uint32(b[4:]))
}

// NotificationName names a notification code for messages.
func NotificationName(code uint8) string {
	switch code {
	case NotifyNetworkConnection:
		return "NETWORK_CONNECTION"
	case NotifyResponseAvailable:
		return "RESPONSE_AVAILABLE"
	case NotifySpeedChange:
		return "CONNECTION_SPEED_CHANGE"
	}
	return fmt.Sprintf("notification %#02x", code)
}
