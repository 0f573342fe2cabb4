//go:build js && wasm

package webusb

import (
	"errors"
	"strings"
	"testing"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
	"webminiport/usbnic/webusb/fakeusb"
)

// The fixes are checked against text written here by hand from specs/usbnic.md §6.2: the
// interface name <bus>-<port>:<config>.<interface> goes to /sys/bus/usb/drivers/<driver>/unbind.

func TestKernelDriverOnLinuxGivesTheUnbindCommandForItsDriver(t *testing.T) {
	tests := []struct {
		model   *sim.Model
		driver  string
		vidpid  string
		cfg     string // configuration the host picked
		summary string
	}{
		{sim.AX88179, "ax88179_178a", "0b95:1790", "1", "Linux's ax88179_178a driver holds interface 0 of the adapter 0b95:1790"},
		{sim.AX88772, "asix", "0b95:7720", "1", "Linux's asix driver holds interface 0 of the adapter 0b95:7720"},
		{sim.CDCECM, "cdc_ether", "1d6b:0104", "1", "Linux's cdc_ether driver holds interface 0 of the adapter 1d6b:0104"},
		{sim.CDCNCM, "cdc_ncm", "1d6b:0104", "1", "Linux's cdc_ncm driver holds interface 0 of the adapter 1d6b:0104"},
		// The AX88179A comes up in its CDC-NCM configuration 2, which cdc_ncm binds, not the
		// vendor driver (Linux 6.18 ax88179_178a matches only the FF/FF/00 interface).
		{sim.AX88179A, "cdc_ncm", "0b95:1790", "2", "Linux's cdc_ncm driver holds interface 0 of the adapter 0b95:1790"},
	}
	for _, tc := range tests {
		t.Run(tc.model.Name, func(t *testing.T) {
			f := newFixture(t)
			_, _, d := f.plugSim(t, tc.model, nil, sim.WithKernelDriver())
			must(t, d.Open(bg))
			pe := platformError(t, d.ClaimInterface(bg, 0))
			if pe.Problem != ProblemKernelDriver || pe.Platform != PlatformLinux {
				t.Errorf("problem %v on %v, want %v on Linux", pe.Problem, pe.Platform, ProblemKernelDriver)
			}
			if pe.Err == nil || pe.Err.Name != "NetworkError" || pe.Err.Message != "Unable to claim interface." || pe.Err.Op != "claimInterface(0)" {
				t.Errorf("DOMError %+v, want claimInterface(0) NetworkError \"Unable to claim interface.\"", pe.Err)
			}
			if !strings.HasPrefix(pe.Summary, tc.summary) {
				t.Errorf("summary %q, want it to start %q", pe.Summary, tc.summary)
			}
			cmd := "`for i in /sys/bus/usb/drivers/" + tc.driver + "/*:" + tc.cfg + ".0; do " +
				`[ "$(cat $i/../idVendor):$(cat $i/../idProduct)" = ` + tc.vidpid + ` ] && ` +
				"echo -n ${i##*/} | sudo tee /sys/bus/usb/drivers/" + tc.driver + "/unbind; done`"
			if !strings.Contains(pe.Fix, cmd) {
				t.Errorf("fix %q\nlacks the command %s", pe.Fix, cmd)
			}
			for _, want := range []string{"<bus>-<port>:" + tc.cfg + ".0", "lsusb -t", "udev/70-webminiport.rules", "udev/README.md"} {
				if !strings.Contains(pe.Fix, want) {
					t.Errorf("fix %q lacks %q", pe.Fix, want)
				}
			}
			if !strings.Contains(pe.Error(), pe.Fix) || !strings.Contains(pe.Error(), "Unable to claim interface.") {
				t.Errorf("Error() %q does not carry the exception and the fix", pe.Error())
			}
		})
	}
}

func TestKernelDriverOnTheCDCDataInterfaceNamesTheCDCDriver(t *testing.T) {
	f := newFixture(t)
	_, fd, d := f.plugSim(t, sim.CDCNCM, nil)
	must(t, d.Open(bg))
	must(t, d.ClaimInterface(bg, 0))
	fd.FailNext("claimInterface", "NetworkError", fakeusb.MsgClaimFailed)
	pe := platformError(t, d.ClaimInterface(bg, 1))
	if !strings.HasPrefix(pe.Summary, "Linux's cdc_ncm driver holds interface 1") {
		t.Errorf("summary %q", pe.Summary)
	}
	if !strings.Contains(pe.Fix, "/sys/bus/usb/drivers/cdc_ncm/*:1.1;") {
		t.Errorf("fix %q does not target interface 1.1 of cdc_ncm", pe.Fix)
	}
}

func TestConfigurationChangeRefusedOnLinuxNamesTheDriversHoldingIt(t *testing.T) {
	f := newFixture(t)
	_, fd, d := f.plugSim(t, sim.AX88179A, nil) // in configuration 2, CDC-NCM
	must(t, d.Open(bg))
	fd.FailNext("selectConfiguration", "NetworkError", fakeusb.MsgConfigurationError)
	pe := platformError(t, d.SelectConfiguration(bg, 1))
	if pe.Problem != ProblemKernelDriver {
		t.Errorf("problem %v", pe.Problem)
	}
	if want := "configuration 2 (cdc_ncm on interface 0, cdc_ncm on interface 1)"; !strings.Contains(pe.Summary, want) {
		t.Errorf("summary %q lacks %q", pe.Summary, want)
	}
	cmd := "`for i in /sys/bus/usb/devices/*:2.*; do [ -e $i/driver ] && " +
		`[ "$(cat $i/../idVendor):$(cat $i/../idProduct)" = 0b95:1790 ] && ` +
		"echo -n ${i##*/} | sudo tee $i/driver/unbind; done`"
	if !strings.Contains(pe.Fix, cmd) {
		t.Errorf("fix %q\nlacks %s", pe.Fix, cmd)
	}
}

func TestPlatformFailures(t *testing.T) {
	tests := []struct {
		name      string
		platform  Platform
		method    string // the USBDevice method the fake fails
		exception [2]string
		call      func(d *Device) error
		problem   Problem
		want      []string // in Summary or Fix
	}{
		{"access denied on Linux", PlatformLinux, "open", [2]string{"SecurityError", fakeusb.MsgAccessDenied},
			func(d *Device) error { return d.Open(bg) }, ProblemAccessDenied,
			[]string{"0b95:1790", "udev/70-webminiport.rules", "`lsusb -d 0b95:1790`", "sudo chmod a+rw /dev/bus/usb/BBB/DDD"}},
		{"access denied on Windows", PlatformWindows, "open", [2]string{"SecurityError", fakeusb.MsgAccessDenied},
			func(d *Device) error { return d.Open(bg) }, ProblemNoWinUSB,
			[]string{"WinUSB", "Zadig (https://zadig.akeo.ie)", "USB ID 0B95 1790", "pick each interface webminiport claims", "Replace Driver"}},
		{"claim without WinUSB on Windows", PlatformWindows, "claimInterface", [2]string{"NetworkError", fakeusb.MsgClaimFailed},
			func(d *Device) error { return d.ClaimInterface(bg, 0) }, ProblemNoWinUSB,
			[]string{"Zadig", "Interface 0"}},
		{"claim on macOS", PlatformMacOS, "claimInterface", [2]string{"NetworkError", fakeusb.MsgClaimFailed},
			func(d *Device) error { return d.ClaimInterface(bg, 0) }, ProblemKernelDriver,
			[]string{"macOS's own driver holds interface 0"}},
		{"claim on ChromeOS", PlatformChromeOS, "claimInterface", [2]string{"NetworkError", fakeusb.MsgClaimFailed},
			func(d *Device) error { return d.ClaimInterface(bg, 0) }, ProblemInUse,
			[]string{"another tab, app or program holds interface 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.usb.SetPlatform(tc.platform)
			_, fd, d := f.plugSim(t, sim.AX88179, nil)
			if tc.method != "open" {
				must(t, d.Open(bg))
			}
			fd.FailNext(tc.method, tc.exception[0], tc.exception[1])
			pe := platformError(t, tc.call(d))
			if pe.Problem != tc.problem {
				t.Errorf("problem %v, want %v", pe.Problem, tc.problem)
			}
			if pe.Err == nil || pe.Err.Name != tc.exception[0] || pe.Err.Message != tc.exception[1] {
				t.Errorf("DOMError %+v, want %s %q", pe.Err, tc.exception[0], tc.exception[1])
			}
			text := pe.Summary + " | " + pe.Fix
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("%q lacks %q", text, w)
				}
			}
		})
	}
}

func TestProtectedInterfaceClassIsExplained(t *testing.T) {
	f := newFixture(t)
	_, d := f.plug(t, newStub())
	must(t, d.Open(bg))
	pe := platformError(t, d.ClaimInterface(bg, 0))
	if pe.Problem != ProblemProtectedClass {
		t.Errorf("problem %v", pe.Problem)
	}
	if pe.Err == nil || pe.Err.Name != "SecurityError" || pe.Err.Message != fakeusb.MsgProtectedClass {
		t.Errorf("DOMError %+v", pe.Err)
	}
	if want := "interface 0 of the adapter 1234:5678 has class 0x03 (HID)"; !strings.Contains(pe.Summary, want) {
		t.Errorf("summary %q lacks %q", pe.Summary, want)
	}
	// The vendor interface beside it claims fine.
	must(t, d.ClaimInterface(bg, 1))
}

func TestOtherRejectionsStayDOMErrors(t *testing.T) {
	f := newFixture(t)
	_, fd, d := f.plugSim(t, sim.AX88179, nil)
	must(t, d.Open(bg))
	// A SecurityError on a claim of an interface that is not of a protected class has no known
	// cause.
	fd.FailNext("claimInterface", "SecurityError", "The transfer was not allowed.")
	err := d.ClaimInterface(bg, 0)
	var de *DOMError
	var pe *PlatformError
	if !errors.As(err, &de) || errors.As(err, &pe) || de.Name != "SecurityError" {
		t.Errorf("got %v, want a plain SecurityError DOMError", err)
	}
	// A transfer on an endpoint of an unclaimed interface: Chromium's NotFoundError.
	_, _, err = d.TransferIn(bg, 0x82, make([]byte, 512))
	if !errors.As(err, &de) || de.Name != "NotFoundError" || de.Op != "transferIn(0x82, 512)" || errors.Is(err, usbnic.ErrDisconnected) {
		t.Errorf("got %v, want transferIn(0x82, 512) NotFoundError, not a disconnect", err)
	}
}

func TestParsePlatform(t *testing.T) {
	tests := []struct {
		uaData, platform, userAgent string
		want                        Platform
	}{
		{"Linux", "Linux x86_64", "Mozilla/5.0 (X11; Linux x86_64)", PlatformLinux},
		{"Windows", "Win32", "", PlatformWindows},
		{"macOS", "MacIntel", "", PlatformMacOS},
		{"Chrome OS", "Linux x86_64", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0)", PlatformChromeOS},
		{"ChromeOS", "", "", PlatformChromeOS},
		{"Android", "Linux armv8l", "Mozilla/5.0 (Linux; Android 14)", PlatformAndroid},
		// Without userAgentData: navigator.platform and the user agent.
		{"", "Win32", "", PlatformWindows},
		{"", "MacIntel", "", PlatformMacOS},
		{"", "Linux x86_64", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0)", PlatformChromeOS},
		{"", "Linux armv8l", "Mozilla/5.0 (Linux; Android 14; Pixel 8)", PlatformAndroid},
		{"", "Linux x86_64", "Mozilla/5.0 (X11; Linux x86_64)", PlatformLinux},
		{"", "", "", PlatformUnknown},
	}
	for _, tc := range tests {
		if got := parsePlatform(tc.uaData, tc.platform, tc.userAgent); got != tc.want {
			t.Errorf("parsePlatform(%q, %q, %q) = %v, want %v", tc.uaData, tc.platform, tc.userAgent, got, tc.want)
		}
	}
	// This very browser runs on Linux.
	if got := DetectPlatform(); got != PlatformLinux {
		t.Errorf("DetectPlatform() = %v in headless Chromium on Linux", got)
	}
}

func TestLinuxDriverFollowsTheMatchTable(t *testing.T) {
	vendorIf := []ifaceInfo{{number: 0, alts: [][3]uint8{{0xFF, 0xFF, 0x00}}}}
	ncm := []ifaceInfo{
		{number: 0, alts: [][3]uint8{{0x02, 0x0D, 0x00}}},
		{number: 1, alts: [][3]uint8{{0x0A, 0x00, 0x01}, {0x0A, 0x00, 0x01}}},
	}
	ecm := []ifaceInfo{
		{number: 0, alts: [][3]uint8{{0x02, 0x06, 0x00}}},
		{number: 1, alts: [][3]uint8{{0x0A, 0x00, 0x00}, {0x0A, 0x00, 0x00}}},
	}
	tests := []struct {
		name     string
		vid, pid uint16
		ifs      []ifaceInfo
		n        uint8
		want     string
	}{
		{"AX88179 vendor interface", 0x0b95, 0x1790, vendorIf, 0, "ax88179_178a"},
		{"AX88179A NCM interface", 0x0b95, 0x1790, ncm, 0, "cdc_ncm"},
		{"AX88179A NCM data interface", 0x0b95, 0x1790, ncm, 1, "cdc_ncm"},
		{"AX88772 any interface", 0x0b95, 0x7720, vendorIf, 0, "asix"},
		{"gadget ECM control", 0x1d6b, 0x0104, ecm, 0, "cdc_ether"},
		{"gadget ECM data", 0x1d6b, 0x0104, ecm, 1, "cdc_ether"},
		{"unknown vendor interface", 0x1234, 0x5678, vendorIf, 0, ""},
		{"no such interface", 0x0b95, 0x1790, vendorIf, 3, ""},
	}
	for _, tc := range tests {
		if got := linuxDriver(tc.vid, tc.pid, tc.ifs, tc.n); got != tc.want {
			t.Errorf("%s: linuxDriver = %q, want %q", tc.name, got, tc.want)
		}
	}
}
