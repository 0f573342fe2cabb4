package ndis_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"webminiport/ndis"
)

func query(t *testing.T, a *ndis.Adapter, oid ndis.OID, size int) (*ndis.OIDRequest, ndis.Status) {
	t.Helper()
	req := &ndis.OIDRequest{Type: ndis.OIDQuery, OID: oid, Buffer: make([]byte, size)}
	st, err := a.OIDRequest(req)
	if err != nil {
		t.Fatalf("query %v: %v", oid, err)
	}
	return req, st
}

// TestPacketFilterIsZeroAfterInitializeAndIndicatesNothing (§9 item 21): until a protocol sets
// the filter, no frame reaches it, and none is counted as received.
func TestPacketFilterIsZeroAfterInitializeAndIndicatesNothing(t *testing.T) {
	r := newRig(t, 8, 0, false)
	req, st := query(t, r.a, ndis.OIDGenCurrentPacketFilter, 4)
	if st != ndis.StatusSuccess || !bytes.Equal(req.Buffer, []byte{0, 0, 0, 0}) {
		t.Fatalf("packet filter after initialize: %v % x, want 0", st, req.Buffer)
	}
	if err := r.a.Restart(); err != nil {
		t.Fatal(err)
	}
	r.m.receive(t, frame(ourMAC, 60, 1), frame(bcastMAC, 60, 2), frame(mcastMAC, 60, 3))
	if r.p.indications != 0 {
		t.Fatalf("%d indications with filter 0", r.p.indications)
	}
	if c := r.m.rx.Counts(); c.Filtered != 3 || c.Free != 8 {
		t.Fatalf("counts with filter 0: %+v", c)
	}
	if s := r.a.Statistics(); s != (ndis.Statistics{}) {
		t.Fatalf("statistics with filter 0: %+v", s)
	}
}

// TestPacketFilterHonoursEachBit: directed, multicast (list), all-multicast, broadcast and
// promiscuous, against frames of every kind.
func TestPacketFilterHonoursEachBit(t *testing.T) {
	frames := []struct {
		name string
		dst  [6]byte
	}{{"to us", ourMAC}, {"to another station", otherMAC}, {"broadcast", bcastMAC}, {"multicast on the list", mcastMAC}, {"multicast not on the list", mcast2MAC}}
	cases := []struct {
		filter uint32
		want   [5]bool // by frames[] order
	}{
		{ndis.FilterDirected, [5]bool{true, false, false, false, false}},
		{ndis.FilterBroadcast, [5]bool{false, false, true, false, false}},
		{ndis.FilterMulticast, [5]bool{false, false, false, true, false}},
		{ndis.FilterAllMulticast, [5]bool{false, false, false, true, true}},
		{ndis.FilterPromiscuous, [5]bool{true, true, true, true, true}},
		{ndis.FilterDirected | ndis.FilterBroadcast | ndis.FilterMulticast, [5]bool{true, false, true, true, false}},
	}
	for _, c := range cases {
		r := newRig(t, 8, 0, true)
		setMulticast(t, r.a, mcastMAC)
		r.setFilter(t, c.filter)
		for i, f := range frames {
			before := len(r.p.frames)
			fr := frame(f.dst, 60, byte(i))
			if got := r.a.Accepts(fr); got != c.want[i] {
				t.Errorf("filter %#x, frame %s: Accepts %v, want %v", c.filter, f.name, got, c.want[i])
			}
			r.m.receive(t, fr)
			if got := len(r.p.frames) > before; got != c.want[i] {
				t.Errorf("filter %#x, frame %s: indicated %v, want %v", c.filter, f.name, got, c.want[i])
			}
		}
		if err := r.p.giveBackAll(); err != nil {
			t.Fatal(err)
		}
	}
}

func setMulticast(t *testing.T, a *ndis.Adapter, addrs ...[6]byte) {
	t.Helper()
	var b []byte
	for _, m := range addrs {
		b = append(b, m[:]...)
	}
	st, err := a.OIDRequest(&ndis.OIDRequest{Type: ndis.OIDSet, OID: ndis.OID8023MulticastList, Buffer: b})
	if st != ndis.StatusSuccess || err != nil {
		t.Fatalf("set multicast list: %v, %v", st, err)
	}
}

// TestOIDSetValidation: the statuses of §6 for bad sets.
func TestOIDSetValidation(t *testing.T) {
	r := newRig(t, 4, 0, true)
	cases := []struct {
		name   string
		oid    ndis.OID
		buf    []byte
		want   ndis.Status
		needed int
	}{
		{"packet filter of 2 bytes", ndis.OIDGenCurrentPacketFilter, []byte{1, 0}, ndis.StatusInvalidLength, 4},
		{"packet filter of 8 bytes", ndis.OIDGenCurrentPacketFilter, make([]byte, 8), ndis.StatusInvalidLength, 4},
		{"packet filter with SOURCE_ROUTING", ndis.OIDGenCurrentPacketFilter, []byte{0x11, 0, 0, 0}, ndis.StatusNotSupported, 0},
		{"packet filter with NO_LOCAL", ndis.OIDGenCurrentPacketFilter, []byte{0x01, 0, 1, 0}, ndis.StatusNotSupported, 0},
		{"multicast list of 7 bytes", ndis.OID8023MulticastList, make([]byte, 7), ndis.StatusInvalidLength, 6},
		{"multicast list of 5 addresses (max 4)", ndis.OID8023MulticastList, make([]byte, 30), ndis.StatusMulticastFull, 24},
		{"lookahead of 3 bytes", ndis.OIDGenCurrentLookahead, make([]byte, 3), ndis.StatusInvalidLength, 4},
		{"lookahead above the frame size", ndis.OIDGenCurrentLookahead, []byte{0xdd, 0x05, 0, 0}, ndis.StatusInvalidData, 0},
		{"a query-only OID", ndis.OIDGenMaximumFrameSize, make([]byte, 4), ndis.StatusNotSupported, 0},
		{"an OID nobody knows", 0xFF00FF00, make([]byte, 4), ndis.StatusNotSupported, 0},
	}
	for _, c := range cases {
		req := &ndis.OIDRequest{Type: ndis.OIDSet, OID: c.oid, Buffer: c.buf}
		st, err := r.a.OIDRequest(req)
		if err != nil || st != c.want || req.BytesNeeded != c.needed {
			t.Errorf("%s: %v, %v, BytesNeeded %d; want %v, BytesNeeded %d", c.name, st, err, req.BytesNeeded, c.want, c.needed)
		}
	}
	if got := r.a.PacketFilter(); got != ndis.FilterDirected|ndis.FilterBroadcast|ndis.FilterMulticast {
		t.Fatalf("a failed set changed the filter to %#x", got)
	}
	// A miniport that cannot do promiscuous mode.
	m := newTestMiniport(4, 0)
	m.attrs.SupportedPacketFilters = ndis.FilterDirected | ndis.FilterBroadcast
	a := ndis.New(m, ndis.Config{})
	if err := a.Initialize(); err != nil {
		t.Fatal(err)
	}
	if err := a.Bind(&testProtocol{a: a}); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.OIDRequest(filterSet(ndis.FilterPromiscuous)); st != ndis.StatusNotSupported {
		t.Fatalf("promiscuous on a miniport without it: %v, want NOT_SUPPORTED", st)
	}
}

// TestOIDQueriesAnswerFromAttributes: each query OID of §6 with its expected bytes, written out
// from the NDIS definitions (little-endian ULONGs, NDIS_LINK_STATE revision 1).
func TestOIDQueriesAnswerFromAttributes(t *testing.T) {
	r := newRig(t, 4, 0, true)
	setMulticast(t, r.a, mcastMAC, mcast2MAC)
	cases := []struct {
		oid  ndis.OID
		want []byte
	}{
		{ndis.OIDGenCurrentPacketFilter, []byte{0x0b, 0, 0, 0}},
		{ndis.OIDGenMaximumFrameSize, []byte{0xdc, 0x05, 0, 0}},          // 1500
		{ndis.OIDGenMaximumTotalSize, []byte{0xea, 0x05, 0, 0}},          // 1514
		{ndis.OIDGenCurrentLookahead, []byte{0xdc, 0x05, 0, 0}},          // 1500
		{ndis.OIDGenReceiveBufferSpace, []byte{0x00, 0x20, 0, 0}},        // 4 × 2048
		{ndis.OIDGenTransmitBufferSpace, []byte{0x00, 0x80, 0, 0}},       // 16 × 2048
		{ndis.OIDGenVendorID, []byte{0x01, 0xc6, 0x0e, 0x00}},            // 0x000EC601
		{ndis.OIDGenVendorDescription, []byte("test adapter\x00")},       // NUL-terminated
		{ndis.OIDGenVendorDriverVersion, []byte{0x02, 0x00, 0x01, 0x00}}, // 1.2
		{ndis.OIDGenLinkSpeed, []byte{0x80, 0x96, 0x98, 0x00}},           // 10,000,000 × 100 bit/s
		{ndis.OIDGenMediaConnectStatus, []byte{0, 0, 0, 0}},              // NdisMediaStateConnected
		{ndis.OID8023PermanentAddress, ourMAC[:]},
		{ndis.OID8023CurrentAddress, ourMAC[:]},
		{ndis.OID8023MaximumListSize, []byte{4, 0, 0, 0}},
		{ndis.OID8023MulticastList, append(append([]byte{}, mcastMAC[:]...), mcast2MAC[:]...)},
		{ndis.OIDGenLinkState, []byte{
			0x80, 0x01, 0x28, 0x00, // Header: NDIS_OBJECT_TYPE_DEFAULT, revision 1, size 40
			0x01, 0, 0, 0, // MediaConnectStateConnected
			0x02, 0, 0, 0, // MediaDuplexStateFull
			0, 0, 0, 0, // padding before the ULONG64
			0x00, 0xca, 0x9a, 0x3b, 0, 0, 0, 0, // XmitLinkSpeed 1e9
			0x00, 0xca, 0x9a, 0x3b, 0, 0, 0, 0, // RcvLinkSpeed 1e9
			0x04, 0, 0, 0, // NdisPauseFunctionsUnknown
			0, 0, 0, 0, // AutoNegotiationFlags
		}},
	}
	for _, c := range cases {
		req, st := query(t, r.a, c.oid, 64)
		if st != ndis.StatusSuccess || !bytes.Equal(req.Buffer[:req.BytesWritten], c.want) {
			t.Errorf("%v: %v % x, want % x", c.oid, st, req.Buffer[:req.BytesWritten], c.want)
		}
	}
	// Too small a buffer says how much is needed.
	req, st := query(t, r.a, ndis.OID8023CurrentAddress, 4)
	if st != ndis.StatusBufferTooShort || req.BytesNeeded != 6 || req.BytesWritten != 0 {
		t.Fatalf("address into 4 bytes: %v, written %d, needed %d", st, req.BytesWritten, req.BytesNeeded)
	}
}

// TestStatisticsOID: NDIS_STATISTICS_INFO after known traffic, field by field at the offsets of
// the structure (header 4, SupportedStatistics 4, then 18 ULONG64 in declaration order).
func TestStatisticsOID(t *testing.T) {
	r := newRig(t, 8, 0, true)
	r.m.receive(t, frame(ourMAC, 60, 1), frame(ourMAC, 100, 2), frame(bcastMAC, 342, 3))
	sp := newSendPool(t, r)
	if _, err := sp.Send(frame(bcastMAC, 42, 4), 0); err != nil {
		t.Fatal(err)
	}
	if err := r.m.completeSends(ndis.StatusSuccess); err != nil {
		t.Fatal(err)
	}
	r.a.CountReceiveErrors(2) // say, two USB transfers the minidriver could not parse
	req, st := query(t, r.a, ndis.OIDGenStatistics, 200)
	if st != ndis.StatusSuccess || req.BytesWritten != 152 {
		t.Fatalf("statistics: %v, %d bytes; want 152", st, req.BytesWritten)
	}
	b := req.Buffer
	if !bytes.Equal(b[:8], []byte{0x80, 0x01, 0x98, 0x00, 0xff, 0x87, 0x3f, 0x00}) {
		t.Fatalf("header and SupportedStatistics % x", b[:8])
	}
	field := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8+8*i:]) }
	for i, want := range map[int]uint64{
		0: 0, 1: 2, // ifInDiscards, ifInErrors
		2: 502, 3: 2, 4: 0, 5: 1, // ifHCInOctets, Ucast, Multicast, Broadcast packets
		6: 42, 7: 0, 8: 0, 9: 1, 10: 0, 11: 0, // ifHCOutOctets, Ucast, Multicast, Broadcast, ifOutErrors, ifOutDiscards
		12: 160, 13: 0, 14: 342, // ifHCIn{Ucast,Multicast,Broadcast}Octets
		15: 0, 16: 0, 17: 42, // ifHCOut{Ucast,Multicast,Broadcast}Octets
	} {
		if got := field(i); got != want {
			t.Errorf("NDIS_STATISTICS_INFO field %d = %d, want %d", i, got, want)
		}
	}
	// Counter OIDs answer 8 bytes, or 4 when that is all the buffer holds.
	req, st = query(t, r.a, ndis.OIDGenRcvOK, 8)
	if st != ndis.StatusSuccess || !bytes.Equal(req.Buffer, []byte{3, 0, 0, 0, 0, 0, 0, 0}) {
		t.Fatalf("RCV_OK: %v % x", st, req.Buffer)
	}
	req, st = query(t, r.a, ndis.OIDGenXmitOK, 4)
	if st != ndis.StatusSuccess || req.BytesWritten != 4 || req.BytesNeeded != 8 || req.Buffer[0] != 1 {
		t.Fatalf("XMIT_OK into 4 bytes: %v % x written %d needed %d", st, req.Buffer, req.BytesWritten, req.BytesNeeded)
	}
}

// TestPendingOIDsCompleteInOrder: a set the miniport pends completes through OIDComplete and the
// protocol's OIDRequestComplete; a second set waits for the first.
func TestPendingOIDsCompleteInOrder(t *testing.T) {
	r := newRig(t, 4, 0, true)
	r.m.pendOIDs = true
	first, second := filterSet(ndis.FilterPromiscuous), filterSet(ndis.FilterDirected)
	if st, err := r.a.OIDRequest(first); st != ndis.StatusPending || err != nil {
		t.Fatalf("first: %v, %v", st, err)
	}
	if st, err := r.a.OIDRequest(second); st != ndis.StatusPending || err != nil {
		t.Fatalf("second: %v, %v", st, err)
	}
	if len(r.m.pendingOIDs) != 1 {
		t.Fatalf("the miniport has %d requests; the second must wait", len(r.m.pendingOIDs))
	}
	if err := r.a.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := r.a.Halt(ndis.HaltDeviceDisabled); misuseClass(err) == 0 {
		t.Fatalf("halt with an OID pending: %v", err)
	}
	if r.a.PacketFilter() == ndis.FilterPromiscuous {
		t.Fatal("filter applied before the miniport completed the set")
	}
	if err := r.a.OIDComplete(first, ndis.StatusSuccess); err != nil {
		t.Fatal(err)
	}
	if r.a.PacketFilter() != ndis.FilterPromiscuous || len(r.m.pendingOIDs) != 2 {
		t.Fatalf("after the first completes: filter %#x, miniport has seen %d", r.a.PacketFilter(), len(r.m.pendingOIDs))
	}
	if err := r.a.OIDComplete(second, ndis.StatusSuccess); err != nil {
		t.Fatal(err)
	}
	if r.a.PacketFilter() != ndis.FilterDirected || len(r.p.oidDone) != 2 || r.p.oidDone[0] != first || r.p.oidStatus[1] != ndis.StatusSuccess {
		t.Fatalf("after both: filter %#x, protocol saw %d completions", r.a.PacketFilter(), len(r.p.oidDone))
	}
}

// TestLinkStatusIndication: a link-down indication reaches the protocol and the link OIDs.
func TestLinkStatusIndication(t *testing.T) {
	r := newRig(t, 4, 0, true)
	down := ndis.StatusIndication{Code: ndis.StatusLinkState, Link: ndis.LinkState{MediaConnect: ndis.MediaConnectDisconnected}}
	if err := r.a.IndicateStatus(down); err != nil {
		t.Fatal(err)
	}
	if len(r.p.indicated) != 1 || r.p.indicated[0] != down {
		t.Fatalf("protocol saw %v", r.p.indicated)
	}
	req, _ := query(t, r.a, ndis.OIDGenMediaConnectStatus, 4)
	if !bytes.Equal(req.Buffer, []byte{1, 0, 0, 0}) {
		t.Fatalf("media connect status % x, want NdisMediaStateDisconnected", req.Buffer)
	}
	up := ndis.StatusIndication{Code: ndis.StatusLinkState, Link: ndis.LinkState{MediaConnect: ndis.MediaConnectConnected, XmitSpeed: 100_000_000, RcvSpeed: 100_000_000}}
	if err := r.a.IndicateStatus(up); err != nil {
		t.Fatal(err)
	}
	req, _ = query(t, r.a, ndis.OIDGenLinkSpeed, 4)
	if !bytes.Equal(req.Buffer, []byte{0x40, 0x42, 0x0f, 0x00}) { // 1,000,000 × 100 bit/s
		t.Fatalf("link speed % x, want 100 Mbit/s", req.Buffer)
	}
}
