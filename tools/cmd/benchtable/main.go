// Command benchtable turns the output of `go test -bench` run natively and under GOOS=js into
// BENCHMARKS.md: a table per package with both runs side by side, and speed ratios of chosen
// benchmarks against baselines measured in the same run. build.sh bench calls it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
)

// ratioFlags collects repeated -ratio flags.
type ratioFlags []ratio

func (r *ratioFlags) String() string {
	var s []string
	for _, x := range *r {
		s = append(s, x.pkg+":"+x.bench+":"+x.baseline)
	}
	return strings.Join(s, ",")
}

func (r *ratioFlags) Set(v string) error {
	x, err := parseRatio(v)
	if err != nil {
		return err
	}
	*r = append(*r, x)
	return nil
}

func main() {
	var (
		nativePath = flag.String("native", "", "file with the native `go test -bench` output")
		wasmPath   = flag.String("wasm", "", "file with the GOOS=js `go test -bench` output")
		outPath    = flag.String("out", "BENCHMARKS.md", "file to write")
		m          machine
		ratios     ratioFlags
	)
	flag.StringVar(&m.goVersion, "go", "unknown", "Go version, as `go version` prints it")
	flag.StringVar(&m.cpu, "cpu", "unknown", "CPU model")
	flag.StringVar(&m.chromium, "chromium", "unknown", "browser version")
	flag.StringVar(&m.date, "date", "unknown", "when the benchmarks ran")
	flag.StringVar(&m.settings, "settings", "", "go test flags that shaped the run (-count, -benchtime)")
	flag.Var(&ratios, "ratio", "package:benchmark:baseline to compare; repeatable")
	flag.Parse()
	if *nativePath == "" || *wasmPath == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: benchtable -native FILE -wasm FILE [-out BENCHMARKS.md] [-ratio pkg:bench:baseline]...")
		os.Exit(2)
	}
	if err := run(*nativePath, *wasmPath, *outPath, m, ratios); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(nativePath, wasmPath, outPath string, m machine, ratios []ratio) error {
	native, err := parseFile(nativePath)
	if err != nil {
		return err
	}
	wasm, err := parseFile(wasmPath)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := render(&out, m, native, wasm, ratios); err != nil {
		return err
	}
	return os.WriteFile(outPath, out.Bytes(), 0o644)
}

func parseFile(path string) (*runSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
