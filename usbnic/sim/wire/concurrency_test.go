package wire

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestConcurrentFromHostToHostAndProfileSwitches(t *testing.T) {
	w, err := New(Config{}) // the system clock: the real timer path runs too
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	requests := [][]byte{
		arpWhoHasGateway,
		ethFrame(gwMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, gwIP, echoRequest(1, 1, 100))),
		dhcpFrame(hostMAC, [4]byte{}, buildDHCP(1, 1, 0, [4]byte{}, hostMAC)),
		dnsFrame(dnsMAC, dnsIP, dnsQuery(1, 0, 1, 1, "web", "wire", "test")),
	}
	const rounds = 2000
	var sent, sentBytes uint64
	for i := range rounds {
		sent++
		sentBytes += uint64(len(requests[i%len(requests)]))
	}

	stop := make(chan struct{})
	var pulled, pulledBytes uint64
	var consumer, others sync.WaitGroup
	consumer.Add(1)
	go func() { // the adapter's receive side
		defer consumer.Done()
		buf := make([]byte, 9216)
		for {
			// At most a transfer's worth of frames per wake-up: an unpaced flood never runs
			// dry, and js/wasm does not preempt a goroutine that never blocks.
			for i, n := 0, w.ToHost(buf); n > 0; i, n = i+1, w.ToHost(buf) {
				pulled++
				pulledBytes += uint64(n)
				if i == 255 {
					break
				}
			}
			select {
			case <-w.Ready():
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	others.Add(3)
	go func() { // the adapter's transmit side
		defer others.Done()
		for i := range rounds {
			w.FromHost(requests[i%len(requests)])
		}
	}()
	go func() { // the UI switching profiles
		defer others.Done()
		frames := captureFrames()
		for i := range 200 {
			switch i % 6 {
			case 0:
				w.Idle()
			case 1:
				_ = w.Web(0)
			case 2:
				_ = w.Flood(64, 0)
			case 3:
				_ = w.Flood(1514, 100000)
			case 4:
				_ = w.Replay(frames, OriginalTiming)
			case 5:
				w.Quiet()
			}
			time.Sleep(50 * time.Microsecond)
		}
		w.Quiet()
	}()
	go func() { // the UI reading counters
		defer others.Done()
		for range 500 {
			_ = w.Snapshot()
		}
	}()
	others.Wait()
	// Let the consumer take the last replies.
	time.Sleep(20 * time.Millisecond)
	close(stop)
	consumer.Wait()
	for n := w.ToHost(make([]byte, 9216)); n > 0; n = w.ToHost(make([]byte, 9216)) {
		pulled++
		pulledBytes += uint64(n)
	}
	s := w.Snapshot()
	if s.FromHost != (Count{sent, sentBytes}) {
		t.Errorf("from host %+v, want %d frames of %d bytes", s.FromHost, sent, sentBytes)
	}
	if s.ToHost != (Count{pulled, pulledBytes}) {
		t.Errorf("to host %+v, the consumer pulled %d frames of %d bytes", s.ToHost, pulled, pulledBytes)
	}
	if replies := s.ToHostByKind[KindARP].Frames + s.ToHostByKind[KindICMP].Frames + s.ToHostByKind[KindDHCP].Frames; replies == 0 {
		t.Errorf("no replies reached the host: %+v", s.ToHostByKind)
	}
}

func TestCloseLeavesNoGoroutineBehind(t *testing.T) {
	before := runtime.NumGoroutine()
	w, err := New(Config{}) // the system clock's timers
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flood(64, 1000); err != nil {
		t.Fatal(err)
	}
	// Pull paced frames the way an adapter does; only the timer can wake this loop after the
	// first frame.
	buf := make([]byte, 9216)
	got := 0
	deadline := time.After(10 * time.Second)
	for got < 20 {
		for w.ToHost(buf) > 0 {
			got++
		}
		select {
		case <-w.Ready():
		case <-deadline:
			t.Fatalf("only %d paced frames arrived", got)
		}
	}
	w.Close()
	for wait := time.Now(); runtime.NumGoroutine() > before; {
		if time.Since(wait) > 5*time.Second {
			t.Fatalf("%d goroutines after Close, %d before New", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}
