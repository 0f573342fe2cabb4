//go:build !js

package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// profileInterval is the sampling interval of a page CPU profile in microseconds: fine enough
// to see a per-transfer cost of tens of microseconds in a 10 s window, coarse enough that the
// sampler does not become one of the costs.
const profileInterval = 200

// startProfile starts Chromium's sampling CPU profiler on the tab (the Profiler domain of the
// DevTools protocol). Go functions compiled to WebAssembly keep their names in the profile.
func (tb *tab) startProfile() {
	tb.t.Helper()
	tb.run("starting the CPU profiler", profiler.Enable(), profiler.SetSamplingInterval(profileInterval), profiler.Start())
}

// stopProfile stops the profiler, writes the profile as name.cpuprofile (the format DevTools'
// Performance panel loads) to the git-ignored .cache/cpuprofile/ folder of the repository, and
// returns the self and total time of every function.
func (tb *tab) stopProfile(name string) *profileSummary {
	tb.t.Helper()
	var prof *profiler.Profile
	tb.run("stopping the CPU profiler", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		prof, err = profiler.Stop().Do(ctx)
		return err
	}), profiler.Disable())
	dir := filepath.Join(env.root, ".cache", "cpuprofile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	b, err := json.Marshal(prof)
	if err != nil {
		tb.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".cpuprofile")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("CPU profile %s", path)
	return summarize(prof)
}

// profileSummary is a profile folded by function: self time (the function was on top of the
// stack) and total time (it was anywhere on the stack), in microseconds.
type profileSummary struct {
	total int64 // every sample's time
	self  map[string]int64
	incl  map[string]int64
}

// funcKey names a profile node's function: Go functions by their full name (the wasm name
// section keeps "webminiport/ndis.(*Adapter).Indicate"); JavaScript ones with their script.
func funcKey(n *profiler.ProfileNode) string {
	cf := n.CallFrame
	name := cf.FunctionName
	if name == "" {
		name = "(anonymous)"
	}
	if cf.URL == "" || strings.HasPrefix(cf.URL, "wasm://") {
		return name
	}
	return name + " [" + filepath.Base(cf.URL) + "]"
}

// summarize folds the samples of a profile by function.
func summarize(p *profiler.Profile) *profileSummary {
	s := &profileSummary{self: map[string]int64{}, incl: map[string]int64{}}
	byID := make(map[int64]*profiler.ProfileNode, len(p.Nodes))
	parent := make(map[int64]int64, len(p.Nodes))
	for _, n := range p.Nodes {
		byID[n.ID] = n
		for _, c := range n.Children {
			parent[c] = n.ID
		}
	}
	// The time of sample i is the delta to the next sample (DevTools attributes it so too).
	seen := map[string]bool{}
	for i, id := range p.Samples {
		if i+1 >= len(p.TimeDeltas) {
			break
		}
		dt := p.TimeDeltas[i+1]
		n := byID[id]
		if n == nil || dt <= 0 {
			continue
		}
		s.total += dt
		s.self[funcKey(n)] += dt
		clear(seen)
		for n != nil {
			if k := funcKey(n); !seen[k] { // recursion counts once
				seen[k] = true
				s.incl[k] += dt
			}
			up, ok := parent[n.ID]
			if !ok {
				break
			}
			n = byID[up]
		}
	}
	return s
}

// group names the part of the program a function belongs to: a Go package path, or JS, or one of
// the profiler's pseudo-functions ("(garbage collector)", "(idle)", "(program)").
func group(key string) string {
	switch {
	case strings.HasPrefix(key, "("):
		return key
	case strings.Contains(key, " ["):
		return "JavaScript"
	}
	// A Go name: the package path ends at the first dot after the last slash.
	slash := strings.LastIndexByte(key, '/')
	if dot := strings.IndexByte(key[slash+1:], '.'); dot >= 0 {
		return key[:slash+1+dot]
	}
	return "(other wasm)"
}

// top returns the n largest entries of m, largest first.
func top(m map[string]int64, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	return keys[:min(n, len(keys))]
}

// report writes the top n functions by self time, the top n by total time and the self time per
// package.
func (s *profileSummary) report(n int) string {
	var b strings.Builder
	pct := func(v int64) float64 { return 100 * float64(v) / float64(max(s.total, 1)) }
	fmt.Fprintf(&b, "%.2f s sampled\nself time by function:\n", float64(s.total)/1e6)
	for _, k := range top(s.self, n) {
		fmt.Fprintf(&b, "  %5.1f%%  %s\n", pct(s.self[k]), k)
	}
	fmt.Fprintf(&b, "total time by function:\n")
	for _, k := range top(s.incl, n) {
		fmt.Fprintf(&b, "  %5.1f%%  %s\n", pct(s.incl[k]), k)
	}
	groups := map[string]int64{}
	for k, v := range s.self {
		groups[group(k)] += v
	}
	fmt.Fprintf(&b, "self time by package:\n")
	for _, k := range top(groups, n) {
		fmt.Fprintf(&b, "  %5.1f%%  %s\n", pct(groups[k]), k)
	}
	return b.String()
}
