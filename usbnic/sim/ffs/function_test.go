package ffs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
)

// fakeEP0 behaves as f_fs's ep0 does for the calls Function makes: reads return events; after a
// SETUP event, the next read or write is that request's data or status stage, and the one of
// the wrong direction stalls it (EL2HLT). Each request's outcome is reported on outcomes.
type fakeEP0 struct {
	parse    func([]byte) ([]Event, error) // ParseEvents or ParseGadgetFSEvents
	mu       sync.Mutex
	events   chan []byte // what each read of events returns
	blobs    [][]byte    // writes with no request pending: the descriptors and the strings
	pending  *Setup
	outData  []byte // the host's OUT data stage for the next request
	outcomes chan string
}

func (e *fakeEP0) Read(p []byte) (int, error) {
	e.mu.Lock()
	s, data := e.pending, e.outData
	e.pending = nil
	e.mu.Unlock()
	if s != nil {
		switch {
		case s.In():
			e.outcomes <- "stall"
			return 0, ErrStalled
		case s.Length == 0:
			e.outcomes <- "status"
			return 0, nil
		}
		n := copy(p, data[:min(len(data), int(s.Length))])
		e.outcomes <- fmt.Sprintf("out %d", n)
		return n, nil
	}
	b, ok := <-e.events
	if !ok {
		return 0, errors.New("fake ep0 closed")
	}
	n := copy(p, b)
	if evs, err := e.parse(b); err == nil && len(evs) > 0 && evs[len(evs)-1].Type == EventSetup {
		s := evs[len(evs)-1].Setup
		e.mu.Lock()
		e.pending = &s
		e.mu.Unlock()
	}
	return n, nil
}

func (e *fakeEP0) Write(p []byte) (int, error) {
	e.mu.Lock()
	s := e.pending
	e.pending = nil
	if s == nil {
		e.blobs = append(e.blobs, bytes.Clone(p))
		e.mu.Unlock()
		return len(p), nil
	}
	e.mu.Unlock()
	if !s.In() {
		e.outcomes <- "stall"
		return 0, ErrStalled
	}
	e.outcomes <- fmt.Sprintf("in % x", p[:min(len(p), int(s.Length))])
	return len(p), nil
}

func (e *fakeEP0) Close() error { return nil }

// fakeEP is an endpoint file opened non-blocking, as MountDir opens them: while the endpoint is
// disabled every transfer fails at once with ErrDisabled (f_fs: EAGAIN), and disabling it ends
// the blocked ones the same way (ESHUTDOWN). The function's IN writes arrive on written (a
// zero-length packet as an empty slice); the host's OUT transfers are sent on host.
type fakeEP struct {
	written chan []byte
	host    chan []byte
	packet  int // wMaxPacketSize for Read to join transfers as a UDC does; 0: a read per transfer
	mu      sync.Mutex
	enabled bool
	off     chan struct{}
}

func newFakeEP() *fakeEP {
	return &fakeEP{written: make(chan []byte, 16), host: make(chan []byte)}
}

func (e *fakeEP) enable() {
	e.mu.Lock()
	e.enabled, e.off = true, make(chan struct{})
	e.mu.Unlock()
}

func (e *fakeEP) disable() {
	e.mu.Lock()
	if e.enabled {
		e.enabled = false
		close(e.off)
	}
	e.mu.Unlock()
}

// running returns the channel that closes when the endpoint is disabled, or false when it is
// disabled already.
func (e *fakeEP) running() (chan struct{}, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.off, e.enabled
}

func (e *fakeEP) Write(p []byte) (int, error) {
	off, ok := e.running()
	if !ok {
		return 0, ErrDisabled
	}
	select {
	case e.written <- bytes.Clone(p):
		return len(p), nil
	case <-off:
		return 0, ErrDisabled
	}
}

func (e *fakeEP) Read(p []byte) (int, error) {
	off, ok := e.running()
	if !ok {
		return 0, ErrDisabled
	}
	select {
	case b := <-e.host:
		n := copy(p, b)
		// With packet set, as a device controller does: a read ends at a short packet or when
		// it is full, so a transfer of whole packets runs on into the host's next one.
		for e.packet > 0 && n < len(p) && len(b) > 0 && len(b)%e.packet == 0 {
			select {
			case b = <-e.host:
				n += copy(p[n:], b)
			case <-off:
				return 0, ErrDisabled
			}
		}
		return n, nil
	case <-off:
		return 0, ErrDisabled
	}
}

func (e *fakeEP) Close() error { return nil }

type fakeDir struct {
	ep0 *fakeEP0
	eps map[string]*fakeEP
}

func (d *fakeDir) List() ([]string, error) {
	names := []string{"ep0"}
	for n := range d.eps {
		names = append(names, n)
	}
	return names, nil
}

func (d *fakeDir) Open(name string) (File, error) {
	if name == "ep0" {
		return d.ep0, nil
	}
	ep := newFakeEP()
	d.eps[name] = ep
	return ep, nil
}

// rig is a Function on fake files with a queue on its Ethernet port.
type rig struct {
	t      *testing.T
	f      *Function
	dir    *fakeDir
	wire   *sim.Queue
	speed  atomic.Value // usbnic.Speed
	cancel context.CancelFunc
	served chan error
}

func newRig(t *testing.T, m *sim.Model, speed usbnic.Speed) *rig {
	t.Helper()
	r := &rig{t: t, wire: sim.NewQueue(16), served: make(chan error, 1)}
	r.speed.Store(speed)
	r.dir = &fakeDir{
		ep0: &fakeEP0{parse: ParseEvents, events: make(chan []byte), outcomes: make(chan string, 1)},
		eps: map[string]*fakeEP{},
	}
	f, err := New(r.dir, Config{
		Model:   m,
		Wire:    r.wire,
		Options: []sim.Option{sim.WithLinkDelay(time.Millisecond)},
		Speed:   func() (usbnic.Speed, error) { return r.speed.Load().(usbnic.Speed), nil },
		Logf:    t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.f = f
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.served <- f.Serve(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// event hands Serve one read's worth of events built by hand: an 8-byte setup packet (zero but
// for SETUP), the type byte and three bytes of padding.
func (r *rig) event(t EventType) {
	b := make([]byte, EventSize)
	b[8] = byte(t)
	r.dir.ep0.events <- b
}

// setup sends a request and returns what became of it.
func (r *rig) setup(rt, req uint8, value, index, length uint16, out []byte) string {
	r.t.Helper()
	r.dir.ep0.mu.Lock()
	r.dir.ep0.outData = out
	r.dir.ep0.mu.Unlock()
	u := setupPacket(rt, req, value, index, length)
	b := make([]byte, EventSize)
	copy(b, u[:])
	b[8] = byte(EventSetup)
	r.dir.ep0.events <- b
	return r.dir.ep0.outcome(r.t, rt, req)
}

// setupPacket is a control request's setup packet (USB 2.0 §9.3).
func setupPacket(rt, req uint8, value, index, length uint16) [8]byte {
	var u [8]byte
	u[0], u[1] = rt, req
	binary.LittleEndian.PutUint16(u[2:], value)
	binary.LittleEndian.PutUint16(u[4:], index)
	binary.LittleEndian.PutUint16(u[6:], length)
	return u
}

// outcome waits for what became of the request just handed to Serve.
func (e *fakeEP0) outcome(t *testing.T, rt, req uint8) string {
	t.Helper()
	select {
	case o := <-e.outcomes:
		return o
	case <-time.After(5 * time.Second):
		t.Fatalf("request %#02x/%#02x got no answer", rt, req)
		return ""
	}
}

// waitSent waits up to 5 s for a frame the model put on its wire; nil when none came.
func waitSent(q *sim.Queue) []byte {
	buf := make([]byte, 2048)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if n := q.Sent(buf); n > 0 {
			return buf[:n]
		}
	}
	return nil
}

// enable enables the endpoints and then reports it, as f_fs does on SET_CONFIGURATION.
func (r *rig) enable() {
	for _, ep := range r.dir.eps {
		ep.enable()
	}
	r.event(EventEnable)
}

// disable disables the endpoints and then reports it.
func (r *rig) disable() {
	r.disableEndpoints()
	r.event(EventDisable)
}

func (r *rig) disableEndpoints() {
	for _, ep := range r.dir.eps {
		ep.disable()
	}
}

// written waits for the next transfer the function writes to endpoint file name.
func (r *rig) written(name string) []byte {
	r.t.Helper()
	select {
	case b := <-r.dir.eps[name].written:
		return b
	case <-time.After(5 * time.Second):
		r.t.Fatalf("nothing written to %s", name)
		return nil
	}
}

func (r *rig) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	r.disableEndpoints()
	r.event(EventUnbind)
	select {
	case err := <-r.served:
		if err != nil {
			r.t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		r.t.Error("Serve did not return after the unbind")
	}
	if err := r.f.Close(); err != nil {
		r.t.Error(err)
	}
}

// Vendor requests to the device as the ASIX drivers send them (bmRequestType 0xC0 / 0x40).
const (
	vendorIn  = 0xC0
	vendorOut = 0x40
)

func TestFunctionWritesDescriptorsThenStringsThenOpensEndpoints(t *testing.T) {
	r := newRig(t, sim.AX88179, usbnic.SpeedHigh)
	blobs := r.dir.ep0.blobs
	if len(blobs) != 2 || !bytes.Equal(blobs[0], r.f.Layout().Descriptors) || !bytes.Equal(blobs[1], r.f.Layout().Strings) {
		t.Fatalf("ep0 got %d writes, want the descriptors and then the strings", len(blobs))
	}
	for _, name := range []string{"ep1", "ep2", "ep3"} {
		if r.dir.eps[name] == nil {
			t.Errorf("%s not opened", name)
		}
	}
}

func TestFunctionAnswersControlRequestsThroughTheModel(t *testing.T) {
	r := newRig(t, sim.AX88179, usbnic.SpeedHigh)
	if o := r.setup(vendorIn, 0x01, 0x10, 6, 6, nil); o != "stall" {
		t.Errorf("before the host configured the device: %s, want a stall", o)
	}
	r.event(EventBind)
	r.enable()
	for _, tc := range []struct {
		name                 string
		rt, req              uint8
		value, index, length uint16
		out                  []byte
		want                 string
	}{
		{"read NODE_ID", vendorIn, 0x01, 0x10, 6, 6, nil, "in 00 0e c6 81 79 01"},
		{"read PHYSICAL_LINK_STATUS at high speed", vendorIn, 0x01, 0x02, 1, 1, nil, "in 02"},
		{"read the PHY's PHYSID1 (ID of an RTL8211F)", vendorIn, 0x02, 0x03, 0x02, 2, nil, "in 1c 00"},
		{"unknown vendor request", vendorIn, 0x55, 0, 0, 2, nil, "stall"},
		{"write RX_CTL", vendorOut, 0x01, 0x0B, 2, 2, []byte{0x88, 0x02}, "out 2"},
		{"read RX_CTL back", vendorIn, 0x01, 0x0B, 2, 2, nil, "in 88 02"},
		{"reload NODE_ID, no data stage", vendorOut, 0x06, 0, 0, 0, nil, "status"},
		{"no-data request the model refuses", vendorOut, 0x55, 0, 0, 0, nil, "stall"},
	} {
		if o := r.setup(tc.rt, tc.req, tc.value, tc.index, tc.length, tc.out); o != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, o, tc.want)
		}
	}
	// An OUT data stage is taken before the model sees it: a refusal can only be counted.
	if o := r.setup(vendorOut, 0x01, 0x0B, 3, 2, []byte{0, 0}); o != "out 2" {
		t.Errorf("MAC write with wIndex 3 and wLength 2: %s", o)
	}
	// The model sees that request after its data stage: one more request makes sure Serve
	// is done with it.
	r.setup(vendorIn, 0x01, 0x10, 6, 6, nil)
	c := r.f.Snapshot().Counters
	if c.Setups != 11 || c.Stalls != 3 || c.LateStalls != 1 {
		t.Errorf("counters %+v: want 11 setups, 3 stalls, 1 late stall", c)
	}
}

func TestFunctionMapsEndpointRequestsToTheModelsAddresses(t *testing.T) {
	r := newRig(t, sim.AX88179, usbnic.SpeedHigh)
	r.enable()
	// SET_FEATURE(ENDPOINT_HALT) with wIndex 1: f_fs's index of ep1, the model's interrupt
	// endpoint 0x81. Halting it ends the interrupt goroutine's transfer with a stall.
	if o := r.setup(0x02, 0x03, 0, 1, 0, nil); o != "status" {
		t.Fatalf("SET_FEATURE: %s", o)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.f.Snapshot().Counters.Errors == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the interrupt endpoint 0x81 was not halted")
		}
		time.Sleep(time.Millisecond)
	}
	if o := r.setup(0x82, 0x00, 0, 1, 2, nil); o != "in 01 00" {
		t.Errorf("GET_STATUS of ep1: %s, want halted", o)
	}
}

func TestFunctionMovesEndpointData(t *testing.T) {
	r := newRig(t, sim.AX88179, usbnic.SpeedHigh)
	r.event(EventBind)
	r.enable()
	// Power the PHY; on the link-up interrupt start the receiver as Linux's link_reset does:
	// RX_CTL START|AB|IPE, MEDIUM RECEIVE_EN|TXFLOW|RXFLOW|FULL_DUPLEX|GIGAMODE.
	r.setup(vendorOut, 0x01, 0x26, 2, 2, []byte{0x20, 0x00})
	if got := r.written("ep1"); !bytes.Equal(got, []byte{0, 0, 1, 0, 0, 0, 0, 0}) {
		t.Fatalf("interrupt endpoint: % x, want the link-up status", got)
	}
	r.setup(vendorOut, 0x01, 0x0B, 2, 2, []byte{0x88, 0x02})
	r.setup(vendorOut, 0x01, 0x22, 2, 2, []byte{0x33, 0x01})
	// The model sees an OUT request after its data stage, when setup has returned: one more
	// request makes sure RECEIVE_EN is set before the frame comes (a frame the receiver is not
	// on for is dropped, and nothing would ever reach ep2).
	r.setup(vendorIn, 0x01, 0x10, 6, 6, nil)
	// A frame from the wire: 2 + 494 bytes pad to 496, two 8-byte metadata entries: a 512-byte
	// aggregate, which ends on a packet boundary and so is followed by a zero-length packet.
	f := make([]byte, 494)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5})
	r.wire.Push(f)
	if got := r.written("ep2"); len(got) != 512 || !bytes.Equal(got[2:2+494], f) {
		t.Fatalf("bulk IN: %d bytes, want the 512-byte aggregate with the frame at offset 2", len(got))
	}
	if got := r.written("ep2"); len(got) != 0 {
		t.Fatalf("after a 512-byte transfer: %d bytes, want a zero-length packet", len(got))
	}
	// A frame from the host: LE32 length, LE32 0, the frame.
	out := append([]byte{60, 0, 0, 0, 0, 0, 0, 0}, f[:60]...)
	r.dir.eps["ep3"].host <- out
	if got := waitSent(r.wire); !bytes.Equal(got, f[:60]) {
		t.Fatalf("wire got % x, want the 60-byte frame", got)
	}
	// The goroutines count a transfer once its file operation returned: wait for that.
	var s Snapshot
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if s = r.f.Snapshot(); s.Counters.InTransfers == 2 && s.Counters.OutTransfers == 1 {
			break
		}
	}
	if s.Counters.InTransfers != 2 || s.Counters.ZLPs != 1 || s.Counters.OutTransfers != 1 || s.Counters.OutBytes != 68 {
		t.Errorf("counters %+v", s.Counters)
	}
	if s.Device.RxFrames != 1 || s.Device.TxFrames != 1 || s.Speed != "high" || s.MAC != "00:0e:c6:81:79:01" {
		t.Errorf("snapshot %+v", s)
	}
}

func TestFunctionBuildsTheModelForTheBusSpeed(t *testing.T) {
	r := newRig(t, sim.AX88179, usbnic.SpeedHigh)
	r.event(EventBind)
	r.enable()
	if o := r.setup(vendorIn, 0x01, 0x02, 1, 1, nil); o != "in 02" {
		t.Errorf("PHYSICAL_LINK_STATUS at high speed: %s", o)
	}
	r.disable()
	r.speed.Store(usbnic.SpeedSuper)
	r.enable()
	if o := r.setup(vendorIn, 0x01, 0x02, 1, 1, nil); o != "in 04" {
		t.Errorf("PHYSICAL_LINK_STATUS at SuperSpeed: %s", o)
	}
	// Re-enabled at the same speed: the same chip, configured again.
	r.disable()
	r.enable()
	// Serve counts an event after it has read it; the third enable may still be on its way.
	c := r.f.Snapshot().Counters
	for deadline := time.Now().Add(5 * time.Second); c.Enables < 3 && time.Now().Before(deadline); c = r.f.Snapshot().Counters {
		time.Sleep(time.Millisecond)
	}
	if c.Instances != 2 || c.Enables != 3 || c.Disables != 2 {
		t.Errorf("counters %+v: want 2 instances over 3 enables", c)
	}
}

func TestFunctionRunsUSB2ChipsAtHighSpeedOnASuperSpeedBus(t *testing.T) {
	r := newRig(t, sim.AX88772, usbnic.SpeedSuper)
	r.enable()
	// STATMNGSTS, a one-byte vendor read: chip code 0 for the AX88772.
	if o := r.setup(vendorIn, 0x09, 0, 0, 1, nil); o != "in 00" {
		t.Errorf("STATMNGSTS: %s", o)
	}
	if s := r.f.Snapshot(); s.Speed != "high" {
		t.Errorf("AX88772 on a SuperSpeed bus runs at %s speed, want high", s.Speed)
	}
	// SW_RESET has no data stage: the zero-length read completes it.
	if o := r.setup(vendorOut, 0x20, 0x0020, 0, 0, nil); o != "status" {
		t.Errorf("SW_RESET: %s", o)
	}
}

func TestFunctionServeKeepsGoingAcrossAnUnbindUntilCancelled(t *testing.T) {
	r := newRig(t, sim.AX88179, usbnic.SpeedHigh)
	r.event(EventBind)
	r.enable()
	r.disable()
	r.event(EventUnbind)
	select {
	case err := <-r.served:
		t.Fatalf("Serve returned on an unbind it was not told to stop at: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	// Bound again: a new chip, powered up afresh.
	r.event(EventBind)
	r.enable()
	if o := r.setup(vendorIn, 0x01, 0x10, 6, 6, nil); o != "in 00 0e c6 81 79 01" {
		t.Errorf("after rebinding: %s", o)
	}
	if c := r.f.Snapshot().Counters; c.Instances != 2 || c.Binds != 2 || c.Unbinds != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestNewNeedsModelAndSpeed(t *testing.T) {
	if _, err := New(&fakeDir{}, Config{Model: sim.AX88179}); err == nil {
		t.Error("New without a Speed function succeeded")
	}
	if _, err := New(&fakeDir{}, Config{Model: sim.CDCECM, Speed: func() (usbnic.Speed, error) { return usbnic.SpeedHigh, nil }}); err == nil {
		t.Error("New with a CDC model succeeded")
	}
}

// floodWire always has the same frame for the host and takes every frame from it.
type floodWire struct {
	frame []byte
	ready chan struct{}
}

func (w *floodWire) FromHost([]byte)        {}
func (w *floodWire) ToHost(buf []byte) int  { return copy(buf, w.frame) }
func (w *floodWire) Ready() <-chan struct{} { return w.ready }

// sink is an endpoint file that takes every write and answers every read with one transfer.
type sink struct{ out []byte }

func (s *sink) Read(p []byte) (int, error)  { return copy(p, s.out), nil }
func (s *sink) Write(p []byte) (int, error) { return len(p), nil }
func (s *sink) Close() error                { return nil }

// floodFunction is a Function's transfer path over an AX88179 receiving a flood of 64-byte
// frames, with endpoint files that take and give one transfer each time.
func floodFunction(t testing.TB) (*Function, *session, *sink) {
	t.Helper()
	frame := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5}, make([]byte, 50)...)
	w := &floodWire{frame: frame, ready: make(chan struct{})}
	close(w.ready)
	g := sim.NewGadget(sim.AX88179, w, usbnic.SpeedHigh, sim.WithLinkDelay(time.Millisecond))
	vendor := func(reg uint16, data ...byte) {
		if _, ok := g.Control(usbnic.Setup{Type: usbnic.Vendor, Request: 0x01, Value: reg, Index: uint16(len(data))}, false, data); !ok {
			t.Fatalf("write of register %#02x stalled", reg)
		}
	}
	vendor(0x26, 0x20, 0x00) // PHY power
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	if _, _, err := g.In(ctx, 0x81, make([]byte, 8)); err != nil { // the link-up interrupt
		t.Fatal(err)
	}
	vendor(0x0B, 0x88, 0x02) // RX_CTL START|AB|IPE
	vendor(0x22, 0x33, 0x01) // MEDIUM with RECEIVE_EN
	f, err := New(&fakeDir{}, Config{Model: sim.AX88179, Speed: func() (usbnic.Speed, error) { return usbnic.SpeedHigh, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return f, &session{g: g, ctx: ctx}, &sink{out: append([]byte{60, 0, 0, 0, 0, 0, 0, 0}, frame[:60]...)}
}

var (
	floodIn  = Endpoint{0x82, usbnic.EndpointBulk}
	floodOut = Endpoint{0x03, usbnic.EndpointBulk}
)

// The per-transfer path between the endpoint files and the model allocates nothing.
func TestTransfersAllocateNothing(t *testing.T) {
	f, s, file := floodFunction(t)
	in, out := make([]byte, ioBuffer), make([]byte, ioBuffer)
	allocs := testing.AllocsPerRun(100, func() {
		if !f.transferIn(s, floodIn, file, in) || !f.transferOut(s, floodOut, file, out) {
			t.Fatal("a transfer failed")
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per IN and OUT transfer", allocs)
	}
}

// BenchmarkTransferIn moves one bulk-IN aggregate from the model to the endpoint file per
// iteration.
func BenchmarkTransferIn(b *testing.B) {
	f, s, file := floodFunction(b)
	buf := make([]byte, ioBuffer)
	b.ReportAllocs()
	for b.Loop() {
		if !f.transferIn(s, floodIn, file, buf) {
			b.Fatal("the transfer failed")
		}
	}
	b.ReportMetric(float64(f.Snapshot().Counters.InBytes)/b.Elapsed().Seconds()/1e9*8, "Gb/s")
}
