package sim

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"webminiport/usbnic"
)

// The host-stack rules a WebUSB page meets, each broken once.
func TestHostStackRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(d *Device) error
		want error
	}{
		{"transfer before open", func(d *Device) error {
			_, _, err := d.TransferIn(bg, 0x85, make([]byte, 16))
			return err
		}, ErrInvalidState},
		{"control before open", func(d *Device) error {
			_, _, err := d.ControlIn(bg, classSetup(0x80, 0, 0), make([]byte, 28))
			return err
		}, ErrInvalidState},
		{"claim before open", func(d *Device) error { return d.ClaimInterface(bg, 0) }, ErrInvalidState},
		{"claim a missing interface", func(d *Device) error {
			d.Open(bg)
			return d.ClaimInterface(bg, 2)
		}, ErrNotFound},
		{"transfer on an unclaimed interface", func(d *Device) error {
			d.Open(bg)
			_, _, err := d.TransferIn(bg, 0x85, make([]byte, 16))
			return err
		}, ErrInvalidState},
		{"endpoint of an unselected alternate setting", func(d *Device) error {
			d.Open(bg)
			d.ClaimInterface(bg, 1)
			_, _, err := d.TransferIn(bg, 0x81, make([]byte, 16384))
			return err
		}, ErrNotFound},
		{"alternate setting of an unclaimed interface", func(d *Device) error {
			d.Open(bg)
			return d.SelectAlternate(bg, 1, 1)
		}, ErrInvalidState},
		{"missing alternate setting", func(d *Device) error {
			d.Open(bg)
			d.ClaimInterface(bg, 1)
			return d.SelectAlternate(bg, 1, 2)
		}, ErrNotFound},
		{"configuration change with a claim", func(d *Device) error {
			d.Open(bg)
			d.ClaimInterface(bg, 0)
			return d.SelectConfiguration(bg, 1)
		}, nil}, // the same configuration: nothing to change
		{"missing configuration", func(d *Device) error {
			d.Open(bg)
			return d.SelectConfiguration(bg, 2)
		}, ErrNotFound},
		{"endpoint request to an unclaimed endpoint", func(d *Device) error {
			d.Open(bg)
			_, _, err := d.ControlIn(bg, usbnic.Setup{Recipient: usbnic.ToEndpoint, Index: 0x85}, make([]byte, 2))
			return err
		}, ErrInvalidState},
		{"OUT on an IN endpoint", func(d *Device) error {
			_, _, err := d.TransferOut(bg, 0x81, []byte{1})
			return err
		}, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(CDCNCM, nil)
			err := tc.run(d)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestKernelDriverMakesClaimFail(t *testing.T) {
	d := New(AX88179, nil, WithKernelDriver())
	d.Open(bg)
	if err := d.ClaimInterface(bg, 0); !errors.Is(err, ErrClaimFailed) {
		t.Errorf("got %v", err)
	}
}

func TestUnconfiguredDeviceRefusesTransfers(t *testing.T) {
	d := New(AX88179, nil, WithConfiguration(0))
	d.Open(bg)
	if d.Configuration() != 0 {
		t.Fatalf("configuration %d", d.Configuration())
	}
	if err := d.ClaimInterface(bg, 0); !errors.Is(err, ErrInvalidState) {
		t.Errorf("claim: %v", err)
	}
	if err := d.SelectConfiguration(bg, 1); err != nil {
		t.Fatal(err)
	}
	if err := d.ClaimInterface(bg, 0); err != nil {
		t.Errorf("claim after configuring: %v", err)
	}
}

// Halting through SET_FEATURE(ENDPOINT_HALT) shows in GET_STATUS; ClearHalt clears it.
func TestStandardEndpointRequests(t *testing.T) {
	d := cdcStart(t, CDCECM, nil)
	ep := usbnic.Setup{Recipient: usbnic.ToEndpoint, Index: 0x81}
	status := func() []byte {
		s := ep
		s.Request = 0x00
		b := make([]byte, 2)
		n, _, err := d.ControlIn(bg, s, b)
		if err != nil {
			t.Fatal(err)
		}
		return b[:n]
	}
	set := ep
	set.Request = 0x03
	if st, err := d.ControlOut(bg, set, nil); err != nil || st != usbnic.StatusOK {
		t.Fatal(st, err)
	}
	if got := status(); !bytes.Equal(got, []byte{1, 0}) {
		t.Errorf("GET_STATUS % x after SET_FEATURE", got)
	}
	if _, st, _ := d.TransferIn(bg, 0x81, make([]byte, 1514)); st != usbnic.StatusStall {
		t.Errorf("transfer on a halted endpoint: %v", st)
	}
	if err := d.ClearHalt(bg, 0x81); err != nil {
		t.Fatal(err)
	}
	if got := status(); !bytes.Equal(got, []byte{0, 0}) {
		t.Errorf("GET_STATUS % x after ClearHalt", got)
	}
	b := make([]byte, 1)
	if n, _, _ := d.ControlIn(bg, usbnic.Setup{Recipient: usbnic.ToInterface, Request: 0x0A, Index: 1}, b); n != 1 || b[0] != 1 {
		t.Errorf("GET_INTERFACE = %d", b[0])
	}
	if n, _, _ := d.ControlIn(bg, usbnic.Setup{Request: 0x08}, b); n != 1 || b[0] != 1 {
		t.Errorf("GET_CONFIGURATION = %d", b[0])
	}
}

// startIn starts one IN transfer on its own goroutine and waits until the device has queued it,
// so transfers are submitted in a known order.
type result struct {
	data []byte
	st   usbnic.Status
	err  error
}

func startIn(t *testing.T, d *Device, ctx context.Context, ep uint8, n int) <-chan result {
	t.Helper()
	before := d.Outstanding()
	ch := make(chan result, 1)
	go func() {
		buf := make([]byte, n)
		got, st, err := d.TransferIn(ctx, ep, buf)
		ch <- result{buf[:got], st, err}
	}()
	eventually(t, "the transfer to be queued", func() bool { return d.Outstanding() == before+1 })
	return ch
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("transfer did not complete")
	}
	return result{}
}

// Several IN transfers wait at once and complete in the order they were submitted, each with
// the next frame.
func TestOutstandingINTransfersCompleteInOrder(t *testing.T) {
	q := NewQueue(8)
	d := cdcStart(t, CDCECM, q)
	var chs []<-chan result
	for i := 0; i < 4; i++ {
		chs = append(chs, startIn(t, d, bg, 0x81, 1514))
	}
	for i := 0; i < 4; i++ {
		q.Push(frame(gadgetHostMAC, 60, byte(i)))
	}
	for i, ch := range chs {
		r := wait(t, ch)
		if r.err != nil || r.st != usbnic.StatusOK || r.data[14] != byte(i)+14 {
			t.Errorf("transfer %d: %v %v, frame %d", i, r.st, r.err, r.data[14]-14)
		}
	}
	if n := d.Outstanding(); n != 0 {
		t.Errorf("%d transfers still inside", n)
	}
}

// Removal completes every pending transfer with ErrDisconnected, closes Disconnected, and every
// later call fails the same way.
func TestRemovalEndsEveryPendingTransfer(t *testing.T) {
	d := cdcStart(t, CDCNCM, NewQueue(4))
	notifications(t, d, 0x85, 3) // drain the bring-up notifications
	var chs []<-chan result
	for i := 0; i < 5; i++ {
		chs = append(chs, startIn(t, d, bg, 0x81, 16384))
	}
	chs = append(chs, startIn(t, d, bg, 0x85, 16))
	d.RemoveNow()
	select {
	case <-d.Disconnected():
	default:
		t.Error("Disconnected not closed")
	}
	for i, ch := range chs {
		if r := wait(t, ch); !errors.Is(r.err, usbnic.ErrDisconnected) {
			t.Errorf("transfer %d: %v", i, r.err)
		}
	}
	if _, _, err := d.TransferOut(bg, 0x02, []byte{1}); !errors.Is(err, usbnic.ErrDisconnected) {
		t.Errorf("after removal: %v", err)
	}
	if err := d.Open(bg); !errors.Is(err, usbnic.ErrDisconnected) {
		t.Errorf("open after removal: %v", err)
	}
	if d.Outstanding() != 0 {
		t.Errorf("%d calls still inside", d.Outstanding())
	}
	d.RemoveNow() // twice is harmless
}

func TestCloseReleaseAndAltChangeAbortPendingTransfers(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(d *Device) error
	}{
		{"close", func(d *Device) error { return d.Close(bg) }},
		{"release", func(d *Device) error { return d.ReleaseInterface(bg, 1) }},
		{"alternate setting", func(d *Device) error { return d.SelectAlternate(bg, 1, 0) }},
		{"reset", func(d *Device) error { return d.Reset(bg) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := cdcStart(t, CDCECM, NewQueue(4))
			ch := startIn(t, d, bg, 0x81, 1514)
			if err := tc.do(d); err != nil {
				t.Fatal(err)
			}
			if r := wait(t, ch); !errors.Is(r.err, ErrAborted) {
				t.Errorf("got %v, want ErrAborted", r.err)
			}
		})
	}
}

func TestCancelledContextEndsATransfer(t *testing.T) {
	d := cdcStart(t, CDCECM, NewQueue(4))
	ctx, cancel := context.WithCancel(bg)
	first := startIn(t, d, ctx, 0x81, 1514)
	second := startIn(t, d, bg, 0x81, 1514)
	cancel()
	if r := wait(t, first); !errors.Is(r.err, context.Canceled) {
		t.Errorf("got %v", r.err)
	}
	// The transfer behind it moves up and gets the next frame.
	d.Wire().(*Queue).Push(frame(gadgetHostMAC, 60, 0))
	if r := wait(t, second); r.err != nil || len(r.data) != 60 {
		t.Errorf("second: %d bytes, %v", len(r.data), r.err)
	}
}

// A USB reset returns the function to power-on state: the AX88179's registers go back to their
// defaults, configuration and claims stay.
func TestResetRestoresPowerOnRegisters(t *testing.T) {
	d := plug(t, AX88179, nil)
	macWrite(t, d, 0x0B, 0x88, 0x02)
	if err := d.Reset(bg); err != nil {
		t.Fatal(err)
	}
	if got := macRead(t, d, 0x0B, 2); !bytes.Equal(got, []byte{0, 0}) {
		t.Errorf("RX_CTL after reset % x", got)
	}
	if d.Configuration() != 1 {
		t.Errorf("configuration %d", d.Configuration())
	}
}

// A loopback wire hands what the host sends back to it.
func TestLoopbackWireReturnsWhatTheHostSends(t *testing.T) {
	d := cdcStart(t, CDCECM, NewLoopback(4))
	f := frame(gadgetHostMAC, 100, 9)
	out(t, d, 0x02, f)
	if got, _ := in(t, d, 0x81, 1514); !bytes.Equal(got, f) {
		t.Error("looped frame differs")
	}
}

// Many goroutines sending and receiving at once keep every frame and count (run with -race).
func TestConcurrentTrafficKeepsEveryFrame(t *testing.T) {
	const n = 200
	d := cdcStart(t, CDCNCM, NewLoopback(n))
	var wg sync.WaitGroup
	received := make(chan int, 4)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			count := 0
			for {
				ctx, cancel := contextTimeout(200 * time.Millisecond)
				buf := make([]byte, 16384)
				got, _, err := d.TransferIn(ctx, 0x81, buf)
				cancel()
				if err != nil {
					received <- count
					return
				}
				fs, _ := parseNTB16(t, buf[:got])
				count += len(fs)
			}
		}()
	}
	for i := 0; i < n; i++ {
		out(t, d, 0x02, ntb16Out(frame(gadgetHostMAC, 60+i%100, byte(i))))
	}
	wg.Wait()
	close(received)
	total := 0
	for c := range received {
		total += c
	}
	if s := d.Stats(); total != n || s.RxFrames != n || s.TxFrames != n {
		t.Errorf("received %d, stats %+v", total, s)
	}
}

func TestModelsByName(t *testing.T) {
	for _, name := range []string{"AX88179", "AX88772", "CDC-ECM", "CDC-NCM"} {
		if m, ok := ModelByName(name); !ok || m.Name != name {
			t.Errorf("%s: %v %v", name, m, ok)
		}
	}
	if _, ok := ModelByName("RTL8153"); ok {
		t.Error("unknown model found")
	}
}
