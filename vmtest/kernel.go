//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// guestModules are what the guest loads, named as modprobe knows them: virtio and 9p for the
// host root, overlay for a writable root on top of it, dummy_hcd and the gadget functions for
// the device under test, usbmon for a trace of its transfers. Nothing the VM needs is built
// into Debian's kernel; modprobe adds each one's dependencies, in load order.
var guestModules = []string{
	"virtio_pci", "9pnet_virtio", "9p", "overlay",
	"dummy_hcd", "configfs", "libcomposite", "usb_f_ecm", "usb_f_ncm", "usbmon",
}

// kernel is the guest's kernel in the cache: the image and the modules the guest loads.
type kernel struct {
	version string   // the kernel release, "6.1.0-56-amd64"
	image   string   // vmlinuz
	modDir  string   // holds the modules under the paths listed in modules
	modules []string // module files relative to modDir, in load order
}

// kernelDepends matches the line of `apt-cache depends linux-image-amd64` that names the
// current ABI's image package.
var kernelDepends = regexp.MustCompile(`^\s*\|?Depends:\s*(linux-image-(\d[^\s<>]*-amd64))\s*$`)

// parseKernelPackage finds the image package linux-image-amd64 depends on; the release is the
// package name without its prefix.
func parseKernelPackage(aptCacheDepends []byte) (pkg, release string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(aptCacheDepends))
	for sc.Scan() {
		if m := kernelDepends.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], m[2], nil
		}
	}
	return "", "", fmt.Errorf("apt-cache depends linux-image-amd64 names no linux-image-<release>-amd64 package:\n%s", aptCacheDepends)
}

// ensureKernel makes sure the cache holds the current Debian kernel image and the guest's
// modules. Only those are kept: the unpacked package (about 400 MB) is removed after the
// modules are copied out, the .deb stays so that a change of the module list needs no download.
func ensureKernel(ctx context.Context, cache string, keepTree bool, log io.Writer) (*kernel, error) {
	depends, err := command(ctx, "", "apt-cache", "depends", "linux-image-amd64")
	if err != nil {
		return nil, fmt.Errorf("resolving the kernel ABI: %w (is this Debian with apt?)", err)
	}
	pkg, release, err := parseKernelPackage(depends)
	if err != nil {
		return nil, err
	}
	kdir := filepath.Join(cache, "kernel", release)
	// The module list is part of the key: another list needs another extraction.
	mdir := filepath.Join(kdir, "modules-"+shortHash(strings.Join(guestModules, " ")))
	k := &kernel{version: release, image: filepath.Join(kdir, "vmlinuz"), modDir: mdir}
	listFile := filepath.Join(mdir, "modules.list")
	if b, err := os.ReadFile(listFile); err == nil {
		if _, err := os.Stat(k.image); err == nil {
			k.modules = strings.Fields(string(b))
			return k, nil
		}
	}

	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return nil, err
	}
	deb, err := downloadDeb(ctx, kdir, pkg, log)
	if err != nil {
		return nil, err
	}
	tree := filepath.Join(kdir, "tree")
	if err := os.RemoveAll(tree); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "    dpkg-deb -x %s\n", filepath.Base(deb))
	if _, err := command(ctx, "", "dpkg-deb", "-x", deb, tree); err != nil {
		return nil, err
	}
	if !keepTree {
		defer os.RemoveAll(tree)
	}
	// The package carries no modules.dep: its postinst runs depmod on the installed system.
	if _, err := command(ctx, "", "depmod", "-b", tree, release); err != nil {
		return nil, err
	}
	order, err := moduleOrder(ctx, tree, release)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(mdir); err != nil {
		return nil, err
	}
	for _, rel := range order {
		if err := copyFile(filepath.Join(tree, "lib", "modules", rel), filepath.Join(mdir, rel)); err != nil {
			return nil, err
		}
	}
	if err := copyFile(filepath.Join(tree, "boot", "vmlinuz-"+release), k.image); err != nil {
		return nil, err
	}
	// Written last: its presence says the cache entry is complete.
	if err := os.WriteFile(listFile, []byte(strings.Join(order, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	k.modules = order
	return k, nil
}

// downloadDeb fetches the package's .deb into dir with apt-get download, running apt-get update
// once when the version apt knows is gone from the mirror.
func downloadDeb(ctx context.Context, dir, pkg string, log io.Writer) (string, error) {
	find := func() string {
		m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
		if len(m) == 1 {
			return m[0]
		}
		return ""
	}
	if deb := find(); deb != "" {
		return deb, nil
	}
	fmt.Fprintf(log, "    apt-get download %s\n", pkg)
	if _, err := command(ctx, dir, "apt-get", "download", pkg); err != nil {
		fmt.Fprintf(log, "    download failed; apt-get update and once more\n")
		if _, err := command(ctx, "", "apt-get", "update", "-qq"); err != nil {
			return "", err
		}
		if _, err := command(ctx, dir, "apt-get", "download", pkg); err != nil {
			return "", err
		}
	}
	if deb := find(); deb != "" {
		return deb, nil
	}
	return "", fmt.Errorf("apt-get download %s left no single %s_*.deb in %s", pkg, pkg, dir)
}

// moduleOrder lists the module files (relative to lib/modules) that guestModules need, each
// after its dependencies and each once.
func moduleOrder(ctx context.Context, tree, release string) ([]string, error) {
	var order []string
	seen := map[string]bool{}
	for _, m := range guestModules {
		out, err := command(ctx, "", "modprobe", "-d", tree, "-S", release, "--show-depends", m)
		if err != nil {
			return nil, err
		}
		files, err := parseShowDepends(out, filepath.Join(tree, "lib", "modules"))
		if err != nil {
			return nil, fmt.Errorf("modprobe --show-depends %s: %w", m, err)
		}
		for _, f := range files {
			if !seen[f] {
				seen[f] = true
				order = append(order, f)
			}
		}
	}
	return order, nil
}

// parseShowDepends reads `modprobe --show-depends` output ("insmod /path/x.ko [params]" lines)
// and returns the paths relative to base. A "builtin" line needs no file.
func parseShowDepends(out []byte, base string) ([]string, error) {
	var files []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "builtin":
			continue
		case "insmod":
			if len(f) < 2 {
				return nil, fmt.Errorf("insmod line without a file: %q", sc.Text())
			}
			rel, err := filepath.Rel(base, f[1])
			if err != nil || strings.HasPrefix(rel, "..") {
				return nil, fmt.Errorf("module %s is outside %s", f[1], base)
			}
			files = append(files, rel)
		default:
			return nil, fmt.Errorf("unexpected line %q", sc.Text())
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no module files in %q", out)
	}
	return files, nil
}

// command runs name with args in dir and returns its standard output; an error carries the
// command line and the end of its standard error.
func command(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return out, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// copyFile copies src to dst, creating dst's folder.
func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
