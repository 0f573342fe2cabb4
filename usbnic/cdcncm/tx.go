package cdcncm

import (
	"fmt"

	"webminiport/usbnic"
)

// The TX NTB, as cdc_ncm_fill_tx_frame builds it (specs/usbnic.md §4.4):
//
//	NTH | pad to wNdpOutAlignment | NDP reserved for txMaxDatagrams+1 entries, zeroed |
//	pad | datagram 1 | pad | datagram 2 | ... | final padding (TxFinish)
//
// Each datagram starts where ALIGN(offset, divisor) - offset + remainder puts it (so the IP
// header after the 14-byte Ethernet header is aligned as the device asked). Every pad is
// written as zeros: the core reuses its buffers.

// alignPad is cdc_ncm_align_tail: the padding that moves offset to ALIGN(offset, modulus) +
// remainder, cut short at limit.
func alignPad(offset, modulus, remainder, limit int) int {
	pad := (offset+modulus-1)&^(modulus-1) - offset + remainder
	if offset+pad > limit {
		pad = limit - offset
	}
	return pad
}

// TxAppend adds one frame to the NTB in buf[:used] (a new NTB when used is 0). flush becomes
// true when the NTB holds the maximum number of datagrams or has no room left for even the
// smallest frame; otherwise the core waits for more frames, at most TxTimer. ErrTxFull means
// the frame does not fit behind the others: the core finishes and sends this NTB, then calls
// again with used 0. A frame that does not fit an empty NTB is refused with an error, as Linux
// drops it.
//
// Precondition: buf is at least d.TxMaxTransfer long, and used is what the previous call
// returned (or 0).
func (m *ncm) TxAppend(d *usbnic.Device, buf []byte, used int, frame []byte) (int, bool, error) {
	f := m.f
	size := m.txMax
	if len(buf) < size {
		return used, false, fmt.Errorf("cdc_ncm: tx: %d-byte buffer is smaller than the %d-byte NTB", len(buf), size)
	}
	if len(frame) < ethHeaderLen || len(frame) > m.maxDatagram {
		return used, false, fmt.Errorf("cdc_ncm: tx: %d-byte frame, want %d to %d bytes", len(frame), ethHeaderLen, m.maxDatagram)
	}
	if used != 0 && m.txCount == 0 {
		return used, false, fmt.Errorf("cdc_ncm: tx: %d bytes in the buffer but no NTB was started", used)
	}
	pos, ndp := used, m.txNDP
	if used == 0 {
		pos = f.nthLen
		pos += alignPad(pos, m.ndpAlign, 0, size)
		ndp = pos
		// cdc_ncm_ndp16: room for the whole NDP and the datagram with its worst-case padding.
		if size-pos-(len(frame)+m.txModulus+m.txRemainder) < m.ndpSize {
			return 0, false, fmt.Errorf("cdc_ncm: tx: %d-byte frame does not fit an empty %d-byte NTB", len(frame), size)
		}
		pos += m.ndpSize
	}
	start := pos + alignPad(pos, m.txModulus, m.txRemainder, size)
	if start+len(frame) > size {
		if used == 0 {
			return 0, false, fmt.Errorf("cdc_ncm: tx: %d-byte frame does not fit an empty %d-byte NTB", len(frame), size)
		}
		return used, true, usbnic.ErrTxFull
	}

	if used == 0 {
		m.startNTB(buf, ndp)
	}
	clear(buf[pos:start])
	entry := m.txNDP + f.ndpHdrLen + m.txCount*f.dpeLen
	f.putField(buf[entry:], start)
	f.putField(buf[entry+f.dpeLen/2:], len(frame))
	m.txCount++
	// wLength counts the header, the entries and the zero terminator.
	le.PutUint16(buf[m.txNDP+4:], uint16(f.ndpHdrLen+(m.txCount+1)*f.dpeLen))
	end := start + copy(buf[start:], frame)

	next := end + alignPad(end, m.txModulus, m.txRemainder, size)
	flush := m.txCount >= m.txMaxDatagrams || next+ethHeaderLen > size
	return end, flush, nil
}

// startNTB writes the NTH (with the next sequence number; the length comes in TxFinish) and
// an empty NDP at ndp, zeroing everything in between.
func (m *ncm) startNTB(buf []byte, ndp int) {
	f := m.f
	clear(buf[:ndp+m.ndpSize])
	le.PutUint32(buf[0:], f.nthSig)
	le.PutUint16(buf[4:], uint16(f.nthLen))
	le.PutUint16(buf[6:], m.txSeq)
	f.putField(buf[f.ndpIndexOff():], ndp)
	m.txSeq++
	le.PutUint32(buf[ndp:], f.ndpSig)
	m.txNDP, m.txCount = ndp, 0
}

// TxFinish closes the NTB in buf[:used]: the padding rule of cdc_ncm for devices without
// FLAG_SEND_ZLP, then the block length in the NTH.
//
//   - An NTB longer than minTxPkt is zero-padded to the full NTB size: a device DMA engine
//     takes a full-size NTB more cheaply than a short packet. The size was made not a
//     multiple of wMaxPacketSize unless it is the device's own maximum, after which no short
//     packet is expected.
//   - A shorter NTB whose length is a multiple of wMaxPacketSize gets one zero byte, so it
//     ends in a short packet.
//
// No zero-length packet is ever needed.
func (m *ncm) TxFinish(d *usbnic.Device, buf []byte, used int) (int, bool) {
	if used == 0 {
		return 0, false
	}
	switch {
	case used > m.minTxPkt:
		clear(buf[used:m.txMax])
		used = m.txMax
	case used < m.txMax && used%m.maxPacket == 0:
		buf[used] = 0
		used++
	}
	m.f.putField(buf[nthBlockLenOff:], used)
	m.txCount = 0
	return used, false
}
