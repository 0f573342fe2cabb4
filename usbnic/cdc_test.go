package usbnic_test

import (
	"testing"

	"webminiport/usbnic"
)

func TestCDCPacketFilterFromNDIS(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ndis   uint32
		mcount int
		want   uint16
	}{
		// What Linux sends at bind and once a multicast address is joined (README ECM rows 13, 16).
		{"directed and broadcast", usbnic.PacketDirected | usbnic.PacketBroadcast, 0, 0x000c},
		{"with a multicast list", usbnic.PacketDirected | usbnic.PacketBroadcast | usbnic.PacketMulticast, 2, 0x000e},
		{"multicast bit with an empty list", usbnic.PacketDirected | usbnic.PacketBroadcast | usbnic.PacketMulticast, 0, 0x000c},
		{"all multicast", usbnic.PacketDirected | usbnic.PacketBroadcast | usbnic.PacketAllMulticast, 0, 0x000e},
		// README rows 23/18: promiscuous on top of 0x0e.
		{"promiscuous", usbnic.PacketDirected | usbnic.PacketBroadcast | usbnic.PacketAllMulticast | usbnic.PacketPromiscuous, 0, 0x000f},
		{"nothing", 0, 5, 0x0000},
	} {
		if got := usbnic.CDCPacketFilter(tc.ndis, tc.mcount); got != tc.want {
			t.Errorf("%s: %#04x, want %#04x", tc.name, got, tc.want)
		}
	}
}

func TestParseNotificationReadsTheCapturedNotifications(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want usbnic.Notification
	}{
		{"connected", []byte{0xa1, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00}, usbnic.Notification{RequestType: 0xa1, Code: 0x00, Value: 1}},
		{"disconnected", []byte{0xa1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, usbnic.Notification{RequestType: 0xa1}},
		{"speed change", []byte{0xa1, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x64, 0x19, 0x00, 0x00, 0x64, 0x19},
			usbnic.Notification{RequestType: 0xa1, Code: 0x2a, Length: 8}},
		{"index is the control interface", []byte{0xa1, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00}, usbnic.Notification{RequestType: 0xa1, Value: 1, Index: 2}},
	} {
		got, err := usbnic.ParseNotification(tc.b)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestParseNotificationRejectsShortTransfers(t *testing.T) {
	_, err := usbnic.ParseNotification([]byte{0xa1, 0x00, 0x01})
	if want := "CDC notification: 3 bytes, shorter than the 8-byte header"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestSpeedChangeRatesDownlinkFirst(t *testing.T) {
	// 425984000 bit/s = 0x19640000, as in both captures.
	rx, tx := usbnic.SpeedChangeRates([]byte{0x00, 0x00, 0x64, 0x19, 0x00, 0x00, 0xc8, 0x32})
	if rx != 425984000 || tx != 851968000 {
		t.Errorf("rx %d tx %d", rx, tx)
	}
}
