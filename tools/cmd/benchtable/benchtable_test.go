package main

import (
	"strings"
	"testing"
)

// nativeOut is shaped like `go test -bench -benchmem -count=3` output with GOMAXPROCS=2.
const nativeOut = `goos: linux
goarch: amd64
pkg: webminiport/pool
cpu: Some CPU @ 2.00GHz
BenchmarkPoolAllocFree-2      	50000000	        12.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkPoolAllocFree-2      	50000000	        10.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkPoolAllocFree-2      	50000000	        11.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkSyncPoolBaseline-2   	30000000	        33.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkChanPoolBaseline-2   	 5000000	       110 ns/op	       0 B/op	       0 allocs/op
--- BENCH: BenchmarkChanPoolBaseline-2
    pool_test.go:10: a log line
PASS
ok  	webminiport/pool	5.1s
goos: linux
goarch: amd64
pkg: webminiport/ndis
BenchmarkRxIndicate/size=64-2 	 1000000	      1000 ns/op	         6.5 Mpps	      16 B/op	       1 allocs/op
BenchmarkRxIndicate/size=1514-2 	 1000000	      2000 ns/op	  757.00 MB/s	         3.1 Mpps	       0 B/op	       0 allocs/op
PASS
ok  	webminiport/ndis	3.0s
`

// wasmOut is shaped like the same run under GOOS=js, where GOMAXPROCS is 1 and names carry no
// suffix; its sub-benchmark name ends in "-8", which must survive.
const wasmOut = `goos: js
goarch: wasm
pkg: webminiport/pool
BenchmarkPoolAllocFree      	20000000	        40.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkSyncPoolBaseline   	10000000	        80.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkBurst/depth-8      	 1000000	       500 ns/op	       0 B/op	       0 allocs/op
PASS
ok  	webminiport/pool	4.0s
`

func mustParse(t *testing.T, s string) *runSet {
	t.Helper()
	set, err := parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return set
}

func TestParseTakesMedianOfRunsAndStripsProcsSuffix(t *testing.T) {
	set := mustParse(t, nativeOut)
	got, ok := set.get("webminiport/pool", "BenchmarkPoolAllocFree").median(unitNs)
	if !ok || got != 11 {
		t.Fatalf("median ns/op = %v, %v; want 11 (runs 12, 10, 11)", got, ok)
	}
}

func TestParseAssignsBenchmarksToTheirPkgHeader(t *testing.T) {
	set := mustParse(t, nativeOut)
	if set.get("webminiport/ndis", "BenchmarkRxIndicate/size=64") == nil {
		t.Fatalf("BenchmarkRxIndicate/size=64 not found under webminiport/ndis; have %v", set.order)
	}
	if set.get("webminiport/pool", "BenchmarkRxIndicate/size=64") != nil {
		t.Fatal("BenchmarkRxIndicate/size=64 also filed under webminiport/pool")
	}
}

func TestParseKeepsDigitSuffixWhenNamesDisagree(t *testing.T) {
	set := mustParse(t, wasmOut)
	if set.get("webminiport/pool", "BenchmarkBurst/depth-8") == nil {
		t.Fatalf("BenchmarkBurst/depth-8 lost its name; have %q", set.order)
	}
}

func TestParseReadsCustomMetrics(t *testing.T) {
	set := mustParse(t, nativeOut)
	r := set.get("webminiport/ndis", "BenchmarkRxIndicate/size=1514")
	if v, _ := r.median("Mpps"); v != 3.1 {
		t.Errorf("Mpps = %v, want 3.1", v)
	}
	if v, _ := r.median("MB/s"); v != 757 {
		t.Errorf("MB/s = %v, want 757", v)
	}
}

func TestParseRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"unpaired value", "pkg: p\nBenchmarkX 10 5 ns/op 7\n", "do not pair up"},
		{"value not a number", "pkg: p\nBenchmarkX 10 five ns/op\n", `value "five" of unit "ns/op"`},
		{"benchmark before pkg line", "BenchmarkX 10 5 ns/op\n", `before any "pkg:" line`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("err = %v does not say which line", err)
			}
		})
	}
}

func renderString(t *testing.T, ratios []ratio) string {
	t.Helper()
	var b strings.Builder
	m := machine{goVersion: "go version go1.26.8 linux/amd64", cpu: "Some CPU", chromium: "Chromium 156", date: "2026-11-25", settings: "-count=3"}
	if err := render(&b, m, mustParse(t, nativeOut), mustParse(t, wasmOut), ratios); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRenderPutsNativeAndWasmSideBySide(t *testing.T) {
	out := renderString(t, nil)
	for _, want := range []string{
		"## webminiport/ndis\n",
		"## webminiport/pool\n",
		"| BenchmarkPoolAllocFree | 11 | 0 | 40 | 0 |  |\n",
		"| BenchmarkChanPoolBaseline | 110 | 0 | — | — |  |\n",
		"| BenchmarkBurst/depth-8 | — | — | 500 | 0 |  |\n",
		"| BenchmarkRxIndicate/size=1514 | 2000 | 0 | — | — | 757 / — MB/s; 3.10 / — Mpps |\n",
		"- CPU: Some CPU\n",
		"Chromium 156",
		"- date: 2026-11-25\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "## webminiport/ndis") > strings.Index(out, "## webminiport/pool") {
		t.Error("packages are not sorted")
	}
}

func TestRenderRatiosAgainstBaselinesOfTheSameRun(t *testing.T) {
	out := renderString(t, []ratio{
		{"webminiport/pool", "BenchmarkPoolAllocFree", "BenchmarkSyncPoolBaseline"},
		{"webminiport/pool", "BenchmarkPoolAllocFree", "BenchmarkChanPoolBaseline"},
	})
	for _, want := range []string{
		"| webminiport/pool | BenchmarkPoolAllocFree | BenchmarkSyncPoolBaseline | 3.00× (11 vs 33 ns/op) | 2.00× (40 vs 80 ns/op) |\n",
		"| webminiport/pool | BenchmarkPoolAllocFree | BenchmarkChanPoolBaseline | 10.00× (11 vs 110 ns/op) | not measured (BenchmarkChanPoolBaseline did not run) |\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestParseRatioNeedsThreeParts(t *testing.T) {
	if _, err := parseRatio("webminiport/pool:BenchmarkA"); err == nil {
		t.Fatal("two parts accepted")
	}
	r, err := parseRatio("webminiport/pool:BenchmarkA:BenchmarkB")
	if err != nil || r != (ratio{"webminiport/pool", "BenchmarkA", "BenchmarkB"}) {
		t.Fatalf("parseRatio = %+v, %v", r, err)
	}
}

func TestRenderSaysSoWhenNothingRan(t *testing.T) {
	var b strings.Builder
	if err := render(&b, machine{}, newRunSet(), newRunSet(), nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No benchmarks were found.") {
		t.Fatalf("empty run not reported:\n%s", b.String())
	}
}
