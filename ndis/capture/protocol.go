package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"webminiport/ndis"
	"webminiport/pool"
)

// ReturnPolicy says when the capture driver gives received NBLs back to the miniport.
type ReturnPolicy uint8

// Return policies. Whatever the policy, every frame is recorded before ReceiveNBLs returns, and
// NBLs indicated with NDIS_RECEIVE_FLAGS_RESOURCES are never kept (they cannot be).
const (
	// ReturnAtOnce returns every indication before ReceiveNBLs returns: line rate, nothing held.
	ReturnAtOnce ReturnPolicy = iota
	// ReturnAfterDelay returns each indication Delay after it arrived, as a slow protocol would.
	ReturnAfterDelay
	// ReturnHold keeps up to Hold NBLs and returns the rest at once; Release gives the kept ones
	// back. Holding most of the miniport's NBLs pushes it below its low watermark, into RESOURCES
	// indications, and holding all of them makes it drop frames.
	ReturnHold
)

func (p ReturnPolicy) String() string {
	switch p {
	case ReturnAtOnce:
		return "at once"
	case ReturnAfterDelay:
		return "after a delay"
	case ReturnHold:
		return "hold"
	}
	return fmt.Sprintf("ReturnPolicy(%d)", uint8(p))
}

// DriverConfig sets up a capture driver.
type DriverConfig struct {
	// Ring receives every frame; default a ring of NewRing(RingConfig{}) (32 MiB).
	Ring *Ring
	// PacketFilter is set when binding; default directed | multicast | all-multicast |
	// broadcast. Add ndis.FilterPromiscuous to see frames for other stations too.
	PacketFilter uint32
	// SendCount and SendSize size the send pool: NBLs and bytes per frame; defaults 16 and 1536.
	SendCount int
	SendSize  uint32
	// Policy, Delay and Hold: the return policy at start (see SetReturnPolicy).
	Policy ReturnPolicy
	Delay  time.Duration
	Hold   int
	// RecordSent records the frames the driver sends in the ring too, as a capture on the
	// sending host shows them.
	RecordSent bool
	// Clock timestamps recorded frames; default time.Now.
	Clock func() time.Time
	// AfterFunc runs f after d, for ReturnAfterDelay; default time.AfterFunc. Tests inject one.
	AfterFunc func(d time.Duration, f func())
}

// Driver is the protocol driver the page and the native tools bind to an adapter: it records
// every received frame into a capture Ring, returns the NBLs by a configurable policy, and sends
// test frames (ARP who-has, ICMP echo request, DHCP discover) from a send pool of its own. It
// implements ndis.Protocol. All methods are safe for concurrent use.
type Driver struct {
	cfg  DriverConfig
	ring *Ring

	a    *ndis.Adapter
	mac  [6]byte
	send *ndis.SendPool

	mu     sync.Mutex
	policy ReturnPolicy
	delay  time.Duration
	hold   int
	held   []pool.NBL // kept under ReturnHold, returned by Release
	link   ndis.LinkState

	indications, resources, frames, bytes atomic.Uint64
	returned, delayedNow                  atomic.Int64
	sent, sendOK, sendFailed              atomic.Uint64
	lastSendStatus, filterStatus          atomic.Uint32
}

// NewDriver makes a capture driver; Bind attaches it to an adapter.
func NewDriver(cfg DriverConfig) *Driver {
	if cfg.Ring == nil {
		cfg.Ring = NewRing(RingConfig{})
	}
	if cfg.PacketFilter == 0 {
		cfg.PacketFilter = ndis.FilterDirected | ndis.FilterMulticast | ndis.FilterAllMulticast | ndis.FilterBroadcast
	}
	if cfg.SendCount <= 0 {
		cfg.SendCount = 16
	}
	if cfg.SendSize == 0 {
		cfg.SendSize = 1536
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	return &Driver{cfg: cfg, ring: cfg.Ring, policy: cfg.Policy, delay: cfg.Delay, hold: cfg.Hold}
}

// Ring returns the capture ring.
func (d *Driver) Ring() *Ring { return d.ring }

// Bind binds the driver to adapter a (initialized, not halted): it makes its send pool, binds,
// reads the adapter's address and sets the packet filter. A filter set the miniport completes
// later shows in Counters().FilterStatus.
func (d *Driver) Bind(a *ndis.Adapter) error {
	if d.a != nil {
		return errors.New("capture: driver is already bound")
	}
	sp, err := ndis.NewSendPool(a, ndis.SendPoolConfig{Name: a.Name() + " capture tx", Count: d.cfg.SendCount, DataSize: d.cfg.SendSize})
	if err != nil {
		return fmt.Errorf("capture: send pool: %w", err)
	}
	// Set before binding: the first indication may arrive as soon as a.Bind returns.
	d.a, d.send = a, sp
	if err := a.Bind(d); err != nil {
		d.a, d.send = nil, nil
		return errors.Join(fmt.Errorf("capture: bind: %w", err), sp.Free())
	}
	q := &ndis.OIDRequest{Type: ndis.OIDQuery, OID: ndis.OID8023CurrentAddress, Buffer: make([]byte, 6)}
	if st, err := a.OIDRequest(q); err != nil || st != ndis.StatusSuccess {
		return errors.Join(fmt.Errorf("capture: reading the adapter address: %v", st), err, d.Unbind())
	}
	d.mac = [6]byte(q.Buffer)
	// PENDING until the final status is known. A miniport may complete the set before
	// OIDRequest returns PENDING (from inside its OIDRequest, or on another goroutine), so
	// only a status that is already final is stored here; a pending one is stored by
	// OIDRequestComplete, whenever that runs.
	d.filterStatus.Store(uint32(ndis.StatusPending))
	st, err := a.OIDRequest(&ndis.OIDRequest{Type: ndis.OIDSet, OID: ndis.OIDGenCurrentPacketFilter,
		Buffer: binary.LittleEndian.AppendUint32(nil, d.cfg.PacketFilter)})
	if st != ndis.StatusPending {
		d.filterStatus.Store(uint32(st))
	}
	if err != nil || (st != ndis.StatusSuccess && st != ndis.StatusPending) {
		return errors.Join(fmt.Errorf("capture: setting packet filter %#x: %v", d.cfg.PacketFilter, st), err, d.Unbind())
	}
	return nil
}

// Unbind releases held NBLs, frees the send pool and unbinds. The adapter must be paused (or
// halted) and every send completed: release held NBLs first (Release), so that a pause can finish.
func (d *Driver) Unbind() error {
	if d.a == nil {
		return errors.New("capture: driver is not bound")
	}
	if err := d.Release(); err != nil {
		return err
	}
	if err := d.send.Free(); err != nil {
		return fmt.Errorf("capture: freeing the send pool: %w", err)
	}
	if err := d.a.Unbind(); err != nil {
		return err
	}
	d.a, d.send = nil, nil
	return nil
}

// SetReturnPolicy changes how received NBLs go back: delay for ReturnAfterDelay, hold for
// ReturnHold. Leaving ReturnHold releases what was held.
func (d *Driver) SetReturnPolicy(p ReturnPolicy, delay time.Duration, hold int) error {
	d.mu.Lock()
	d.policy, d.delay, d.hold = p, delay, max(hold, 0)
	d.mu.Unlock()
	if p != ReturnHold {
		return d.Release()
	}
	return nil
}

// Release returns every NBL kept under ReturnHold.
func (d *Driver) Release() error {
	d.mu.Lock()
	held := d.held
	d.held = nil
	d.mu.Unlock()
	if len(held) == 0 {
		return nil
	}
	p := pool.PoolOf(held[0])
	for i, h := range held[:len(held)-1] {
		_ = p.SetNext(h, held[i+1]) // the driver owns them, so it may relink them
	}
	_ = p.SetNext(held[len(held)-1], 0)
	d.returned.Add(int64(len(held)))
	return d.a.ReturnNBLs(held[0], 0)
}

// ReceiveNBLs is ndis.Protocol.ReceiveNBLs: record every frame, then return by the policy.
func (d *Driver) ReceiveNBLs(p *pool.Pool, chain pool.NBL, count int, flags ndis.ReceiveFlags) {
	var bytes uint64
	b := d.ring.Batch(d.cfg.Clock())
	for h := chain; h != 0; h = p.Next(h) {
		data := p.Data(p.FirstNB(h))
		b.Add(data)
		bytes += uint64(len(data))
	}
	b.Done()
	d.indications.Add(1)
	d.frames.Add(uint64(count))
	d.bytes.Add(bytes)
	if flags&ndis.ReceiveResources != 0 {
		// The miniport takes the NBLs back when this returns: the ring has the copies, and
		// the chain is left as it came.
		d.resources.Add(1)
		return
	}

	n := int64(count)
	d.mu.Lock()
	policy, delay := d.policy, d.delay
	if policy == ReturnHold {
		var kept int
		chain, kept = d.keepLocked(p, chain)
		n -= int64(kept)
	}
	d.mu.Unlock()
	if chain == 0 {
		return
	}
	switch policy {
	case ReturnAfterDelay:
		// One timer per indication: this policy imitates a slow protocol, not line rate.
		d.delayedNow.Add(n)
		d.cfg.AfterFunc(delay, func() {
			d.delayedNow.Add(-n)
			d.returned.Add(n)
			_ = d.a.ReturnNBLs(chain, 0)
		})
	default:
		d.returned.Add(n)
		_ = d.a.ReturnNBLs(chain, 0)
	}
}

// keepLocked keeps NBLs off the front of chain until d.hold are held, and returns the rest as
// a chain and how many it kept.
func (d *Driver) keepLocked(p *pool.Pool, chain pool.NBL) (rest pool.NBL, kept int) {
	for chain != 0 && len(d.held) < d.hold {
		next := p.Next(chain)
		d.held = append(d.held, chain)
		chain = next
		kept++
	}
	return chain, kept
}

// SendComplete is ndis.Protocol.SendComplete: count the statuses and recycle the NBLs.
func (d *Driver) SendComplete(chain pool.NBL, _ ndis.SendCompleteFlags) {
	p := d.send.Pool()
	for h := chain; h != 0; h = p.Next(h) {
		st := ndis.Status(p.Status(h))
		d.lastSendStatus.Store(uint32(st))
		if st == ndis.StatusSuccess {
			d.sendOK.Add(1)
		} else {
			d.sendFailed.Add(1)
		}
	}
	_ = d.send.Recycle(chain) // a misuse would be the adapter's report, not ours to act on
}

// Status is ndis.Protocol.Status: keep the link state for the adapter bar.
func (d *Driver) Status(s ndis.StatusIndication) {
	if s.Code == ndis.StatusLinkState {
		d.mu.Lock()
		d.link = s.Link
		d.mu.Unlock()
	}
}

// OIDRequestComplete is ndis.Protocol.OIDRequestComplete: the packet filter set finished.
func (d *Driver) OIDRequestComplete(req *ndis.OIDRequest, st ndis.Status) {
	if req.OID == ndis.OIDGenCurrentPacketFilter {
		d.filterStatus.Store(uint32(st))
	}
}

// ErrSendBusy is what a send returns when every send buffer is in flight: the caller may try
// again once the miniport has completed some.
var ErrSendBusy = errors.New("capture: every send buffer is in flight")

// SendFrame sends a copy of frame. The status arrives later in Counters.
func (d *Driver) SendFrame(frame []byte) error {
	return d.build(func(buf []byte) (int, error) {
		if len(frame) > len(buf) {
			return 0, fmt.Errorf("capture: frame of %d bytes exceeds the %d-byte send buffer", len(frame), len(buf))
		}
		return copy(buf, frame), nil
	})
}

// SendARPRequest sends an ARP who-has for targetIP from the adapter's address and srcIP.
func (d *Driver) SendARPRequest(srcIP, targetIP netip.Addr) error {
	return d.build(func(buf []byte) (int, error) { return BuildARPRequest(buf, d.mac, srcIP, targetIP) })
}

// SendEchoRequest sends an ICMP echo request; a zero SrcMAC is the adapter's address.
func (d *Driver) SendEchoRequest(req EchoRequest) error {
	if req.SrcMAC == ([6]byte{}) {
		req.SrcMAC = d.mac
	}
	return d.build(func(buf []byte) (int, error) { return BuildEchoRequest(buf, &req) })
}

// SendDHCPDiscover sends a DHCP discover; a zero ClientMAC is the adapter's address.
func (d *Driver) SendDHCPDiscover(req DHCPDiscover) error {
	if req.ClientMAC == ([6]byte{}) {
		req.ClientMAC = d.mac
	}
	return d.build(func(buf []byte) (int, error) { return BuildDHCPDiscover(buf, &req) })
}

// build takes a send NBL, lets fill write a frame into its buffer, and sends it.
func (d *Driver) build(fill func(buf []byte) (int, error)) error {
	if d.a == nil {
		return errors.New("capture: driver is not bound")
	}
	h, buf := d.send.Take()
	if h == 0 {
		return ErrSendBusy
	}
	n, err := fill(buf)
	if err == nil {
		err = d.send.SetLength(h, n)
	}
	if err != nil {
		return errors.Join(err, d.send.Recycle(h))
	}
	if d.cfg.RecordSent {
		d.ring.Record(d.cfg.Clock(), buf[:n])
	}
	if err := d.a.Send(h, 0); err != nil {
		return errors.Join(err, d.send.Recycle(h))
	}
	d.sent.Add(1)
	return nil
}

// DriverCounters are the capture driver's counters for the UI.
type DriverCounters struct {
	Indications          uint64 // receive indications
	ResourcesIndications uint64 // of them with NDIS_RECEIVE_FLAGS_RESOURCES
	Frames, Bytes        uint64 // frames and bytes received and recorded
	Returned             int64  // NBLs given back
	Held                 int    // NBLs kept under ReturnHold now
	Delayed              int64  // NBLs waiting for a delayed return now
	Sent                 uint64 // frames sent
	SendOK, SendFailed   uint64 // send completions by outcome
	LastSendStatus       ndis.Status
	FilterStatus         ndis.Status // of the packet filter set at Bind (PENDING until it completes)
	Policy               ReturnPolicy
	Link                 ndis.LinkState // from the last link-state indication
}

// Counters returns a snapshot of the driver's counters.
func (d *Driver) Counters() DriverCounters {
	d.mu.Lock()
	held, policy, link := len(d.held), d.policy, d.link
	d.mu.Unlock()
	return DriverCounters{
		Indications: d.indications.Load(), ResourcesIndications: d.resources.Load(),
		Frames: d.frames.Load(), Bytes: d.bytes.Load(), Returned: d.returned.Load(),
		Held: held, Delayed: d.delayedNow.Load(), Sent: d.sent.Load(),
		SendOK: d.sendOK.Load(), SendFailed: d.sendFailed.Load(),
		LastSendStatus: ndis.Status(d.lastSendStatus.Load()), FilterStatus: ndis.Status(d.filterStatus.Load()),
		Policy: policy, Link: link,
	}
}
