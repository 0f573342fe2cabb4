package ndis

import (
	"encoding/binary"
	"fmt"
	"slices"

	"webminiport/pool"
)

// OID is an NDIS object identifier. Values from public copies of ntddndis.h (specs/ndis.md §6,
// the rest cross-checked in several headers).
type OID uint32

// The OIDs the adapter answers or validates: the general and 802.3 OIDs a minimal Ethernet
// miniport must handle.
const (
	OIDGenMaximumFrameSize    OID = 0x00010106 // query: largest payload without the header
	OIDGenLinkSpeed           OID = 0x00010107 // query: link speed in units of 100 bit/s
	OIDGenTransmitBufferSpace OID = 0x00010108 // query
	OIDGenReceiveBufferSpace  OID = 0x00010109 // query
	OIDGenTransmitBlockSize   OID = 0x0001010A // query
	OIDGenReceiveBlockSize    OID = 0x0001010B // query
	OIDGenVendorID            OID = 0x0001010C // query
	OIDGenVendorDescription   OID = 0x0001010D // query: NUL-terminated string
	OIDGenCurrentPacketFilter OID = 0x0001010E // set (forwarded to the miniport) and query
	OIDGenCurrentLookahead    OID = 0x0001010F // set and query
	OIDGenMaximumTotalSize    OID = 0x00010111 // query: largest frame including the header
	OIDGenMediaConnectStatus  OID = 0x00010114 // query: 0 connected, 1 disconnected (NDIS 5 style)
	OIDGenVendorDriverVersion OID = 0x00010116 // query
	OIDGenLinkState           OID = 0x00010207 // query: NDIS_LINK_STATE
	OIDGenXmitOK              OID = 0x00020101 // query: frames sent
	OIDGenRcvOK               OID = 0x00020102 // query: frames received
	OIDGenXmitError           OID = 0x00020103 // query
	OIDGenRcvError            OID = 0x00020104 // query
	OIDGenRcvNoBuffer         OID = 0x00020105 // query: frames dropped for want of a receive buffer
	OIDGenStatistics          OID = 0x00020106 // query: NDIS_STATISTICS_INFO
	OID8023PermanentAddress   OID = 0x01010101 // query
	OID8023CurrentAddress     OID = 0x01010102 // query (the current address cannot be set through NDIS)
	OID8023MulticastList      OID = 0x01010103 // set (forwarded to the miniport) and query
	OID8023MaximumListSize    OID = 0x01010104 // query
)

var oidNames = map[OID]string{
	OIDGenMaximumFrameSize: "OID_GEN_MAXIMUM_FRAME_SIZE", OIDGenLinkSpeed: "OID_GEN_LINK_SPEED",
	OIDGenTransmitBufferSpace: "OID_GEN_TRANSMIT_BUFFER_SPACE", OIDGenReceiveBufferSpace: "OID_GEN_RECEIVE_BUFFER_SPACE",
	OIDGenTransmitBlockSize: "OID_GEN_TRANSMIT_BLOCK_SIZE", OIDGenReceiveBlockSize: "OID_GEN_RECEIVE_BLOCK_SIZE",
	OIDGenVendorID: "OID_GEN_VENDOR_ID", OIDGenVendorDescription: "OID_GEN_VENDOR_DESCRIPTION",
	OIDGenCurrentPacketFilter: "OID_GEN_CURRENT_PACKET_FILTER", OIDGenCurrentLookahead: "OID_GEN_CURRENT_LOOKAHEAD",
	OIDGenMaximumTotalSize: "OID_GEN_MAXIMUM_TOTAL_SIZE", OIDGenMediaConnectStatus: "OID_GEN_MEDIA_CONNECT_STATUS",
	OIDGenVendorDriverVersion: "OID_GEN_VENDOR_DRIVER_VERSION", OIDGenLinkState: "OID_GEN_LINK_STATE",
	OIDGenXmitOK: "OID_GEN_XMIT_OK", OIDGenRcvOK: "OID_GEN_RCV_OK", OIDGenXmitError: "OID_GEN_XMIT_ERROR",
	OIDGenRcvError: "OID_GEN_RCV_ERROR", OIDGenRcvNoBuffer: "OID_GEN_RCV_NO_BUFFER", OIDGenStatistics: "OID_GEN_STATISTICS",
	OID8023PermanentAddress: "OID_802_3_PERMANENT_ADDRESS", OID8023CurrentAddress: "OID_802_3_CURRENT_ADDRESS",
	OID8023MulticastList: "OID_802_3_MULTICAST_LIST", OID8023MaximumListSize: "OID_802_3_MAXIMUM_LIST_SIZE",
}

func (o OID) String() string {
	if n, ok := oidNames[o]; ok {
		return n
	}
	return fmt.Sprintf("OID(%#08x)", uint32(o))
}

// RequestType is the NDIS_REQUEST_TYPE of an OID request.
type RequestType uint8

// Request types.
const (
	OIDQuery RequestType = iota // NdisRequestQueryInformation
	OIDSet                      // NdisRequestSetInformation
)

// OIDRequest is an NDIS_OID_REQUEST. The caller owns it until it is completed.
type OIDRequest struct {
	Type RequestType
	OID  OID
	// Buffer is the InformationBuffer: the space for the answer of a query, the value of a set.
	// Integers are little-endian, as on Windows.
	Buffer []byte
	// Results: BytesWritten (query) or BytesRead (set); BytesNeeded when the buffer was wrong.
	BytesWritten, BytesRead, BytesNeeded int

	forwarded bool // given to the miniport and not yet completed
}

// Uint32 returns the 4-byte value of a set request (a packet filter); ok is false for another length.
func (r *OIDRequest) Uint32() (v uint32, ok bool) {
	if len(r.Buffer) != 4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(r.Buffer), true
}

// Addresses returns the addresses of an OID8023MulticastList set (6 bytes each).
func (r *OIDRequest) Addresses() [][6]byte {
	out := make([][6]byte, len(r.Buffer)/6)
	for i := range out {
		out[i] = [6]byte(r.Buffer[6*i:])
	}
	return out
}

// Sizes of the NDIS structures the adapter writes.
const (
	ethernetHeaderLen = 14
	statisticsInfoLen = 152 // NDIS_SIZEOF_STATISTICS_INFO_REVISION_1: header, flags, 18 ULONG64
	linkStateLen      = 40  // NDIS_SIZEOF_LINK_STATE_REVISION_1 (XmitLinkSpeed aligned to 8)
	objectTypeDefault = 0x80
)

// statisticsSupported is NDIS_STATISTICS_INFO.SupportedStatistics: every NDIS_STATISTICS_FLAGS_VALID_*
// bit of the 18 counters (0x1..0x400, 0x8000, 0x10000..0x200000).
const statisticsSupported = 0x003F87FF

// OIDRequest is NdisOidRequest from the bound protocol. Queries of the OIDs above are answered
// here from the attributes, link state and counters; sets are validated (INVALID_LENGTH for a
// wrong buffer length, NOT_SUPPORTED for unsupported packet filter bits or a query-only OID,
// MULTICAST_FULL for too many addresses) and the ones the hardware must act on are forwarded to the
// miniport one at a time, in order. It returns the request's status; for StatusPending the
// protocol's OIDRequestComplete follows. Requests are allowed in Paused, Restarting, Running and
// Pausing.
func (a *Adapter) OIDRequest(req *OIDRequest) (Status, error) {
	a.mu.Lock()
	if a.binding.Load() == nil {
		a.mu.Unlock()
		return StatusFailure, a.illegal("OID request %v with no protocol bound", req.OID)
	}
	if _, err := Transition(a.state, EventOIDRequest); err != nil {
		st := a.state
		a.mu.Unlock()
		return StatusFailure, a.illegal("OID request %v in state %v", req.OID, st)
	}
	req.BytesWritten, req.BytesRead, req.BytesNeeded = 0, 0, 0
	var st Status
	var forward bool
	if req.Type == OIDQuery {
		st, forward = a.queryLocked(req)
	} else {
		st, forward = a.setLocked(req)
	}
	if !forward {
		a.mu.Unlock()
		return st, nil
	}
	req.forwarded = true
	if a.oidActive != nil {
		a.oidQueue = append(a.oidQueue, req)
		a.mu.Unlock()
		return StatusPending, nil
	}
	a.oidActive = req
	a.mu.Unlock()

	st = a.mp.OIDRequest(req)
	if st == StatusPending {
		return StatusPending, nil
	}
	_, err := a.finishOID(req, st)
	a.startQueuedOIDs()
	return st, err
}

// OIDComplete is NdisMOidRequestComplete: the miniport finishes a request it answered with
// StatusPending. Completing a request that is not pending (twice, or never forwarded) is
// OID_DOUBLE_COMPLETE.
func (a *Adapter) OIDComplete(req *OIDRequest, st Status) error {
	done, err := a.finishOID(req, st)
	if !done {
		return err
	}
	if b := a.binding.Load(); b != nil {
		b.proto.OIDRequestComplete(req, st)
	}
	a.startQueuedOIDs()
	return err
}

// finishOID ends the active request: checks the miniport's answer and applies a successful set.
// done is false when req was not pending at all (then nothing happened but the report).
func (a *Adapter) finishOID(req *OIDRequest, st Status) (done bool, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.oidActive != req || !req.forwarded {
		return false, a.misuse(pool.OIDDoubleComplete, nil, 0, "adapter %q: %v completed but not pending", a.name, req.OID)
	}
	req.forwarded = false
	a.oidActive = nil
	if req.BytesWritten > len(req.Buffer) {
		err := a.misuse(pool.OIDBufferOverflow, nil, 0, "adapter %q: %v completed with BytesWritten %d > buffer %d", a.name, req.OID, req.BytesWritten, len(req.Buffer))
		req.BytesWritten = len(req.Buffer)
		return true, err
	}
	if req.Type != OIDSet {
		return true, nil
	}
	switch req.OID {
	case OIDGenCurrentPacketFilter:
		if st != StatusSuccess {
			// The adapter checked the length and that every bit is one the miniport advertised,
			// so the set cannot fail for a reason of the request's (modelling choice for the
			// "must-succeed OID" class of 0x7C/0x1C).
			return true, a.misuse(pool.OIDMustSucceedFailed, nil, 0, "adapter %q: miniport failed %v with %v although the filter is one it advertised", a.name, req.OID, st)
		}
		bits, _ := req.Uint32()
		f := *a.filter.Load()
		f.bits = bits
		a.filter.Store(&f)
		req.BytesRead = 4
	case OID8023MulticastList:
		if st == StatusSuccess {
			a.multicast = req.Addresses()
			f := *a.filter.Load()
			f.multicast = slices.Clone(a.multicast)
			a.filter.Store(&f)
			req.BytesRead = len(req.Buffer)
		}
	}
	return true, nil
}

// startQueuedOIDs hands waiting requests to the miniport until one pends.
func (a *Adapter) startQueuedOIDs() {
	for {
		a.mu.Lock()
		if a.oidActive != nil || len(a.oidQueue) == 0 {
			a.mu.Unlock()
			return
		}
		req := a.oidQueue[0]
		a.oidQueue = a.oidQueue[1:]
		a.oidActive = req
		a.mu.Unlock()
		st := a.mp.OIDRequest(req)
		if st == StatusPending {
			return
		}
		_, _ = a.finishOID(req, st) // a misuse is in Reports; the protocol gets the status
		if b := a.binding.Load(); b != nil {
			b.proto.OIDRequestComplete(req, st)
		}
	}
}

// queryLocked answers a query; forward is true for an OID the adapter does not know.
func (a *Adapter) queryLocked(req *OIDRequest) (st Status, forward bool) {
	at := &a.attrs
	maxTotal := uint32(at.MaxFrameSize + ethernetHeaderLen)
	switch req.OID {
	case OIDGenCurrentPacketFilter:
		return put32(req, a.filter.Load().bits), false
	case OIDGenCurrentLookahead:
		return put32(req, a.lookahead), false
	case OIDGenMaximumFrameSize:
		return put32(req, uint32(at.MaxFrameSize)), false
	case OIDGenMaximumTotalSize, OIDGenTransmitBlockSize, OIDGenReceiveBlockSize:
		return put32(req, maxTotal), false
	case OIDGenTransmitBufferSpace:
		return put32(req, uint32(at.TransmitBufferSpace)), false
	case OIDGenReceiveBufferSpace:
		return put32(req, uint32(at.ReceiveBufferSpace)), false
	case OIDGenVendorID:
		return put32(req, at.VendorID), false
	case OIDGenVendorDescription:
		return putBytes(req, append([]byte(at.VendorDescription), 0)), false
	case OIDGenVendorDriverVersion:
		return put32(req, at.VendorDriverVersion), false
	case OIDGenLinkSpeed:
		return put32(req, uint32(max(a.link.XmitSpeed, a.link.RcvSpeed)/100)), false
	case OIDGenMediaConnectStatus:
		var v uint32 // NdisMediaStateConnected
		if a.link.MediaConnect != MediaConnectConnected {
			v = 1 // NdisMediaStateDisconnected
		}
		return put32(req, v), false
	case OIDGenLinkState:
		return putBytes(req, a.link.marshal()), false
	case OIDGenStatistics:
		return putBytes(req, a.Statistics().marshal()), false
	case OIDGenXmitOK:
		s := a.Statistics()
		return putCounter(req, s.OutUcastPkts+s.OutMulticastPkts+s.OutBroadcastPkts), false
	case OIDGenRcvOK:
		s := a.Statistics()
		return putCounter(req, s.InUcastPkts+s.InMulticastPkts+s.InBroadcastPkts), false
	case OIDGenXmitError:
		return putCounter(req, a.stats.outErrors.Load()), false
	case OIDGenRcvError:
		return putCounter(req, a.stats.inErrors.Load()), false
	case OIDGenRcvNoBuffer:
		return putCounter(req, a.stats.rxNoBuffer.Load()), false
	case OID8023PermanentAddress:
		return putBytes(req, at.PermanentMAC[:]), false
	case OID8023CurrentAddress:
		return putBytes(req, at.MAC[:]), false
	case OID8023MulticastList:
		b := make([]byte, 0, 6*len(a.multicast))
		for _, m := range a.multicast {
			b = append(b, m[:]...)
		}
		return putBytes(req, b), false
	case OID8023MaximumListSize:
		return put32(req, uint32(at.MaxMulticastList)), false
	}
	return 0, true
}

// setLocked validates a set; forward is true when the miniport must act on it.
func (a *Adapter) setLocked(req *OIDRequest) (st Status, forward bool) {
	switch req.OID {
	case OIDGenCurrentPacketFilter:
		bits, ok := req.Uint32()
		switch {
		case !ok:
			req.BytesNeeded = 4
			return StatusInvalidLength, false
		case bits&^a.attrs.SupportedPacketFilters != 0:
			return StatusNotSupported, false
		}
		return 0, true
	case OIDGenCurrentLookahead:
		v, ok := req.Uint32()
		switch {
		case !ok:
			req.BytesNeeded = 4
			return StatusInvalidLength, false
		case v > uint32(a.attrs.MaxFrameSize):
			return StatusInvalidData, false
		}
		a.lookahead = v
		req.BytesRead = 4
		return StatusSuccess, false
	case OID8023MulticastList:
		n := len(req.Buffer) / 6
		switch {
		case len(req.Buffer)%6 != 0:
			req.BytesNeeded = 6 * n
			return StatusInvalidLength, false
		case n > a.attrs.MaxMulticastList:
			req.BytesNeeded = 6 * a.attrs.MaxMulticastList
			return StatusMulticastFull, false
		}
		return 0, true
	}
	if _, known := oidNames[req.OID]; known {
		return StatusNotSupported, false // a query-only OID
	}
	return 0, true
}

func put32(req *OIDRequest, v uint32) Status {
	if len(req.Buffer) < 4 {
		req.BytesNeeded = 4
		return StatusBufferTooShort
	}
	binary.LittleEndian.PutUint32(req.Buffer, v)
	req.BytesWritten = 4
	return StatusSuccess
}

// putCounter answers a counter OID with 8 bytes, or with the low 4 when the buffer holds only
// 4 (BytesNeeded then says 8), as NDIS 6 allows for these OIDs.
func putCounter(req *OIDRequest, v uint64) Status {
	if len(req.Buffer) >= 8 {
		binary.LittleEndian.PutUint64(req.Buffer, v)
		req.BytesWritten = 8
		return StatusSuccess
	}
	st := put32(req, uint32(v))
	req.BytesNeeded = 8
	return st
}

func putBytes(req *OIDRequest, b []byte) Status {
	if len(req.Buffer) < len(b) {
		req.BytesNeeded = len(b)
		return StatusBufferTooShort
	}
	req.BytesWritten = copy(req.Buffer, b)
	return StatusSuccess
}

// marshal encodes NDIS_STATISTICS_INFO revision 1.
func (s Statistics) marshal() []byte {
	b := make([]byte, statisticsInfoLen)
	b[0], b[1] = objectTypeDefault, 1 // Header.Type, Header.Revision (NDIS_STATISTICS_INFO_REVISION_1)
	binary.LittleEndian.PutUint16(b[2:], statisticsInfoLen)
	binary.LittleEndian.PutUint32(b[4:], statisticsSupported)
	for i, v := range [...]uint64{
		s.InDiscards, s.InErrors, s.InOctets, s.InUcastPkts, s.InMulticastPkts, s.InBroadcastPkts,
		s.OutOctets, s.OutUcastPkts, s.OutMulticastPkts, s.OutBroadcastPkts, s.OutErrors, s.OutDiscards,
		s.InUcastOctets, s.InMulticastOctets, s.InBroadcastOctets,
		s.OutUcastOctets, s.OutMulticastOctets, s.OutBroadcastOctets,
	} {
		binary.LittleEndian.PutUint64(b[8+8*i:], v)
	}
	return b
}

// marshal encodes NDIS_LINK_STATE revision 1. Pause functions are reported as
// NdisPauseFunctionsUnknown (4): nothing here knows them.
func (l LinkState) marshal() []byte {
	b := make([]byte, linkStateLen)
	b[0], b[1] = objectTypeDefault, 1 // NDIS_LINK_STATE_REVISION_1
	binary.LittleEndian.PutUint16(b[2:], linkStateLen)
	binary.LittleEndian.PutUint32(b[4:], uint32(l.MediaConnect))
	binary.LittleEndian.PutUint32(b[8:], uint32(l.Duplex))
	binary.LittleEndian.PutUint64(b[16:], l.XmitSpeed)
	binary.LittleEndian.PutUint64(b[24:], l.RcvSpeed)
	binary.LittleEndian.PutUint32(b[32:], 4)
	return b
}
