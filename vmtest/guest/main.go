//go:build linux

// Command guest is the driver of vmtest inside the VM. It serves the page with our server on
// the guest's loopback, writes the Chromium policy that pairs the gadget with that origin,
// starts headless Chromium and drives it over the DevTools protocol. For each variant it
// creates the Linux gadget in configfs, gives the gadget's interface its address, runs dnsmasq
// on it, loads the page and checks, through window.webminiport, what the page did with the
// device; then it tears the gadget down. Each variant's verdicts go to a result file in the run
// folder (a writable 9p share the host reads); progress lines go to the console.
//
//	guest -options /run/vmtest/options.json -log /run/vmtest/guest.log
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"webminiport/vmtest/internal/result"
)

// variantTimeout bounds one variant. The first one pays for TCG translating Chromium's code
// paths; two minutes is typical there, so this leaves room for a busy machine.
const variantTimeout = 8 * time.Minute

func main() {
	optionsPath := flag.String("options", "/run/vmtest/options.json", "options `file` the host wrote")
	logPath := flag.String("log", "/run/vmtest/guest.log", "log `file`")
	flag.Parse()
	if err := run(*optionsPath, *logPath); err != nil {
		fmt.Printf("vmtest: guest: %v\n", err)
		os.Exit(1)
	}
}

// logger writes timestamped lines to the log file; progress lines also go to the console.
type logger struct {
	mu sync.Mutex
	w  io.Writer
	t0 time.Time
}

func (l *logger) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%7.1fs "+format+"\n", append([]any{time.Since(l.t0).Seconds()}, args...)...)
}

func (l *logger) progressf(format string, args ...any) {
	l.logf(format, args...)
	fmt.Printf("vmtest: "+format+"\n", args...)
}

// Write lets the logger take the output of child processes.
func (l *logger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func run(optionsPath, logPath string) error {
	var opts result.Options
	if err := result.ReadJSON(optionsPath, &opts); err != nil {
		return err
	}
	runDir := filepath.Dir(optionsPath)
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := &logger{w: logFile, t0: time.Now()}
	ctx := context.Background()

	addr := "127.0.0.1:" + strconv.Itoa(opts.Port)
	origin := "http://" + addr
	if err := writePolicy(origin); err != nil {
		return fmt.Errorf("writing the Chromium policy: %w", err)
	}
	srv, err := startServer(ctx, serverOptions{binary: opts.Server, addr: addr, dir: opts.PageDir}, log)
	if err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	log.progressf("server on %s serving %s; starting Chromium", origin, opts.PageDir)

	var br *browser // only variants with a page need it; under TCG it takes a minute to start
	if needsBrowser(opts.Variants) {
		t0 := time.Now()
		chromeLog, err := os.Create(filepath.Join(runDir, "chromium.log"))
		if err != nil {
			return err
		}
		defer chromeLog.Close()
		if br, err = startBrowser(ctx, opts.Chromium, chromeLog); err != nil {
			return err
		}
		defer br.close()
		log.progressf("Chromium up in %.0fs", time.Since(t0).Seconds())
		if opts.Page == "web" {
			t0 = time.Now()
			if err := warmUp(ctx, log, br, origin); err != nil {
				log.progressf("warm-up load of the page failed after %.0fs: %v", time.Since(t0).Seconds(), err)
			} else {
				log.progressf("warm-up load of the page done in %.0fs", time.Since(t0).Seconds())
			}
		}
	}

	failed := 0
	for _, name := range opts.Variants {
		v, ok := result.LookupVariant(name)
		if !ok {
			return fmt.Errorf("unknown variant %q", name)
		}
		mon, err := startUSBMon(filepath.Join(runDir, "usbmon-"+v.Name+".txt"))
		if err != nil {
			log.logf("%s: no usbmon trace: %v", v.Name, err)
		}
		var r *result.Result
		if v.Function == result.FFSFunction {
			r = runFFSVariant(ctx, log, br, opts.Page, origin, runDir, v)
		} else {
			r = runVariant(ctx, log, br, opts, origin, runDir, v)
		}
		if mon != nil {
			if err := mon.stop(); err != nil {
				log.logf("%s: usbmon trace: %v", v.Name, err)
			}
		}
		if err := result.WriteJSON(filepath.Join(runDir, result.ResultFile(v.Name)), r); err != nil {
			return err
		}
		verdict := "PASS"
		if !r.Passed() {
			verdict = "FAIL"
			failed++
			// The log keeps every failure's detail: a variant run twice has one result file.
			for _, c := range r.Checks {
				if !c.OK {
					log.logf("%s: FAIL %s: %s", v.Name, c.Name, c.Detail)
				}
			}
		}
		log.progressf("%s: %s in %.0fs", v.Name, verdict, r.Seconds)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d variants failed", failed, len(opts.Variants))
	}
	return nil
}

// runVariant sets up the gadget and its network for v, runs the checks of the page in use and
// tears everything down again, whatever happened.
func runVariant(ctx context.Context, log *logger, br *browser, opts result.Options, origin, runDir string, v result.Variant) *result.Result {
	t0 := time.Now()
	r := &result.Result{Variant: v.Name}
	defer func() { r.Seconds = time.Since(t0).Seconds() }()
	ctx, cancel := context.WithTimeout(ctx, variantTimeout)
	defer cancel()

	if v.FullSpeed {
		if err := reloadDummyHCD(ctx, opts.DummyHCD, "is_high_speed=0"); err != nil {
			r.Add("dummy_hcd", false, "loading it for full speed: %v", err)
			return r
		}
		log.progressf("%s: dummy_hcd reloaded at full speed", v.Name)
		defer func() {
			// Back to the default high speed for the variants after this one.
			if err := reloadDummyHCD(context.Background(), opts.DummyHCD); err != nil {
				log.progressf("%s: reloading dummy_hcd at high speed: %v", v.Name, err)
			}
		}()
	}
	log.progressf("%s: creating the %s gadget (%s)", v.Name, v.Function, v.About)
	g, err := createGadget(v)
	if g != nil {
		defer func() {
			// Close the page first, so that no transfer is pending when the device goes.
			br.closeTab()
			if err := g.remove(); err != nil {
				log.logf("%s: removing the gadget: %v", v.Name, err)
			}
		}()
	}
	if err != nil {
		r.Add("gadget", false, "%v", err)
		return r
	}
	if err := setUpInterface(ctx, g.ifname); err != nil {
		r.Add("gadget", false, "%v", err)
		return r
	}
	dhcp, err := startDNSMasq(g.ifname, runDir, v.Name)
	if err != nil {
		r.Add("dnsmasq", false, "%v", err)
		return r
	}
	defer dhcp.stop()
	r.Add("gadget", true, "%s on %s, %s %s/%s", g.function, g.udc, g.ifname, gadgetCIDR, v.DevMAC)

	if err := br.newTab(); err != nil {
		r.Add("browser tab", false, "%v", err)
		return r
	}
	env := &variantEnv{log: log, br: br, v: v, g: g, dhcp: dhcp, origin: origin, runDir: runDir, r: r}
	if opts.Page == "plumbing" {
		err = env.plumbing(ctx)
	} else {
		err = env.product(ctx)
	}
	if err != nil {
		// A step that could not even run is a failure of its own; the checks before it stay.
		var stop stepError
		if errors.As(err, &stop) {
			r.Add(stop.step, false, "%v", stop.err)
		} else {
			r.Add("run", false, "%v", err)
		}
	}
	if env.gone != nil {
		env.reportHang()
	} else if !r.Passed() && opts.Page == "web" {
		env.saveDebug()
	}
	return r
}

// variantEnv is everything the checks of one variant use.
type variantEnv struct {
	log    *logger
	br     *browser
	v      result.Variant
	g      *gadget
	dhcp   *dnsmasq
	origin string
	runDir string
	r      *result.Result
	gone   error // why the page no longer answers (errNoAnswer, errCrashed), or nil (variantEnv.call)
}

// stepError ends a variant's checks: the named step could not go on.
type stepError struct {
	step string
	err  error
}

func (e stepError) Error() string { return e.step + ": " + e.err.Error() }

func stop(step string, format string, args ...any) error {
	return stepError{step: step, err: fmt.Errorf(format, args...)}
}
