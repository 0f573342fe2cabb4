//go:build linux

// Command vmtest is the host side of `./build.sh vmtest`: it tests the page against Linux's own
// CDC-ECM and CDC-NCM gadget functions, through real Chromium and WebUSB, with no USB hardware.
//
// It fetches Debian's kernel with apt into a cache (the ABI resolved at run time), builds an
// initramfs from the static busybox, the stage-1 script and the modules the guest needs, builds
// our server and the in-guest driver (vmtest/guest), and boots QEMU under TCG with the host's root
// read-only over 9p and no network card, so nothing leaves the VM. The guest writes one result
// file per variant into a writable 9p share (the run folder); vmtest then reads the exported
// pcaps with tshark, prints a table per variant and exits non-zero on any failure. QEMU is killed
// on every way out: timeout, signal, or this process dying (Pdeathsig).
//
//	vmtest -repo DIR [-cache DIR] [-variants ecm,ncm,ncm-small] [-page web|plumbing] [-timeout 20m]
//
// ../shared/specs/vm-webusb.md has the verified facts each piece rests on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"webminiport/vmtest/internal/result"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is what one bench run needs, from the flags.
type config struct {
	repo     string        // the checkout; the guest sees it at the same path through 9p
	cache    string        // kernel, initramfs, built programs and the run folder
	variants []string      // which gadget variants, in order
	page     string        // "web" (our page) or "plumbing" (vmtest/plumbing, the test-only page)
	timeout  time.Duration // wall time for the whole VM
	keep     bool          // leave the extracted kernel tree in the cache (for debugging)
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("vmtest", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var cfg config
	var variants string
	flags.StringVar(&cfg.repo, "repo", ".", "`folder` of the webminiport checkout")
	flags.StringVar(&cfg.cache, "cache", "", "cache `folder` (default REPO/.cache/vm)")
	flags.StringVar(&variants, "variants", strings.Join(result.VariantNames(), ","), "comma-separated `list` of gadget variants")
	flags.StringVar(&cfg.page, "page", "web", "which page to test: web (the product) or plumbing (vmtest/plumbing)")
	flags.DurationVar(&cfg.timeout, "timeout", 25*time.Minute, "wall-time `limit` for the VM (TCG is slow)")
	flags.BoolVar(&cfg.keep, "keep-kernel-tree", false, "keep the whole unpacked kernel package in the cache")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "vmtest: unexpected argument %q\n", flags.Arg(0))
		return 2
	}
	var err error
	if cfg.repo, err = filepath.Abs(cfg.repo); err != nil {
		fmt.Fprintf(stderr, "vmtest: %v\n", err)
		return 2
	}
	if cfg.cache == "" {
		cfg.cache = filepath.Join(cfg.repo, ".cache", "vm")
	}
	if cfg.cache, err = filepath.Abs(cfg.cache); err != nil {
		fmt.Fprintf(stderr, "vmtest: %v\n", err)
		return 2
	}
	for _, v := range strings.Split(variants, ",") {
		if _, ok := result.LookupVariant(v); !ok {
			fmt.Fprintf(stderr, "vmtest: unknown variant %q (known: %s)\n", v, strings.Join(result.VariantNames(), ", "))
			return 2
		}
		cfg.variants = append(cfg.variants, v)
	}
	if cfg.page != "web" && cfg.page != "plumbing" {
		fmt.Fprintf(stderr, "vmtest: -page must be web or plumbing, not %q\n", cfg.page)
		return 2
	}

	// SIGINT and SIGTERM cancel the context, which kills QEMU; the deferred clean-up then runs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ok, err := bench(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "vmtest: %v\n", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

// bench prepares everything, runs the VM and reports. It returns whether every check passed;
// an error means the bench itself could not run.
func bench(ctx context.Context, cfg config, out io.Writer) (bool, error) {
	t0 := time.Now()
	step := func(format string, args ...any) { fmt.Fprintf(out, "==> "+format+"\n", args...) }

	step("kernel (Debian's linux-image-amd64, cached in %s)", cfg.cache)
	k, err := ensureKernel(ctx, cfg.cache, cfg.keep, out)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(out, "    %s\n", k.version)

	step("initramfs (static busybox, stage1.sh, %d modules)", len(k.modules))
	initrd, err := ensureInitramfs(ctx, cfg.cache, cfg.repo, k)
	if err != nil {
		return false, err
	}

	step("go build ./server and ./vmtest/guest")
	bins, err := buildPrograms(ctx, cfg.repo, cfg.cache)
	if err != nil {
		return false, err
	}

	runDir := filepath.Join(cfg.cache, "run")
	if err := os.RemoveAll(runDir); err != nil {
		return false, fmt.Errorf("clearing the run folder: %w", err)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return false, err
	}
	opts, err := guestOptions(cfg, k, bins)
	if err != nil {
		return false, err
	}
	if err := result.WriteJSON(filepath.Join(runDir, result.OptionsFile), opts); err != nil {
		return false, err
	}
	if err := prepareFFS(ctx, cfg, k, runDir, out); err != nil {
		return false, err
	}

	step("boot QEMU (TCG, no network card; serial log in %s)", filepath.Join(runDir, "serial.log"))
	tVM := time.Now()
	vmErr := runVM(ctx, vmSpec{
		kernel:  k.image,
		initrd:  initrd,
		stage2:  filepath.Join(cfg.repo, "vmtest", "stage2.sh"),
		guest:   bins.guest,
		runDir:  runDir,
		timeout: cfg.timeout,
	}, out)
	vmTime := time.Since(tVM)

	step("results")
	ok := report(ctx, out, cfg, runDir, vmErr)
	fmt.Fprintf(out, "    VM %.0fs, whole bench %.0fs\n", vmTime.Seconds(), time.Since(t0).Seconds())
	return ok, nil
}

// guestOptions is what the guest driver reads from the run folder.
func guestOptions(cfg config, k *kernel, bins programs) (result.Options, error) {
	dir := filepath.Join(cfg.repo, "vmtest", "plumbing")
	if cfg.page == "web" {
		dir = filepath.Join(cfg.cache, "page")
		if _, err := snapshotPage(filepath.Join(cfg.repo, "web"), dir); err != nil {
			return result.Options{}, err
		}
	}
	const chromium = "/usr/lib/chromium/chromium"
	if _, err := os.Stat(chromium); err != nil {
		return result.Options{}, fmt.Errorf("%s is missing: the guest runs Debian's Chromium from the host root (apt-get install -y chromium)", chromium)
	}
	var dummyHCD string
	for _, m := range k.modules {
		if filepath.Base(m) == "dummy_hcd.ko" {
			dummyHCD = filepath.Join(k.modDir, m)
		}
	}
	if dummyHCD == "" {
		return result.Options{}, fmt.Errorf("the guest's modules have no dummy_hcd.ko: %v", k.modules)
	}
	return result.Options{
		DummyHCD: dummyHCD,
		Variants: cfg.variants,
		Page:     cfg.page,
		PageDir:  dir,
		Server:   bins.server,
		Chromium: chromium,
		Port:     8080,
	}, nil
}
