package usbnic_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/pool"
	"webminiport/usbnic"
	"webminiport/usbnic/cdcecm"
	"webminiport/usbnic/sim"
)

// recordingTransport records the length of every bulk-OUT call, in the order the calls were
// made, and passes them on to the virtual device.
type recordingTransport struct {
	*sim.Device
	mu  sync.Mutex
	out []int
}

func (t *recordingTransport) TransferOut(ctx context.Context, ep uint8, data []byte) (int, usbnic.Status, error) {
	t.mu.Lock()
	t.out = append(t.out, len(data))
	t.mu.Unlock()
	return t.Device.TransferOut(ctx, ep, data)
}

// sendZLP is the CDC-ECM minidriver with usbnet's FLAG_SEND_ZLP instead of the one-byte pad: a
// transfer that is a whole number of packets asks for a zero-length packet after it.
type sendZLP struct{ usbnic.Minidriver }

func (m sendZLP) TxFinish(d *usbnic.Device, buf []byte, used int) (int, bool) {
	return used, used%int(d.Out.MaxPacketSize) == 0
}

var sendZLPDriver = &usbnic.Driver{Name: "cdc_ether+zlp", New: func() usbnic.Minidriver {
	return sendZLP{cdcecm.Driver.New()}
}}

// sendProtocol counts send completions by status and recycles the NBLs.
type sendProtocol struct {
	returningProtocol
	sp   *ndis.SendPool
	mu   sync.Mutex
	done map[ndis.Status]int
}

func (p *sendProtocol) SendComplete(chain pool.NBL, _ ndis.SendCompleteFlags) {
	p.mu.Lock()
	for h := chain; h != 0; h = pool.PoolOf(h).Next(h) {
		p.done[ndis.Status(pool.PoolOf(h).Status(h))]++
	}
	p.mu.Unlock()
	_ = p.sp.Recycle(chain)
}

func (p *sendProtocol) completed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	total := 0
	for _, n := range p.done {
		total += n
	}
	return total
}

// TestTxZeroLengthPacketFollowsItsTransfer: with four transfers in flight, a transfer that
// asks for a ZLP gets it as the very next call on the endpoint; every frame reaches the wire
// and every send completes with SUCCESS.
func TestTxZeroLengthPacketFollowsItsTransfer(t *testing.T) {
	wire := sim.NewQueue(256)
	dev := sim.New(sim.CDCECM, wire, sim.WithLinkDelay(time.Millisecond))
	rt := &recordingTransport{Device: dev}
	ctx := context.Background()
	core, a := initCore(t, rt, sendZLPDriver, usbnic.Options{TxTransfers: 4}, "zlp0")
	p := &sendProtocol{returningProtocol: returningProtocol{a: a}, done: map[ndis.Status]int{}}
	if err := a.Bind(p); err != nil {
		t.Fatal(err)
	}
	var err error
	if p.sp, err = ndis.NewSendPool(a, ndis.SendPoolConfig{Count: 64, DataSize: 1536}); err != nil {
		t.Fatal(err)
	}
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); a.Link().MediaConnect != ndis.MediaConnectConnected; {
		if time.Now().After(deadline) {
			t.Fatal("link never came up")
		}
		time.Sleep(time.Millisecond)
	}

	// 40 frames in one chain, every other one 1024 bytes: two whole high-speed packets.
	const frames = 40
	ep := core.Info().OutEndpoint
	var head, tail pool.NBL
	for i := range frames {
		size := 300
		if i%2 == 0 {
			size = 1024
		}
		h, buf := p.sp.Take()
		putFrame(buf, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, size)
		if err := p.sp.SetLength(h, size); err != nil {
			t.Fatal(err)
		}
		if tail != 0 {
			_ = pool.PoolOf(tail).SetNext(tail, h)
		} else {
			head = h
		}
		tail = h
	}
	rt.mu.Lock()
	rt.out = rt.out[:0]
	rt.mu.Unlock()
	if err := a.Send(head, 0); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); p.completed() < frames; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sends completed", p.completed(), frames)
		}
		time.Sleep(time.Millisecond)
	}

	rt.mu.Lock()
	out := append([]int(nil), rt.out...)
	rt.mu.Unlock()
	zlps := 0
	for i, n := range out {
		switch {
		case n == 1024 && (i+1 == len(out) || out[i+1] != 0):
			t.Errorf("endpoint %#02x call %d: a 1024-byte transfer not followed by its ZLP: %v", ep, i, out)
		case n == 0 && (i == 0 || out[i-1] != 1024):
			t.Errorf("call %d: a ZLP that follows no whole-packet transfer: %v", i, out)
		case n == 0:
			zlps++
		}
	}
	if zlps != frames/2 || len(out) != frames+frames/2 {
		t.Errorf("%d calls with %d ZLPs, want %d with %d: %v", len(out), zlps, frames+frames/2, frames/2, out)
	}
	if s := core.Stats(); s.TxZLPs != frames/2 || s.TxFrames != frames || s.TxTransfers != frames {
		t.Errorf("stats %+v", s)
	}
	p.mu.Lock()
	if p.done[ndis.StatusSuccess] != frames {
		t.Errorf("completions %v, want %d SUCCESS", p.done, frames)
	}
	p.mu.Unlock()
	got := make([]byte, 2048)
	for i := range frames {
		want := 300
		if i%2 == 0 {
			want = 1024
		}
		if n := wire.Sent(got); n != want {
			t.Fatalf("frame %d on the wire: %d bytes, want %d", i, n, want)
		}
	}

	if err := a.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := core.WaitPaused(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Halt(ndis.HaltDeviceDisabled); err != nil {
		t.Fatal(err)
	}
	if err := p.sp.Free(); err != nil {
		t.Fatal(err)
	}
	if err := a.Unbind(); err != nil {
		t.Fatal(err)
	}
	for _, r := range a.Reports() {
		t.Errorf("misuse report: %v", r)
	}
}

// initCore reads t's descriptors, makes a core for drv on it and initializes an ndis adapter
// named name over it.
func initCore(tb testing.TB, t usbnic.Transport, drv *usbnic.Driver, opts usbnic.Options, name string) (*usbnic.NIC, *ndis.Adapter) {
	tb.Helper()
	desc, err := usbnic.ParseDeviceDesc(t.DeviceDescriptor())
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := t.ConfigDescriptor(context.Background(), 0)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := usbnic.ParseConfig(raw)
	if err != nil {
		tb.Fatal(err)
	}
	core := usbnic.New(t, desc, cfg, drv, opts)
	a := ndis.New(core, ndis.Config{Name: name})
	if err := a.Initialize(); err != nil {
		tb.Fatal(err)
	}
	return core, a
}
