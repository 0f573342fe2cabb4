//go:build !js

// Package e2e drives the page end to end: it builds the wasm (twice: as shipped, and with the
// fakeusb tag that lets ?fakeusb=MODEL replace navigator.usb), serves both with the real dev
// server (server/) on a free loopback port, and drives headless Chromium with chromedp through
// window.webminiport and real clicks and keystrokes. Screenshots go to the git-ignored
// screenshots/ folder at the repository root.
//
// The suite needs Chromium (./build.sh test installs it); without it, or with -short, it skips.
package e2e

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"webminiport/wasm/session"
)

// env is what TestMain set up for every test.
var env struct {
	skip    string // why the suite cannot run
	root    string // repository root
	baseURL string // http://127.0.0.1:PORT/
	site    string // the folder the server serves: shipped/ and fake/
	browser context.Context
	shots   string // screenshot folder
}

// browserNames are the executables tried, in order.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testingShort() {
		env.skip = "-short: the page end-to-end suite is skipped"
		return m.Run()
	}
	browser := ""
	for _, n := range browserNames {
		if p, err := exec.LookPath(n); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		env.skip = "no Chromium on PATH (./build.sh test installs it)"
		return m.Run()
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	env.root = root
	tmp, err := os.MkdirTemp("", "webminiport-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	stop, err := setUp(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: set-up:", err)
		return 1
	}
	defer stop()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(quietErrorf))
	defer cancelBrowser()
	// Start the browser now: the first Run allocates it, and it lives as long as browserCtx (a
	// timeout on this call would close it with the timeout).
	if err := chromedp.Run(browserCtx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting", browser+":", err)
		return 1
	}
	env.browser = browserCtx
	env.shots = filepath.Join(root, "screenshots")
	if err := os.MkdirAll(env.shots, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

// quietErrorf logs chromedp's errors except the events of newer Chromium releases that this
// cdproto does not decode (the top-layer updates a modal <dialog> causes): they are harmless
// and would bury the test output.
func quietErrorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, "unhandled node event") {
		return
	}
	fmt.Fprintln(os.Stderr, "chromedp:", msg)
}

// testingShort reports -test.short before flag parsing in m.Run.
func testingShort() bool {
	for _, a := range os.Args[1:] {
		if a == "-test.short" || a == "-test.short=true" {
			return true
		}
	}
	return false
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// setUp builds the two page variants and the server into tmp, starts the server and returns
// its stop function.
func setUp(tmp string) (func(), error) {
	goroot := runtime.GOROOT()
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		goroot = strings.TrimSpace(string(out))
	}
	site := filepath.Join(tmp, "site")
	env.site = site
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, v := range []struct{ dir, tags string }{{"shipped", ""}, {"fake", "fakeusb"}} {
		dir := filepath.Join(site, v.dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		for _, f := range []string{"index.html", "style.css", "loader.js", "render.js"} {
			if err := copyFile(filepath.Join(env.root, "web", f), filepath.Join(dir, f)); err != nil {
				return nil, err
			}
		}
		if err := copyFile(filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"), filepath.Join(dir, "wasm_exec.js")); err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"build", "-trimpath", "-o", filepath.Join(dir, "main.wasm")}
			if v.tags != "" {
				args = append(args, "-tags", v.tags)
			}
			cmd := exec.Command("go", append(args, "./wasm")...)
			cmd.Dir = env.root
			cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("building the %s page: %v\n%s", v.dir, err, out)
				return
			}
			// The server sends main.wasm.gz to browsers that take gzip, as it does for a real
			// build: the loader's progress then works from the compressed stream.
			errs[i] = gzipFile(filepath.Join(dir, "main.wasm"))
		}()
	}
	server := filepath.Join(tmp, "server")
	wg.Add(1)
	go func() {
		defer wg.Done()
		cmd := exec.Command("go", "build", "-o", server, "./server")
		cmd.Dir = env.root
		if out, err := cmd.CombinedOutput(); err != nil {
			errs[2] = fmt.Errorf("building the server: %v\n%s", err, out)
		}
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}

	cmd := exec.Command(server, "-addr", "127.0.0.1:0", "-dir", site)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	// The server prints "serving DIR at http://127.0.0.1:PORT/" once it listens.
	urlRE := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+/)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case u := <-found:
		env.baseURL = u
	case <-time.After(30 * time.Second):
		stop()
		return nil, fmt.Errorf("the server did not say where it listens within 30 s")
	}
	return stop, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

func gzipFile(path string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(path + ".gz")
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(out, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := io.Copy(zw, in); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return out.Close()
}

// mode is one way the suite runs the page.
type mode struct {
	name string
	dark bool
}

// tab is one browser tab on the page.
type tab struct {
	t      testing.TB
	ctx    context.Context
	mode   mode
	mu     sync.Mutex
	errors []string // uncaught exceptions and console errors
}

// openPage opens variant ("shipped" or "fake") with query in a new tab of the 1280×800 window,
// in the mode's colour scheme, and waits until window.webminiport is there.
func openPage(t testing.TB, m mode, variant, query string) *tab {
	t.Helper()
	if env.skip != "" {
		t.Skip(env.skip)
	}
	ctx, cancel := chromedp.NewContext(env.browser)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, mode: m}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			tb.mu.Lock()
			tb.errors = append(tb.errors, "exception: "+e.ExceptionDetails.Error())
			tb.mu.Unlock()
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type == cdpruntime.APITypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				tb.mu.Lock()
				tb.errors = append(tb.errors, "console.error: "+strings.Join(parts, " "))
				tb.mu.Unlock()
			}
		}
	})
	scheme := "light"
	if m.dark {
		scheme = "dark"
	}
	err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(1280, 800, 1, false),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
		chromedp.Navigate(env.baseURL+variant+"/"+query),
	)
	if err != nil {
		t.Fatalf("opening the page: %v", err)
	}
	tb.waitJS("typeof window.webminiport === 'object'", 30*time.Second, "window.webminiport never appeared")
	t.Cleanup(func() {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.errors {
			t.Errorf("page error: %s", e)
		}
	})
	return tb
}

// run runs chromedp actions on the tab, failing the test on error.
func (tb *tab) run(what string, actions ...chromedp.Action) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates expr and decodes its value into out (which may be nil).
func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	tb.run("evaluating "+expr, chromedp.Evaluate(expr, out))
}

// await evaluates expr, waits for the promise it gives and decodes the result into out.
func (tb *tab) await(expr string, out any) error {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate(expr, out, func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// mustAwait is await that fails the test on a rejection.
func (tb *tab) mustAwait(expr string, out any) {
	tb.t.Helper()
	if err := tb.await(expr, out); err != nil {
		tb.t.Fatalf("%s: %v", expr, err)
	}
}

// waitJS polls a boolean expression until it is true.
func (tb *tab) waitJS(expr string, timeout time.Duration, what string) {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		err := chromedp.Run(ctx, chromedp.Evaluate("Boolean("+expr+")", &ok))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("after %v: %s (%s; last error %v)", timeout, what, expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// state returns window.webminiport.state().
func (tb *tab) state() session.State {
	tb.t.Helper()
	var raw json.RawMessage
	tb.eval("webminiport.state()", &raw)
	var st session.State
	if err := json.Unmarshal(raw, &st); err != nil {
		tb.t.Fatalf("state() is not the documented JSON: %v\n%s", err, raw)
	}
	return st
}

// waitState polls state() until cond holds.
func (tb *tab) waitState(timeout time.Duration, what string, cond func(session.State) bool) session.State {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := tb.state()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(st, "", " ")
			tb.t.Fatalf("after %v: %s; last state:\n%s", timeout, what, truncate(string(b), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// screenshot saves the viewport as screenshots/<mode>-<name>.png.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	// Clicks on the controls scroll the side column; the pools belong in every picture.
	tb.eval(`(() => { for (const id of ["side", "col-a", "col-b"]) document.getElementById(id).scrollTop = 0; return true })()`, nil)
	time.Sleep(100 * time.Millisecond) // two animation frames
	var png []byte
	tb.run("screenshot", chromedp.CaptureScreenshot(&png))
	path := filepath.Join(env.shots, tb.mode.name+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s", path)
}
