package result

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestVariantsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Variants {
		for _, key := range []string{"name " + v.Name, "host " + v.HostMAC, "dev " + v.DevMAC} {
			if seen[key] {
				t.Errorf("two variants share %s", key)
			}
			seen[key] = true
		}
		if got, ok := LookupVariant(v.Name); !ok || got.Name != v.Name {
			t.Errorf("LookupVariant(%q) = %v, %v", v.Name, got, ok)
		}
	}
	if _, ok := LookupVariant("rndis"); ok {
		t.Error("LookupVariant found a variant that does not exist")
	}
}

func TestPassedNeedsChecksAndNoFailure(t *testing.T) {
	var r Result
	if r.Passed() {
		t.Error("a result with no checks passed")
	}
	r.Add("a", true, "")
	if !r.Passed() {
		t.Error("a result with only passing checks failed")
	}
	r.Add("b", false, "broken %d", 1)
	if r.Passed() {
		t.Error("a result with a failing check passed")
	}
	if r.Checks[1].Detail != "broken 1" {
		t.Errorf("detail = %q", r.Checks[1].Detail)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), ResultFile("ecm"))
	in := Result{Variant: "ecm", FramesIn: 7, Replies: 20, Requests: 24, DHCP: "DHCP Offer"}
	in.Add("ping", false, "20 of 24")
	if err := WriteJSON(path, in); err != nil {
		t.Fatal(err)
	}
	var out Result
	if err := ReadJSON(path, &out); err != nil {
		t.Fatal(err)
	}
	if out.Variant != "ecm" || out.FramesIn != 7 || out.Replies != 20 || len(out.Checks) != 1 || out.Checks[0].OK {
		t.Fatalf("read back %+v", out)
	}
}

func TestReadJSONNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := WriteJSON(path, "x"); err != nil {
		t.Fatal(err)
	}
	var r Result
	err := ReadJSON(path, &r)
	if err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("err = %v, want one naming bad.json", err)
	}
}

func TestPrintTableAlignsColumnsAndMarksFailures(t *testing.T) {
	ok := &Result{Variant: "ecm", FramesIn: 40, FramesOut: 38, Replies: 24, Requests: 24, Seconds: 61}
	ok.Add("x", true, "")
	bad := &Result{Variant: "ncm-fullspeed"}
	var b bytes.Buffer
	PrintTable(&b, []*Result{ok, bad})
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want header, rule and two rows:\n%s", len(lines), b.String())
	}
	bar := strings.Index(lines[0], "|")
	for _, l := range lines[2:] {
		if strings.Index(l, "|") != bar {
			t.Errorf("columns do not line up:\n%s", b.String())
		}
	}
	if !strings.Contains(lines[2], "PASS") || !strings.Contains(lines[2], "40/38") || !strings.Contains(lines[2], "24/24") {
		t.Errorf("row for ecm = %q", lines[2])
	}
	if !strings.Contains(lines[3], "FAIL") || !strings.Contains(lines[3], " - ") {
		t.Errorf("row for a result with no checks = %q", lines[3])
	}
}
