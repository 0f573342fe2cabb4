//go:build js && wasm

package webusb

import (
	"fmt"

	"webminiport/usbnic"
	"webminiport/usbnic/drivers"
)

// How a failed WebUSB call becomes a PlatformError with a fix. Facts from specs/usbnic.md §6 and
// specs/webusb.md §5: on Linux a bound kernel driver makes claimInterface fail with NetworkError
// "Unable to claim interface." (Chrome does not detach it on desktop) and makes
// selectConfiguration fail (usbfs refuses while any interface of the current configuration is
// held); a device node the user cannot open makes open() fail with SecurityError
// "Access denied."; Windows gives Chrome only devices whose driver is WinUSB; Chrome refuses to
// claim protected interface classes with SecurityError.

// opKind is which call failed, as far as the fixes care.
type opKind uint8

const (
	opOther opKind = iota
	opOpen
	opClaim
	opSelectConfiguration
)

// udevRule is where the udev rules live in the repository, for the messages.
const udevRule = "udev/70-webminiport.rules (see udev/README.md)"

// ifaceInfo is one interface of the current configuration as the fixes need it.
type ifaceInfo struct {
	number uint8
	alts   [][3]uint8 // class, subclass, protocol of each alternate setting, in order
}

// classify turns the browser's rejection e of a call of kind on the device (iface: the
// interface claimed, for opClaim) into the error the caller gets.
func (d *Device) classify(kind opKind, iface uint8, e *DOMError) error {
	if d.isGone() || (e.Name == "NotFoundError" && e.Message == msgDisconnected) {
		d.markGone()
		return d.goneError(e)
	}
	p := d.usb.Platform()
	switch {
	case kind == opOpen && e.Name == "SecurityError":
		return d.accessDenied(p, e)
	case kind == opOpen && e.Name == "NetworkError" && p == PlatformWindows:
		return d.noWinUSB(-1, e)
	case kind == opClaim && e.Name == "SecurityError":
		if pe := d.protectedClass(iface, e); pe != nil {
			return pe
		}
	case kind == opClaim && e.Name == "NetworkError":
		return d.claimFailed(p, iface, e)
	case kind == opSelectConfiguration && e.Name == "NetworkError" && p == PlatformLinux:
		return d.configurationHeld(e)
	}
	return e
}

// goneError is the error of every call once the adapter is gone; e may be nil.
func (d *Device) goneError(e *DOMError) *PlatformError {
	return &PlatformError{
		Problem:  ProblemDisconnected,
		Platform: d.usb.Platform(),
		Summary:  fmt.Sprintf("the adapter %s was disconnected", d.id()),
		Fix:      "plug it in again (a paired adapter is found again without the chooser)",
		Err:      e,
	}
}

func (d *Device) accessDenied(p Platform, e *DOMError) error {
	pe := &PlatformError{Problem: ProblemAccessDenied, Platform: p, Err: e}
	switch p {
	case PlatformLinux:
		pe.Summary = fmt.Sprintf("Linux does not let this browser open the adapter %s: its /dev/bus/usb node is not the logged-in user's", d.id())
		pe.Fix = fmt.Sprintf("install %s, which gives the logged-in user every supported adapter; "+
			"for this session only, `lsusb -d %04x:%04x` shows Bus BBB Device DDD, then run `sudo chmod a+rw /dev/bus/usb/BBB/DDD`",
			udevRule, d.vid, d.pid)
	case PlatformWindows:
		return d.noWinUSB(-1, e)
	default:
		pe.Summary = fmt.Sprintf("%s does not let this browser open the adapter %s", p, d.id())
		pe.Fix = "close any other program or tab using the adapter and pair it again"
	}
	return pe
}

// noWinUSB explains a refusal on Windows; iface is the interface claimed, -1 for open.
func (d *Device) noWinUSB(iface int, e *DOMError) error {
	which := "each interface webminiport claims"
	if iface >= 0 {
		which = fmt.Sprintf("Interface %d, and for a CDC adapter its data interface too", iface)
	}
	return &PlatformError{
		Problem:  ProblemNoWinUSB,
		Platform: PlatformWindows,
		Summary:  fmt.Sprintf("Windows gives Chrome the adapter %s only when WinUSB is its driver, and it is not (or another program has the adapter open)", d.id()),
		Fix: fmt.Sprintf("install WinUSB with Zadig (https://zadig.akeo.ie): Options > List All Devices, pick the adapter "+
			"(USB ID %04X %04X; when it is listed once per interface, pick %s), "+
			"choose WinUSB, Replace Driver, replug the adapter; this takes the adapter away from Windows networking "+
			"(undo: Device Manager > the adapter > Uninstall device, removing its driver, then replug)", d.vid, d.pid, which),
		Err: e,
	}
}

// protectedClasses are the interface classes Chrome never lets a page claim (specs/usbnic.md
// §6.1).
var protectedClasses = map[uint8]string{
	0x01: "Audio",
	0x03: "HID",
	0x08: "Mass Storage",
	0x0B: "Smart Card",
	0x0E: "Video",
	0x10: "Audio/Video",
	0xE0: "Wireless Controller",
}

// protectedClass explains a SecurityError on claim when an alternate setting of the interface has
// a protected class, else returns nil (the SecurityError then stays a plain DOMError).
func (d *Device) protectedClass(iface uint8, e *DOMError) *PlatformError {
	_, ifs := d.currentInterfaces()
	for _, f := range ifs {
		if f.number != iface {
			continue
		}
		for _, a := range f.alts {
			if name, ok := protectedClasses[a[0]]; ok {
				return &PlatformError{
					Problem:  ProblemProtectedClass,
					Platform: d.usb.Platform(),
					Summary: fmt.Sprintf("interface %d of the adapter %s has class %#02x (%s), which Chrome never lets a web page claim",
						iface, d.id(), a[0], name),
					Err: e,
				}
			}
		}
	}
	return nil
}

func (d *Device) claimFailed(p Platform, iface uint8, e *DOMError) error {
	cfg, ifs := d.currentInterfaces()
	switch p {
	case PlatformLinux:
		drv := linuxDriver(d.vid, d.pid, ifs, iface)
		pe := &PlatformError{Problem: ProblemKernelDriver, Platform: p, Err: e}
		if drv == "" {
			pe.Summary = fmt.Sprintf("a Linux kernel driver (or another tab or program) holds interface %d of the adapter %s, and Chrome does not detach kernel drivers", iface, d.id())
		} else {
			pe.Summary = fmt.Sprintf("Linux's %s driver holds interface %d of the adapter %s, and Chrome does not detach kernel drivers", drv, iface, d.id())
		}
		pe.Fix = fmt.Sprintf("free it until the adapter is replugged with `%s` "+
			"(it writes the interface's name, <bus>-<port>:%d.%d as `lsusb -t` shows it, to %s), then pair again; "+
			"to keep the kernel drivers off every supported adapter, install %s; "+
			"if `lsusb -t` shows no driver on the interface, another tab or program holds it: close that",
			unbindCommand(d.vid, d.pid, drv, cfg, int(iface)), cfg, iface, unbindFile(drv), udevRule)
		return pe
	case PlatformWindows:
		return d.noWinUSB(int(iface), e)
	case PlatformMacOS:
		return &PlatformError{
			Problem:  ProblemKernelDriver,
			Platform: p,
			Summary:  fmt.Sprintf("macOS's own driver holds interface %d of the adapter %s, and a web page cannot detach it", iface, d.id()),
			Fix:      "use the adapter from Linux (with our udev rule), ChromeOS, or Windows (with WinUSB); the virtual adapter works everywhere",
			Err:      e,
		}
	}
	return &PlatformError{
		Problem:  ProblemInUse,
		Platform: p,
		Summary:  fmt.Sprintf("another tab, app or program holds interface %d of the adapter %s", iface, d.id()),
		Fix:      "close whatever else uses the adapter, replug it and pair again",
		Err:      e,
	}
}

// configurationHeld explains a failed selectConfiguration on Linux: a driver holds interfaces of
// the current configuration.
func (d *Device) configurationHeld(e *DOMError) error {
	cfg, ifs := d.currentInterfaces()
	held := ""
	for _, f := range ifs {
		if drv := linuxDriver(d.vid, d.pid, ifs, f.number); drv != "" {
			if held != "" {
				held += ", "
			}
			held += fmt.Sprintf("%s on interface %d", drv, f.number)
		}
	}
	if held == "" {
		held = "a kernel driver"
	}
	return &PlatformError{
		Problem:  ProblemKernelDriver,
		Platform: PlatformLinux,
		Summary: fmt.Sprintf("Linux refuses to change the configuration of the adapter %s while drivers hold interfaces of its configuration %d (%s)",
			d.id(), cfg, held),
		Fix: fmt.Sprintf("free them until the adapter is replugged with `%s`, then pair again; "+
			"to keep the kernel drivers off every supported adapter, install %s",
			unbindCommand(d.vid, d.pid, "", cfg, -1), udevRule),
		Err: e,
	}
}

// unbindCommand is a shell line that unbinds, from its kernel driver, interface iface (-1: every
// interface) of configuration cfg of every attached adapter with this VID:PID. Unbinding takes
// the interface's sysfs name, <bus>-<port path>:<config>.<interface>, which WebUSB does not
// reveal; the loop finds it by VID:PID. With drv known it writes to that driver's unbind file,
// else to the driver symlink of each interface. For CDC, unbinding the control interface
// releases the data interface too (specs/usbnic.md §6.2).
func unbindCommand(vid, pid uint16, drv string, cfg uint8, iface int) string {
	ifGlob := "*"
	if iface >= 0 {
		ifGlob = fmt.Sprint(iface)
	}
	match := fmt.Sprintf(`[ "$(cat $i/../idVendor):$(cat $i/../idProduct)" = %04x:%04x ]`, vid, pid)
	if drv != "" {
		return fmt.Sprintf(`for i in /sys/bus/usb/drivers/%s/*:%d.%s; do %s && echo -n ${i##*/} | sudo tee %s; done`,
			drv, cfg, ifGlob, match, unbindFile(drv))
	}
	return fmt.Sprintf(`for i in /sys/bus/usb/devices/*:%d.%s; do [ -e $i/driver ] && %s && echo -n ${i##*/} | sudo tee $i/driver/unbind; done`,
		cfg, ifGlob, match)
}

// unbindFile is the sysfs file that unbinds an interface from drv ("" = whichever it has).
func unbindFile(drv string) string {
	if drv == "" {
		return "its driver's unbind file"
	}
	return "/sys/bus/usb/drivers/" + drv + "/unbind"
}

// linuxDriver names the Linux driver that binds interface n of the configuration ifs, by the
// match table, whose rows follow the Linux id tables: a VID:PID row (narrowed to an interface
// class when it says so), else a class row matching the interface, else, for a CDC Data
// interface, the class row matching a communication interface beside it. "" when no row says.
func linuxDriver(vid, pid uint16, ifs []ifaceInfo, n uint8) string {
	var f *ifaceInfo
	for i := range ifs {
		if ifs[i].number == n {
			f = &ifs[i]
		}
	}
	if f == nil || len(f.alts) == 0 {
		return ""
	}
	matches := func(id *usbnic.ID, a [3]uint8) bool {
		return id.Class == a[0] && id.Subclass == a[1] && id.Protocol == a[2]
	}
	for i := range drivers.IDs {
		id := &drivers.IDs[i]
		if id.VendorID == vid && id.ProductID == pid && (!id.MatchInterface || matches(id, f.alts[0])) {
			return id.Driver.Name
		}
	}
	classRow := func(a [3]uint8) string {
		for i := range drivers.IDs {
			id := &drivers.IDs[i]
			if id.VendorID == 0 && id.MatchInterface && matches(id, a) {
				return id.Driver.Name
			}
		}
		return ""
	}
	if drv := classRow(f.alts[0]); drv != "" {
		return drv
	}
	if f.alts[0][0] == usbnic.ClassCDCData {
		for _, g := range ifs {
			if len(g.alts) > 0 && g.alts[0][0] == usbnic.ClassComm {
				if drv := classRow(g.alts[0]); drv != "" {
					return drv
				}
			}
		}
	}
	return ""
}
