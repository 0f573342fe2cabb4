//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The gadget's network: it exists only inside the VM (QEMU has no network card).
const (
	gadgetIP   = "192.168.77.1"
	gadgetCIDR = gadgetIP + "/24"
	dhcpFirst  = "192.168.77.100"
	dhcpLast   = "192.168.77.150"
)

// setUpInterface gives the gadget's interface its address and brings it up.
func setUpInterface(ctx context.Context, ifname string) error {
	for _, args := range [][]string{
		{"addr", "add", gadgetCIDR, "dev", ifname},
		{"link", "set", ifname, "up"},
	} {
		if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// netStats are the gadget interface's counters from /sys/class/net/IF/statistics.
type netStats struct {
	RxPackets, TxPackets, RxBytes, TxBytes, RxErrors, TxErrors, RxDropped, TxDropped uint64
}

// readNetStats reads the counters of ifname.
func readNetStats(ifname string) (netStats, error) {
	var s netStats
	for _, f := range []struct {
		name string
		dst  *uint64
	}{
		{"rx_packets", &s.RxPackets}, {"tx_packets", &s.TxPackets},
		{"rx_bytes", &s.RxBytes}, {"tx_bytes", &s.TxBytes},
		{"rx_errors", &s.RxErrors}, {"tx_errors", &s.TxErrors},
		{"rx_dropped", &s.RxDropped}, {"tx_dropped", &s.TxDropped},
	} {
		b, err := os.ReadFile(filepath.Join("/sys/class/net", ifname, "statistics", f.name))
		if err != nil {
			return s, err
		}
		if *f.dst, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil {
			return s, fmt.Errorf("%s statistics/%s: %w", ifname, f.name, err)
		}
	}
	return s, nil
}

// dnsmasq is the DHCP server on the gadget's interface.
type dnsmasq struct {
	cmd *exec.Cmd
	log string // its log file, which the checks read for the DHCPOFFER line
}

// startDNSMasq runs dnsmasq as a DHCP server only (port=0: no DNS) on ifname, in the
// foreground so that it dies with us. --no-ping: it would otherwise probe each address with an
// echo request before offering it, frames the checks would have to tell apart from ours.
func startDNSMasq(ifname, dir, variant string) (*dnsmasq, error) {
	d := &dnsmasq{log: filepath.Join(dir, "dnsmasq-"+variant+".log")}
	d.cmd = exec.Command("dnsmasq",
		"--keep-in-foreground", "--port=0", "--no-resolv", "--no-hosts", "--no-ping",
		"--interface="+ifname, "--bind-interfaces", "--except-interface=lo",
		"--dhcp-range="+dhcpFirst+","+dhcpLast+",255.255.255.0,10m",
		"--dhcp-authoritative", "--dhcp-leasefile="+filepath.Join("/run", "dnsmasq-"+variant+".leases"),
		"--pid-file=", "--user=root", "--group=root",
		"--log-dhcp", "--log-facility="+d.log,
	)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	d.cmd.Stderr = &stderr
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting dnsmasq: %w", err)
	}
	// dnsmasq logs "started" once it runs, or exits at once on a bad option.
	err := waitFor(20*time.Second, func() bool {
		b, _ := os.ReadFile(d.log)
		return bytes.Contains(b, []byte("DHCP, IP range"))
	})
	if err != nil {
		d.stop()
		return nil, fmt.Errorf("dnsmasq did not come up: %v: %s", err, stderr.String())
	}
	return d, nil
}

// offered reports the DHCPOFFER lines dnsmasq logged.
func (d *dnsmasq) offered() []string { return d.lines("DHCPOFFER") }

// count is how many times dnsmasq logged a message of the kind ("DHCPDISCOVER").
func (d *dnsmasq) count(kind string) int { return len(d.lines(kind)) }

// exchange is the DHCP conversation as dnsmasq logged it, one short entry per message.
func (d *dnsmasq) exchange() []string {
	var out []string
	for _, l := range d.lines("DHCP") {
		// "Nov 25 16:31:09 dnsmasq-dhcp[377]: 3303797644 DHCPACK(usb0) 192.168.77.119 ..."
		f := strings.Fields(l)
		if len(f) >= 6 && strings.HasPrefix(f[5], "DHCP") && strings.Contains(f[5], "(") {
			kind, _, _ := strings.Cut(f[5], "(")
			out = append(out, f[2]+" "+kind+" xid "+f[4])
		}
	}
	return out
}

// lines are the lines of dnsmasq's log that contain s.
func (d *dnsmasq) lines(s string) []string {
	b, _ := os.ReadFile(d.log)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines
}

func (d *dnsmasq) stop() {
	if d.cmd.Process != nil {
		d.cmd.Process.Kill()
		d.cmd.Wait()
	}
}
