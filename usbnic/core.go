package usbnic

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"webminiport/ndis"
	"webminiport/pool"
)

// The usbnet-like core: NIC runs one minidriver on one device and presents it to package ndis as
// a miniport (ndis.Miniport). Its files:
//
//	core.go   the miniport handlers: initialize (bring-up), restart, pause, halt, OIDs; removal
//	rx.go     the bulk-IN transfers kept in flight, rx fixup, indication
//	tx.go     the send queue, tx fixup, bulk-OUT transfers, send completion
//	status.go the interrupt endpoint, link changes, and the deferred work (kevent) goroutine
//	stats.go  the counters the page shows
//
// Goroutines, all started by Initialize and ended by Halt: the interrupt loop, the kevent
// worker (clear halt, rx mode), the TX builder and one goroutine per bulk-OUT slot, and a
// watcher of the transport's disconnect notification. The bulk-IN slots are goroutines of an RX
// session, which runs while the adapter is running and the carrier is on (usbnet refills only
// then) and is replaced on every link change.

// Options tune the core. Zero values pick the defaults named on each field.
type Options struct {
	// RxTransfers is how many bulk-IN transfers to keep in flight. Default: the minidriver's
	// Device.RxQueue, else usbnet's queue sizing (Device.QueueLengths), recomputed after every
	// link reset.
	RxTransfers int
	// TxTransfers is how many bulk-OUT transfers may be in flight. Default: Device.QueueLengths.
	TxTransfers int
	// RxNBLs is how many receive NBLs the receive engine preallocates (default 1024): enough
	// for several 16 KiB transfers of 64-byte frames while the protocol holds some.
	RxNBLs int
	// RxLowWatermark: when fewer NBLs are free at an indication, it carries the RESOURCES flag
	// (default RxNBLs/8).
	RxLowWatermark int
	// TxFlushDelay is how long a transfer that holds frames but is not full waits for more
	// (cdcncm.TxTimer for CDC-NCM). Only minidrivers that answer flush=false from TxAppend ever
	// wait. Zero sends such a transfer as soon as the send queue is empty.
	TxFlushDelay time.Duration
	// BindTimeout bounds the bring-up in Initialize (default 30 s: the ASIX resets sleep for
	// more than a second).
	BindTimeout time.Duration
	// ControlTimeout bounds every other control hook (link reset, rx mode, clear halt, stop,
	// unbind): default 5 s.
	ControlTimeout time.Duration
	// Description is OID_GEN_VENDOR_DESCRIPTION; default the driver's name.
	Description string
	// Logf, when set, receives every line the core and the minidriver log. The last lines are
	// also kept for Info.
	Logf func(format string, args ...any)
}

// Defaults for Options.
const (
	DefaultRxNBLs         = 1024
	DefaultBindTimeout    = 30 * time.Second
	DefaultControlTimeout = 5 * time.Second
)

// rxDataSize is the data buffer of each receive NBL: a 1514-byte frame with a VLAN tag fits,
// and 1536 is a multiple of 64 so buffers start on cache lines.
const rxDataSize = 1536

// maxMulticast is OID_802_3_MAXIMUM_LIST_SIZE: netvmini's 32. The ASIX chips hash any number
// of addresses and the CDC drivers fall back to all-multicast, so the limit is ours.
const maxMulticast = 32

// logLines is how many log lines Info keeps.
const logLines = 64

// NIC is the usbnet-like core for one device. It implements ndis.Miniport; an ndis.Adapter
// drives it. Its methods are safe for concurrent use.
type NIC struct {
	t    Transport
	desc DeviceDesc
	cfg  *Config
	drv  *Driver
	opts Options
	md   Minidriver

	a  *ndis.Adapter
	rx *ndis.RxEngine

	// hookMu serializes the minidriver's control hooks (Bind, Reset, LinkReset, SetRxMode, Stop,
	// Unbind) and Status, and guards dev.Link (Status may read it, LinkReset writes it) and
	// dev.RxBufferSize. RxFixup and TxAppend/TxFinish run without it: they touch only fields
	// fixed at bind and their own per-direction state.
	hookMu sync.Mutex
	dev    Device

	life       context.Context // Initialize to Halt: the long-lived loops
	lifeCancel context.CancelFunc
	loops      sync.WaitGroup

	mu         sync.Mutex // guards everything down to the blank line
	running    bool       // between Restart and Pause
	carrier    bool
	removed    bool
	halting    bool
	rxHalt     bool // a bulk-IN stall is being cleared
	rxs        *rxSession
	rxLastDone <-chan struct{} // done of the latest RX session; closed when none ran
	rxSpare    [][]byte        // transfer buffers of the last session, for the next
	rxBufSize  int
	rxQueue    int
	link       ndis.LinkState
	started    bool           // Restart ran once: ndis takes status indications
	reported   ndis.LinkState // the link state ndis was last told
	pauseDone  chan struct{}  // closed when the current pause completed
	kevents    uint32         // deferred work flags (ev*)
	oid        *ndis.OIDRequest
	multicast  [][6]byte
	removedCh  chan struct{}

	// linkMu serializes link handling: the interrupt goroutine and link-reset retries on the
	// kevent goroutine. linkGen counts link events; linkRetry is the generation a failed link
	// reset wants to retry in (0: none).
	linkMu    sync.Mutex
	linkGen   uint64
	linkRetry uint64

	statusMu   sync.Mutex // keeps link indications in order
	keventWake chan struct{}

	sink       rxSink
	rxThrottle atomic.Int64 // no bulk-IN submit before this time (Unix ns); 0: none

	tx txQueue

	stats counters

	logMu sync.Mutex
	logs  []string
	logN  uint64
}

// New makes the core for one device: t is the device, desc its device descriptor, cfg the
// configuration to run it in (as the match table chose it) and drv the minidriver. Nothing is
// sent to the device until an ndis.Adapter initializes the miniport.
func New(t Transport, desc DeviceDesc, cfg *Config, drv *Driver, opts Options) *NIC {
	if opts.RxNBLs <= 0 {
		opts.RxNBLs = DefaultRxNBLs
	}
	if opts.RxLowWatermark <= 0 || opts.RxLowWatermark > opts.RxNBLs {
		opts.RxLowWatermark = opts.RxNBLs / 8
	}
	if opts.BindTimeout <= 0 {
		opts.BindTimeout = DefaultBindTimeout
	}
	if opts.ControlTimeout <= 0 {
		opts.ControlTimeout = DefaultControlTimeout
	}
	if opts.Description == "" {
		opts.Description = drv.Name
	}
	n := &NIC{t: t, desc: desc, cfg: cfg, drv: drv, opts: opts,
		removedCh: make(chan struct{}), keventWake: make(chan struct{}, 1)}
	n.sink.n = n
	done := make(chan struct{})
	close(done)
	n.rxLastDone = done
	return n
}

// RxEngine returns the receive engine Initialize made (nil before): its counts and
// conservation check are the receive pool's story for the page.
func (n *NIC) RxEngine() *ndis.RxEngine { return n.rx }

// Removed is closed when the device has gone away (unplugged, or any transfer answered
// ErrDisconnected). Everything outstanding has been completed or is being completed; the owner
// of the ndis.Adapter pauses and halts it (ndis.HaltDeviceSurpriseRemoved).
func (n *NIC) Removed() <-chan struct{} { return n.removedCh }

// WaitPaused blocks until the pause in progress has completed (every receive NBL back, every
// send completed), or ctx is done. Without a pause in progress it returns at once.
func (n *NIC) WaitPaused(ctx context.Context) error {
	n.mu.Lock()
	done := n.pauseDone
	n.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logf records a line for Info and passes it to Options.Logf. Minidrivers log through it too
// (Device.Logf). Log lines are rare (bring-up, link changes, errors), so they may allocate.
func (n *NIC) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	n.logMu.Lock()
	if len(n.logs) < logLines {
		n.logs = append(n.logs, line)
	} else {
		n.logs[n.logN%logLines] = line
	}
	n.logN++
	n.logMu.Unlock()
	if n.opts.Logf != nil {
		n.opts.Logf("%s", line)
	}
}

// Logf adds a line to the adapter's log (Info), for the code that runs the adapter.
func (n *NIC) Logf(format string, args ...any) { n.logf(format, args...) }

// ---- Bring-up and teardown ----

// Initialize is MiniportInitializeEx, usbnet's probe and open in one: open the device, select
// the configuration, bind the minidriver (endpoints, MAC, chip init), reset it, make the
// receive pool, and start the interrupt, kevent, TX and disconnect goroutines. On failure it
// undoes what it did and returns NDIS_STATUS_FAILURE (StatusResources when the pool could not
// be made).
func (n *NIC) Initialize(a *ndis.Adapter) (ndis.Attributes, ndis.Status) {
	n.a = a
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.BindTimeout)
	defer cancel()
	if err := n.bringUp(ctx); err != nil {
		n.logf("usbnic: initialize: %v", err)
		return ndis.Attributes{}, ndis.StatusFailure
	}
	rx, err := ndis.NewRxEngine(a, ndis.RxConfig{Count: n.opts.RxNBLs, DataSize: rxDataSize, LowWatermark: n.opts.RxLowWatermark})
	if err != nil {
		n.logf("usbnic: initialize: receive pool: %v", err)
		n.tearDown(ctx)
		return ndis.Attributes{}, ndis.StatusResources
	}
	n.rx = rx
	n.sink.batch = rx.NewBatch()

	n.mu.Lock()
	n.sizeRxLocked(&n.dev) // no goroutine runs yet: no lock needed for dev
	// Every minidriver here reports the link through its interrupt endpoint, so the carrier
	// starts off (usbnet FLAG_LINK_INTR); a device without one is taken as linked.
	n.carrier = !n.dev.HasIntr
	n.reported = n.linkStateLocked()
	link := n.reported
	n.mu.Unlock()

	n.life, n.lifeCancel = context.WithCancel(context.Background())
	n.startTx()
	d := &n.dev
	attrs := ndis.Attributes{
		MAC:                    d.MAC,
		PermanentMAC:           d.PermanentMAC,
		MaxFrameSize:           d.HardMTU - ethHeaderLen,
		SupportedPacketFilters: ndis.FilterDirected | ndis.FilterMulticast | ndis.FilterAllMulticast | ndis.FilterBroadcast | ndis.FilterPromiscuous,
		MaxMulticastList:       maxMulticast,
		Link:                   link,
		VendorID:               uint32(d.PermanentMAC[0])<<24 | uint32(d.PermanentMAC[1])<<16 | uint32(d.PermanentMAC[2])<<8,
		VendorDescription:      n.opts.Description,
		VendorDriverVersion:    1 << 16,
		ReceiveBufferSpace:     n.rxQueue * n.rxBufSize,
		TransmitBufferSpace:    len(n.tx.slots) * n.tx.bufSize,
	}
	// From here on other goroutines touch the device: everything above was read first.
	n.loops.Add(3)
	go n.keventLoop()
	go n.watchDisconnect()
	go n.intrLoop()
	return attrs, ndis.StatusSuccess
}

// ethHeaderLen is the Ethernet header: HardMTU minus this is OID_GEN_MAXIMUM_FRAME_SIZE.
const ethHeaderLen = 14

// bringUp opens the device, selects the configuration and binds and resets the minidriver. On
// failure nothing stays claimed or open.
func (n *NIC) bringUp(ctx context.Context) error {
	if err := n.t.Open(ctx); err != nil {
		return fmt.Errorf("opening the device: %w", err)
	}
	if n.t.Configuration() != n.cfg.Value {
		if err := n.t.SelectConfiguration(ctx, n.cfg.Value); err != nil {
			n.closeTransport(ctx)
			return fmt.Errorf("selecting configuration %d: %w", n.cfg.Value, err)
		}
		n.logf("usbnic: selected configuration %d", n.cfg.Value)
	}
	n.hookMu.Lock()
	defer n.hookMu.Unlock()
	n.dev = Device{T: n.t, Desc: n.desc, Config: n.cfg, Speed: n.t.Speed(), Logf: n.logf}
	d := &n.dev
	n.md = n.drv.New()
	if err := n.md.Bind(ctx, d); err != nil {
		n.closeTransport(ctx)
		return fmt.Errorf("%s bind: %w", n.drv.Name, err)
	}
	if d.Speed == SpeedUnknown {
		d.UpdateSpeed()
	}
	if d.HardMTU <= ethHeaderLen {
		d.HardMTU = 1514 // usbnet's hard_mtu before bind: MTU 1500 plus the header
	}
	if d.Out.MaxPacketSize == 0 {
		n.md.Unbind(ctx, d)
		n.closeTransport(ctx)
		return fmt.Errorf("%s: bulk OUT endpoint %#02x has wMaxPacketSize 0", n.drv.Name, d.Out.Address)
	}
	if !validMAC(d.MAC) {
		// usbnet: "random MAC if invalid" (locally administered, unicast).
		var mac [6]byte
		_, _ = rand.Read(mac[:])
		mac[0] = mac[0]&^0x01 | 0x02
		n.logf("usbnic: device MAC %s is not a valid unicast address; using random %s", MACString(d.MAC), MACString(mac))
		d.MAC = mac
		if !validMAC(d.PermanentMAC) {
			d.PermanentMAC = mac
		}
	}
	if err := n.md.Reset(ctx, d); err != nil {
		n.md.Unbind(ctx, d)
		n.closeTransport(ctx)
		return fmt.Errorf("%s reset: %w", n.drv.Name, err)
	}
	n.logf("usbnic: %s bound: MAC %s, %s speed, bulk IN %#02x OUT %#02x, interrupt %v, %d-byte RX transfers, %d-byte TX transfers",
		n.drv.Name, MACString(d.MAC), d.Speed, d.In.Address, d.Out.Address, d.HasIntr, d.RxBufferSize, d.TxMaxTransfer)
	return nil
}

func validMAC(m [6]byte) bool { return m[0]&0x01 == 0 && m != [6]byte{} }

// MACString formats an Ethernet address as six colon-separated hex pairs.
func MACString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// closeTransport closes the device; a device already gone has nothing to close.
func (n *NIC) closeTransport(ctx context.Context) {
	if err := n.t.Close(ctx); err != nil && !errors.Is(err, ErrDisconnected) {
		n.logf("usbnic: closing the device: %v", err)
	}
}

// tearDown is the end of Halt and of a failed initialize: stop and unbind the minidriver and
// close the device (each as far as the device still answers).
func (n *NIC) tearDown(ctx context.Context) {
	removed := n.isRemoved()
	n.hookMu.Lock()
	if !removed {
		if err := n.md.Stop(ctx, &n.dev); err != nil {
			n.logf("usbnic: %s stop: %v", n.drv.Name, err)
		}
	}
	n.md.Unbind(ctx, &n.dev)
	n.hookMu.Unlock()
	n.closeTransport(ctx)
}

// sizeRxLocked sets the RX transfer size and count from d (a copy of the device taken under
// hookMu), as usbnet_update_max_qlen does after bind and after every link reset.
func (n *NIC) sizeRxLocked(d *Device) {
	size := d.RxBufferSize
	if size <= 0 {
		size = d.HardMTU // usbnet: rx_urb_size defaults to hard_mtu
	}
	q := n.opts.RxTransfers
	if q <= 0 {
		q = d.RxQueue
	}
	if q <= 0 {
		q, _ = d.QueueLengths()
	}
	n.rxBufSize, n.rxQueue = size, q
}

// Restart is MiniportRestart: the datapath starts. Receive transfers are submitted once the
// carrier is on; the first restart also tells ndis the link state found since initialize.
func (n *NIC) Restart() ndis.Status {
	n.mu.Lock()
	if n.removed {
		n.mu.Unlock()
		return ndis.StatusFailure
	}
	n.running = true
	n.started = true
	n.rxUpdateLocked()
	n.mu.Unlock()
	n.reportLink()
	return ndis.StatusSuccess
}

// Pause is MiniportPause: stop submitting, cancel the bulk-IN transfers in flight, complete
// queued sends with PAUSED, and complete the pause (NdisMPauseComplete) once the RX session
// has ended, every send is completed and every indicated NBL is back. It always pends: the
// waiting happens on a goroutine, so Pause never blocks its caller (in the browser it may be a
// JavaScript callback).
func (n *NIC) Pause() ndis.Status {
	n.mu.Lock()
	n.running = false
	n.rxUpdateLocked()
	rxDone := n.rxLastDone
	done := make(chan struct{})
	n.pauseDone = done
	n.mu.Unlock()
	n.tx.wake()
	go func() {
		<-rxDone
		n.tx.drained()
		complete := func() {
			if err := n.a.PauseComplete(); err != nil {
				n.logf("usbnic: pause complete: %v", err)
			}
			close(done)
		}
		if n.rx.Drain(complete) {
			complete()
		}
	}()
	return ndis.StatusPending
}

// Halt is MiniportHaltEx (called in Paused): end every goroutine, stop and unbind the
// minidriver (skipped where the device is gone), close the device, then free the receive NBLs
// and their pool, in the reverse order of Initialize.
func (n *NIC) Halt(action ndis.HaltAction) {
	n.mu.Lock()
	n.halting = true
	n.running = false
	n.rxUpdateLocked()
	rxDone := n.rxLastDone
	n.mu.Unlock()
	<-rxDone
	n.lifeCancel()
	n.tx.wake()
	n.loops.Wait()
	n.logf("usbnic: halt (%v)", haltActionName(action))

	ctx, cancel := context.WithTimeout(context.Background(), n.opts.ControlTimeout)
	defer cancel()
	n.tearDown(ctx)
	if err := n.rx.Free(); err != nil {
		n.logf("usbnic: freeing the receive pool: %v", err)
	}
}

func haltActionName(a ndis.HaltAction) string {
	names := [...]string{"device disabled", "instance deinitialized", "powered down", "surprise removed",
		"device failed", "initialization failed", "device stopped"}
	if int(a) < len(names) {
		return names[a]
	}
	return fmt.Sprintf("halt action %d", a)
}

// ---- OIDs ----

// OIDRequest is MiniportOidRequest. The adapter answers queries itself and forwards the sets
// the hardware must act on: the packet filter and the multicast list go to the minidriver's
// SetRxMode on the kevent goroutine (a control transfer must not block the caller), and the
// request pends until it ran. A device that cannot be programmed still gets SUCCESS: the
// receive engine applies the same filter to every frame, so an unprogrammed device only costs
// bandwidth (and Linux's set_rx_mode cannot fail either).
func (n *NIC) OIDRequest(req *ndis.OIDRequest) ndis.Status {
	if req.Type != ndis.OIDSet || (req.OID != ndis.OIDGenCurrentPacketFilter && req.OID != ndis.OID8023MulticastList) {
		return ndis.StatusNotSupported
	}
	n.mu.Lock()
	if n.removed {
		n.mu.Unlock()
		return ndis.StatusSuccess
	}
	n.oid = req
	n.kevents |= evRxMode
	n.mu.Unlock()
	n.kick()
	return ndis.StatusPending
}

// completeOID completes req if it is still the pending request: the kevent goroutine and a
// removal may both try, and only the first may.
func (n *NIC) completeOID(req *ndis.OIDRequest) {
	n.mu.Lock()
	mine := n.oid == req
	if mine {
		n.oid = nil
	}
	n.mu.Unlock()
	if !mine {
		return
	}
	if err := n.a.OIDComplete(req, ndis.StatusSuccess); err != nil {
		n.logf("usbnic: OID complete: %v", err)
	}
}

// setRxMode runs the pending rx-mode request on the kevent goroutine. The request stays in
// n.oid until it completes, so that a removal meanwhile completes it before Removed closes.
func (n *NIC) setRxMode(req *ndis.OIDRequest) {
	filter := n.a.PacketFilter()
	n.mu.Lock()
	mc := n.multicast
	n.mu.Unlock()
	switch req.OID {
	case ndis.OIDGenCurrentPacketFilter:
		filter, _ = req.Uint32()
	case ndis.OID8023MulticastList:
		mc = req.Addresses()
	}
	ctx, cancel := context.WithTimeout(n.life, n.opts.ControlTimeout)
	n.hookMu.Lock()
	err := n.md.SetRxMode(ctx, &n.dev, filter, mc)
	n.hookMu.Unlock()
	cancel()
	if err != nil {
		n.stats.rxModeErrors.Add(1)
		n.logf("usbnic: %s set rx mode (filter %#x, %d multicast): %v", n.drv.Name, filter, len(mc), err)
		n.checkRemoved(err)
	}
	if req.OID == ndis.OID8023MulticastList {
		n.mu.Lock()
		n.multicast = mc
		n.mu.Unlock()
	}
	n.completeOID(req)
}

// ---- Removal ----

// isDisconnect reports whether err says the device is gone.
func isDisconnect(err error) bool { return errors.Is(err, ErrDisconnected) }

// checkRemoved starts the removal when err says the device is gone.
func (n *NIC) checkRemoved(err error) {
	if isDisconnect(err) {
		n.deviceRemoved(err)
	}
}

func (n *NIC) isRemoved() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.removed
}

// watchDisconnect waits for the transport's disconnect notification.
func (n *NIC) watchDisconnect() {
	defer n.loops.Done()
	select {
	case <-n.t.Disconnected():
		n.deviceRemoved(ErrDisconnected)
	case <-n.life.Done():
	}
}

// deviceRemoved is the surprise removal: the adapter enters the removed state once, from
// whichever goroutine noticed first. Bulk-IN transfers are cancelled, the TX builder completes
// every queued send with FAILURE (transfers in flight fail on their own), OIDs complete at once,
// and ndis hears that the media is disconnected. It never waits, so any goroutine may call it.
func (n *NIC) deviceRemoved(cause error) {
	n.mu.Lock()
	if n.removed {
		n.mu.Unlock()
		return
	}
	n.removed = true
	n.carrier = false
	n.link = ndis.LinkState{MediaConnect: ndis.MediaConnectDisconnected}
	n.rxUpdateLocked()
	req := n.oid
	n.mu.Unlock()
	n.stats.removed.Store(true)
	n.logf("usbnic: device removed: %v", cause)
	n.tx.wake()
	n.kick()
	// The OID completes before Removed closes: whoever halts the adapter on Removed must not
	// find a request still pending.
	if req != nil {
		n.completeOID(req)
	}
	n.reportLink()
	close(n.removedCh)
}

// ---- Returns and cancels ----

// ReturnNBLs is MiniportReturnNetBufferLists: the NBLs go back on the receive free list.
func (n *NIC) ReturnNBLs(chain pool.NBL, flags ndis.ReturnFlags) {
	if err := n.rx.Return(chain); err != nil {
		n.logf("usbnic: return: %v", err)
	}
}

// CancelSend is MiniportCancelSend: queued sends tagged id complete with SEND_ABORTED. Frames
// already framed into a transfer go out.
func (n *NIC) CancelSend(id uint64) { n.tx.cancel(n, id) }
