package ndis

import (
	"encoding/binary"
	"slices"
)

// Statistics are the adapter's counters, the fields of NDIS_STATISTICS_INFO (OID_GEN_STATISTICS)
// plus the receive-no-buffer count netvmini keeps. Received frames are counted when indicated and
// sent frames when completed with success, so InUcastPkts+InMulticastPkts+InBroadcastPkts is the
// number of indicated frames and InOctets the sum of their DataLengths (specs/ndis.md §9 item 23).
type Statistics struct {
	InDiscards, InErrors                                   uint64 // ifInDiscards (includes RxNoBuffer), ifInErrors
	InOctets                                               uint64 // ifHCInOctets
	InUcastPkts, InMulticastPkts, InBroadcastPkts          uint64 // ifHCIn*Pkts
	OutOctets                                              uint64 // ifHCOutOctets
	OutUcastPkts, OutMulticastPkts, OutBroadcastPkts       uint64 // ifHCOut*Pkts
	OutErrors, OutDiscards                                 uint64 // ifOutErrors, ifOutDiscards
	InUcastOctets, InMulticastOctets, InBroadcastOctets    uint64
	OutUcastOctets, OutMulticastOctets, OutBroadcastOctets uint64
	// RxNoBuffer counts frames dropped because the receive free list was empty
	// (OID_GEN_RCV_NO_BUFFER; netvmini's RxResourceErrors).
	RxNoBuffer uint64
}

// counters holds Statistics as shared counters: the datapath adds to them without the adapter
// lock.
type counters struct {
	inDiscards, inErrors, rxNoBuffer sharedUint64
	in, out                          [numFrameKinds]kindCounters
	outErrors, outDiscards           sharedUint64
}

type kindCounters struct{ pkts, octets sharedUint64 }

// frameKind classifies a frame by its destination address, as the ifHC*Ucast/Multicast/Broadcast
// counters and the packet filter do.
type frameKind uint8

const (
	unicast frameKind = iota
	multicast
	broadcast
	numFrameKinds
)

// kindOf returns the kind of an Ethernet frame from its destination address (the first 6 bytes).
// The caller has checked len(frame) >= 6.
func kindOf(frame []byte) frameKind {
	switch {
	case frame[0]&1 == 0:
		return unicast
	case frame[0]&frame[1]&frame[2]&frame[3]&frame[4]&frame[5] == 0xFF:
		return broadcast
	}
	return multicast
}

// tally accumulates the counts of one chain so the atomics are touched once per chain.
type tally [numFrameKinds]struct{ pkts, octets uint64 }

func (t *tally) add(frame []byte, length uint32) {
	k := unicast
	if len(frame) >= 6 {
		k = kindOf(frame)
	}
	t[k].pkts++
	t[k].octets += uint64(length)
}

func (c *counters) addIn(t *tally) {
	for k := range t {
		if t[k].pkts != 0 {
			c.in[k].pkts.Add(t[k].pkts)
			c.in[k].octets.Add(t[k].octets)
		}
	}
}

func (c *counters) addOut(t *tally) {
	for k := range t {
		if t[k].pkts != 0 {
			c.out[k].pkts.Add(t[k].pkts)
			c.out[k].octets.Add(t[k].octets)
		}
	}
}

// Statistics returns a snapshot of the counters.
func (a *Adapter) Statistics() Statistics {
	c := &a.stats
	s := Statistics{
		InDiscards:         c.inDiscards.Load(),
		InErrors:           c.inErrors.Load(),
		RxNoBuffer:         c.rxNoBuffer.Load(),
		OutErrors:          c.outErrors.Load(),
		OutDiscards:        c.outDiscards.Load(),
		InUcastPkts:        c.in[unicast].pkts.Load(),
		InMulticastPkts:    c.in[multicast].pkts.Load(),
		InBroadcastPkts:    c.in[broadcast].pkts.Load(),
		InUcastOctets:      c.in[unicast].octets.Load(),
		InMulticastOctets:  c.in[multicast].octets.Load(),
		InBroadcastOctets:  c.in[broadcast].octets.Load(),
		OutUcastPkts:       c.out[unicast].pkts.Load(),
		OutMulticastPkts:   c.out[multicast].pkts.Load(),
		OutBroadcastPkts:   c.out[broadcast].pkts.Load(),
		OutUcastOctets:     c.out[unicast].octets.Load(),
		OutMulticastOctets: c.out[multicast].octets.Load(),
		OutBroadcastOctets: c.out[broadcast].octets.Load(),
	}
	s.InOctets = s.InUcastOctets + s.InMulticastOctets + s.InBroadcastOctets
	s.OutOctets = s.OutUcastOctets + s.OutMulticastOctets + s.OutBroadcastOctets
	return s
}

// CountReceiveErrors adds n to ifInErrors: frames the miniport received but could not make sense
// of (a bad length in a USB transfer, a runt frame). They are never indicated.
func (a *Adapter) CountReceiveErrors(n int) { a.stats.inErrors.Add(uint64(n)) }

// countNoBuffer records one frame dropped because the receive free list was empty.
func (a *Adapter) countNoBuffer() {
	a.stats.rxNoBuffer.Add(1)
	a.stats.inDiscards.Add(1)
}

// rxFilter is the receive filter the adapter applies: the packet filter, the current address and
// the multicast list. It is replaced whole on every change, so the datapath reads it with one
// atomic load and no lock.
type rxFilter struct {
	bits      uint32
	mac       uint64 // the current address, as addr48 reads it
	multicast [][6]byte
	maxTotal  int // OID_GEN_MAXIMUM_TOTAL_SIZE; 0 before the first initialize
}

// accepts reports whether a frame with destination address dst passes the filter. With filter 0
// nothing passes (specs/ndis.md §6: the filter is 0 after initialize, which disables indications).
func (f *rxFilter) accepts(dst []byte) bool {
	if f.bits&FilterPromiscuous != 0 {
		return true
	}
	switch kindOf(dst) {
	case broadcast:
		return f.bits&FilterBroadcast != 0
	case multicast:
		if f.bits&FilterAllMulticast != 0 {
			return true
		}
		return f.bits&FilterMulticast != 0 && slices.Contains(f.multicast, [6]byte(dst[:6]))
	}
	return f.bits&FilterDirected != 0 && addr48(dst) == f.mac
}

// addr48 reads the MAC address at the start of b as a number: one compare of two of them costs
// half as much as comparing [6]byte arrays under GOOS=js, for every frame.
func addr48(b []byte) uint64 {
	_ = b[5]
	return uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint16(b[4:]))<<32
}

// Accepts reports whether the adapter's current packet filter, address and multicast list let a
// frame through (NDIS_RECEIVE_FLAGS_PERFECT_FILTERED semantics). Frames shorter than an Ethernet
// destination address never pass. RxEngine applies it to every committed frame; a miniport that
// indicates on its own must apply it before indicating.
func (a *Adapter) Accepts(frame []byte) bool {
	return len(frame) >= 6 && a.filter.Load().accepts(frame)
}

// PacketFilter returns the current packet filter (Filter* bits).
func (a *Adapter) PacketFilter() uint32 { return a.filter.Load().bits }
