//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"webminiport/usbnic/sim/ffs"
)

const gadgetRoot = "/sys/kernel/config/usb_gadget"

// device is how the model's device comes about: a configfs gadget with a FunctionFS function,
// or a GadgetFS mount.
type device interface {
	// create makes the device and mounts its instance, before the function starts.
	create(d *ffs.Device) error
	// bind plugs it into the UDC, after the function has started.
	bind(udc string) error
	// unbind unplugs it; unbinding an unbound device does nothing.
	unbind() error
	// remove takes down what create made (the function's files closed first).
	remove() error
	String() string
}

// gadget is the configfs gadget with the one FunctionFS function, and its mount point. Every
// step create took is recorded, so remove undoes exactly those, in reverse.
type gadget struct {
	name     string // the gadget's folder under gadgetRoot
	function string // "ffs.NAME": the FunctionFS instance is NAME
	config   string // "c.N", N the configuration value
	mount    string
	made     []string // configfs folders and links created, in order
	mounted  bool
	bound    bool
}

func (g *gadget) dir() string { return filepath.Join(gadgetRoot, g.name) }

func (g *gadget) String() string {
	return fmt.Sprintf("configfs %s, FunctionFS %s", g.dir(), g.mount)
}

// create builds the gadget from the model's device fields and mounts its FunctionFS instance.
func (g *gadget) create(d *ffs.Device) error {
	if _, err := os.Stat(gadgetRoot); err != nil {
		return fmt.Errorf("configfs gadgets are not available (mount -t configfs none /sys/kernel/config; modprobe libcomposite usb_f_fs): %w", err)
	}
	g.config = fmt.Sprintf("c.%d", d.Configuration)
	dir := g.dir()
	fn := filepath.Join(dir, "functions", g.function)
	cfg := filepath.Join(dir, "configs", g.config)
	steps := []struct{ path, value string }{
		{dir, ""},
		{filepath.Join(dir, "idVendor"), fmt.Sprintf("0x%04x", d.VendorID)},
		{filepath.Join(dir, "idProduct"), fmt.Sprintf("0x%04x", d.ProductID)},
		{filepath.Join(dir, "bcdDevice"), fmt.Sprintf("0x%04x", d.BCDDevice)},
		{filepath.Join(dir, "bDeviceClass"), fmt.Sprintf("0x%02x", d.Class)},
		{filepath.Join(dir, "bDeviceSubClass"), fmt.Sprintf("0x%02x", d.SubClass)},
		{filepath.Join(dir, "bDeviceProtocol"), fmt.Sprintf("0x%02x", d.Protocol)},
		{filepath.Join(dir, "max_speed"), d.MaxSpeed},
		{filepath.Join(dir, "strings", "0x409"), ""},
		{filepath.Join(dir, "strings", "0x409", "manufacturer"), d.Manufacturer},
		{filepath.Join(dir, "strings", "0x409", "product"), d.Product},
		{filepath.Join(dir, "strings", "0x409", "serialnumber"), d.SerialNumber},
		{fn, ""},
		{cfg, ""},
		{filepath.Join(cfg, "bmAttributes"), fmt.Sprintf("0x%02x", d.Attributes)},
		{filepath.Join(cfg, "MaxPower"), fmt.Sprint(d.MaxPowerMA)},
	}
	for _, s := range steps {
		var err error
		switch {
		case s.value == "" && filepath.Dir(s.path) != filepath.Join(dir, "strings", "0x409"):
			if err = os.Mkdir(s.path, 0o755); err == nil {
				g.made = append(g.made, s.path)
			}
		case s.value == "":
			continue // a string the model does not have
		default:
			err = os.WriteFile(s.path, []byte(s.value), 0o644)
		}
		if err != nil {
			return fmt.Errorf("configfs: %w", err)
		}
	}
	link := filepath.Join(cfg, g.function)
	if err := os.Symlink(fn, link); err != nil {
		return fmt.Errorf("configfs: %w", err)
	}
	g.made = append(g.made, link)
	if err := os.MkdirAll(g.mount, 0o755); err != nil {
		return err
	}
	instance := strings.TrimPrefix(g.function, "ffs.")
	if err := syscall.Mount(instance, g.mount, "functionfs", 0, ""); err != nil {
		return fmt.Errorf("mount -t functionfs %s %s: %w", instance, g.mount, err)
	}
	g.mounted = true
	return nil
}

// bind plugs the gadget in: the UDC connects it to the host.
func (g *gadget) bind(udc string) error {
	if err := os.WriteFile(filepath.Join(g.dir(), "UDC"), []byte(udc), 0o644); err != nil {
		return fmt.Errorf("binding the gadget to %s: %w", udc, err)
	}
	g.bound = true
	return nil
}

// unbind unplugs it; unbinding an unbound gadget does nothing.
func (g *gadget) unbind() error {
	if !g.bound {
		return nil
	}
	g.bound = false
	if err := os.WriteFile(filepath.Join(g.dir(), "UDC"), []byte("\n"), 0o644); err != nil {
		return fmt.Errorf("unbinding the gadget: %w", err)
	}
	return nil
}

// remove takes down what create made, in reverse. The FunctionFS files must be closed first:
// the instance cannot be unmounted while they are open.
func (g *gadget) remove() error {
	errs := []error{g.unbind()}
	if g.mounted {
		if err := syscall.Unmount(g.mount, 0); err != nil {
			errs = append(errs, fmt.Errorf("umount %s: %w", g.mount, err))
		} else {
			g.mounted = false
			errs = append(errs, os.Remove(g.mount))
		}
	}
	for i := len(g.made) - 1; i >= 0; i-- {
		if err := os.Remove(g.made[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	g.made = nil
	return errors.Join(errs...)
}

// gadgetFS is a GadgetFS mount: the device is the function's own, bound when it writes its
// descriptors and unplugged through the UDC's soft_connect.
type gadgetFS struct {
	mount, udc string
	mounted    bool
}

func (g *gadgetFS) String() string { return "GadgetFS " + g.mount }

func (g *gadgetFS) create(*ffs.Device) error {
	if err := os.MkdirAll(g.mount, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("gadgetfs", g.mount, "gadgetfs", 0, ""); err != nil {
		return fmt.Errorf("mount -t gadgetfs gadgetfs %s (modprobe gadgetfs): %w", g.mount, err)
	}
	g.mounted = true
	return nil
}

func (g *gadgetFS) bind(string) error { return nil }

// unbind disconnects the UDC from the host: GadgetFS then reports DISCONNECT.
func (g *gadgetFS) unbind() error {
	err := os.WriteFile(filepath.Join("/sys/class/udc", g.udc, "soft_connect"), []byte("disconnect"), 0o644)
	if err != nil && !errors.Is(err, syscall.EOPNOTSUPP) { // EOPNOTSUPP: no device bound any more
		return fmt.Errorf("disconnecting %s: %w", g.udc, err)
	}
	return nil
}

func (g *gadgetFS) remove() error {
	if !g.mounted {
		return nil
	}
	if err := syscall.Unmount(g.mount, 0); err != nil {
		return fmt.Errorf("umount %s: %w", g.mount, err)
	}
	g.mounted = false
	return os.Remove(g.mount)
}
