// Package result holds what the host side of vmtest and the driver inside the guest share: the
// gadget variants, the options file the host writes into the run folder, the result file the
// guest writes per variant, and the table the host prints from them.
package result

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Files in the run folder (the guest's /run/vmtest, a writable 9p share).
const (
	OptionsFile = "options.json" // written by the host, read by the guest
	ExitFile    = "guest.exit"   // the guest driver's exit status, written by stage2.sh
)

// ResultFile is the name of a variant's result file in the run folder.
func ResultFile(variant string) string { return "result-" + variant + ".json" }

// PcapFile is the name of the pcap the page exported for a variant.
func PcapFile(variant string) string { return "capture-" + variant + ".pcap" }

// Options is the guest driver's whole configuration.
type Options struct {
	Variants []string `json:"variants"`
	Page     string   `json:"page"`     // "web" or "plumbing"
	PageDir  string   `json:"pageDir"`  // folder the server serves
	Server   string   `json:"server"`   // our server, built on the host
	Chromium string   `json:"chromium"` // the real binary, not Debian's wrapper script
	Port     int      `json:"port"`     // the server's port on the guest's 127.0.0.1
	DummyHCD string   `json:"dummyHCD"` // dummy_hcd.ko, for variants that reload it
}

// Variant is one gadget configuration the page is tested against.
type Variant struct {
	Name     string // as on the command line
	Function string // configfs function type: "ecm" or "ncm"
	Driver   string // the minidriver the page must bind
	HostMAC  string // host_addr: the adapter's MAC as the page must report it (iMACAddress)
	DevMAC   string // dev_addr: the gadget's own usb0, which ARP must resolve
	// FullSpeed reloads dummy_hcd with is_high_speed=0 for this variant: the device enumerates
	// at full speed, with 64-byte bulk packets instead of 512, which moves every rule that
	// depends on the packet size (short packets and ZLPs, the NTB size that must not be a
	// multiple of it).
	FullSpeed bool
	About     string // one line for the table
}

// Variants are the gadget configurations, in the order the bench runs them.
var Variants = []Variant{
	{Name: "ecm", Function: "ecm", Driver: "cdc_ether",
		HostMAC: "02:77:6d:00:00:01", DevMAC: "02:77:6d:00:01:01",
		About: "CDC-ECM (f_ecm), defaults"},
	{Name: "ncm", Function: "ncm", Driver: "cdc_ncm",
		HostMAC: "02:77:6d:00:00:02", DevMAC: "02:77:6d:00:01:02",
		About: "CDC-NCM (f_ncm), defaults"},
	{Name: "ncm-fullspeed", Function: "ncm", Driver: "cdc_ncm", FullSpeed: true,
		HostMAC: "02:77:6d:00:00:03", DevMAC: "02:77:6d:00:01:03",
		About: "CDC-NCM (f_ncm) at full speed: 64-byte bulk packets"},
}

// VariantNames lists the known variants in order.
func VariantNames() []string {
	names := make([]string, len(Variants))
	for i, v := range Variants {
		names[i] = v.Name
	}
	return names
}

// LookupVariant finds a variant by name.
func LookupVariant(name string) (Variant, bool) {
	for _, v := range Variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// Check is one verdict.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Result is what one variant's run produced; the guest writes it, the host adds its own checks
// (tshark) and prints it.
type Result struct {
	Variant   string  `json:"variant"`
	Seconds   float64 `json:"seconds"`
	FramesIn  uint64  `json:"framesIn"`  // frames the page received
	FramesOut uint64  `json:"framesOut"` // frames the page sent
	Replies   int     `json:"replies"`   // echo replies decoded in the frame table
	Requests  int     `json:"requests"`  // echo requests the bench asked for
	DHCP      string  `json:"dhcp"`      // the offer as decoded, or what went wrong
	StatsDiff string  `json:"statsDiff"` // ours against the gadget's, both directions
	Unplug    string  `json:"unplug"`    // what removal and reconnection showed
	Checks    []Check `json:"checks"`
}

// Add records a check.
func (r *Result) Add(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// Passed is true when there is at least one check and every check passed.
func (r *Result) Passed() bool {
	if len(r.Checks) == 0 {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// WriteJSON writes v to path through a temporary file, so a reader never sees half of it.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadJSON reads path into v and names the file in any error.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// PrintChecks writes one line per check of r.
func PrintChecks(w io.Writer, r *Result) {
	verdict := "PASS"
	if !r.Passed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n%s  %s  (%.0fs)\n", r.Variant, verdict, r.Seconds)
	if len(r.Checks) == 0 {
		fmt.Fprintf(w, "    FAIL  no checks ran\n")
	}
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "    %s  %-22s %s\n", mark, c.Name, c.Detail)
	}
}

// PrintTable writes the summary table: one row per variant.
func PrintTable(w io.Writer, rs []*Result) {
	header := []string{"variant", "result", "frames in/out", "replies", "DHCP", "statistics (ours - gadget)", "unplug/replug", "time"}
	rows := [][]string{header}
	for _, r := range rs {
		verdict := "PASS"
		if !r.Passed() {
			verdict = "FAIL"
		}
		rows = append(rows, []string{
			r.Variant, verdict,
			fmt.Sprintf("%d/%d", r.FramesIn, r.FramesOut),
			fmt.Sprintf("%d/%d", r.Replies, r.Requests),
			orDash(r.DHCP), orDash(r.StatsDiff), orDash(r.Unplug),
			fmt.Sprintf("%.0fs", r.Seconds),
		})
	}
	widths := make([]int, len(header))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len(cell))
		}
	}
	for n, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len(cell)))
			}
		}
		fmt.Fprintln(w, b.String())
		if n == 0 {
			var sep strings.Builder
			for i, wd := range widths {
				if i > 0 {
					sep.WriteString("-+-")
				}
				sep.WriteString(strings.Repeat("-", wd))
			}
			fmt.Fprintln(w, sep.String())
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
