package ax88772

import (
	"encoding/binary"
	"fmt"

	"webminiport/usbnic"
)

// Each frame goes out as its own bulk-OUT transfer (specs/usbnic.md §2.6): a 4-byte LE header
// L | (L XOR 0xFFFF) << 16, then the L frame bytes. When that fills a whole number of packets the
// transfer gets the 4 bytes 00 00 FF FF (an empty record) so it does not end on a packet
// boundary; with FLAG_MULTI_PACKET usbnet adds nothing more.
var txPad = [4]byte{0x00, 0x00, 0xff, 0xff}

// TxAppend writes the header and the frame at the start of buf. Linux sends one frame per
// transfer, so a transfer that already holds one is full.
func (m *Minidriver) TxAppend(d *usbnic.Device, buf []byte, used int, frame []byte) (int, bool, error) {
	if used != 0 {
		return used, true, usbnic.ErrTxFull
	}
	mp := int(d.Out.MaxPacketSize)
	if mp == 0 {
		return 0, false, fmt.Errorf("ax88772 tx: bulk OUT endpoint 0x%02x has wMaxPacketSize 0", d.Out.Address)
	}
	if len(frame) == 0 || len(frame) > 0xffff {
		return 0, false, fmt.Errorf("ax88772 tx: a %d-byte frame does not fit the 16-bit length header", len(frame))
	}
	n := txHeaderLen + len(frame)
	room := n
	if n%mp == 0 {
		room += len(txPad)
	}
	if room > len(buf) {
		return 0, false, fmt.Errorf("ax88772 tx: %d-byte frame needs %d bytes, transfer buffer has %d", len(frame), room, len(buf))
	}
	l := uint32(len(frame))
	binary.LittleEndian.PutUint32(buf, l|(l^0xffff)<<16)
	copy(buf[txHeaderLen:], frame)
	return n, true, nil
}

// TxFinish appends the 00 00 FF FF pad when the transfer is a whole number of packets. Linux
// tests (len & (maxpacket-1)), the same thing for the power-of-two sizes bulk endpoints have.
// Without room for the pad (a caller that bypassed TxAppend) a ZLP ends the transfer instead.
func (m *Minidriver) TxFinish(d *usbnic.Device, buf []byte, used int) (int, bool) {
	mp := int(d.Out.MaxPacketSize)
	if mp == 0 || used%mp != 0 {
		return used, false
	}
	if used+len(txPad) <= len(buf) {
		return used + copy(buf[used:], txPad[:]), false
	}
	return used, true
}
