package ndis_test

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/pool"
)

var (
	ourMAC    = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	otherMAC  = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}
	peerMAC   = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
	bcastMAC  = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	mcastMAC  = [6]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb} // 224.0.0.251
	mcast2MAC = [6]byte{0x33, 0x33, 0x00, 0x00, 0x00, 0x01} // ff02::1
)

// frame builds an Ethernet frame of n bytes to dst from peerMAC; the payload bytes count up from
// seed so that frames can be told apart.
func frame(dst [6]byte, n int, seed byte) []byte {
	f := make([]byte, n)
	copy(f, dst[:])
	copy(f[6:], peerMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	for i := 14; i < n; i++ {
		f[i] = seed + byte(i)
	}
	return f
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testMiniport is a miniport following the seed's pattern with an RxEngine. Sends queue until
// the test completes them; forwarded OIDs answer oidStatus, or pend when pendOIDs is set.
type testMiniport struct {
	rxConfig   ndis.RxConfig
	attrs      ndis.Attributes
	initStatus ndis.Status

	a  *ndis.Adapter
	rx *ndis.RxEngine

	mu          sync.Mutex
	sends       []pool.NBL // queued send NBLs, in order
	oidStatus   ndis.Status
	pendOIDs    bool
	pendingOIDs []*ndis.OIDRequest
	oidSeen     []ndis.OID
	returned    int // NBLs that came back through ReturnNBLs
	haltErr     error
	halted      bool
	haltHook    func()      // runs at the start of Halt
	pauseStatus ndis.Status // when nonzero, Pause returns it instead of doing its job
}

func newTestMiniport(count, low int) *testMiniport {
	return &testMiniport{
		rxConfig: ndis.RxConfig{Name: "test rx", Count: count, DataSize: 2048, LowWatermark: low},
		attrs: ndis.Attributes{
			MAC: ourMAC, PermanentMAC: ourMAC, MaxFrameSize: 1500,
			SupportedPacketFilters: ndis.FilterDirected | ndis.FilterMulticast | ndis.FilterAllMulticast | ndis.FilterBroadcast | ndis.FilterPromiscuous,
			MaxMulticastList:       4,
			Link:                   ndis.LinkState{MediaConnect: ndis.MediaConnectConnected, Duplex: ndis.DuplexFull, XmitSpeed: 1_000_000_000, RcvSpeed: 1_000_000_000},
			VendorID:               0x000EC601, VendorDescription: "test adapter", VendorDriverVersion: 0x00010002,
			ReceiveBufferSpace: count * 2048, TransmitBufferSpace: 16 * 2048,
		},
	}
}

func (m *testMiniport) Initialize(a *ndis.Adapter) (ndis.Attributes, ndis.Status) {
	if m.initStatus != ndis.StatusSuccess {
		return ndis.Attributes{}, m.initStatus
	}
	m.a = a
	rx, err := ndis.NewRxEngine(a, m.rxConfig)
	if err != nil {
		return ndis.Attributes{}, ndis.StatusResources
	}
	m.rx = rx
	return m.attrs, ndis.StatusSuccess
}

func (m *testMiniport) Halt(ndis.HaltAction) {
	if m.haltHook != nil {
		m.haltHook()
	}
	m.mu.Lock()
	m.halted = true
	m.mu.Unlock()
	m.haltErr = m.rx.Free()
}

// Pause completes every queued send with PAUSED and waits for the receive NBLs to come back.
func (m *testMiniport) Pause() ndis.Status {
	if m.pauseStatus != 0 {
		return m.pauseStatus
	}
	if err := m.completeSends(ndis.StatusPaused); err != nil {
		panic(err)
	}
	if m.rx.Drain(func() { _ = m.a.PauseComplete() }) {
		return ndis.StatusSuccess
	}
	return ndis.StatusPending
}

func (m *testMiniport) Restart() ndis.Status { return ndis.StatusSuccess }

func (m *testMiniport) Send(chain pool.NBL, _ ndis.SendFlags) {
	p := pool.PoolOf(chain)
	m.mu.Lock()
	defer m.mu.Unlock()
	for h := chain; h != 0; h = p.Next(h) {
		m.sends = append(m.sends, h)
	}
}

// completeSends completes every queued send with status st, as one chain.
func (m *testMiniport) completeSends(st ndis.Status) error {
	m.mu.Lock()
	sends := m.sends
	m.sends = nil
	m.mu.Unlock()
	return m.complete(sends, st)
}

func (m *testMiniport) complete(sends []pool.NBL, st ndis.Status) error {
	if len(sends) == 0 {
		return nil
	}
	chain := linkChain(sends)
	for _, h := range sends {
		pool.PoolOf(h).SetStatus(h, uint32(st))
	}
	return m.a.SendComplete(chain, 0)
}

func (m *testMiniport) ReturnNBLs(chain pool.NBL, _ ndis.ReturnFlags) {
	n := pool.ChainLength(m.rx.Pool(), chain)
	m.mu.Lock()
	m.returned += n
	m.mu.Unlock()
	if err := m.rx.Return(chain); err != nil {
		panic(err)
	}
}

func (m *testMiniport) OIDRequest(req *ndis.OIDRequest) ndis.Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.oidSeen = append(m.oidSeen, req.OID)
	if m.pendOIDs {
		m.pendingOIDs = append(m.pendingOIDs, req)
		return ndis.StatusPending
	}
	if req.OID != ndis.OIDGenCurrentPacketFilter && req.OID != ndis.OID8023MulticastList {
		return ndis.StatusNotSupported
	}
	return m.oidStatus
}

func (m *testMiniport) CancelSend(id uint64) {
	m.mu.Lock()
	var cancel, keep []pool.NBL
	for _, h := range m.sends {
		if m.a.CancelID(h) == id {
			cancel = append(cancel, h)
		} else {
			keep = append(keep, h)
		}
	}
	m.sends = keep
	m.mu.Unlock()
	_ = m.complete(cancel, ndis.StatusSendAborted)
}

// receive copies frames into the engine and indicates them as one chain.
func (m *testMiniport) receive(t testing.TB, frames ...[]byte) {
	t.Helper()
	for _, f := range frames {
		if err := m.rx.CopyFrame(f); err != nil {
			t.Fatalf("CopyFrame: %v", err)
		}
	}
	if err := m.rx.Flush(0); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// linkChain links NBLs (which the caller owns) into a chain in the order given.
func linkChain(nbls []pool.NBL) pool.NBL {
	for i, h := range nbls {
		next := pool.NBL(0)
		if i+1 < len(nbls) {
			next = nbls[i+1]
		}
		if err := pool.PoolOf(h).SetNext(h, next); err != nil {
			panic(err)
		}
	}
	if len(nbls) == 0 {
		return 0
	}
	return nbls[0]
}

// testProtocol records what it receives. It keeps NBLs indicated without RESOURCES until the
// test returns them, unless returnAtOnce is set; it copies every frame it sees.
type testProtocol struct {
	a *ndis.Adapter

	mu            sync.Mutex
	returnAtOnce  bool
	held          []pool.NBL
	frames        [][]byte
	indications   int
	resourcesSeen int
	tamper        func(p *pool.Pool, chain pool.NBL)
	completed     []pool.NBL
	statuses      []ndis.Status
	indicated     []ndis.StatusIndication
	oidDone       []*ndis.OIDRequest
	oidStatus     []ndis.Status
}

func (t *testProtocol) ReceiveNBLs(p *pool.Pool, chain pool.NBL, count int, flags ndis.ReceiveFlags) {
	t.mu.Lock()
	t.indications++
	var mine []pool.NBL
	for h := chain; h != 0; h = p.Next(h) {
		t.frames = append(t.frames, append([]byte(nil), p.Data(p.FirstNB(h))...))
		mine = append(mine, h)
	}
	if flags&ndis.ReceiveResources != 0 {
		t.resourcesSeen++
	}
	tamper, atOnce := t.tamper, t.returnAtOnce
	if flags&ndis.ReceiveResources == 0 && !atOnce {
		t.held = append(t.held, mine...)
	}
	t.mu.Unlock()
	if tamper != nil {
		tamper(p, chain)
	}
	if flags&ndis.ReceiveResources == 0 && atOnce {
		if err := t.a.ReturnNBLs(chain, 0); err != nil {
			panic(err)
		}
	}
}

// giveBack returns the held NBLs at the given positions as one chain, in that order.
func (t *testProtocol) giveBack(idx ...int) error {
	t.mu.Lock()
	var out []pool.NBL
	taken := map[int]bool{}
	for _, i := range idx {
		out = append(out, t.held[i])
		taken[i] = true
	}
	var keep []pool.NBL
	for i, h := range t.held {
		if !taken[i] {
			keep = append(keep, h)
		}
	}
	t.held = keep
	t.mu.Unlock()
	return t.a.ReturnNBLs(linkChain(out), 0)
}

// giveBackAll returns every held NBL.
func (t *testProtocol) giveBackAll() error {
	t.mu.Lock()
	n := len(t.held)
	t.mu.Unlock()
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if n == 0 {
		return nil
	}
	return t.giveBack(idx...)
}

func (t *testProtocol) heldCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.held)
}

func (t *testProtocol) SendComplete(chain pool.NBL, _ ndis.SendCompleteFlags) {
	p := pool.PoolOf(chain)
	t.mu.Lock()
	defer t.mu.Unlock()
	for h := chain; h != 0; h = p.Next(h) {
		t.completed = append(t.completed, h)
		t.statuses = append(t.statuses, ndis.Status(p.Status(h)))
	}
}

func (t *testProtocol) Status(s ndis.StatusIndication) {
	t.mu.Lock()
	t.indicated = append(t.indicated, s)
	t.mu.Unlock()
}

func (t *testProtocol) OIDRequestComplete(req *ndis.OIDRequest, st ndis.Status) {
	t.mu.Lock()
	t.oidDone = append(t.oidDone, req)
	t.oidStatus = append(t.oidStatus, st)
	t.mu.Unlock()
}

// rig is an adapter with a test miniport and a bound test protocol.
type rig struct {
	a     *ndis.Adapter
	m     *testMiniport
	p     *testProtocol
	clock *fakeClock
}

// newRig initializes an adapter with count receive NBLs (low watermark low), binds a protocol,
// and, when running is set, restarts it and sets the packet filter to directed|broadcast|multicast.
func newRig(t testing.TB, count, low int, running bool) *rig {
	t.Helper()
	r := &rig{m: newTestMiniport(count, low), clock: newFakeClock()}
	r.a = ndis.New(r.m, ndis.Config{Name: "test0", Clock: r.clock.Now})
	r.p = &testProtocol{a: r.a}
	if err := r.a.Initialize(); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	if err := r.a.Bind(r.p); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if running {
		if err := r.a.Restart(); err != nil {
			t.Fatalf("Restart: %v", err)
		}
		r.setFilter(t, ndis.FilterDirected|ndis.FilterBroadcast|ndis.FilterMulticast)
	}
	return r
}

func (r *rig) setFilter(t testing.TB, bits uint32) {
	t.Helper()
	req := &ndis.OIDRequest{Type: ndis.OIDSet, OID: ndis.OIDGenCurrentPacketFilter, Buffer: binary.LittleEndian.AppendUint32(nil, bits)}
	if st, err := r.a.OIDRequest(req); st != ndis.StatusSuccess || err != nil {
		t.Fatalf("set packet filter %#x: %v, %v", bits, st, err)
	}
}

// misuseClass returns the class of the first *pool.MisuseError in err, or 0.
func misuseClass(err error) pool.MisuseClass {
	var me *pool.MisuseError
	if errors.As(err, &me) {
		return me.Class
	}
	return 0
}

// hasReport reports whether the adapter has a report of class c.
func hasReport(a *ndis.Adapter, c pool.MisuseClass) bool {
	for _, r := range a.Reports() {
		if r.Err.Class == c {
			return true
		}
	}
	return false
}
