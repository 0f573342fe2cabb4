package usbnic

import (
	"sync/atomic"

	"webminiport/ndis"
)

// counters are the core's statistics, as atomics: the datapath adds to them without a lock,
// once per transfer (never per frame).
type counters struct {
	rxSessions, rxTransfers, rxBytes, rxFrames, lastFrames, rxEmpty, rxCancelled atomic.Uint64
	rxErrors, rxStalls, rxBabbles, rxThrottles, rxKills                          atomic.Uint64
	rxFixupErrors, rxFrameErrors, indicateErrors                                 atomic.Uint64
	rxQueue, rxInFlight                                                          atomic.Int64

	txTransfers, txFrames, txBytes, txZLPs, txShort                   atomic.Uint64
	txErrors, txStalls, txThrottles, txDropped, txPaused, txNoCarrier atomic.Uint64

	intrTransfers, intrErrors, intrStalls, intrBabbles, statusErrors   atomic.Uint64
	linkChanges, linkResets, linkResetErrors, clearHalts, rxModeErrors atomic.Uint64
	removed                                                            atomic.Bool
}

// Stats is a snapshot of the core's counters for the page: transfers in flight, frames per
// transfer, and every kind of error. Frame drops for want of an NBL and the frames the packet
// filter refused are the receive engine's (ndis.RxEngine.Counts); the NDIS interface counters
// are the adapter's (ndis.Adapter.Statistics).
type Stats struct {
	RxQueue     int // bulk-IN transfers kept in flight
	RxInFlight  int // bulk-IN transfers in flight now
	RxSessions  uint64
	RxTransfers uint64 // completed bulk-IN transfers with data
	RxBytes     uint64
	RxFrames    uint64 // frames the rx fixup found
	LastFrames  uint64 // frames in the latest transfer
	RxEmpty     uint64 // zero-length transfers
	RxCancelled uint64 // transfers cancelled when a session ended (link down, pause, stall)

	RxErrors       uint64 // transfers that failed (usbnet: protocol, timeout errors)
	RxStalls       uint64 // transfers that ended with a stall (the halt is cleared)
	RxBabbles      uint64 // transfers that ended with babble (data dropped)
	RxThrottles    uint64 // 125 ms pauses after errors
	RxKills        uint64 // times RX stopped because more than 20 of 30 transfers failed
	RxFixupErrors  uint64 // transfers the minidriver found malformed
	RxFrameErrors  uint64 // frames the receive engine refused (runt, too long)
	IndicateErrors uint64 // indications ndis refused

	TxInFlight  int // bulk-OUT transfers in flight now
	TxTransfers uint64
	TxFrames    uint64
	TxBytes     uint64
	TxZLPs      uint64 // zero-length packets sent after a transfer
	TxShort     uint64 // transfers the device took only in part
	TxErrors    uint64
	TxStalls    uint64
	TxThrottles uint64
	TxDropped   uint64 // frames the minidriver refused (INVALID_LENGTH)
	TxPaused    uint64 // frames completed with PAUSED
	TxNoCarrier uint64 // frames completed with FAILURE: no link, or the device is gone

	IntrTransfers   uint64 // interrupt transfers passed to the minidriver's Status
	IntrErrors      uint64
	IntrStalls      uint64
	IntrBabbles     uint64
	StatusErrors    uint64 // interrupt transfers the minidriver could not parse
	LinkChanges     uint64
	LinkResets      uint64
	LinkResetErrors uint64
	ClearHalts      uint64
	RxModeErrors    uint64 // packet filter or multicast programming that failed
	Removed         bool
}

// FramesPerTransfer is the mean number of frames per bulk-IN transfer.
func (s Stats) FramesPerTransfer() float64 {
	if s.RxTransfers == 0 {
		return 0
	}
	return float64(s.RxFrames) / float64(s.RxTransfers)
}

// Stats returns a snapshot of the counters.
func (n *NIC) Stats() Stats {
	c := &n.stats
	return Stats{
		RxQueue: int(c.rxQueue.Load()), RxInFlight: int(c.rxInFlight.Load()), RxSessions: c.rxSessions.Load(),
		RxTransfers: c.rxTransfers.Load(), RxBytes: c.rxBytes.Load(), RxFrames: c.rxFrames.Load(),
		LastFrames: c.lastFrames.Load(), RxEmpty: c.rxEmpty.Load(), RxCancelled: c.rxCancelled.Load(),
		RxErrors: c.rxErrors.Load(), RxStalls: c.rxStalls.Load(), RxBabbles: c.rxBabbles.Load(),
		RxThrottles: c.rxThrottles.Load(), RxKills: c.rxKills.Load(), RxFixupErrors: c.rxFixupErrors.Load(),
		RxFrameErrors: c.rxFrameErrors.Load(), IndicateErrors: c.indicateErrors.Load(),
		TxInFlight: int(n.tx.inflight.Load()), TxTransfers: c.txTransfers.Load(), TxFrames: c.txFrames.Load(),
		TxBytes: c.txBytes.Load(), TxZLPs: c.txZLPs.Load(), TxShort: c.txShort.Load(), TxErrors: c.txErrors.Load(),
		TxStalls: c.txStalls.Load(), TxThrottles: c.txThrottles.Load(), TxDropped: c.txDropped.Load(),
		TxPaused: c.txPaused.Load(), TxNoCarrier: c.txNoCarrier.Load(),
		IntrTransfers: c.intrTransfers.Load(), IntrErrors: c.intrErrors.Load(), IntrStalls: c.intrStalls.Load(),
		IntrBabbles: c.intrBabbles.Load(), StatusErrors: c.statusErrors.Load(), LinkChanges: c.linkChanges.Load(),
		LinkResets: c.linkResets.Load(), LinkResetErrors: c.linkResetErrors.Load(), ClearHalts: c.clearHalts.Load(),
		RxModeErrors: c.rxModeErrors.Load(), Removed: c.removed.Load(),
	}
}

// Info is what the adapter bar shows: the device, the driver, the addresses, the link, the
// sizes the core runs with, and the latest log lines.
type Info struct {
	Driver            string
	VendorID          uint16
	ProductID         uint16
	Configuration     uint8
	BusSpeed          Speed
	MAC, PermanentMAC [6]byte
	Link              ndis.LinkState // disconnected without carrier or once removed
	Running           bool
	Removed           bool
	RxTransfers       int // bulk-IN transfers kept in flight while the carrier is on
	RxBufferSize      int
	TxTransfers       int
	TxBufferSize      int
	// Endpoint addresses bind chose; IntrEndpoint is 0 without a status endpoint.
	InEndpoint, OutEndpoint, IntrEndpoint uint8
	Log                                   []string // oldest first
}

// Info returns a snapshot of the adapter's description and state.
func (n *NIC) Info() Info {
	n.hookMu.Lock()
	d := n.dev
	n.hookMu.Unlock()
	n.mu.Lock()
	inf := Info{
		Driver: n.drv.Name, VendorID: n.desc.VendorID, ProductID: n.desc.ProductID, Configuration: n.cfg.Value,
		BusSpeed: d.Speed, MAC: d.MAC, PermanentMAC: d.PermanentMAC, Link: n.linkStateLocked(),
		Running: n.running, Removed: n.removed, RxTransfers: n.rxQueue, RxBufferSize: n.rxBufSize,
		TxTransfers: len(n.tx.slots), TxBufferSize: n.tx.bufSize,
		InEndpoint: d.In.Address, OutEndpoint: d.Out.Address, IntrEndpoint: d.Intr.Address,
	}
	n.mu.Unlock()
	n.logMu.Lock()
	if len(n.logs) < logLines {
		inf.Log = append(inf.Log, n.logs...)
	} else {
		k := int(n.logN % logLines)
		inf.Log = append(append(inf.Log, n.logs[k:]...), n.logs[:k]...)
	}
	n.logMu.Unlock()
	return inf
}
