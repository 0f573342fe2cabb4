//go:build linux

// Command ffs-gadget puts one of the usbnic/sim adapter models on a real USB bus, through a
// USB device controller (UDC) and Linux FunctionFS, with the virtual network of
// usbnic/sim/wire behind its Ethernet port. Linux's own host drivers (ax88179_178a, asix) or
// Chromium through WebUSB then drive the model as they would the chip.
//
//	ffs-gadget -model AX88179 [-config 1] [-mac 00:0e:c6:81:79:01] [-gateway-mac 02:77:00:00:00:01]
//	           [-udc dummy_udc.0] [-name webminiport-ffs] [-stats /run/ffs-stats.json]
//
// It builds a configfs gadget from the model's device descriptor (VID:PID, bcdDevice, device
// class, strings, the configuration's attributes and power, the fastest speed the chip runs
// at), mounts a FunctionFS instance for it, writes the model's interface and endpoint
// descriptors there, binds the gadget to the UDC and serves the host until SIGINT or SIGTERM.
// Then it unbinds (for the host, the adapter is unplugged) and takes everything down again.
// FunctionFS refuses CDC functional descriptors, so the CDC-ECM and CDC-NCM models go through
// GadgetFS instead (the gadgetfs module), which takes the whole device from user space, at high
// speed at most; the UDC's soft_connect unplugs it.
// Every 200 ms, and at the end, the model's and the function's counters go to the -stats file
// as JSON, for comparing with what the host's driver counted.
//
// It needs root, configfs on /sys/kernel/config, libcomposite and usb_f_fs (or gadgetfs). The peers of the
// virtual network are those of wire.Config's defaults: the gateway 192.168.77.1 (its MAC is
// -gateway-mac), which answers ARP, ping and DHCP.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
	"webminiport/usbnic/sim/ffs"
	"webminiport/usbnic/sim/wire"
)

// gatewayIP is wire.Config's default gateway address, kept when -gateway-mac changes its MAC.
var gatewayIP = netip.MustParseAddr("192.168.77.1")

// Timing of the stats file and of the way out.
const (
	statsInterval = 200 * time.Millisecond
	// unbindWait bounds the wait for FunctionFS's UNBIND event after unbinding from the UDC.
	unbindWait = 5 * time.Second
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

type options struct {
	model   *sim.Model
	config  uint8
	mac     [6]byte
	macSet  bool
	gateway wire.MAC // zero: wire's default
	udc     string
	name    string
	stats   string
	trace   bool
}

func run(args []string, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "ffs-gadget: %v\n", err)
		return 2
	}
	logger := log.New(stderr, "ffs-gadget: ", log.Lmicroseconds)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, o, logger); err != nil {
		logger.Printf("%v", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	flags := flag.NewFlagSet("ffs-gadget", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var o options
	var model, mac, gateway string
	var config uint
	names := make([]string, len(sim.Models))
	for i, m := range sim.Models {
		names[i] = m.Name
	}
	flags.StringVar(&model, "model", "AX88179", "the adapter `model`: "+strings.Join(names, ", "))
	flags.UintVar(&config, "config", 0, "the model's configuration `value` to serve (0: its first)")
	flags.StringVar(&mac, "mac", "", "the adapter's permanent MAC `address` (default: the model's)")
	flags.StringVar(&gateway, "gateway-mac", "", "MAC `address` of the network's gateway (default: wire's)")
	flags.StringVar(&o.udc, "udc", "", "the UDC to bind to (default: the only one in /sys/class/udc)")
	flags.StringVar(&o.name, "name", "webminiport-ffs", "`name` of the configfs gadget and the FunctionFS instance")
	flags.StringVar(&o.stats, "stats", "", "`file` to keep the counters in, as JSON")
	flags.BoolVar(&o.trace, "trace", false, "log every control request and its answer")
	if err := flags.Parse(args); err != nil {
		return o, err
	}
	if flags.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	var ok bool
	if o.model, ok = sim.ModelByName(model); !ok {
		return o, fmt.Errorf("unknown model %q (known: %s)", model, strings.Join(names, ", "))
	}
	if config > 255 {
		return o, fmt.Errorf("-config %d is not a configuration value (0..255)", config)
	}
	o.config = uint8(config)
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil || len(hw) != 6 {
			return o, fmt.Errorf("-mac %q is not an Ethernet address", mac)
		}
		o.mac, o.macSet = [6]byte(hw), true
	}
	if gateway != "" {
		hw, err := net.ParseMAC(gateway)
		if err != nil || len(hw) != 6 || hw[0]&1 != 0 {
			return o, fmt.Errorf("-gateway-mac %q is not a unicast Ethernet address", gateway)
		}
		o.gateway = wire.MAC(hw)
	}
	if o.name == "" || strings.ContainsAny(o.name, "/.") {
		return o, fmt.Errorf("-name %q must be a plain name (no '/' or '.')", o.name)
	}
	return o, nil
}

// report is what the stats file holds.
type report struct {
	Time     time.Time
	Gadget   string // the configfs gadget, or the GadgetFS mount
	UDC      string
	Function ffs.Snapshot
	Wire     wire.Snapshot
}

func serve(ctx context.Context, o options, logger *log.Logger) (err error) {
	if o.udc == "" {
		if o.udc, err = onlyUDC(); err != nil {
			return err
		}
	}
	var wcfg wire.Config
	if o.gateway != (wire.MAC{}) {
		wcfg.Gateway = wire.Peer{MAC: o.gateway, IP: gatewayIP}
	}
	peers, err := wire.New(wcfg)
	if err != nil {
		return err
	}
	defer peers.Close()
	var simOpts []sim.Option
	if o.macSet {
		simOpts = append(simOpts, sim.WithMAC(o.mac))
	}
	mount := filepath.Join("/run", o.name)
	cfg := ffs.Config{
		Model:         o.model,
		Configuration: o.config,
		Wire:          peers,
		Options:       simOpts,
		Speed:         func() (usbnic.Speed, error) { return udcSpeed(o.udc) },
		Logf:          logger.Printf,
		Trace:         o.trace,
	}
	var dev device
	fn, err := ffs.New(ffs.MountDir(mount), cfg)
	if errors.Is(err, ffs.ErrNotFunctionFS) {
		// CDC-ECM and CDC-NCM: their functional descriptors need GadgetFS.
		logger.Printf("%s: %v", o.model.Name, err)
		fn, err = ffs.NewGadgetFS(ffs.MountDir(mount), cfg)
		dev = &gadgetFS{mount: mount, udc: o.udc}
	} else {
		dev = &gadget{name: o.name, function: "ffs." + o.name, mount: mount}
	}
	if err != nil {
		return err
	}
	l := fn.Layout()
	defer func() { err = errors.Join(err, dev.remove()) }()
	if err := dev.create(&l.Device); err != nil {
		return err
	}
	if err := fn.Start(); err != nil {
		return errors.Join(err, fn.Close())
	}
	if err := dev.bind(o.udc); err != nil {
		return errors.Join(err, fn.Close())
	}
	logger.Printf("%s %04x:%04x on %s (%s); the network's gateway is %v",
		o.model.Name, l.Device.VendorID, l.Device.ProductID, o.udc, dev, gatewayIP)

	served := make(chan error, 1)
	go func() { served <- fn.Serve(ctx) }()
	writeStats := func() {}
	if o.stats != "" {
		writeStats = func() {
			b, err := json.MarshalIndent(report{Time: time.Now(), Gadget: dev.String(), UDC: o.udc, Function: fn.Snapshot(), Wire: peers.Snapshot()}, "", "  ")
			if err == nil {
				err = writeFile(o.stats, b)
			}
			if err != nil {
				logger.Printf("stats: %v", err)
			}
		}
	}
	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-served:
			writeStats()
			return errors.Join(err, dev.unbind(), fn.Close())
		case <-tick.C:
			writeStats()
			continue
		case <-ctx.Done():
		}
		break
	}
	// Unplug: the endpoints are disabled, which ends every transfer, and FunctionFS reports
	// UNBIND, GadgetFS DISCONNECT.
	uerr := dev.unbind()
	select {
	case err = <-served:
	case <-time.After(unbindWait):
		err = fmt.Errorf("no UNBIND or DISCONNECT event within %v of unplugging from %s", unbindWait, o.udc)
	}
	writeStats()
	return errors.Join(err, uerr, fn.Close())
}

// writeFile replaces path through a temporary file, so a reader never sees half of it.
func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// onlyUDC names the UDC when there is exactly one.
func onlyUDC() (string, error) {
	entries, err := os.ReadDir("/sys/class/udc")
	if err != nil {
		return "", fmt.Errorf("no UDC class (load a UDC driver such as dummy_hcd): %w", err)
	}
	if len(entries) != 1 {
		return "", fmt.Errorf("/sys/class/udc has %d entries; name one with -udc", len(entries))
	}
	return entries[0].Name(), nil
}

// udcSpeed reads the speed the UDC's link runs at, as usb_speed_string spells it.
func udcSpeed(udc string) (usbnic.Speed, error) {
	b, err := os.ReadFile(filepath.Join("/sys/class/udc", udc, "current_speed"))
	if err != nil {
		return usbnic.SpeedUnknown, err
	}
	sp, err := parseSpeed(string(b))
	if err != nil {
		return sp, fmt.Errorf("UDC %s: %w", udc, err)
	}
	return sp, nil
}

// parseSpeed reads a speed as usb_speed_string writes it.
func parseSpeed(text string) (usbnic.Speed, error) {
	switch s := strings.TrimSpace(text); s {
	case "full-speed":
		return usbnic.SpeedFull, nil
	case "high-speed":
		return usbnic.SpeedHigh, nil
	case "super-speed", "super-speed-plus":
		return usbnic.SpeedSuper, nil
	default:
		return usbnic.SpeedUnknown, fmt.Errorf("the link runs at %q", s)
	}
}
