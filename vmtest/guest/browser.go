//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/debugger"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// policyFile is where Debian's Chromium reads managed policies; the guest's /etc is the
// overlay's tmpfs, so writing it changes nothing on the host.
const policyFile = "/etc/chromium/policies/managed/webminiport-vmtest.json"

// writePolicy lets the page at origin use the gadget through WebUSB with no chooser:
// navigator.usb.getDevices() returns it as if the user had paired it.
func writePolicy(origin string) error {
	policy := map[string]any{
		"WebUsbAllowDevicesForUrls": []any{map[string]any{
			"devices": append([]any{map[string]int{"vendor_id": gadgetVendor, "product_id": gadgetProduct}}, ffsPolicyDevices()...),
			"urls":    []string{origin},
		}},
	}
	b, err := json.Marshal(policy)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(policyFile), 0o755); err != nil {
		return err
	}
	return os.WriteFile(policyFile, b, 0o644)
}

// startServer runs our server on the guest's loopback and waits until it accepts connections.
func startServer(ctx context.Context, o serverOptions, log io.Writer) (*exec.Cmd, error) {
	cmd := exec.Command(o.binary, "-addr", o.addr, "-dir", o.dir)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the server: %w", err)
	}
	err := waitFor(30*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", o.addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("the server on %s did not answer: %v", o.addr, err)
	}
	return cmd, nil
}

type serverOptions struct{ binary, addr, dir string }

// browser is headless Chromium driven over the DevTools protocol. Its first tab only keeps the
// browser alive; the checks run in a tab of their own (newTab), so that a page that hangs its
// renderer cannot take the next variant down with it.
type browser struct {
	first  context.Context // the first tab: closing it would close the browser
	cancel context.CancelFunc
	log    io.Writer // console messages and exceptions of the pages

	mu        sync.Mutex // guards tab, tabCancel, crash and the log
	tab       context.Context
	tabCancel context.CancelFunc
	crash     chan struct{} // closed at the next renderer crash; nil until asked for
}

// nextCrash returns a channel that is closed when a tab's renderer crashes from now on.
func (b *browser) nextCrash() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.crash == nil {
		b.crash = make(chan struct{})
	}
	return b.crash
}

// startBrowser launches the real Chromium binary (Debian's wrapper script costs forks and adds
// flags) with a fresh profile, and opens one tab. Under TCG the first start takes seconds, so
// the wait for the DevTools address is generous.
func startBrowser(parent context.Context, chromium string, log io.Writer) (*browser, error) {
	profile, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// The tab is never visible: without these, Chromium slows its timers down.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(log),
		chromedp.WSURLReadTimeout(3 * time.Minute),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		}),
	}
	actx, acancel := chromedp.NewExecAllocator(parent, opts...)
	tctx, tcancel := chromedp.NewContext(actx,
		chromedp.WithErrorf(func(f string, a ...any) { fmt.Fprintf(log, "chromedp: "+f+"\n", a...) }),
		// The DevTools socket can take longer than chromedp's 10 s to answer under TCG.
		chromedp.WithBrowserOption(chromedp.WithDialTimeout(2*time.Minute)))
	b := &browser{first: tctx, tab: tctx, log: log}
	b.cancel = func() { b.closeTab(); tcancel(); acancel(); os.RemoveAll(profile) }
	chromedp.ListenTarget(tctx, b.onEvent)
	// The first Run starts the browser, which lives as long as the context it is given: so it
	// gets the tab's own, and the wait for the browser is bounded by WSURLReadTimeout.
	if err := chromedp.Run(tctx); err != nil {
		b.cancel()
		return nil, fmt.Errorf("starting Chromium: %w", err)
	}
	return b, nil
}

// newTab closes the current checks tab, if any, and opens a fresh one (about:blank) in which
// navigate and eval run from now on.
func (b *browser) newTab() error {
	b.closeTab()
	tctx, cancel := chromedp.NewContext(b.first)
	chromedp.ListenTarget(tctx, b.onEvent)
	b.mu.Lock()
	b.tab, b.tabCancel = tctx, cancel
	b.mu.Unlock()
	// The first Run on a tab's context creates the tab and ties its life to the context it is
	// given, so it gets the tab's own context, never a shorter one derived from it.
	return chromedp.Run(tctx)
}

// closeTab closes the checks tab, which ends its page and releases the devices it had open.
// navigate and eval then run in the first tab again.
func (b *browser) closeTab() {
	b.mu.Lock()
	cancel := b.tabCancel
	b.tab, b.tabCancel = b.first, nil
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// onEvent copies the page's console and uncaught exceptions into the log.
func (b *browser) onEvent(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		fmt.Fprintf(b.log, "console.%s: %s\n", e.Type, strings.Join(parts, " "))
	case *runtime.EventExceptionThrown:
		fmt.Fprintf(b.log, "exception: %s\n", e.ExceptionDetails.Error())
	case *inspector.EventTargetCrashed:
		fmt.Fprintf(b.log, "%s the page's renderer crashed\n", time.Now().Format("15:04:05.000"))
		if b.crash != nil {
			close(b.crash)
			b.crash = nil
		}
	}
}

// navigate loads url in the tab and waits for the load event.
func (b *browser) navigate(ctx context.Context, url string) error {
	return b.run(ctx, chromedp.Navigate(url))
}

// eval evaluates a JavaScript expression in the page, awaits it when it is a promise, and
// decodes its JSON value into res (which may be nil).
func (b *browser) eval(ctx context.Context, expr string, res any) error {
	return b.run(ctx, chromedp.Evaluate(expr, res, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// run runs actions in the current tab, bounded by ctx: the tab's own context lives until the
// tab is closed, and ending a context derived from it only abandons the actions.
func (b *browser) run(ctx context.Context, actions ...chromedp.Action) error {
	b.mu.Lock()
	tab := b.tab
	b.mu.Unlock()
	tctx, cancel := context.WithCancel(tab)
	defer cancel()
	if d, ok := ctx.Deadline(); ok {
		var cancelDeadline context.CancelFunc
		tctx, cancelDeadline = context.WithDeadline(tctx, d)
		defer cancelDeadline()
	}
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	return chromedp.Run(tctx, actions...)
}

// screenshot saves a PNG of the current tab.
func (b *browser) screenshot(ctx context.Context, path string) error {
	var png []byte
	if err := b.run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// pausedStack is for a page that no longer answers: it pauses the tab's JavaScript (V8 takes
// the debugger's pause even in the middle of a loop that never yields, such as a Go goroutine
// that spins under js/wasm, where nothing preempts it) and returns the function names of the
// stack it stopped on, innermost first.
func (b *browser) pausedStack(ctx context.Context) ([]string, error) {
	b.mu.Lock()
	tab := b.tab
	b.mu.Unlock()
	paused := make(chan []string, 1)
	lctx, stopListening := context.WithCancel(tab)
	defer stopListening()
	chromedp.ListenTarget(lctx, func(ev any) {
		if e, ok := ev.(*debugger.EventPaused); ok {
			var names []string
			for _, f := range e.CallFrames {
				names = append(names, f.FunctionName)
			}
			select {
			case paused <- names:
			default:
			}
		}
	})
	err := b.run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		if _, err := debugger.Enable().Do(ctx); err != nil {
			return err
		}
		return debugger.Pause().Do(ctx)
	}))
	if err != nil {
		return nil, err
	}
	select {
	case names := <-paused:
		return names, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("the page did not pause: %w", ctx.Err())
	}
}

func (b *browser) close() { b.cancel() }
