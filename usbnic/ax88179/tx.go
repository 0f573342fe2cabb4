package ax88179

import (
	"encoding/binary"
	"fmt"

	"webminiport/usbnic"
)

// Each frame goes out as its own bulk-OUT transfer behind an 8-byte header (specs/usbnic.md
// §1.9): LE32 frame length, then LE32 0 or, when header plus frame fill a whole number of
// packets, 0x80008000 ("enable padding"). usbnet then appends one zero byte so the transfer does
// not end on a packet boundary (the driver has neither FLAG_SEND_ZLP nor FLAG_MULTI_PACKET).
const (
	txHeaderLen = 8
	txPadding   = 0x80008000
)

// TxAppend writes the header and the frame at the start of buf. Linux sends one frame per
// transfer, so a transfer that already holds one is full.
func (m *Minidriver) TxAppend(d *usbnic.Device, buf []byte, used int, frame []byte) (int, bool, error) {
	if used != 0 {
		return used, true, usbnic.ErrTxFull
	}
	mp := int(d.Out.MaxPacketSize)
	if mp == 0 {
		return 0, false, fmt.Errorf("ax88179 tx: bulk OUT endpoint 0x%02x has wMaxPacketSize 0", d.Out.Address)
	}
	if len(frame) == 0 {
		return 0, false, fmt.Errorf("ax88179 tx: empty frame")
	}
	n := txHeaderLen + len(frame)
	var hdr2 uint32
	room := n
	if n%mp == 0 {
		hdr2 = txPadding
		room++ // the zero byte TxFinish adds
	}
	if room > len(buf) {
		return 0, false, fmt.Errorf("ax88179 tx: %d-byte frame needs %d bytes, transfer buffer has %d", len(frame), room, len(buf))
	}
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(buf[4:], hdr2)
	copy(buf[txHeaderLen:], frame)
	return n, true, nil
}

// TxFinish applies usbnet's short-packet rule: a transfer that is a whole number of packets
// gets one zero byte more. Without room for it (a caller that bypassed TxAppend) a ZLP ends the
// transfer instead.
func (m *Minidriver) TxFinish(d *usbnic.Device, buf []byte, used int) (int, bool) {
	mp := int(d.Out.MaxPacketSize)
	if mp == 0 || used%mp != 0 {
		return used, false
	}
	if used < len(buf) {
		buf[used] = 0
		return used + 1, false
	}
	return used, true
}
