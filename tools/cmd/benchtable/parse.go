package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// result is every value one benchmark reported, by unit, one entry per run (-count).
type result struct {
	values map[string][]float64
}

// runSet is the parsed output of one `go test -bench` run (native or wasm), by package then by
// benchmark name without its GOMAXPROCS suffix.
type runSet struct {
	pkgs map[string]map[string]*result
	// order lists "pkg\x00name" in the order the benchmarks first appeared.
	order []string
}

func newRunSet() *runSet {
	return &runSet{pkgs: map[string]map[string]*result{}}
}

// get returns the result of name in pkg, or nil.
func (s *runSet) get(pkg, name string) *result {
	return s.pkgs[pkg][name]
}

// median returns the median of the runs' values for unit, and whether there was any.
func (r *result) median(unit string) (float64, bool) {
	if r == nil || len(r.values[unit]) == 0 {
		return 0, false
	}
	v := slices.Clone(r.values[unit])
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2], true
	}
	return (v[n/2-1] + v[n/2]) / 2, true
}

// units returns the units r reported, sorted.
func (r *result) units() []string {
	var u []string
	for k := range r.values {
		u = append(u, k)
	}
	sort.Strings(u)
	return u
}

var procsSuffix = regexp.MustCompile(`-([0-9]+)$`)

// benchLine is one line of benchmark output before the name is cleaned up.
type benchLine struct {
	pkg, name string
	values    map[string]float64
}

// parse reads `go test -bench` output. Package names come from the "pkg:" header lines go test
// prints before each package's benchmarks; lines that are not benchmark results are skipped.
func parse(r io.Reader) (*runSet, error) {
	var lines []benchLine
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		bl, ok, err := parseBenchLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		if !ok {
			continue
		}
		if pkg == "" {
			return nil, fmt.Errorf("line %d: benchmark %s before any \"pkg:\" line", lineNo, bl.name)
		}
		bl.pkg = pkg
		lines = append(lines, bl)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}

	// go test appends "-N" to every name when GOMAXPROCS is N > 1. A package's names all carry
	// the same suffix then, which tells it apart from a sub-benchmark name that ends in "-8".
	suffixes := map[string]map[string]bool{}
	for _, bl := range lines {
		if suffixes[bl.pkg] == nil {
			suffixes[bl.pkg] = map[string]bool{}
		}
		suffixes[bl.pkg][procsSuffix.FindString(bl.name)] = true
	}
	suffix := map[string]string{}
	for pkg, set := range suffixes {
		if len(set) == 1 {
			for s := range set {
				suffix[pkg] = s
			}
		}
	}

	set := newRunSet()
	for _, bl := range lines {
		name := strings.TrimSuffix(bl.name, suffix[bl.pkg])
		if set.pkgs[bl.pkg] == nil {
			set.pkgs[bl.pkg] = map[string]*result{}
		}
		res := set.pkgs[bl.pkg][name]
		if res == nil {
			res = &result{values: map[string][]float64{}}
			set.pkgs[bl.pkg][name] = res
			set.order = append(set.order, bl.pkg+"\x00"+name)
		}
		for unit, v := range bl.values {
			res.values[unit] = append(res.values[unit], v)
		}
	}
	return set, nil
}

// parseBenchLine parses "BenchmarkName  <iterations>  <value> <unit>  <value> <unit> ...".
// ok is false for lines that are not results (a benchmark's name alone, logs, FAIL lines).
func parseBenchLine(line string) (bl benchLine, ok bool, err error) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return bl, false, nil
	}
	if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
		return bl, false, nil
	}
	if len(f)%2 != 0 {
		return bl, false, fmt.Errorf("benchmark %s: values and units do not pair up in %q", f[0], line)
	}
	bl.name = f[0]
	bl.values = map[string]float64{}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return bl, false, fmt.Errorf("benchmark %s: value %q of unit %q is not a number", f[0], f[i], f[i+1])
		}
		bl.values[f[i+1]] = v
	}
	return bl, true, nil
}
