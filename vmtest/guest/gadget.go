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
	"time"

	"webminiport/vmtest/internal/result"
)

// Gadget identity: the Linux Foundation's "Multifunction Composite Gadget" IDs, which the
// Chromium policy names (vendor 7531, product 260).
const (
	gadgetVendor  = 0x1d6b
	gadgetProduct = 0x0104
	gadgetRoot    = "/sys/kernel/config/usb_gadget"
	udcClass      = "/sys/class/udc"
)

// gadget is one configfs gadget with one Ethernet function, bound to dummy_hcd's UDC.
type gadget struct {
	dir      string // configfs folder of the gadget
	function string // "ecm.usb0" or "ncm.usb0"
	udc      string // "dummy_udc.0"
	ifname   string // the gadget's network interface, known after binding
}

// createGadget builds the gadget for v in configfs, binds it and waits for its interface.
// Writing the UDC name is the plug-in: dummy_hcd's root hub then sees a new device.
func createGadget(v result.Variant) (*gadget, error) {
	udc, err := findUDC()
	if err != nil {
		return nil, err
	}
	g := &gadget{dir: filepath.Join(gadgetRoot, "g1"), function: v.Function + ".usb0", udc: udc}
	if _, err := os.Stat(g.dir); err == nil {
		return nil, fmt.Errorf("%s exists already: the previous variant was not torn down", g.dir)
	}
	fn := filepath.Join(g.dir, "functions", g.function)
	cfg := filepath.Join(g.dir, "configs", "c.1")
	steps := []struct{ path, value string }{
		{g.dir, ""},
		{filepath.Join(g.dir, "idVendor"), fmt.Sprintf("0x%04x", gadgetVendor)},
		{filepath.Join(g.dir, "idProduct"), fmt.Sprintf("0x%04x", gadgetProduct)},
		{filepath.Join(g.dir, "strings", "0x409"), ""},
		{filepath.Join(g.dir, "strings", "0x409", "manufacturer"), "webminiport vmtest"},
		{filepath.Join(g.dir, "strings", "0x409", "product"), "Linux " + strings.ToUpper(v.Function) + " gadget"},
		{filepath.Join(g.dir, "strings", "0x409", "serialnumber"), "vmtest-" + v.Name},
		{fn, ""},
		{filepath.Join(fn, "host_addr"), v.HostMAC},
		{filepath.Join(fn, "dev_addr"), v.DevMAC},
		{cfg, ""},
		{filepath.Join(cfg, "MaxPower"), "100"},
		{filepath.Join(cfg, "strings", "0x409"), ""},
		{filepath.Join(cfg, "strings", "0x409", "configuration"), strings.ToUpper(v.Function)},
	}
	for _, s := range steps {
		if s.value == "" {
			err = os.Mkdir(s.path, 0o755)
		} else {
			err = os.WriteFile(s.path, []byte(s.value), 0o644)
		}
		if err != nil {
			return g, fmt.Errorf("configfs: %w", err)
		}
	}
	if err := os.Symlink(fn, filepath.Join(cfg, g.function)); err != nil {
		return g, fmt.Errorf("configfs: %w", err)
	}
	if err := g.bind(); err != nil {
		return g, err
	}
	// The function's interface exists once the gadget is bound; its name is in configfs.
	b, err := os.ReadFile(filepath.Join(fn, "ifname"))
	if err != nil {
		return g, fmt.Errorf("configfs: %w", err)
	}
	g.ifname = strings.TrimSpace(string(b))
	if g.ifname == "" || strings.Contains(g.ifname, "%") {
		return g, fmt.Errorf("configfs: %s/ifname is %q after binding", fn, g.ifname)
	}
	return g, waitFor(10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join("/sys/class/net", g.ifname))
		return err == nil
	})
}

// bind connects the gadget to the UDC: for the USB host side, the device is plugged in.
func (g *gadget) bind() error {
	if err := os.WriteFile(filepath.Join(g.dir, "UDC"), []byte(g.udc), 0o644); err != nil {
		return fmt.Errorf("binding the gadget to %s: %w", g.udc, err)
	}
	return nil
}

// unbind disconnects it: for the host side, a surprise removal.
func (g *gadget) unbind() error {
	if err := os.WriteFile(filepath.Join(g.dir, "UDC"), []byte("\n"), 0o644); err != nil {
		return fmt.Errorf("unbinding the gadget: %w", err)
	}
	return nil
}

// remove unbinds the gadget and takes its configfs tree down, leaves first; configfs wants the
// exact reverse of the creation. It goes on past errors so that as much as possible is gone.
func (g *gadget) remove() error {
	var errs []error
	if b, err := os.ReadFile(filepath.Join(g.dir, "UDC")); err == nil && strings.TrimSpace(string(b)) != "" {
		errs = append(errs, g.unbind())
	}
	cfg := filepath.Join(g.dir, "configs", "c.1")
	for _, p := range []string{
		filepath.Join(cfg, g.function),
		filepath.Join(cfg, "strings", "0x409"),
		cfg,
		filepath.Join(g.dir, "functions", g.function),
		filepath.Join(g.dir, "strings", "0x409"),
		g.dir,
	} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// findUDC names the one USB device controller: dummy_hcd's gadget side.
func findUDC() (string, error) {
	entries, err := os.ReadDir(udcClass)
	if err != nil {
		return "", fmt.Errorf("no UDC class (is dummy_hcd loaded?): %w", err)
	}
	if len(entries) != 1 {
		return "", fmt.Errorf("%s has %d entries, want exactly dummy_hcd's one", udcClass, len(entries))
	}
	return entries[0].Name(), nil
}

// waitFor polls cond every 50 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// reloadDummyHCD unloads dummy_hcd and loads it again from module with params: its speed
// parameters are read only at load time. No gadget may exist meanwhile.
func reloadDummyHCD(ctx context.Context, module string, params ...string) error {
	if out, err := exec.CommandContext(ctx, "rmmod", "dummy_hcd").CombinedOutput(); err != nil {
		return fmt.Errorf("rmmod dummy_hcd: %w: %s", err, out)
	}
	args := append([]string{module}, params...)
	if out, err := exec.CommandContext(ctx, "insmod", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("insmod %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return waitFor(20*time.Second, func() bool { _, err := findUDC(); return err == nil })
}
