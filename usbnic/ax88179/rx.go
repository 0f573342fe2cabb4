package ax88179

import (
	"encoding/binary"
	"fmt"

	"webminiport/usbnic"
)

// One bulk-IN transfer carries N packets, each padded to 8 bytes, then an array of 4-byte
// metadata entries at hdr_off, then the 4-byte rx_hdr in the last 4 bytes (specs/usbnic.md §1.8):
//
//	[pkt 1 + pad] ... [pkt N + pad] [meta 1] [dummy] ... [meta N] [dummy] [padding2] [rx_hdr]
//
// rx_hdr: bits 0-15 pkt_cnt (metadata entries), bits 16-31 hdr_off. Metadata: bits 16-28
// pkt_len, bit 29 CRC error, bit 31 drop error; the low bits are checksum-offload results that
// an NDIS receive without offload has no use for.
//
// A packet is a 2-byte IP-alignment pseudo header followed by the frame, and pkt_len counts the
// pseudo header. The frame carries no FCS: the Linux source strips nothing after the pseudo
// header and has no "keep CRC" setting in RX_CTL, and the commit that made Linux deliver exactly
// [2, pkt_len) ("net: usb: ax88179_178a: fix packet alignment padding", e869e7a17798, 2020)
// shows a 98-byte ICMP echo arriving with pkt_len = 100 under the old code's extra 2 bytes;
// with an FCS included it would have shown 6. ASIX confirmed there that pkt_len includes the
// pseudo header. So a frame is bytes [2, pkt_len) of its packet, for every packet (Linux 6.18
// still copies two bytes too many for all but the last packet; we do not).
const (
	metaCRCErr  = 0x20000000
	metaDropErr = 0x80000000
	pseudoHdr   = 2
	minPktLen   = pseudoHdr + 14 // the pseudo header and an Ethernet header
)

// RxCheck names the Linux ax88179_rx_fixup check a transfer failed.
type RxCheck int

// The checks, in the order Linux makes them (specs/usbnic.md §1.8).
const (
	// CheckShortTransfer: the transfer is shorter than the 4-byte rx_hdr.
	CheckShortTransfer RxCheck = iota + 1
	// CheckNoPackets: rx_hdr says pkt_cnt = 0.
	CheckNoPackets
	// CheckMetadataBounds: pkt_cnt × 4 + hdr_off runs past the start of rx_hdr.
	CheckMetadataBounds
	// CheckPacketBounds: a packet's padded length runs past hdr_off (into the metadata).
	CheckPacketBounds
	// CheckFrameError: the metadata entry has CRC_ERR or DROP_ERR set; the packet is skipped.
	CheckFrameError
	// CheckRunt: pkt_len is under 16 (pseudo header + Ethernet header); the packet is skipped.
	CheckRunt
	// CheckNoLastPacket: the entries ran out before a packet ended exactly at hdr_off.
	CheckNoLastPacket
)

var checkNames = [...]string{
	CheckShortTransfer:  "transfer shorter than the 4-byte rx_hdr",
	CheckNoPackets:      "rx_hdr pkt_cnt is 0",
	CheckMetadataBounds: "metadata array runs past rx_hdr",
	CheckPacketBounds:   "packet runs past hdr_off into the metadata",
	CheckFrameError:     "packet flagged CRC_ERR or DROP_ERR",
	CheckRunt:           "runt packet: pkt_len under 16",
	CheckNoLastPacket:   "no packet ends exactly at hdr_off",
}

func (c RxCheck) String() string {
	if c > 0 && int(c) < len(checkNames) {
		return checkNames[c]
	}
	return fmt.Sprintf("RxCheck(%d)", int(c))
}

// RxError is a transfer that failed a Linux check. Frames delivered before the check stay
// delivered. When the transfer itself parsed but packets were skipped (CRC, drop or runt),
// Check is the first skip and Dropped counts them all.
type RxError struct {
	Check   RxCheck
	Offset  int    // byte offset in the transfer where the check failed
	Entry   int    // metadata entry index (0-based), or -1 when the check is about rx_hdr
	Value   uint32 // the rx_hdr or metadata entry that failed
	Len     int    // transfer length
	Dropped int    // packets skipped by CheckFrameError or CheckRunt
}

func (e *RxError) Error() string {
	where := fmt.Sprintf("offset %d of %d", e.Offset, e.Len)
	if e.Entry >= 0 {
		where = fmt.Sprintf("metadata entry %d (0x%08x), packet at offset %d of %d", e.Entry, e.Value, e.Offset, e.Len)
	} else if e.Check != CheckShortTransfer {
		where = fmt.Sprintf("rx_hdr 0x%08x, offset %d of %d", e.Value, e.Offset, e.Len)
	}
	s := fmt.Sprintf("ax88179 rx: %s: %s", e.Check, where)
	if e.Dropped > 0 {
		s += fmt.Sprintf(" (packets skipped in this transfer: %d)", e.Dropped)
	}
	return s
}

// RxFixup splits one bulk-IN transfer into frames with every check of ax88179_rx_fixup. Frames
// are handed to sink as sub-slices of transfer; nothing is copied or allocated.
func (m *Minidriver) RxFixup(d *usbnic.Device, transfer []byte, sink usbnic.FrameSink) error {
	n := len(transfer)
	if n < 4 {
		return &RxError{Check: CheckShortTransfer, Entry: -1, Len: n}
	}
	end := n - 4
	rxHdr := binary.LittleEndian.Uint32(transfer[end:])
	pktCnt := int(rxHdr & 0xffff)
	hdrOff := int(rxHdr >> 16)
	if pktCnt == 0 {
		return &RxError{Check: CheckNoPackets, Offset: end, Entry: -1, Value: rxHdr, Len: n}
	}
	// The metadata array must lie in front of rx_hdr.
	if pktCnt*4+hdrOff > end {
		return &RxError{Check: CheckMetadataBounds, Offset: end, Entry: -1, Value: rxHdr, Len: n}
	}

	// Packets live in [0, hdrOff): they may not overlap the metadata.
	pos := 0
	var skip RxError // first skipped packet, if any
	for i := range pktCnt {
		meta := binary.LittleEndian.Uint32(transfer[hdrOff+4*i:])
		pktLen := int(meta>>16) & 0x1fff
		padded := (pktLen + 7) &^ 7
		if pktLen == 0 {
			continue // the dummy entry current firmware puts after each packet
		}
		left := hdrOff - pos
		if padded > left {
			return rxFailed(RxError{Check: CheckPacketBounds, Offset: pos, Entry: i, Value: meta, Len: n}, skip)
		}
		if meta&(metaCRCErr|metaDropErr) != 0 || pktLen < minPktLen {
			check := CheckFrameError
			if meta&(metaCRCErr|metaDropErr) == 0 {
				check = CheckRunt
			}
			if skip.Dropped == 0 {
				skip = RxError{Check: check, Offset: pos, Entry: i, Value: meta, Len: n}
			}
			skip.Dropped++
			pos += padded
			continue
		}
		sink.Frame(transfer[pos+pseudoHdr : pos+pktLen])
		if padded == left {
			// The last packet: Linux accepts the transfer here, whatever entries remain.
			if skip.Dropped > 0 {
				return rxFailed(skip, skip)
			}
			return nil
		}
		pos += padded
	}
	return rxFailed(RxError{Check: CheckNoLastPacket, Offset: pos, Entry: -1, Value: rxHdr, Len: n}, skip)
}

// rxFailed reports the check that ended the transfer, with the count of packets skipped
// before it. Taking the errors by value keeps them off the heap until a transfer fails.
func rxFailed(e, skip RxError) error {
	e.Dropped = skip.Dropped
	return &e
}
