package ax88772

import (
	"context"
	"hash/crc32"
	"math/bits"

	"webminiport/usbnic"
)

// SetRxMode is asix_set_multicast: RX_CTL = SO | AB plus promiscuous, all-multicast or the
// multicast hash, with the 8-byte hash table written first (WRITE_MULTI_FILTER). The NDIS filter
// bits take the place of Linux's IFF_PROMISC and IFF_ALLMULTI; the list counts only when
// PacketMulticast is set.
func (m *Minidriver) SetRxMode(ctx context.Context, d *usbnic.Device, packetFilter uint32, multicast [][6]byte) error {
	rxctl := uint16(rxCtlDefault)
	useList := packetFilter&usbnic.PacketMulticast != 0 && len(multicast) > 0
	switch {
	case packetFilter&usbnic.PacketPromiscuous != 0:
		rxctl |= rxCtlPromisc
	case packetFilter&usbnic.PacketAllMulticast != 0 || useList && len(multicast) > maxMulticast:
		rxctl |= rxCtlAllMulti
	case useList:
		table := multicastHash(multicast)
		if err := writeCmd(ctx, d, cmdWriteMulticast, 0, 0, table[:]); err != nil {
			return err
		}
		rxctl |= rxCtlMulticast
	}
	return writeCmd(ctx, d, cmdWriteRxCtl, rxctl, 0, nil)
}

// multicastHash builds the 8-byte hash table: for each address the top 6 bits of Linux's
// ether_crc (the bit-reversed CRC-32 register without the final inversion) select one bit.
func multicastHash(addrs [][6]byte) [8]byte {
	var table [8]byte
	for _, a := range addrs {
		// crc32.ChecksumIEEE inverts at the end; undo that to get crc32_le(~0, a).
		n := bits.Reverse32(^crc32.ChecksumIEEE(a[:])) >> 26
		table[n>>3] |= 1 << (n & 7)
	}
	return table
}
