package sim

// Stats are a device's counters, like a netdev's statistics seen from the adapter: "Rx" is the
// direction wire → host (frames the device received from its Ethernet port and delivered in IN
// transfers), "Tx" is host → wire.
type Stats struct {
	RxFrames    uint64 // frames delivered to the host
	RxBytes     uint64 // bytes of those frames (Ethernet header and payload, no framing)
	RxMulticast uint64 // multicast and broadcast frames among them
	RxFiltered  uint64 // frames the receive filter rejected
	// RxDropped counts frames lost inside the device: received while the receiver or link was
	// down, longer than the chip accepts, or in a transfer the host's buffer could not hold.
	RxDropped uint64

	TxFrames  uint64 // frames put on the wire
	TxBytes   uint64 // bytes of those frames
	TxErrors  uint64 // OUT transfers (or records in them) rejected for bad framing
	TxDropped uint64 // well-formed frames not sent because the link was down
	// LastTxError says what the last rejected OUT transfer had wrong, and where.
	LastTxError string

	ControlTransfers uint64
	InTransfers      uint64 // IN transfers completed with data (bulk and interrupt)
	OutTransfers     uint64
	Stalls           uint64 // transfers and requests that ended with a stall
	Babbles          uint64 // IN transfers that ended with babble
}
