package ffs

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"sync"
	"testing"
	"time"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
)

// The CDC-ECM model as a GadgetFS device: the layout Linux's own f_ecm has on dummy_hcd
// (data/usb/README.md): notification IN 0x85 (16 bytes, bInterval 32 frames or 2^8
// microframes), bulk IN 0x81 and OUT 0x02.
func TestDescribeGadgetFSCDCECM(t *testing.T) {
	l, err := DescribeGadgetFS(sim.CDCECM, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := l.Descriptors
	if !bytes.Equal(b[:4], []byte{0, 0, 0, 0}) {
		t.Fatalf("tag % x, want 0", b[:4])
	}
	// Full-speed configuration, then high-speed, then the device descriptor: each whole.
	fsLen := int(binary.LittleEndian.Uint16(b[4+2:]))
	hs := b[4+fsLen:]
	hsLen := int(binary.LittleEndian.Uint16(hs[2:]))
	dev := hs[hsLen:]
	if b[5] != 0x02 || hs[1] != 0x02 || len(dev) != 18 || dev[1] != 0x01 {
		t.Fatalf("blob of %d bytes is not tag, two configurations and a device descriptor", len(b))
	}
	if dev[17] != 1 || binary.LittleEndian.Uint16(dev[8:]) != 0x1d6b || binary.LittleEndian.Uint16(dev[10:]) != 0x0104 {
		t.Errorf("device descriptor % x", dev)
	}
	// CDC functional descriptors are there: the header (05 24 00 10 01) right after the
	// control interface.
	if !bytes.Contains(hs, []byte{0x05, 0x24, 0x00, 0x10, 0x01}) {
		t.Error("the CDC header functional descriptor is missing")
	}
	want := []Endpoint{{0x85, usbnic.EndpointInterrupt}, {0x81, usbnic.EndpointBulk}, {0x02, usbnic.EndpointBulk}}
	if !sameEndpoints(l.Endpoints, want) {
		t.Fatalf("endpoints %+v, want %+v", l.Endpoints, want)
	}
	wantConfigs := []string{
		"01 00 00 00  07 05 85 03 10 00 20  07 05 85 03 10 00 09",
		"01 00 00 00  07 05 81 02 40 00 00  07 05 81 02 00 02 00",
		"01 00 00 00  07 05 02 02 40 00 00  07 05 02 02 00 02 00",
	}
	for i, w := range wantConfigs {
		if !bytes.Equal(l.epConfigs[i], hx(t, w)) {
			t.Errorf("endpoint %#02x configuration % x, want %s", l.Endpoints[i].Address, l.epConfigs[i], w)
		}
	}
	if l.Strings != nil || l.Device.MaxSpeed != "high-speed" {
		t.Errorf("strings % x, max speed %s", l.Strings, l.Device.MaxSpeed)
	}
}

func TestDescribeGadgetFSRefusesRemoteWakeup(t *testing.T) {
	if _, err := DescribeGadgetFS(sim.AX88179, 0); err == nil || !strings.Contains(err.Error(), "remote wakeup") {
		t.Errorf("AX88179 (bmAttributes 0xA0): %v, want a remote wakeup error", err)
	}
}

// GadgetFS events: the 8-byte union (setup packet or speed), then the type as a 32-bit
// little-endian enum: CONNECT 1, DISCONNECT 2, SETUP 3, SUSPEND 4; NOP (0) is dropped.
func TestParseGadgetFSEvents(t *testing.T) {
	evs, err := ParseGadgetFSEvents(hx(t, `
		03 00 00 00 00 00 00 00  01 00 00 00  # CONNECT at USB_SPEED_HIGH
		80 06 04 03 09 04 ff 00  03 00 00 00  # SETUP GET_DESCRIPTOR(string 4, 0x0409)
		00 00 00 00 00 00 00 00  00 00 00 00  # NOP
		00 00 00 00 00 00 00 00  04 00 00 00  # SUSPEND
		00 00 00 00 00 00 00 00  02 00 00 00  # DISCONNECT
	`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Type: EventConnect, Speed: usbnic.SpeedHigh},
		{Type: EventSetup, Setup: Setup{RequestType: 0x80, Request: 0x06, Value: 0x0304, Index: 0x0409, Length: 255}},
		{Type: EventSuspend},
		{Type: EventDisconnect},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, evs[i], want[i])
		}
	}
	for _, bad := range []string{"00 00 00 00 00 00 00 00 05 00 00 00", "00 00 00 00"} {
		if _, err := ParseGadgetFSEvents(hx(t, bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzParseGadgetFSEvents(f *testing.F) {
	f.Add(hx(f, "03 00 00 00 00 00 00 00 01 00 00 00"))
	f.Add(hx(f, "80 06 04 03 09 04 ff 00 03 00 00 00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := ParseGadgetFSEvents(b)
		if err != nil {
			return
		}
		if len(evs)*EventSize > len(b) {
			t.Fatalf("%d events from %d bytes", len(evs), len(b))
		}
	})
}

func TestEndpointFileNames(t *testing.T) {
	names := []string{"dummy_udc", "ep1in-bulk", "ep2out-bulk", "ep5in-int", "ep10in-int", "ep1out-bulk", "ep-aout"}
	for _, tc := range []struct {
		addr uint8
		want string
	}{{0x81, "ep1in-bulk"}, {0x02, "ep2out-bulk"}, {0x85, "ep5in-int"}, {0x01, "ep1out-bulk"}, {0x8A, "ep10in-int"}} {
		if got, ok := endpointFile(names, tc.addr); !ok || got != tc.want {
			t.Errorf("%#02x: %q, %v; want %q", tc.addr, got, ok, tc.want)
		}
	}
	if got, ok := endpointFile(names, 0x83); ok {
		t.Errorf("0x83 found as %q; dummy_hcd has no ep3in that is not isochronous here", got)
	}
}

// gfsDir is a GadgetFS instance: the UDC's file alone until the device is bound (written to),
// then one file per UDC endpoint. An endpoint file takes its configuration as its first write.
type gfsDir struct {
	ep0    *fakeEP0
	packet int // the endpoint files' fakeEP.packet
	mu     sync.Mutex
	bound  bool
	eps    map[string]*gfsEP
	closed []string
}

type gfsEP struct {
	*fakeEP
	dir    *gfsDir
	name   string
	config []byte
}

func (e *gfsEP) Write(p []byte) (int, error) {
	if e.config == nil {
		e.config = bytes.Clone(p)
		e.enable()
		return len(p), nil
	}
	return e.fakeEP.Write(p)
}

func (e *gfsEP) Close() error {
	e.disable()
	e.dir.mu.Lock()
	e.dir.closed = append(e.dir.closed, e.name)
	e.dir.mu.Unlock()
	return nil
}

func (d *gfsDir) List() ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.bound {
		return []string{"dummy_udc"}, nil
	}
	return []string{"dummy_udc", "ep1in-bulk", "ep2out-bulk", "ep5in-int", "ep6in-bulk"}, nil
}

func (d *gfsDir) Open(name string) (File, error) {
	if name == "dummy_udc" {
		d.mu.Lock()
		d.bound = true // the descriptor write that follows binds it; near enough here
		d.mu.Unlock()
		return d.ep0, nil
	}
	ep := &gfsEP{fakeEP: newFakeEP(), dir: d, name: name}
	ep.packet = d.packet
	d.mu.Lock()
	d.eps[name] = ep
	d.mu.Unlock()
	return ep, nil
}

func (d *gfsDir) ep(name string) *gfsEP {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.eps[name]
}

// gfsEvent builds one GadgetFS event by hand.
func gfsEvent(typ uint32, union [8]byte) []byte {
	b := append(union[:], 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[8:], typ)
	return b
}

// gfsRig serves a CDC model through a fake GadgetFS instance whose endpoint files join
// transfers of whole packets as a device controller does (packet bytes; 0: they do not).
type gfsRig struct {
	t      *testing.T
	d      *gfsDir
	f      *Function
	q      *sim.Queue
	cancel context.CancelFunc
	served chan error
}

func newGFSRig(t *testing.T, m *sim.Model, packet int) *gfsRig {
	r := &gfsRig{t: t, q: sim.NewQueue(16), served: make(chan error, 1)}
	r.d = &gfsDir{ep0: &fakeEP0{parse: ParseGadgetFSEvents, events: make(chan []byte), outcomes: make(chan string, 1)}, eps: map[string]*gfsEP{}, packet: packet}
	f, err := NewGadgetFS(r.d, Config{Model: m, Wire: r.q, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	r.f = f
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	var ctx context.Context
	ctx, r.cancel = context.WithCancel(context.Background())
	go func() { r.served <- f.Serve(ctx) }()
	r.d.ep0.events <- gfsEvent(1, [8]byte{3}) // CONNECT at high speed
	return r
}

func (r *gfsRig) setup(rt, req uint8, value, index, length uint16) string {
	r.t.Helper()
	r.d.ep0.events <- gfsEvent(3, setupPacket(rt, req, value, index, length))
	return r.d.ep0.outcome(r.t, rt, req)
}

// disconnect ends the session as the host going does and waits for Serve to return.
func (r *gfsRig) disconnect() {
	r.t.Helper()
	r.cancel()
	for _, ep := range r.d.eps {
		ep.disable()
	}
	r.d.ep0.events <- gfsEvent(2, [8]byte{})
	select {
	case err := <-r.served:
		if err != nil {
			r.t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		r.t.Fatal("Serve did not return after DISCONNECT")
	}
}

func TestGadgetFSServesTheCDCECMModel(t *testing.T) {
	r := newGFSRig(t, sim.CDCECM, 0)
	d, f, q, setup := r.d, r.f, r.q, r.setup
	if len(d.ep0.blobs) != 1 || !bytes.Equal(d.ep0.blobs[0], f.Layout().Descriptors) {
		t.Fatalf("the UDC file got %d writes, want the descriptors", len(d.ep0.blobs))
	}
	// String 5 is iMACAddress: the host MAC in hex, UTF-16LE.
	if o := setup(0x80, 0x06, 0x0305, 0x0409, 255); !strings.HasPrefix(o, "in 1a 03 30 00 32 00") {
		t.Errorf("GET_DESCRIPTOR(string 5): %s, want \"020000000002\"", o)
	}
	if o := setup(0x00, 0x09, 1, 0, 0); o != "status" {
		t.Fatalf("SET_CONFIGURATION 1: %s", o)
	}
	for i, name := range []string{"ep5in-int", "ep1in-bulk", "ep2out-bulk"} {
		if ep := d.ep(name); ep == nil || !bytes.Equal(ep.config, f.layout.epConfigs[i]) {
			t.Fatalf("%s not configured with the endpoint's descriptors", name)
		}
	}
	if o := setup(0x01, 0x0B, 1, 1, 0); o != "status" {
		t.Fatalf("SET_INTERFACE 1/1: %s", o)
	}
	// f_ecm tells the host about the link once the data interface runs.
	select {
	case note := <-d.ep("ep5in-int").written:
		if len(note) < 8 || note[0] != 0xA1 {
			t.Errorf("notification % x", note)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification after SET_INTERFACE")
	}
	frame := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5}, make([]byte, 46)...)
	q.Push(frame)
	select {
	case got := <-d.ep("ep1in-bulk").written:
		if !bytes.Equal(got, frame) {
			t.Errorf("bulk IN % x, want the frame", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the frame from the wire did not reach bulk IN")
	}
	d.ep("ep2out-bulk").host <- frame
	if got := waitSent(r.q); !bytes.Equal(got, frame) {
		t.Errorf("wire got % x, want the frame from bulk OUT", got)
	}
	// The host goes: every transfer ends (the UDC does that), the files close.
	r.disconnect()
	if len(d.closed) != 3 {
		t.Errorf("closed %v, want the three endpoint files", d.closed)
	}
	c := f.Snapshot().Counters
	if c.Connects != 1 || c.Disconnects != 1 || c.Instances != 1 || c.Stalls != 0 || c.Errors != 0 {
		t.Errorf("counters %+v", c)
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}
}

// ntb16 is a CDC-NCM NTB16 (NCM 1.0 §3.2.1, §3.3.1) with one datagram, block bytes long: the
// NTH16, the NDP16 at 12, the datagram at 32, zeros to the end.
func ntb16(seq uint16, frame []byte, block int) []byte {
	b := make([]byte, block)
	copy(b, "NCMH")
	binary.LittleEndian.PutUint16(b[4:], 12)
	binary.LittleEndian.PutUint16(b[6:], seq)
	binary.LittleEndian.PutUint16(b[8:], uint16(block))
	binary.LittleEndian.PutUint16(b[10:], 12)
	copy(b[12:], "NCM0")
	binary.LittleEndian.PutUint16(b[16:], 16) // wLength: header, one entry, the terminator
	binary.LittleEndian.PutUint16(b[20:], 32)
	binary.LittleEndian.PutUint16(b[22:], uint16(len(frame)))
	copy(b[32:], frame)
	return b
}

// Linux's cdc_ncm pads a full NTB to dwNtbOutMaxSize and sends it with no zero-length packet,
// as NCM allows for a transfer of exactly that size; f_ncm reads exactly that much. A program
// that read more waited for the host's next transfer to end the read: a burst of pings under
// cdc_ncm got 11 of its replies 5.6 s late (vmtest ffs-ncm, usbmon trace).
func TestGadgetFSReadsNCMTransfersOfTheMaximumSize(t *testing.T) {
	r := newGFSRig(t, sim.CDCNCM, 512)
	if o := r.setup(0x00, 0x09, 1, 0, 0); o != "status" {
		t.Fatalf("SET_CONFIGURATION 1: %s", o)
	}
	if o := r.setup(0x01, 0x0B, 1, 1, 0); o != "status" {
		t.Fatalf("SET_INTERFACE 1/1: %s", o)
	}
	frame := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5}, make([]byte, 46)...)
	r.d.ep("ep2out-bulk").host <- ntb16(1, frame, 16384)
	if got := waitSent(r.q); !bytes.Equal(got, frame) {
		t.Fatalf("wire got % x after a bare 16384-byte NTB, want its frame", got)
	}
	frame[15] = 2
	r.d.ep("ep2out-bulk").host <- ntb16(2, frame, 100)
	if got := waitSent(r.q); !bytes.Equal(got, frame) {
		t.Fatalf("wire got % x after a short NTB, want its frame", got)
	}
	r.disconnect()
	if c := r.f.Snapshot().Counters; c.OutTransfers != 2 || c.OutBytes != 16384+100 || c.Errors != 0 {
		t.Errorf("counters %+v, want 2 OUT transfers of 16484 bytes and no error", c)
	}
}
