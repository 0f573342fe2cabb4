// Package udev holds 70-webminiport.rules, generated from the match table (usbnic/drivers) by
// the test below, which fails when the committed file is out of date. Regenerate with
//
//	go test ./udev -update
package udev

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"webminiport/usbnic/drivers"
)

const rulesFile = "70-webminiport.rules"

var update = flag.Bool("update", false, "rewrite "+rulesFile+" from the match table")

// kernelDrivers are the Linux drivers that bind the supported adapters (specs/usbnic.md §6.2).
// All four are unbound from every listed VID:PID: an AX88179A, for one, comes up in its CDC-NCM
// configuration, which cdc_ncm binds rather than ax88179_178a.
const kernelDrivers = "ax88179_178a|asix|cdc_ether|cdc_ncm"

const header = `# 70-webminiport.rules: udev rules for webminiport's USB Ethernet adapters.
#
# Generated from the match table (usbnic/drivers) by udev/rules_test.go; do not edit, run
#   go test ./udev -update
# Install and undo: udev/README.md.
#
# For every adapter the match table names by VID:PID:
#  - the logged-in user may open its device node, so Chrome's WebUSB can (TAG+="uaccess";
#    MODE 0660 with GROUP plugdev where logind does not apply uaccess), and ModemManager leaves
#    it alone;
#  - the kernel network driver (ax88179_178a, asix, cdc_ether, cdc_ncm) is unbound from its
#    interfaces as soon as it binds, because Chrome on desktop Linux cannot claim an interface a
#    kernel driver holds and does not detach it. While these rules are installed, these adapters
#    are not network interfaces of this computer.
# CDC-ECM and CDC-NCM adapters that the match table takes by interface class alone are not
# listed: a rule cannot give access to a device by the class of one of its interfaces without
# also matching every other CDC device, and unbinding cdc_ether or cdc_ncm from all of them would
# take phones' USB tethering and docking stations off the network. udev/README.md shows how to
# add one such adapter by its VID:PID.
#
# The file sorts before 73-seat-late.rules, which turns the uaccess tag into an ACL.

ACTION=="remove", GOTO="webminiport_end"
SUBSYSTEM!="usb", GOTO="webminiport_end"
`

const footer = `
LABEL="webminiport_end"
`

// rules renders the rules file from the match table: for each distinct VID:PID, in table order,
// a comment naming it, the access rule on the USB device and the unbind rule on its interfaces.
func rules() []byte {
	var b bytes.Buffer
	b.WriteString(header)
	seen := map[[2]uint16]bool{}
	for _, id := range drivers.IDs {
		if id.VendorID == 0 {
			continue // a class row: see the header
		}
		key := [2]uint16{id.VendorID, id.ProductID}
		if seen[key] {
			continue
		}
		seen[key] = true
		fmt.Fprintf(&b, "\n# %04x:%04x %s (%s)\n", id.VendorID, id.ProductID, id.Product, id.Driver.Name)
		fmt.Fprintf(&b, `ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="%04x", ATTR{idProduct}=="%04x", TAG+="uaccess", MODE="0660", GROUP="plugdev", ENV{ID_MM_DEVICE_IGNORE}="1"`+"\n",
			id.VendorID, id.ProductID)
		fmt.Fprintf(&b, `ACTION=="add|bind", ENV{DEVTYPE}=="usb_interface", DRIVER=="%s", ATTRS{idVendor}=="%04x", ATTRS{idProduct}=="%04x", RUN+="/bin/sh -c 'echo -n %%k > %%S%%p/driver/unbind'"`+"\n",
			kernelDrivers, id.VendorID, id.ProductID)
	}
	b.WriteString(footer)
	return b.Bytes()
}

func TestRulesFileIsUpToDate(t *testing.T) {
	want := rules()
	if *update {
		if err := os.WriteFile(rulesFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with the match table: run  go test ./udev -update", rulesFile)
	}
}

// The rules for two adapters, written by hand from specs/usbnic.md §6.2 (the udev pattern:
// match the driver and the IDs, write %k to the driver's unbind file) and §5.4 of
// specs/webusb.md (uaccess or MODE/GROUP on the device node).
func TestRulesForKnownAdapters(t *testing.T) {
	text := string(rules())
	for _, want := range []string{
		`ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="0b95", ATTR{idProduct}=="1790", TAG+="uaccess", MODE="0660", GROUP="plugdev", ENV{ID_MM_DEVICE_IGNORE}="1"`,
		`ACTION=="add|bind", ENV{DEVTYPE}=="usb_interface", DRIVER=="ax88179_178a|asix|cdc_ether|cdc_ncm", ATTRS{idVendor}=="0b95", ATTRS{idProduct}=="1790", RUN+="/bin/sh -c 'echo -n %k > %S%p/driver/unbind'"`,
		`ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="0b95", ATTR{idProduct}=="7720", TAG+="uaccess", MODE="0660", GROUP="plugdev", ENV{ID_MM_DEVICE_IGNORE}="1"`,
		`ACTION=="add|bind", ENV{DEVTYPE}=="usb_interface", DRIVER=="ax88179_178a|asix|cdc_ether|cdc_ncm", ATTRS{idVendor}=="0b95", ATTRS{idProduct}=="7720", RUN+="/bin/sh -c 'echo -n %k > %S%p/driver/unbind'"`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("rules lack the line\n%s", want)
		}
	}
}

func TestEveryVendorRowHasBothRulesAndClassRowsNone(t *testing.T) {
	text := string(rules())
	for _, id := range drivers.IDs {
		if id.VendorID == 0 {
			continue
		}
		ids := fmt.Sprintf(`{idVendor}=="%04x", ATTR{idProduct}=="%04x"`, id.VendorID, id.ProductID)
		idsS := fmt.Sprintf(`ATTRS{idVendor}=="%04x", ATTRS{idProduct}=="%04x"`, id.VendorID, id.ProductID)
		if strings.Count(text, "ATTR"+ids) != 1 || strings.Count(text, idsS) != 1 {
			t.Errorf("%04x:%04x (%s): want one access rule and one unbind rule", id.VendorID, id.ProductID, id.Product)
		}
	}
	// Every rule line is one of the two kinds, inside the GOTO guard.
	var access, unbind int
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, `ENV{DEVTYPE}=="usb_device"`):
			access++
		case strings.HasPrefix(line, `ACTION=="add|bind"`):
			unbind++
		case line == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, "LABEL="),
			line == `ACTION=="remove", GOTO="webminiport_end"`, line == `SUBSYSTEM!="usb", GOTO="webminiport_end"`:
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
	if access == 0 || access != unbind {
		t.Errorf("%d access rules and %d unbind rules", access, unbind)
	}
	if strings.Contains(text, "bInterfaceClass") {
		t.Error("a class match crept in")
	}
}
