//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"webminiport/usbnic/sim/ffs"
	"webminiport/usbnic/sim/wire"
	"webminiport/vmtest/internal/result"
)

// The ffs variants (issue 8): our sim models on dummy_hcd through FunctionFS (cmd/ffs-gadget),
// judged by Linux's own host drivers, or driven by our page over WebUSB with no host driver.

// ffsGadgetName is the configfs gadget and FunctionFS instance cmd/ffs-gadget makes.
const ffsGadgetName = "wmffs"

// The addresses of the model's virtual network (usbnic/sim/wire's defaults): the gateway
// answers ARP and ping; the host driver's interface takes the first lease address.
const (
	wireGateway = "192.168.77.1"
	hostCIDR    = "192.168.77.100/24"
)

// etherHeaderLen is the Ethernet header's length, which usbnet leaves out of rx_bytes.
const etherHeaderLen = 14

// Timeouts of the ffs steps under TCG. Binding the AX88179 alone sleeps 700 ms in the driver.
const (
	bindTimeout   = 90 * time.Second
	linkTimeout   = 60 * time.Second
	replyTimeout  = 5 * time.Second
	gadgetStopMax = 15 * time.Second
)

// hostPingPlan is what the host-driver variants send: small frames, frames of exactly one and
// two 512-byte packets (470 + 42, 982 + 42), 1400-byte payloads and full 1514-byte frames.
var hostPingPlan = []struct{ size, count int }{{56, 8}, {470, 3}, {982, 3}, {1400, 6}, {1472, 4}}

// needsBrowser reports whether any of the variants drives a page: all but the ffs variants
// with a host driver do.
func needsBrowser(variants []string) bool {
	for _, name := range variants {
		if v, ok := result.LookupFFSVariant(name); !ok || v.HostDriver == "" {
			return true
		}
	}
	return false
}

// ffsEnv is what the ffs variants of one boot share: the options from the host, the speed
// dummy_hcd runs at, and the modules loaded so far.
type ffsEnv struct {
	opts       result.FFSOptions
	superSpeed bool
	log        *logger
}

var ffsShared *ffsEnv

func loadFFSEnv(runDir string, log *logger) (*ffsEnv, error) {
	if ffsShared != nil {
		return ffsShared, nil
	}
	e := &ffsEnv{log: log}
	if err := result.ReadJSON(filepath.Join(runDir, result.FFSOptionsFile), &e.opts); err != nil {
		return nil, fmt.Errorf("the host wrote no ffs options: %w", err)
	}
	ffsShared = e
	return e, nil
}

// moduleName is the kernel's name for a module file: the base name, '-' as '_'.
func moduleName(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(filepath.Base(file), ".ko"), "-", "_")
}

func loaded(module string) bool {
	_, err := os.Stat(filepath.Join("/sys/module", module))
	return err == nil
}

// loadGroup loads a module group's files that are not loaded yet, in order; params go to the
// group's last module.
func (e *ffsEnv) loadGroup(ctx context.Context, group string, params ...string) error {
	files := e.opts.Modules[group]
	if len(files) == 0 {
		return fmt.Errorf("the host resolved no modules for group %s", group)
	}
	for i, f := range files {
		if loaded(moduleName(f)) {
			continue
		}
		args := []string{filepath.Join(e.opts.ModuleDir, f)}
		if i == len(files)-1 {
			args = append(args, params...)
		}
		if out, err := exec.CommandContext(ctx, "insmod", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("insmod %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

func unload(ctx context.Context, module string) error {
	if !loaded(module) {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "rmmod", module).CombinedOutput(); err != nil {
		return fmt.Errorf("rmmod %s: %w: %s", module, err, out)
	}
	return nil
}

// setSpeed reloads dummy_hcd when the variant needs the other mode: is_super_speed is read
// only at load time. No gadget may be bound meanwhile.
func (e *ffsEnv) setSpeed(ctx context.Context, super bool) error {
	if e.superSpeed == super {
		return nil
	}
	if err := unload(ctx, "dummy_hcd"); err != nil {
		return err
	}
	params := []string{}
	if super {
		params = append(params, "is_super_speed=1")
	}
	if err := e.loadGroup(ctx, result.GroupDummyHCD, params...); err != nil {
		return err
	}
	e.superSpeed = super
	e.log.progressf("dummy_hcd reloaded (is_super_speed=%v)", super)
	return waitFor(20*time.Second, func() bool { _, err := findUDC(); return err == nil })
}

// ffsGadget is one run of cmd/ffs-gadget.
type ffsGadget struct {
	cmd   *exec.Cmd
	done  chan error
	stats string // its stats file (guest tmpfs)
	log   string // its log, in the run folder
}

func startFFSGadget(e *ffsEnv, v result.FFSVariant, runDir string) (*ffsGadget, error) {
	g := &ffsGadget{
		stats: filepath.Join("/run", "ffs-"+v.Name+".json"),
		log:   filepath.Join(runDir, "ffs-gadget-"+v.Name+".log"),
		done:  make(chan error, 1),
	}
	logFile, err := os.Create(g.log)
	if err != nil {
		return nil, err
	}
	g.cmd = exec.Command(e.opts.Gadget, "-model", v.Model, "-mac", v.MAC, "-gateway-mac", v.GatewayMAC, "-trace",
		"-name", ffsGadgetName, "-stats", g.stats)
	g.cmd.Stdout, g.cmd.Stderr = logFile, logFile
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", e.opts.Gadget, err)
	}
	go func() { g.done <- g.cmd.Wait(); logFile.Close() }()
	return g, nil
}

// stop sends SIGTERM (the program unbinds, which is a surprise removal for the host, and takes
// its gadget down) and waits; a program that does not end is killed.
func (g *ffsGadget) stop() error {
	if g.cmd.ProcessState != nil {
		return nil
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.done:
		if err != nil {
			return fmt.Errorf("ffs-gadget: %w (log: %s)", err, g.log)
		}
		return nil
	case <-time.After(gadgetStopMax):
		g.cmd.Process.Kill()
		<-g.done
		return fmt.Errorf("ffs-gadget did not stop within %v of SIGTERM; killed it (log: %s)", gadgetStopMax, g.log)
	}
}

// gadgetReport is what cmd/ffs-gadget keeps in its stats file.
type gadgetReport struct {
	Time     time.Time
	Function ffs.Snapshot
	Wire     wire.Snapshot
}

func (g *ffsGadget) report() (*gadgetReport, error) {
	var r gadgetReport
	if err := result.ReadJSON(g.stats, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// running reports whether the program is still there; a program that ended early says why.
func (g *ffsGadget) running() error {
	select {
	case err := <-g.done:
		g.done <- err
		return fmt.Errorf("ffs-gadget ended early (%v); its log: %s", err, g.log)
	default:
		return nil
	}
}

// runFFSVariant runs one ffs variant: the model on the bus, then the host driver's checks or
// the page's, then the model unplugged again.
func runFFSVariant(ctx context.Context, log *logger, br *browser, page, origin, runDir string, v result.Variant) *result.Result {
	t0 := time.Now()
	r := &result.Result{Variant: v.Name}
	defer func() { r.Seconds = time.Since(t0).Seconds() }()
	ctx, cancel := context.WithTimeout(ctx, variantTimeout)
	defer cancel()
	fv, ok := result.LookupFFSVariant(v.Name)
	if !ok {
		r.Add("variant", false, "no ffs variant %q", v.Name)
		return r
	}
	if fv.PageDriver != "" && page != "web" {
		r.Add("page", false, "the page variants test our page: run with -page web, not %q", page)
		return r
	}
	e, err := loadFFSEnv(runDir, log)
	if err == nil {
		err = e.setSpeed(ctx, fv.SuperSpeed)
	}
	if err == nil {
		err = e.loadGroup(ctx, result.GroupFFS)
	}
	if err == nil {
		err = e.loadGroup(ctx, result.GroupGadgetFS)
	}
	if err == nil && fv.Group != "" {
		err = e.loadGroup(ctx, fv.Group)
	}
	if err != nil {
		r.Add("set-up", false, "%v", err)
		return r
	}
	log.progressf("%s: %s", v.Name, fv.About)
	g, err := startFFSGadget(e, fv, runDir)
	if err != nil {
		r.Add("ffs-gadget", false, "%v", err)
		return r
	}
	defer func() {
		if err := g.stop(); err != nil {
			r.Add("ffs-gadget exit", false, "%v", err)
		}
		// The later variants must find no host driver loaded.
		for _, m := range fv.Unload {
			if err := unload(context.Background(), m); err != nil {
				r.Add("unload "+m, false, "%v", err)
			}
		}
		if b, err := exec.Command("dmesg").Output(); err == nil {
			os.WriteFile(filepath.Join(runDir, "dmesg-"+v.Name+".log"), b, 0o644)
		}
		if b, err := os.ReadFile(g.stats); err == nil {
			os.WriteFile(filepath.Join(runDir, "ffs-stats-"+v.Name+".json"), b, 0o644)
		}
	}()
	env := &ffsRun{log: log, br: br, v: v, fv: fv, g: g, origin: origin, runDir: runDir, r: r}
	if fv.HostDriver != "" {
		err = env.hostDriver(ctx)
	} else {
		err = env.page(ctx)
	}
	if err != nil {
		var stop stepError
		if errors.As(err, &stop) {
			r.Add(stop.step, false, "%v", stop.err)
		} else {
			r.Add("run", false, "%v", err)
		}
	}
	return r
}

// ffsRun is everything one ffs variant's checks use.
type ffsRun struct {
	log    *logger
	br     *browser
	v      result.Variant
	fv     result.FFSVariant
	g      *ffsGadget
	origin string
	runDir string
	r      *result.Result
}

// boundInterface finds the USB interface the driver bound and the network interface it made.
func boundInterface(driver string) (usbIface, netdev string, ok bool) {
	matches, _ := filepath.Glob(filepath.Join("/sys/bus/usb/drivers", driver, "*:*", "net", "*"))
	if len(matches) != 1 {
		return "", "", false
	}
	return filepath.Base(filepath.Dir(filepath.Dir(matches[0]))), filepath.Base(matches[0]), true
}

func readSys(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// hostDriver runs the checks of a host-driver variant: the driver binds, reads the model's MAC
// and brings the link up; the VM's stack resolves and pings the model's gateway; the driver's
// counters match the model's; and unplugging the model takes the interface away.
func (e *ffsRun) hostDriver(ctx context.Context) error {
	var usbIface, ifname string
	err := pollUntil(ctx, bindTimeout, func() (bool, error) {
		var ok bool
		usbIface, ifname, ok = boundInterface(e.fv.HostDriver)
		return ok, e.g.running()
	})
	if err != nil {
		return stop("driver bound", "%s made no network interface: %v (dmesg: %s)", e.fv.HostDriver, err, filepath.Join(e.runDir, "dmesg-"+e.v.Name+".log"))
	}
	// udevd may rename the interface (enx<MAC>); let it finish first.
	exec.CommandContext(ctx, "udevadm", "settle", "--timeout=20").Run()
	usbIface, ifname, _ = boundInterface(e.fv.HostDriver)
	dev := strings.SplitN(usbIface, ":", 2)[0]
	busSpeed := readSys(filepath.Join("/sys/bus/usb/devices", dev, "speed"))
	wantSpeed := map[bool]string{false: "480", true: "5000"}[e.fv.SuperSpeed]
	e.r.Add("driver bound", busSpeed == wantSpeed, "%s on %s as %s, bus speed %s Mb/s (want %s)", e.fv.HostDriver, usbIface, ifname, busSpeed, wantSpeed)
	e.log.progressf("%s: %s bound %s as %s at %s Mb/s", e.v.Name, e.fv.HostDriver, usbIface, ifname, busSpeed)

	mac := readSys(filepath.Join("/sys/class/net", ifname, "address"))
	e.r.Add("MAC", strings.EqualFold(mac, e.fv.MAC), "%s read %s (model: %s)", e.fv.HostDriver, mac, e.fv.MAC)

	for _, args := range [][]string{{"addr", "add", hostCIDR, "dev", ifname}, {"link", "set", ifname, "up"}} {
		if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			return stop("interface up", "ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t0 := time.Now()
	err = pollUntil(ctx, linkTimeout, func() (bool, error) {
		return readSys(filepath.Join("/sys/class/net", ifname, "carrier")) == "1", e.g.running()
	})
	speed := readSys(filepath.Join("/sys/class/net", ifname, "speed"))
	duplex := readSys(filepath.Join("/sys/class/net", ifname, "duplex"))
	e.r.Add("link up", err == nil && speed == fmt.Sprint(e.fv.LinkMbps) && duplex == e.fv.Duplex,
		"carrier after %.1fs; ethtool link %s Mb/s %s duplex (want %d %s)", time.Since(t0).Seconds(), speed, duplex, e.fv.LinkMbps, e.fv.Duplex)
	if err != nil {
		return stop("link", "no carrier on %s: %v", ifname, err)
	}

	replies, requests, bySize, err := pingGateway(ctx, hostPingPlan)
	e.r.Requests, e.r.Replies = requests, replies
	var parts []string
	sizesOK := true
	for _, p := range hostPingPlan {
		parts = append(parts, fmt.Sprintf("%d×%dB", bySize[p.size], 14+20+8+p.size))
		sizesOK = sizesOK && bySize[p.size] == p.count
	}
	e.r.Add("ping", err == nil && replies == requests && replies >= minReplies && sizesOK,
		"%d of %d echo replies from %s (%s)%s", replies, requests, wireGateway, strings.Join(parts, " "), errSuffix(err))
	e.log.progressf("%s: %d of %d echo replies", e.v.Name, replies, requests)
	arp := arpEntry(wireGateway)
	e.r.Add("ARP", strings.EqualFold(arp, e.fv.GatewayMAC), "%s is at %q in the neighbour table (want %s)", wireGateway, arp, e.fv.GatewayMAC)
	if err := e.burst(ctx); err != nil {
		return err
	}
	addr, err := lookupGateway(ctx)
	e.r.Add("DNS over UDP", err == nil && addr == wireGateway, "%s A %s from %s%s", wireDNSName, addr, wireDNS, errSuffix(err))

	if err := e.compareHostStats(ctx, ifname); err != nil {
		return err
	}

	// Unplug: the program unbinds the gadget; the driver must let the interface go.
	if err := e.g.stop(); err != nil {
		return stop("unplug", "%v", err)
	}
	err = pollUntil(ctx, bindTimeout, func() (bool, error) {
		_, err := os.Stat(filepath.Join("/sys/class/net", ifname))
		return errors.Is(err, os.ErrNotExist), nil
	})
	e.r.Unplug = fmt.Sprintf("%s gone after the unbind", ifname)
	if err != nil {
		e.r.Unplug = fmt.Sprintf("%s still there after the unbind", ifname)
	}
	e.r.Add("unplug", err == nil, "%s", e.r.Unplug)
	return nil
}

func errSuffix(err error) string {
	if err != nil {
		return "; " + err.Error()
	}
	return ""
}

// arpEntry returns the hardware address the kernel's neighbour table has for ip.
func arpEntry(ip string) string {
	b, _ := os.ReadFile("/proc/net/arp")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[0] == ip {
			return f[3]
		}
	}
	return ""
}

// Burst size: enough 1442-byte frames to fill more than one AX88179 aggregate (18 KiB at
// SuperSpeed, 22 KiB at high speed), many 2 KiB AX88772 bursts and several NCM NTBs.
const burstCount, burstSize = 20, 1400

// burst sends echo requests back to back, so the model has several replies at once: the host
// driver must unpack multi-frame transfers. It reports how many frames came per bulk-IN
// transfer.
func (e *ffsRun) burst(ctx context.Context) error {
	time.Sleep(600 * time.Millisecond) // the program's stats file catches up with the pings
	before, err := e.g.report()
	if err != nil {
		return stop("burst", "%v", err)
	}
	got, why, err := burstToGateway(ctx, burstCount, burstSize)
	time.Sleep(600 * time.Millisecond) // the program's stats file catches up
	after, rerr := e.g.report()
	if rerr != nil {
		return stop("burst", "%v", rerr)
	}
	frames := after.Function.Device.RxFrames - before.Function.Device.RxFrames
	transfers := after.Function.Counters.InTransfers - before.Function.Counters.InTransfers
	e.r.Add("burst", err == nil && got == burstCount, "%d of %d echo replies of %d bytes sent back to back; the model delivered %d frames in %d IN transfers (interrupt ones included)%s%s",
		got, burstCount, 14+20+8+burstSize, frames, transfers, why, errSuffix(err))
	e.r.Requests += burstCount
	e.r.Replies += got
	return nil
}

// compareHostStats compares the driver's interface counters with the model's, once both are
// still. usbnet counts a received frame after eth_type_trans has pulled its 14-byte Ethernet
// header (usbnet.c usbnet_skb_return), so rx_bytes is the model's RxBytes less 14 per frame;
// and a sent frame as its whole bulk-OUT transfer, ASIX header and padding included
// (usbnet_start_xmit: tx_bytes takes urb->transfer_buffer_length), which the program counts as
// OutBytes.
func (e *ffsRun) compareHostStats(ctx context.Context, ifname string) error {
	var host netStats
	var rep *gadgetReport
	err := pollUntil(ctx, stepTimeout, func() (bool, error) {
		before, err := readNetStats(ifname)
		if err != nil {
			return false, err
		}
		time.Sleep(600 * time.Millisecond) // the program rewrites its stats file every 200 ms
		if rep, err = e.g.report(); err != nil {
			return false, err
		}
		if host, err = readNetStats(ifname); err != nil {
			return false, err
		}
		return host == before && time.Since(rep.Time) < 400*time.Millisecond, nil
	})
	if err != nil {
		return stop("statistics", "no quiet moment to compare counters in: %v", err)
	}
	m, c := rep.Function.Device, rep.Function.Counters
	e.r.FramesIn, e.r.FramesOut = host.RxPackets, host.TxPackets
	rxPayload := m.RxBytes - etherHeaderLen*m.RxFrames
	txBytes, txWhat := c.OutBytes, "of OUT transfers"
	if e.fv.TxBytesFrames {
		txBytes, txWhat = m.TxBytes, "of frames"
	}
	e.r.StatsDiff = fmt.Sprintf("rx %+d/%+dB tx %+d/%+dB", int64(host.RxPackets)-int64(m.RxFrames), int64(host.RxBytes)-int64(rxPayload),
		int64(host.TxPackets)-int64(m.TxFrames), int64(host.TxBytes)-int64(txBytes))
	ok := host.RxPackets == m.RxFrames && host.RxBytes == rxPayload && host.TxPackets == m.TxFrames && host.TxBytes == txBytes &&
		host.RxErrors == 0 && host.TxErrors == 0 && m.TxErrors == 0 && m.TxDropped == 0
	e.r.Add("statistics", ok, "ip -s link %s: rx %d frames %d B, tx %d frames %d B, errors %d/%d; model: rx %d frames %d B (%d B past the Ethernet headers), tx %d frames %d B in %d B of OUT transfers (compared: the bytes %s), tx errors %d (%s), dropped rx %d tx %d, filtered %d",
		ifname, host.RxPackets, host.RxBytes, host.TxPackets, host.TxBytes, host.RxErrors, host.TxErrors,
		m.RxFrames, m.RxBytes, rxPayload, m.TxFrames, m.TxBytes, c.OutBytes, txWhat, m.TxErrors, m.LastTxError, m.RxDropped, m.TxDropped, m.RxFiltered)
	e.r.Add("control requests", c.Stalls == 0 && c.LateStalls == 0 && c.Errors == 0 && c.Cancelled == 0,
		"%d requests; the model stalled %d, refused %d after their data stage; %d cancelled, %d I/O errors (each one in %s)",
		c.Setups, c.Stalls, c.LateStalls, c.Cancelled, c.Errors, e.g.log)
	e.r.Add("bus", true, "%s speed; %d IN transfers (%d ZLPs), %d OUT; %d enables, %d suspends",
		rep.Function.Speed, c.InTransfers, c.ZLPs, c.OutTransfers, c.Enables, c.Suspends)
	// The wire checks every IPv4 header and UDP checksum the adapter puts on it: a model that
	// filled an offloaded checksum wrongly shows up here.
	w := rep.Wire
	e.r.Add("frames on the wire", w.Malformed == 0 && w.FromHost.Frames == m.TxFrames,
		"the network took %d frames from the adapter, %d malformed (a length, version or checksum check failed), %d no peer answered",
		w.FromHost.Frames, w.Malformed, w.Ignored)
	return nil
}
