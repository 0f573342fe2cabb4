package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// machine describes where and how the benchmarks ran.
type machine struct {
	goVersion, cpu, chromium, date, settings string
}

// ratio asks for the speed of bench against baseline in pkg: baseline ns/op ÷ bench ns/op.
type ratio struct {
	pkg, bench, baseline string
}

// parseRatio parses "pkg:BenchmarkA:BenchmarkBaseline".
func parseRatio(s string) (ratio, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 || f[0] == "" || f[1] == "" || f[2] == "" {
		return ratio{}, fmt.Errorf("ratio %q: want package:benchmark:baseline", s)
	}
	return ratio{pkg: f[0], bench: f[1], baseline: f[2]}, nil
}

// The units every benchmark reports with -benchmem; all others are custom metrics
// (b.SetBytes's MB/s and b.ReportMetric's units).
const (
	unitNs     = "ns/op"
	unitAllocs = "allocs/op"
	unitBytes  = "B/op"
)

// render writes BENCHMARKS.md: one table per package, then the requested ratios.
func render(w io.Writer, m machine, native, wasm *runSet, ratios []ratio) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `./build.sh bench`; run it again instead of editing this file.\n\n")
	fmt.Fprintf(&b, "- date: %s\n", m.date)
	fmt.Fprintf(&b, "- Go: %s\n", m.goVersion)
	fmt.Fprintf(&b, "- CPU: %s\n", m.cpu)
	fmt.Fprintf(&b, "- browser (wasm columns): %s, headless, through wasmbrowsertest; Go runs on one thread there\n", m.chromium)
	fmt.Fprintf(&b, "- settings: %s; each value is the median of the runs\n", m.settings)
	b.WriteString("- wasm times come from the browser's performance.now(), which Chromium coarsens on pages that are " +
		"not cross-origin isolated (100 µs steps seen here): short -benchtime values make the wasm columns coarse\n\n")

	pkgs := packages(native, wasm)
	if len(pkgs) == 0 {
		b.WriteString("No benchmarks were found.\n")
	}
	for _, pkg := range pkgs {
		fmt.Fprintf(&b, "## %s\n\n", pkg)
		b.WriteString("| benchmark | native ns/op | native allocs/op | wasm ns/op | wasm allocs/op | custom metrics (native / wasm) |\n")
		b.WriteString("|---|---:|---:|---:|---:|---|\n")
		for _, name := range names(pkg, native, wasm) {
			n, w := native.get(pkg, name), wasm.get(pkg, name)
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", name,
				cell(n, unitNs), cell(n, unitAllocs), cell(w, unitNs), cell(w, unitAllocs), custom(n, w))
		}
		b.WriteString("\n")
	}

	if len(ratios) > 0 {
		b.WriteString("## Ratios against the baselines of the same run\n\n")
		b.WriteString("How many times faster the benchmark is than its baseline (baseline ns/op ÷ benchmark ns/op).\n\n")
		b.WriteString("| package | benchmark | baseline | native | wasm |\n")
		b.WriteString("|---|---|---|---|---|\n")
		for _, r := range ratios {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.pkg, r.bench, r.baseline,
				speedup(native, r), speedup(wasm, r))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// packages lists every package of both runs, sorted.
func packages(sets ...*runSet) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range sets {
		for pkg := range s.pkgs {
			if !seen[pkg] {
				seen[pkg] = true
				out = append(out, pkg)
			}
		}
	}
	sort.Strings(out)
	return out
}

// names lists pkg's benchmarks in the order they ran, native ones first.
func names(pkg string, sets ...*runSet) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range sets {
		for _, key := range s.order {
			p, name, _ := strings.Cut(key, "\x00")
			if p == pkg && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}

func cell(r *result, unit string) string {
	v, ok := r.median(unit)
	if !ok {
		return "—"
	}
	return format(v)
}

// custom lists the custom metrics as "native / wasm unit", one per unit.
func custom(n, w *result) string {
	units := map[string]bool{}
	for _, r := range []*result{n, w} {
		if r == nil {
			continue
		}
		for _, u := range r.units() {
			if u != unitNs && u != unitAllocs && u != unitBytes {
				units[u] = true
			}
		}
	}
	var sorted []string
	for u := range units {
		sorted = append(sorted, u)
	}
	sort.Strings(sorted)
	var parts []string
	for _, u := range sorted {
		parts = append(parts, cell(n, u)+" / "+cell(w, u)+" "+u)
	}
	return strings.Join(parts, "; ")
}

func speedup(s *runSet, r ratio) string {
	bench, ok1 := s.get(r.pkg, r.bench).median(unitNs)
	base, ok2 := s.get(r.pkg, r.baseline).median(unitNs)
	switch {
	case !ok1 && !ok2:
		return "not measured (neither benchmark ran)"
	case !ok1:
		return "not measured (" + r.bench + " did not run)"
	case !ok2:
		return "not measured (" + r.baseline + " did not run)"
	case bench == 0:
		return "not measured (" + r.bench + " reported 0 ns/op)"
	}
	return fmt.Sprintf("%.2f× (%s vs %s ns/op)", base/bench, format(bench), format(base))
}

// format prints a value with three significant digits at most, and whole numbers as such.
func format(v float64) string {
	if v == float64(int64(v)) && v < 1e15 && v > -1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	switch a := abs(v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
