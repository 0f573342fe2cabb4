package wire

import (
	"fmt"
	"time"
)

// flood is the flood profile's template: a UDP frame from the web server to the host whose
// payload starts with a 64-bit big-endian sequence number. Only the sequence number and the
// UDP checksum change from frame to frame.
type flood struct {
	size int
	seq  uint64
	tmpl [MaxFrameLen]byte
	sum  uint16 // folded sum the UDP checksum covers, with the sequence number zero
}

const (
	floodPort      = 9 // discard (RFC 863): the host is not expected to answer
	floodChecksum  = ethHeaderLen + ipv4HeaderLen + 6
	floodSeqOffset = ethHeaderLen + ipv4HeaderLen + udpHeaderLen
)

// LineRate returns how many frames of size bytes (FCS excluded) fill gigabit Ethernet: each
// takes its bytes, the 4-byte FCS, the 8-byte preamble and the 12-byte gap, at 125,000,000
// bytes a second. LineRate(60) is the 1,488,095 frames/s usually quoted for 64-byte frames
// counted with their FCS; LineRate(1514) is 81,274.
func LineRate(size int) int { return 125_000_000 / (size + 4 + 8 + 12) }

// Flood starts a flood of UDP frames of size bytes (60 to MaxFrameLen, FCS excluded) from the
// web server to the host's MAC and IP, carrying sequence numbers from 0, at rate frames per
// second, or as fast as the host pulls for rate 0.
func (w *Wire) Flood(size, rate int) error {
	if size < minFrameLen || size > MaxFrameLen {
		return fmt.Errorf("wire: flood frame size %d is outside %d..%d", size, minFrameLen, MaxFrameLen)
	}
	if rate < 0 {
		return fmt.Errorf("wire: flood rate %d is negative", rate)
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	var now time.Time
	if rate > 0 {
		now = w.clock.Now()
	}
	w.startProfile(ProfileFlood, rate, pacedAt(now, rate))
	w.flood.size = size
	w.flood.seq = 0
	w.buildFloodTemplate()
	w.mu.Unlock()
	w.signal()
	return nil
}

// buildFloodTemplate addresses the template to the host as the wire knows it now.
func (w *Wire) buildFloodTemplate() {
	f := &w.flood
	b := f.tmpl[:f.size]
	payload := b[floodSeqOffset:]
	clear(payload[:8])
	for i := 8; i < len(payload); i++ {
		payload[i] = byte(i)
	}
	putUDP(b[ethHeaderLen+ipv4HeaderLen:], w.web.ip, w.hostIP, floodPort, floodPort, len(payload))
	putIPv4(b[ethHeaderLen:], 0, peerTTL, protoUDP, w.web.ip, w.hostIP, udpHeaderLen+len(payload))
	putEth(b, w.hostMAC, w.web.mac, etherTypeIPv4)
	// The checksum field holds ^sum (or 0xffff for a zero); keep the sum so each frame's
	// checksum is the sum plus its sequence number's four words, complemented.
	f.sum = ^be16(b[floodChecksum:])
}

// floodFrame copies the template into b, which has room for it, and stamps the next sequence
// number and the checksum that goes with it (RFC 1624: with the old words zero, the new sum
// is the old sum plus the new words).
func (w *Wire) floodFrame(b []byte) int {
	f := &w.flood
	n := copy(b, f.tmpl[:f.size])
	seq := f.seq
	f.seq++
	be.PutUint64(b[floodSeqOffset:], seq)
	s := uint64(f.sum) + seq>>48 + seq>>32&0xffff + seq>>16&0xffff + seq&0xffff
	be.PutUint16(b[floodChecksum:], transportChecksum(^fold(s)))
	return n
}
