//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"webminiport/vmtest/internal/result"
)

// Echo requests each variant sends: small ones, ones whose frames are exactly one and two
// 512-byte USB packets long (470 + 42 = 512, 982 + 42 = 1024: a bulk-OUT transfer of such a
// length must end with a zero-length packet, and an ECM device sees the frame only then) and
// 1400-byte ones.
var pingPlan = []struct{ size, count int }{{56, 8}, {470, 3}, {982, 3}, {1400, 10}}

// minReplies is what the issue asks for at least.
const minReplies = 20

// Timeouts of the steps. Under TCG the page's first load compiles main.wasm in a slow
// emulated CPU; everything after that is quick but still far from native.
const (
	apiTimeout     = 4 * time.Minute
	runningTimeout = 2 * time.Minute
	stepTimeout    = 60 * time.Second
	// The page's DHCP client backs off 2, 4, 8, 16, 32 s and takes a new transaction ID each
	// time: when the machine is slow enough that an offer comes back after the next discover,
	// only a later round binds.
	dhcpTimeout = 2 * time.Minute
)

// product runs the checks of the real page on one variant.
func (e *variantEnv) product(ctx context.Context) error {
	v, r := e.v, e.r
	// A page that does not come up (its renderer crashed, or it stopped answering) fails the
	// variant, which goes on with a second load in a new tab so that the rest of it is still
	// checked. (Renderer crashes were the emulator's doing: see qemuArgs in vmtest/qemu.go.)
	for attempt := 1; ; attempt++ {
		err := e.loadPage(ctx)
		if err == nil {
			break
		}
		if attempt == 2 || !pageGone(err) {
			shot := filepath.Join(e.runDir, "screenshot-"+v.Name+".png")
			if serr := e.br.screenshot(context.Background(), shot); serr != nil {
				shot = "none: " + serr.Error()
			}
			return stop("page", "window.webminiport did not appear: %v; the page shows %q (screenshot %s)", err, e.pageText(ctx), shot)
		}
		r.Add("page load", false, "the first load did not answer (%s); loading again in a new tab so the rest is still checked", e.hangStack())
		e.log.progressf("%s: the first load did not answer; loading again in a new tab", v.Name)
		if err := e.br.newTab(); err != nil {
			return stop("page", "a new tab: %v", err)
		}
		e.gone = nil
	}
	e.log.progressf("%s: page loaded; waiting for the adapter", v.Name)

	// 1. Found through getDevices (it was paired by policy and plugged in before the page
	// loaded), the right minidriver, Running, link up, the gadget's MAC.
	running := func(s *pageState) bool {
		return s.Source == "usb" && s.Adapter.State == "Running" && s.Adapter.Link == "connected"
	}
	s, err := e.waitState(ctx, runningTimeout, running)
	if err != nil {
		r.Add("found by getDevices", false, "not Running with link up: %v (last state: %s; log: %s)", err, adapterLine(s), logTail(s))
		// The rest can still be checked: plugging the gadget in again must bring the page to it
		// through the connect event.
		if err := e.replug(); err != nil {
			return stop("adapter", "%v", err)
		}
		if s, err = e.waitState(ctx, runningTimeout, running); err != nil {
			return stop("adapter", "not Running after a replug either: %v (%s)", err, adapterLine(s))
		}
	} else {
		r.Add("found by getDevices", true, "at load, %s", s.Adapter.Label)
	}
	speed := "high"
	if v.FullSpeed {
		speed = "full"
	}
	r.Add("adapter", s.Adapter.Driver == v.Driver && s.Adapter.VIDPID == "1d6b:0104" &&
		strings.EqualFold(s.Adapter.MAC, v.HostMAC) && s.Adapter.BusSpeed == speed,
		"%s, %s speed (want driver %s, 1d6b:0104, MAC %s, %s speed)", adapterLine(s), s.Adapter.BusSpeed, v.Driver, v.HostMAC, speed)
	e.log.progressf("%s: %s", v.Name, adapterLine(s))

	// 2. DHCP: the page starts it itself once the link is up; its discover must get dnsmasq's
	// offer, decoded in the frame table, and the page must end up bound. Asking again here
	// would restart a client that may be half-way through.
	if s.Station.DHCP == "none" {
		if err := e.send(ctx, "dhcp", map[string]any{}); err != nil {
			return stop("DHCP", "%v", err)
		}
	}
	var offer frameRow
	lastReport := time.Now()
	err = pollUntil(ctx, dhcpTimeout, func() (bool, error) {
		if time.Since(lastReport) > 15*time.Second {
			// A slow exchange says how far USB got: transfers done, frames, errors.
			lastReport = time.Now()
			if s, err := e.state(ctx); err == nil {
				e.log.progressf("%s: waiting for the DHCP offer: %s; log: %s", v.Name, usbLine(s), logTail(s))
			}
		}
		rows, err := e.frames(ctx, 500)
		for _, f := range rows {
			if f.Protocol == "DHCP" && strings.Contains(f.Info, "Offer") {
				offer = f
				return true, nil
			}
		}
		return false, err
	})
	offers := e.dhcp.offered()
	r.DHCP = offer.Info
	if err != nil {
		r.DHCP = "no offer"
	}
	r.Add("DHCP offer", err == nil && len(offers) > 0, "frame %d %q; dnsmasq offered %d times", offer.Number, offer.Info, len(offers))
	s, err = e.waitState(ctx, dhcpTimeout, func(s *pageState) bool { return s.Station.DHCP == "bound" })
	if err != nil {
		return stop("DHCP lease", "the page is not bound: %v (station: %+v; dnsmasq: %s)", err, stationOf(s), strings.Join(e.dhcp.exchange(), " | "))
	}
	r.Add("DHCP lease", strings.HasPrefix(s.Station.Address, "192.168.77."), "page bound %s after %d discovers (dnsmasq: %s)",
		s.Station.Address, e.dhcp.count("DHCPDISCOVER"), strings.Join(e.dhcp.exchange(), " | "))

	// 3. ARP resolves the gadget.
	mark, err := e.lastFrame(ctx)
	if err != nil {
		return stop("ARP", "%v", err)
	}
	if err := e.send(ctx, "arp", map[string]any{"target": gadgetIP}); err != nil {
		return stop("ARP", "%v", err)
	}
	want := gadgetIP + " is at " + strings.ToLower(v.DevMAC)
	var arp frameRow
	err = pollUntil(ctx, stepTimeout, func() (bool, error) {
		rows, err := e.framesAfter(ctx, mark)
		for _, f := range rows {
			if f.Protocol == "ARP" && strings.Contains(strings.ToLower(f.Info), want) {
				arp = f
				return true, nil
			}
		}
		return false, err
	})
	r.Add("ARP", err == nil, "frame %d %q (want %q)", arp.Number, arp.Info, want)

	// 4. Pings of every size in the plan; every reply must come back decoded.
	if err := e.pings(ctx); err != nil {
		return err
	}

	// 5. CDC-NCM: a burst must leave in fewer transfers than frames, and the gadget must unpack
	// every frame of the shared NTBs.
	if v.Function == "ncm" {
		if err := e.batching(ctx); err != nil {
			return err
		}
	}

	// 6. Quiet: every NBL home, no misuse, and our counters against the gadget's.
	if err := e.quiet(ctx, "quiet"); err != nil {
		return err
	}
	if err := e.compareStats(ctx); err != nil {
		return err
	}

	// 7. Hot unplug mid-traffic, and the reconnection the connect event brings.
	if err := e.unplug(ctx); err != nil {
		return err
	}

	// 8. The whole run as a pcap, for tshark on the host.
	pcap, err := e.exportPcap(ctx)
	if err != nil {
		return stop("pcap export", "%v", err)
	}
	path := filepath.Join(e.runDir, result.PcapFile(v.Name))
	if err := os.WriteFile(path, pcap, 0o644); err != nil {
		return stop("pcap export", "%v", err)
	}
	r.Add("pcap export", len(pcap) > 24, "%d bytes to %s", len(pcap), filepath.Base(path))
	return nil
}

// pings sends the ping plan and counts the decoded echo replies from the gadget.
func (e *variantEnv) pings(ctx context.Context) error {
	mark, err := e.lastFrame(ctx)
	if err != nil {
		return stop("ping", "%v", err)
	}
	requests := 0
	for _, p := range pingPlan {
		if err := e.send(ctx, "ping", map[string]any{"target": gadgetIP, "size": p.size, "count": p.count}); err != nil {
			return stop("ping", "%v", err)
		}
		requests += p.count
	}
	e.r.Requests = requests
	var bySize map[int]int
	var replies int
	err = pollUntil(ctx, 2*stepTimeout, func() (bool, error) {
		rows, err := e.framesAfter(ctx, mark)
		replies, bySize = countReplies(rows)
		return replies >= requests, err
	})
	e.r.Replies = replies
	var parts []string
	sizesOK := true
	for _, p := range pingPlan {
		frame := 14 + 20 + 8 + p.size
		parts = append(parts, fmt.Sprintf("%d×%dB", bySize[frame], frame))
		sizesOK = sizesOK && bySize[frame] == p.count
	}
	e.r.Add("ping", err == nil && replies == requests && replies >= minReplies && sizesOK,
		"%d of %d echo replies decoded (%s)", replies, requests, strings.Join(parts, " "))
	e.log.progressf("%s: %d of %d echo replies", e.v.Name, replies, requests)
	return nil
}

// countReplies counts the decoded echo replies from the gadget, by frame length.
func countReplies(rows []frameRow) (int, map[int]int) {
	bySize := map[int]int{}
	n := 0
	for _, f := range rows {
		if f.Protocol == "ICMP" && f.Source == gadgetIP && strings.HasPrefix(f.Info, "Echo (ping) reply") {
			n++
			bySize[f.Length]++
		}
	}
	return n, bySize
}

// batching sends a burst of echo requests at once and checks that our NCM transmit path put
// several into one NTB, and that the gadget unpacked all of them.
func (e *variantEnv) batching(ctx context.Context) error {
	// Below the capture driver's 16 send buffers, so that none of the burst is refused.
	const burst = 12
	if err := e.quiet(ctx, "before the burst"); err != nil {
		return err
	}
	s0, err := e.state(ctx)
	if err != nil {
		return stop("NCM batching", "%v", err)
	}
	g0, err := readNetStats(e.g.ifname)
	if err != nil {
		return stop("NCM batching", "%v", err)
	}
	if err := e.send(ctx, "ping", map[string]any{"target": gadgetIP, "size": 56, "count": burst}); err != nil {
		return stop("NCM batching", "%v", err)
	}
	s1, err := e.waitState(ctx, stepTimeout, func(s *pageState) bool { return s.USB.TxFrames-s0.USB.TxFrames >= burst })
	if err != nil {
		return stop("NCM batching", "the burst did not leave: %v", err)
	}
	// The gadget's counter moves when its network stack has taken the frames.
	var g1 netStats
	err = pollUntil(ctx, stepTimeout, func() (bool, error) {
		var err error
		g1, err = readNetStats(e.g.ifname)
		return g1.RxPackets-g0.RxPackets >= s1.USB.TxFrames-s0.USB.TxFrames, err
	})
	frames, transfers := s1.USB.TxFrames-s0.USB.TxFrames, s1.USB.TxTransfers-s0.USB.TxTransfers
	gadget := g1.RxPackets - g0.RxPackets
	e.r.Add("NCM batching", err == nil && transfers < frames && gadget == frames,
		"%d frames in %d bulk-OUT NTBs (%.1f per NTB); gadget rx_packets +%d", frames, transfers,
		float64(frames)/float64(max(transfers, 1)), gadget)
	return nil
}

// quiet waits until no NBL is away from home and checks the pools and the reports.
func (e *variantEnv) quiet(ctx context.Context, when string) error {
	s, err := e.waitState(ctx, stepTimeout, func(s *pageState) bool { return s.Pending.Pending == 0 })
	if err != nil && s == nil {
		return stop("NBLs home", "%v", err)
	}
	e.r.Add("NBLs home ("+when+")", err == nil && homeOK(s), "%s", poolsLine(s))
	return nil
}

// homeOK is true when no pool shows a misuse, no NBL is held anywhere but at home and the page
// lists no misuse or watchdog report.
func homeOK(s *pageState) bool {
	if s.Pending.Pending != 0 || len(s.Reports) != 0 {
		return false
	}
	for _, p := range s.Pools {
		if p.Misuses != 0 {
			return false
		}
		for owner, n := range p.Owners {
			if n > 0 && !homeOwner[owner] {
				return false
			}
		}
	}
	return true
}

// homeOwner are the owners an NBL may have when nothing is in flight: free in its pool, on the
// miniport's receive free list or on the protocol's send free list.
var homeOwner = map[string]bool{"pool free": true, "miniport free list": true, "protocol free list": true}

// ethHeader is what the gadget leaves out of rx_bytes: u_ether counts a received frame after
// eth_type_trans has pulled its Ethernet header.
const ethHeader = 14

// compareStats checks our counters against the gadget's, crosswise: what we received the
// gadget sent, and the other way round. What the gadget counts differs by function (u_ether,
// Linux 6.1):
//   - tx_packets and tx_bytes count USB requests: one frame each for ECM, one NTB each for NCM,
//     so for NCM they match our bulk-IN transfers and their bytes;
//   - rx_packets counts frames (NCM: datagrams out of the NTBs) and rx_bytes their length after
//     the Ethernet header; for ECM that length includes the one pad byte we add to a frame that
//     is a multiple of the packet size (usbnet's rule without FLAG_SEND_ZLP), so it is our
//     transfer length.
//
// The gadget is read before and after the page, and again until both reads agree, so that a
// frame in flight between the reads shows up as a retry, not as a difference.
func (e *variantEnv) compareStats(ctx context.Context) error {
	var s *pageState
	var g netStats
	err := pollUntil(ctx, stepTimeout, func() (bool, error) {
		g0, err := readNetStats(e.g.ifname)
		if err != nil {
			return false, err
		}
		if s, err = e.state(ctx); err != nil {
			return false, err
		}
		g, err = readNetStats(e.g.ifname)
		return g == g0, err
	})
	if err != nil {
		return stop("statistics", "%v", err)
	}
	in, out := s.inFrames(), s.outFrames()
	e.r.FramesIn, e.r.FramesOut = in, out

	// What the gadget must have counted, from our side.
	var wantTx, wantTxB, wantRxB uint64
	var inUnit string
	if e.v.Function == "ncm" {
		wantTx, wantTxB, inUnit = s.USB.RxTransfers, s.USB.RxBytes, "NTBs"
		wantRxB = s.Stats.OutOctets - ethHeader*out
	} else {
		wantTx, wantTxB, inUnit = in, s.Stats.InOctets, "frames"
		wantRxB = s.USB.TxBytes - ethHeader*s.USB.TxFrames
	}
	dTx, dTxB := int64(wantTx)-int64(g.TxPackets), int64(wantTxB)-int64(g.TxBytes)
	dRx, dRxB := int64(out)-int64(g.RxPackets), int64(wantRxB)-int64(g.RxBytes)
	e.r.StatsDiff = fmt.Sprintf("in %+d/%+dB out %+d/%+dB", dTx, dTxB, dRx, dRxB)
	ok := dTx == 0 && dTxB == 0 && dRx == 0 && dRxB == 0 && g.RxErrors == 0 && g.RxDropped == 0 &&
		s.USB.RxFixupErrors == 0 && s.USB.RxFrameErrors == 0 && s.USB.TxErrors == 0
	e.r.Add("statistics", ok,
		"in: ours %d %s/%dB, gadget tx %d/%dB; out: ours %d frames (%d B without headers on the wire), "+
			"gadget rx %d/%dB; gadget rx_errors %d rx_dropped %d tx_dropped %d; our rx fixup errors %d, tx errors %d",
		wantTx, inUnit, wantTxB, g.TxPackets, g.TxBytes, out, wantRxB, g.RxPackets, g.RxBytes,
		g.RxErrors, g.RxDropped, g.TxDropped, s.USB.RxFixupErrors, s.USB.TxErrors)
	return nil
}

// unplug unbinds the gadget from its UDC while pings are going, expects the page to show the
// removal with every NBL home, binds it again and expects the page to come back by itself and
// traffic to flow.
func (e *variantEnv) unplug(ctx context.Context) error {
	v := e.v
	// Traffic: a few 1400-byte pings every 200 ms until the page says the device is gone. Sends
	// fail once it is; those errors are the expected end of the traffic, not a finding.
	trafficCtx, stopTraffic := context.WithCancel(ctx)
	trafficDone := make(chan int)
	go func() {
		sent := 0
		for trafficCtx.Err() == nil {
			if e.send(trafficCtx, "ping", map[string]any{"target": gadgetIP, "size": 1400, "count": 4}) == nil {
				sent += 4
			}
			select {
			case <-trafficCtx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
		trafficDone <- sent
	}()
	time.Sleep(time.Second)
	if err := e.g.unbind(); err != nil {
		stopTraffic()
		<-trafficDone
		return stop("unplug", "%v", err)
	}
	e.log.progressf("%s: gadget unbound mid-traffic", v.Name)
	s, err := e.waitState(ctx, stepTimeout, func(s *pageState) bool { return s.Adapter.Removed })
	stopTraffic()
	e.log.logf("%s: %d pings sent around the unplug", v.Name, <-trafficDone)
	removedOK := err == nil
	detail := adapterLine(s)
	if removedOK {
		s, err = e.waitState(ctx, stepTimeout, func(s *pageState) bool { return s.Pending.Pending == 0 })
	}
	e.r.Add("unplug", removedOK && err == nil && homeOK(s), "%s; %s", detail, poolsLine(s))

	tBind := time.Now()
	if err := e.g.bind(); err != nil {
		return stop("replug", "%v", err)
	}
	e.log.progressf("%s: gadget bound again", v.Name)
	s, err = e.waitState(ctx, runningTimeout, func(s *pageState) bool {
		return !s.Adapter.Removed && s.Adapter.State == "Running" && s.Adapter.Link == "connected"
	})
	if err != nil {
		e.r.Unplug = "removed, no reconnect"
		e.r.Add("replug", false, "the page did not reconnect on its own: %v (%s)", err, adapterLine(s))
		return nil
	}
	back := time.Since(tBind)
	// A new bring-up starts DHCP again (or keeps the lease): wait for the page to be bound.
	if s.Station.DHCP == "none" {
		if err := e.send(ctx, "dhcp", map[string]any{}); err != nil {
			return stop("replug", "%v", err)
		}
	}
	if s, err = e.waitState(ctx, dhcpTimeout, func(s *pageState) bool { return s.Station.DHCP == "bound" }); err != nil {
		e.r.Unplug = fmt.Sprintf("removed; back in %.1fs; no lease", back.Seconds())
		e.r.Add("replug", false, "reconnected in %.1fs but not bound again: %v (station: %+v)", back.Seconds(), err, stationOf(s))
		return nil
	}
	mark, err := e.lastFrame(ctx)
	if err != nil {
		return stop("replug", "%v", err)
	}
	if err := e.send(ctx, "ping", map[string]any{"target": gadgetIP, "size": 56, "count": 3}); err != nil {
		return stop("replug", "%v", err)
	}
	var replies int
	err = pollUntil(ctx, stepTimeout, func() (bool, error) {
		rows, err := e.framesAfter(ctx, mark)
		replies, _ = countReplies(rows)
		return replies >= 3, err
	})
	e.r.Unplug = fmt.Sprintf("removed; back in %.1fs; %d/3 replies", back.Seconds(), replies)
	e.r.Add("replug", err == nil, "reconnected in %.1fs (%s); %d of 3 echo replies after", back.Seconds(), adapterLine(s), replies)
	if err == nil {
		return e.quiet(ctx, "after replug")
	}
	return nil
}

// waitAPI waits for window.webminiport, logging what the page shows every 20 s meanwhile.
// loadPage navigates the tab to the page and waits for window.webminiport.
func (e *variantEnv) loadPage(ctx context.Context) error {
	navCtx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if err := e.br.navigate(navCtx, e.origin+"/"); err != nil {
		return fmt.Errorf("loading %s/: %w", e.origin, err)
	}
	return e.waitAPI(ctx)
}

func (e *variantEnv) waitAPI(ctx context.Context) error {
	t0, next := time.Now(), 20*time.Second
	return pollUntil(ctx, apiTimeout, func() (bool, error) {
		if time.Since(t0) > next {
			next += 20 * time.Second
			e.log.logf("%s: %.0fs and no window.webminiport yet; the page shows %q", e.v.Name, time.Since(t0).Seconds(), e.pageText(ctx))
		}
		return e.hasAPI(ctx)
	})
}

// pageText is the page's status line, or the start of its text, for a report of a page that
// did not come up. It gives up after a few seconds, also when ctx has ended: the page may be
// what hangs, and a report is wanted all the same.
func (e *variantEnv) pageText(context.Context) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var text string
	err := e.br.eval(ctx, `(() => {
		const el = document.getElementById("status") || document.body;
		return document.readyState + ": " + (el ? el.textContent.trim().slice(0, 300) : "");
	})()`, &text)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return text
}

// warmUp loads the page once before any gadget exists, in a tab of its own, and waits for its
// API and its virtual adapter. The first load in a fresh VM pays for TCG translating
// Chromium's WebAssembly compiler and its USB service; a variant's load after it takes seconds,
// so the page's own short wait for getDevices at start is not what the variants measure.
func warmUp(ctx context.Context, log *logger, br *browser, origin string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*apiTimeout)
	defer cancel()
	defer br.closeTab()
	if err := br.newTab(); err != nil {
		return err
	}
	e := &variantEnv{log: log, br: br, v: result.Variant{Name: "warm-up"}, origin: origin}
	if err := br.navigate(ctx, origin+"/"); err != nil {
		return fmt.Errorf("loading the page: %w", err)
	}
	if err := e.waitAPI(ctx); err != nil {
		return fmt.Errorf("window.webminiport did not appear: %v; the page shows %q", err, e.pageText(ctx))
	}
	s, err := e.waitState(ctx, runningTimeout, func(s *pageState) bool { return s.Adapter.State == "Running" })
	if err != nil {
		return fmt.Errorf("no adapter Running: %v (%s)", err, adapterLine(s))
	}
	// The page ends before its tab closes: a first variant's page, opened while the warm-up's
	// renderer was still tearing a live page down, twice never answered (on a loaded machine).
	if err := br.navigate(ctx, "about:blank"); err != nil {
		return fmt.Errorf("leaving the page: %w", err)
	}
	return nil
}

// replug unbinds the gadget and binds it again: for the page, the adapter leaves and comes
// back, which it learns through the disconnect and connect events.
func (e *variantEnv) replug() error {
	if err := e.g.unbind(); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	return e.g.bind()
}

// lastFrame is the number of the newest frame in the table (0 when it is empty).
func (e *variantEnv) lastFrame(ctx context.Context) (uint64, error) {
	rows, err := e.frames(ctx, 1)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	return rows[len(rows)-1].Number, nil
}

// framesAfter returns the frames newer than mark (up to the 2000 newest).
func (e *variantEnv) framesAfter(ctx context.Context, mark uint64) ([]frameRow, error) {
	rows, err := e.frames(ctx, 2000)
	var out []frameRow
	for _, f := range rows {
		if f.Number > mark {
			out = append(out, f)
		}
	}
	return out, err
}

// pollUntil calls cond every half second until it reports true, d passes or ctx ends.
func pollUntil(ctx context.Context, d time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if pageGone(err) {
			return err
		}
		if time.Now().After(deadline) {
			if err != nil {
				return err
			}
			return fmt.Errorf("not within %v", d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func adapterLine(s *pageState) string {
	if s == nil {
		return "no state"
	}
	a := s.Adapter
	line := fmt.Sprintf("source %s, %s, driver %s, %s, MAC %s, link %s", s.Source, a.State, a.Driver, a.VIDPID, a.MAC, a.Link)
	if a.Removed {
		line += ", removed"
	}
	if a.Error != "" {
		line += ", error: " + a.Error
	}
	return line
}

// logTail is the end of the adapter's log, for a report.
// usbLine is the page's USB counters in one line.
func usbLine(s *pageState) string {
	u := s.USB
	return fmt.Sprintf("rx %d/%d in flight, %d sessions, %d transfers %d frames, %d empty %d cancelled %d errors %d stalls %d babbles (fixup %d, frame %d); "+
		"tx %d transfers %d frames %d errors; %d interrupt transfers",
		u.RxInFlight, u.RxQueue, u.RxSessions, u.RxTransfers, u.RxFrames, u.RxEmpty, u.RxCancelled, u.RxErrors, u.RxStalls, u.RxBabbles,
		u.RxFixupErrors, u.RxFrameErrors, u.TxTransfers, u.TxFrames, u.TxErrors, u.IntrTransfers)
}

func logTail(s *pageState) string {
	if s == nil || len(s.Adapter.Log) == 0 {
		return "empty"
	}
	l := s.Adapter.Log
	return strings.Join(l[max(0, len(l)-8):], " | ")
}

func poolsLine(s *pageState) string {
	if s == nil {
		return "no state"
	}
	var parts []string
	for _, p := range s.Pools {
		var owners []string
		for o, n := range p.Owners {
			owners = append(owners, fmt.Sprintf("%s %d", o, n))
		}
		sort.Strings(owners)
		parts = append(parts, fmt.Sprintf("%s: %s, misuses %d", p.Name, strings.Join(owners, ", "), p.Misuses))
	}
	line := fmt.Sprintf("pending %d of %d; %s", s.Pending.Pending, s.Pending.Total, strings.Join(parts, "; "))
	for _, rep := range s.Reports {
		line += "; report " + rep.Class + ": " + rep.Message
	}
	return line
}

func stationOf(s *pageState) any {
	if s == nil {
		return nil
	}
	return s.Station
}
