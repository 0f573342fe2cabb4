//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"webminiport/vmtest/internal/result"
)

// report reads each variant's result from the run folder, adds the tshark check of its pcap,
// prints the checks and the table, and says whether everything passed.
func report(ctx context.Context, out io.Writer, cfg config, runDir string, vmErr error) bool {
	ok := vmErr == nil
	if vmErr != nil {
		fmt.Fprintf(out, "    FAIL  %v\n", vmErr)
	}
	if b, err := os.ReadFile(filepath.Join(runDir, result.ExitFile)); err == nil {
		if code := strings.TrimSpace(string(b)); code != "0" {
			fmt.Fprintf(out, "    the guest driver exited with status %s (its log: %s)\n", code, filepath.Join(runDir, "guest.log"))
		}
	}
	var rs []*result.Result
	for _, v := range cfg.variants {
		r := &result.Result{Variant: v}
		if err := result.ReadJSON(filepath.Join(runDir, result.ResultFile(v)), r); err != nil {
			r.Add("result file", false, "none from the guest (%v): the variant did not finish; see %s", err, filepath.Join(runDir, "serial.log"))
		} else if cfg.page == "web" && result.ExportsPcap(v) {
			checkPcap(ctx, r, filepath.Join(runDir, result.PcapFile(v)))
		}
		rs = append(rs, r)
		result.PrintChecks(out, r)
		ok = ok && r.Passed()
	}
	fmt.Fprintln(out)
	result.PrintTable(out, rs)
	fmt.Fprintln(out)
	if ok {
		fmt.Fprintln(out, "PASS")
	} else {
		fmt.Fprintln(out, "FAIL")
	}
	return ok
}

// pcapSummary is what tshark found in an exported capture.
type pcapSummary struct {
	frames, echoReplies, dhcpOffers, malformed int
}

// checkPcap reads the page's exported pcap with tshark, a reader that shares no code with ours:
// the file must read to its end, with no malformed frame, and hold the echo replies and the
// DHCP offer the page decoded.
func checkPcap(ctx context.Context, r *result.Result, path string) {
	if _, err := os.Stat(path); err != nil {
		r.Add("pcap (tshark)", false, "no exported pcap: %v", err)
		return
	}
	out, err := command(ctx, "", "tshark", "-r", path, "-T", "fields", "-E", "separator=;",
		"-e", "frame.number", "-e", "icmp.type", "-e", "dhcp.option.dhcp", "-e", "_ws.malformed")
	if err != nil {
		r.Add("pcap (tshark)", false, "%v", err)
		return
	}
	s, err := parseTsharkFields(out)
	if err != nil {
		r.Add("pcap (tshark)", false, "%v", err)
		return
	}
	good := s.frames > 0 && s.malformed == 0 && s.echoReplies >= r.Replies && s.dhcpOffers >= 1
	r.Add("pcap (tshark)", good, "%s: %d frames, %d echo replies (page decoded %d), %d DHCP offers, %d malformed",
		filepath.Base(path), s.frames, s.echoReplies, r.Replies, s.dhcpOffers, s.malformed)
}

// parseTsharkFields counts the rows of `tshark -T fields -E separator=; -e frame.number
// -e icmp.type -e dhcp.option.dhcp -e _ws.malformed`. A field with several values (an ICMP
// error quoting a packet) lists them separated by commas.
func parseTsharkFields(out []byte) (pcapSummary, error) {
	var s pcapSummary
	sc := bufio.NewScanner(bytes.NewReader(out))
	for n := 1; sc.Scan(); n++ {
		f := strings.Split(sc.Text(), ";")
		if len(f) != 4 {
			return s, fmt.Errorf("tshark output line %d has %d fields, want 4: %q", n, len(f), sc.Text())
		}
		if _, err := strconv.Atoi(f[0]); err != nil {
			return s, fmt.Errorf("tshark output line %d: frame number %q: %v", n, f[0], err)
		}
		s.frames++
		if first(f[1]) == "0" {
			s.echoReplies++
		}
		if first(f[2]) == "2" {
			s.dhcpOffers++
		}
		if f[3] != "" {
			s.malformed++
		}
	}
	return s, sc.Err()
}

// first is the first of a comma-separated list of field values.
func first(v string) string {
	head, _, _ := strings.Cut(v, ",")
	return head
}
