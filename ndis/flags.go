package ndis

// ReceiveFlags are the NDIS_RECEIVE_FLAGS_* of NdisMIndicateReceiveNetBufferLists (specs/ndis.md §3.1).
type ReceiveFlags uint32

// Receive flags.
const (
	// ReceiveDispatchLevel (NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL): carried through, no meaning here.
	ReceiveDispatchLevel ReceiveFlags = 0x1
	// ReceiveResources (NDIS_RECEIVE_FLAGS_RESOURCES): the miniport owns the NBLs again as soon as
	// the indicate call returns; the protocol must copy what it needs and never return them.
	ReceiveResources ReceiveFlags = 0x2
	// ReceivePerfectFiltered (NDIS_RECEIVE_FLAGS_PERFECT_FILTERED): every frame matches the packet
	// filter and multicast list. RxEngine sets it because it filters before indicating.
	ReceivePerfectFiltered ReceiveFlags = 0x400
)

// ReturnFlags are the NDIS_RETURN_FLAGS_* of NdisReturnNetBufferLists / MiniportReturnNetBufferLists.
type ReturnFlags uint32

// ReturnDispatchLevel is NDIS_RETURN_FLAGS_DISPATCH_LEVEL.
const ReturnDispatchLevel ReturnFlags = 0x1

// SendFlags are the NDIS_SEND_FLAGS_* of NdisSendNetBufferLists / MiniportSendNetBufferLists.
type SendFlags uint32

// SendDispatchLevel is NDIS_SEND_FLAGS_DISPATCH_LEVEL.
const SendDispatchLevel SendFlags = 0x1

// SendCompleteFlags are the NDIS_SEND_COMPLETE_FLAGS_* of NdisMSendNetBufferListsComplete.
type SendCompleteFlags uint32

// SendCompleteDispatchLevel is NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL.
const SendCompleteDispatchLevel SendCompleteFlags = 0x1

// Packet filter bits (NDIS_PACKET_TYPE_*, specs/ndis.md §6), the value of
// OID_GEN_CURRENT_PACKET_FILTER. These five are the ones netvmini supports and the only ones an
// Ethernet miniport here may advertise.
const (
	FilterDirected     uint32 = 0x01 // unicast frames to the current address
	FilterMulticast    uint32 = 0x02 // multicast frames to an address on the multicast list
	FilterAllMulticast uint32 = 0x04 // every multicast frame
	FilterBroadcast    uint32 = 0x08 // frames to ff:ff:ff:ff:ff:ff
	FilterPromiscuous  uint32 = 0x20 // every frame
)

// filterKnown is every packet filter bit an Ethernet adapter here can honour.
const filterKnown = FilterDirected | FilterMulticast | FilterAllMulticast | FilterBroadcast | FilterPromiscuous
