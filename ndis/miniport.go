package ndis

import "webminiport/pool"

// Miniport is what a miniport driver implements: the MiniportXxx handlers NDIS calls. A miniport
// calls back through the *Adapter it gets in Initialize (the NdisMXxx functions).
//
// Handlers may call back into the adapter (complete a pause from inside Pause, complete sends from
// inside Send, ...): the adapter never holds a lock while it calls a handler.
type Miniport interface {
	// Initialize is MiniportInitializeEx. It allocates what the adapter needs (NBL pools through
	// a.AllocateNBLPool, preallocated receive NBLs — see NewRxEngine), and returns the adapter's
	// attributes (what NdisMSetMiniportAttributes registers) with StatusSuccess, or a failure
	// status (NOT_ACCEPTED, RESOURCES, FAILURE) after releasing everything it allocated itself:
	// NDIS does not call Halt after a failed initialize.
	Initialize(a *Adapter) (Attributes, Status)
	// Halt is MiniportHaltEx, called only in Paused with no OID request or send outstanding. It
	// must free every resource in reverse order of Initialize: the NBLs of its free lists, then
	// the pools.
	Halt(action HaltAction)
	// Pause is MiniportPause. It returns StatusSuccess when nothing is outstanding, or
	// StatusPending and later calls a.PauseComplete once every indicated NBL has been returned and
	// every send completed. A pause cannot fail: any other status is PAUSE_FAILED.
	Pause() Status
	// Restart is MiniportRestart: StatusSuccess, StatusPending (then a.RestartComplete), or a
	// failure (RESOURCES, FAILURE), which leaves the adapter Paused.
	Restart() Status
	// Send is MiniportSendNetBufferLists. The miniport owns the chain until it completes every
	// NBL through a.SendComplete, exactly once, with Status set (pool.SetStatus). a.SendFrame
	// gives the frame bytes of a send NBL. The adapter sends only while Running.
	Send(chain pool.NBL, flags SendFlags)
	// ReturnNBLs is MiniportReturnNetBufferLists: NBLs the miniport indicated without RESOURCES
	// come back, in any order and grouping. The miniport reads each NBL's Next before reusing it.
	ReturnNBLs(chain pool.NBL, flags ReturnFlags)
	// OIDRequest is MiniportOidRequest. The adapter answers every query of specs/ndis.md §6
	// itself and validates sets; the miniport sees the sets it must act on (OIDGenCurrentPacketFilter
	// and OID8023MulticastList: program the hardware; read the value with req.Uint32 /
	// req.Addresses) and
	// any OID the adapter does not know. It returns a status, or StatusPending and later calls
	// a.OIDComplete. For an OID it does not handle it returns StatusNotSupported.
	OIDRequest(req *OIDRequest) Status
	// CancelSend is MiniportCancelSend: complete, with StatusSendAborted, every queued send NBL
	// whose a.CancelID equals id.
	CancelSend(id uint64)
}

// ShutdownHandler is implemented by a miniport that has a MiniportShutdownEx handler: put the
// hardware into a known state (no resources are freed; the adapter is dead afterwards).
type ShutdownHandler interface {
	Shutdown(action ShutdownAction)
}

// Protocol is what a protocol driver bound to an adapter implements (the ProtocolXxx handlers).
// It calls the adapter back through ReturnNBLs, Send, CancelSends and OIDRequest.
type Protocol interface {
	// ReceiveNBLs is ProtocolReceiveNetBufferLists: a chain of count NBLs of pool p.
	// Without ReceiveResources in flags the protocol owns them until it passes them to
	// a.ReturnNBLs (at once or later, together or one by one). With ReceiveResources it must copy
	// what it needs before returning, must not return them, and must leave the chain's Next
	// links as it found them.
	ReceiveNBLs(p *pool.Pool, chain pool.NBL, count int, flags ReceiveFlags)
	// SendComplete is ProtocolSendNetBufferListsComplete: the NBLs of an earlier Send are the
	// protocol's again; each carries its final status (pool.Status).
	SendComplete(chain pool.NBL, flags SendCompleteFlags)
	// Status is ProtocolStatusEx: a status indication from the miniport (link state, speed).
	Status(s StatusIndication)
	// OIDRequestComplete is ProtocolOidRequestComplete, for a request a.OIDRequest answered with
	// StatusPending.
	OIDRequestComplete(req *OIDRequest, status Status)
}

// HaltAction is the NDIS_HALT_ACTION passed to MiniportHaltEx.
type HaltAction uint8

// Halt actions, in the order of the NDIS_HALT_ACTION enumeration.
const (
	HaltDeviceDisabled HaltAction = iota
	HaltDeviceInstanceDeInitialized
	HaltDevicePoweredDown
	HaltDeviceSurpriseRemoved
	HaltDeviceFailed
	HaltDeviceInitializationFailed
	HaltDeviceStopped
)

// ShutdownAction is the NDIS_SHUTDOWN_ACTION passed to MiniportShutdownEx.
type ShutdownAction uint8

// Shutdown actions.
const (
	ShutdownPowerOff ShutdownAction = iota // NdisShutdownPowerOff
	ShutdownBugCheck                       // NdisShutdownBugCheck
)

// Attributes are what a miniport registers in Initialize (NdisMSetMiniportAttributes with the
// general attributes): the adapter answers the query OIDs from them.
type Attributes struct {
	MAC          [6]byte // current address (OID_802_3_CURRENT_ADDRESS)
	PermanentMAC [6]byte // burned-in address (OID_802_3_PERMANENT_ADDRESS)
	// MaxFrameSize is the largest payload without the 14-byte Ethernet header
	// (OID_GEN_MAXIMUM_FRAME_SIZE), 1500 for standard Ethernet.
	MaxFrameSize int
	// SupportedPacketFilters is the set of Filter* bits the miniport can honour; a packet filter
	// set with other bits fails with NOT_SUPPORTED.
	SupportedPacketFilters uint32
	// MaxMulticastList is the size of the multicast list (OID_802_3_MAXIMUM_LIST_SIZE).
	MaxMulticastList int
	// Link is the link state at the end of Initialize.
	Link LinkState
	// VendorID is OID_GEN_VENDOR_ID: the OUI in the three high-order bytes, a NIC id in the low one.
	VendorID uint32
	// VendorDescription is OID_GEN_VENDOR_DESCRIPTION.
	VendorDescription string
	// VendorDriverVersion is OID_GEN_VENDOR_DRIVER_VERSION: major in the high word, minor in the low.
	VendorDriverVersion uint32
	// ReceiveBufferSpace and TransmitBufferSpace are OID_GEN_RECEIVE_BUFFER_SPACE and
	// OID_GEN_TRANSMIT_BUFFER_SPACE: bytes of buffering on each side.
	ReceiveBufferSpace, TransmitBufferSpace int
}

// MediaConnectState is NDIS_MEDIA_CONNECT_STATE.
type MediaConnectState uint32

// Media connect states.
const (
	MediaConnectUnknown      MediaConnectState = 0 // MediaConnectStateUnknown
	MediaConnectConnected    MediaConnectState = 1 // MediaConnectStateConnected
	MediaConnectDisconnected MediaConnectState = 2 // MediaConnectStateDisconnected
)

func (m MediaConnectState) String() string {
	switch m {
	case MediaConnectConnected:
		return "connected"
	case MediaConnectDisconnected:
		return "disconnected"
	}
	return "unknown"
}

// MediaDuplexState is NDIS_MEDIA_DUPLEX_STATE.
type MediaDuplexState uint32

// Duplex states.
const (
	DuplexUnknown MediaDuplexState = 0 // MediaDuplexStateUnknown
	DuplexHalf    MediaDuplexState = 1 // MediaDuplexStateHalf
	DuplexFull    MediaDuplexState = 2 // MediaDuplexStateFull
)

// LinkState is NDIS_LINK_STATE: what OID_GEN_LINK_STATE answers and NDIS_STATUS_LINK_STATE carries.
type LinkState struct {
	MediaConnect MediaConnectState
	Duplex       MediaDuplexState
	XmitSpeed    uint64 // bits per second, 0 when unknown
	RcvSpeed     uint64 // bits per second, 0 when unknown
}

// StatusIndication is what NdisMIndicateStatusEx carries to the protocol. For Code ==
// StatusLinkState, Link is the new link state.
type StatusIndication struct {
	Code Status
	Link LinkState
}
