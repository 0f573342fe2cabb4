package ax88179

import (
	"context"
	"testing"

	"webminiport/usbnic"
)

// refHashBit is Linux's ether_crc(6, addr) >> 26 computed the slow way: the reflected CRC-32
// (polynomial 0xEDB88320, register preset to all ones, no final inversion) one bit at a time,
// then the top 6 bits of its bit reversal, which are its low 6 bits read backwards.
func refHashBit(addr [6]byte) int {
	crc := uint32(0xffffffff)
	for _, b := range addr {
		for i := range 8 {
			if (crc^uint32(b>>i))&1 != 0 {
				crc = crc>>1 ^ 0xedb88320
			} else {
				crc >>= 1
			}
		}
	}
	n := 0
	for i := range 6 {
		if crc&(1<<i) != 0 {
			n |= 1 << (5 - i)
		}
	}
	return n
}

var hashCases = []struct {
	addr [6]byte
	bit  int // computed outside Go, with an independent reflected CRC-32
}{
	{[6]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}, 31},
	{[6]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}, 15},
	{[6]byte{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, 62},
	{[6]byte{0x33, 0x33, 0xff, 0x12, 0x34, 0x56}, 2},
	{[6]byte{0x01, 0x80, 0xc2, 0x00, 0x00, 0x00}, 25},
	{[6]byte{0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa}, 43},
}

func TestMulticastHashMatchesReferenceCRC(t *testing.T) {
	for _, c := range hashCases {
		if got := refHashBit(c.addr); got != c.bit {
			t.Fatalf("reference CRC for %x gives bit %d, golden %d", c.addr, got, c.bit)
		}
		var want [8]byte
		want[c.bit>>3] = 1 << (c.bit & 7)
		if got := multicastHash([][6]byte{c.addr}); got != want {
			t.Errorf("hash(%x) = % x, want % x", c.addr, got, want)
		}
	}
	var all [][6]byte
	var want [8]byte
	for _, c := range hashCases {
		all = append(all, c.addr)
		want[c.bit>>3] |= 1 << (c.bit & 7)
	}
	if got := multicastHash(all); got != want {
		t.Errorf("hash(all) = % x, want % x", got, want)
	}
}

func TestSetRxModeWritesHashTableThenRxCtl(t *testing.T) {
	list := [][6]byte{hashCases[0].addr, hashCases[2].addr} // bits 31 and 62
	many := make([][6]byte, 65)
	for _, tc := range []struct {
		name   string
		filter uint32
		list   [][6]byte
		want   []ctrl
	}{
		{"directed and broadcast", usbnic.PacketDirected | usbnic.PacketBroadcast, nil,
			[]ctrl{wMAC(0x0b, 0x88, 0x02)}},
		{"promiscuous wins over everything", usbnic.PacketPromiscuous | usbnic.PacketAllMulticast | usbnic.PacketMulticast, list,
			[]ctrl{wMAC(0x0b, 0x89, 0x02)}},
		{"all multicast", usbnic.PacketDirected | usbnic.PacketAllMulticast, nil,
			[]ctrl{wMAC(0x0b, 0x8a, 0x02)}},
		{"more than 64 addresses means all multicast", usbnic.PacketMulticast, many,
			[]ctrl{wMAC(0x0b, 0x8a, 0x02)}},
		{"multicast list", usbnic.PacketDirected | usbnic.PacketMulticast, list,
			[]ctrl{wMAC(0x16, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x40), wMAC(0x0b, 0x98, 0x02)}},
		{"empty multicast list", usbnic.PacketMulticast, nil,
			[]ctrl{wMAC(0x0b, 0x88, 0x02)}},
		{"list without the multicast filter bit is ignored", usbnic.PacketDirected, list,
			[]ctrl{wMAC(0x0b, 0x88, 0x02)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(usbnic.SpeedSuper)
			m := New()
			if err := m.SetRxMode(context.Background(), newDevice(t, f, nil), tc.filter, tc.list); err != nil {
				t.Fatal(err)
			}
			checkLog(t, f.log, tc.want)
			last := tc.want[len(tc.want)-1].Data
			if m.rxctl != uint16(last[0])|uint16(last[1])<<8 {
				t.Errorf("remembered rxctl 0x%04x", m.rxctl)
			}
		})
	}
}
