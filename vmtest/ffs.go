//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"webminiport/vmtest/internal/result"
)

// The ffs variants (issue 8) put our own sim models on dummy_hcd through FunctionFS, with
// cmd/ffs-gadget, and load Linux's host drivers for them. Neither the program nor those modules
// are part of the initramfs: the guest reads them from the host root when a variant needs them,
// so the gadget-function variants still boot with no host driver loaded.

// prepareFFS builds cmd/ffs-gadget, extracts the kernel modules the ffs variants load, and writes
// the FFS options file into the run folder. It does nothing when no ffs variant is selected.
func prepareFFS(ctx context.Context, cfg config, k *kernel, runDir string, out io.Writer) error {
	needed := false
	for _, v := range cfg.variants {
		if _, ok := result.LookupFFSVariant(v); ok {
			needed = true
		}
	}
	if !needed {
		return nil
	}
	fmt.Fprintf(out, "==> go build ./cmd/ffs-gadget; kernel modules for the ffs variants\n")
	gadget := filepath.Join(cfg.cache, "bin", "ffs-gadget")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", gadget, "./cmd/ffs-gadget")
	cmd.Dir = cfg.repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/ffs-gadget: %w\n%s", err, b)
	}
	dir, groups, err := ensureFFSModules(ctx, k, out)
	if err != nil {
		return err
	}
	return result.WriteJSON(filepath.Join(runDir, result.FFSOptionsFile), result.FFSOptions{
		Gadget: gadget, ModuleDir: dir, Modules: groups,
	})
}

// ensureFFSModules returns a folder next to the cached kernel holding every module of
// result.FFSModuleGroups with its dependencies, and each group's files in load order. The
// folder is keyed by the group list and built once, from the kernel package the cache keeps.
func ensureFFSModules(ctx context.Context, k *kernel, log io.Writer) (string, map[string][]string, error) {
	names := make([]string, 0, len(result.FFSModuleGroups))
	for g := range result.FFSModuleGroups {
		names = append(names, g)
	}
	sort.Strings(names)
	var key strings.Builder
	for _, g := range names {
		fmt.Fprintf(&key, "%s=%s;", g, strings.Join(result.FFSModuleGroups[g], ","))
	}
	kdir := filepath.Dir(k.image)
	dir := filepath.Join(kdir, "ffs-modules-"+shortHash(key.String()))
	listFile := filepath.Join(dir, "groups.json")
	groups := map[string][]string{}
	if err := result.ReadJSON(listFile, &groups); err == nil {
		return dir, groups, nil
	}

	debs, _ := filepath.Glob(filepath.Join(kdir, "linux-image-*.deb"))
	if len(debs) != 1 {
		return "", nil, fmt.Errorf("want exactly one kernel package in %s, found %d", kdir, len(debs))
	}
	tree, err := os.MkdirTemp(kdir, "tree-")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(tree)
	fmt.Fprintf(log, "    dpkg-deb -x %s (for the ffs variants' modules)\n", filepath.Base(debs[0]))
	if _, err := command(ctx, "", "dpkg-deb", "-x", debs[0], tree); err != nil {
		return "", nil, err
	}
	if _, err := command(ctx, "", "depmod", "-b", tree, k.version); err != nil {
		return "", nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", nil, err
	}
	base := filepath.Join(tree, "lib", "modules")
	for _, g := range names {
		seen := map[string]bool{}
		for _, m := range result.FFSModuleGroups[g] {
			out, err := command(ctx, "", "modprobe", "-d", tree, "-S", k.version, "--show-depends", m)
			if err != nil {
				return "", nil, err
			}
			files, err := parseShowDepends(out, base)
			if err != nil {
				return "", nil, fmt.Errorf("modprobe --show-depends %s: %w", m, err)
			}
			for _, f := range files {
				if seen[f] {
					continue
				}
				seen[f] = true
				groups[g] = append(groups[g], f)
				if err := copyFile(filepath.Join(base, f), filepath.Join(dir, f)); err != nil {
					return "", nil, err
				}
			}
		}
	}
	// Written last: its presence says the folder is complete.
	b, err := json.Marshal(groups)
	if err != nil {
		return "", nil, err
	}
	return dir, groups, os.WriteFile(listFile, b, 0o644)
}
