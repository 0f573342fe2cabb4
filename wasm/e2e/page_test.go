//go:build !js

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"webminiport/wasm/session"
)

// TestPage runs the suite twice: at 1280×800 in the light theme, and again with dark mode
// forced through prefers-color-scheme.
func TestPage(t *testing.T) {
	for _, m := range []mode{{name: "light"}, {name: "dark", dark: true}} {
		t.Run(m.name, func(t *testing.T) { suite(t, m) })
	}
}

func suite(t *testing.T, m mode) {
	tb := openPage(t, m, "shipped", "")
	tb.t = t
	steps := []struct {
		name string
		fn   func(*tab)
	}{
		{"LoadsAndRuns", loadsAndRuns},
		{"NBLMapChanges", nblMapChanges},
		{"HoldGivesResourcesThenDrops", holdGivesResourcesThenDrops},
		{"PauseAndRestart", pauseAndRestart},
		{"FrameDetail", frameDetail},
		{"NBLView", nblView},
		{"NDISViews", ndisViews},
		{"FilterNarrows", filterNarrows},
		{"ExportReadBack", exportReadBack},
		{"PcapReplay", pcapReplay},
		{"EveryModel", everyModel},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			parent := tb.t
			tb.t = t
			defer func() { tb.t = parent }()
			s.fn(tb)
		})
	}
	t.Run("PairFakeUSB", func(t *testing.T) { pairFakeUSB(t, m) })
	t.Run("ReconnectGrantedUSB", func(t *testing.T) { reconnectGrantedUSB(t, m) })
	t.Run("PlatformErrorHasItsFix", func(t *testing.T) { platformErrorHasItsFix(t, m) })
	t.Run("GrantedAdapterFailsAtLoad", func(t *testing.T) { grantedAdapterFailsAtLoad(t, m) })
	if !m.dark {
		t.Run("ReceivesWhileHidden", receivesWhileHidden)
	}
	if !m.dark {
		t.Run("ShippedPageHasNoFake", shippedPageHasNoFake)
	}
}

// ---- helpers ------------------------------------------------------------------------------

// click clicks the first element matching sel with a real (CDP) mouse event.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.run("clicking "+sel, chromedp.Click(sel, chromedp.ByQuery))
}

// change sets a form control's value and fires its change event, as a user's edit does.
func (tb *tab) change(sel, value string) {
	tb.t.Helper()
	tb.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q;
		e.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, sel, value), nil)
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	var s string
	tb.eval(fmt.Sprintf(`document.querySelector(%q).textContent`, sel), &s)
	return s
}

func rxPool(st session.State) session.PoolState {
	for _, p := range st.Pools {
		if p.Component == "Miniport" {
			return p
		}
	}
	return session.PoolState{}
}

func running(st session.State) bool { return st.Adapter.State == "Running" }

// exportBytes calls exportPcap(format) and returns the file.
func (tb *tab) exportBytes(format string) []byte {
	tb.t.Helper()
	var ints []int
	tb.mustAwait(fmt.Sprintf(`webminiport.exportPcap(%q).then(u => Array.from(u))`, format), &ints)
	arr := make([]byte, len(ints))
	for i, v := range ints {
		arr[i] = byte(v)
	}
	return arr
}

// ---- steps --------------------------------------------------------------------------------

func loadsAndRuns(tb *tab) {
	tb.waitJS(`!document.getElementById("app").hidden && document.getElementById("loading").hidden`,
		10*time.Second, "the loading screen never gave way to the page")
	started := time.Now()
	st := tb.waitState(10*time.Second, "the virtual adapter never reached Running", running)
	tb.waitState(3*time.Second, "no frames within 3 s of Running", func(s session.State) bool { return s.Ring.Recorded > 0 })
	tb.t.Logf("Running with frames %v after the API appeared", time.Since(started).Round(10*time.Millisecond))
	if st.Source != "virtual" || st.Model != "AX88179" || st.Profile != "idle" || st.Adapter.VIDPID != "0b95:1790" {
		tb.t.Fatalf("first load: source %q model %q profile %q VID:PID %q; want the virtual AX88179 with idle chatter",
			st.Source, st.Model, st.Profile, st.Adapter.VIDPID)
	}
	if len(st.Pools) != 2 {
		tb.t.Fatalf("%d pools, want the receive pool and the capture driver's send pool", len(st.Pools))
	}
	rx := rxPool(st)
	if rx.Capacity != session.DefaultRxNBLs || len(rx.OwnerMap) != rx.Capacity {
		tb.t.Fatalf("receive pool of %d NBLs with a %d-character owner map", rx.Capacity, len(rx.OwnerMap))
	}
	tb.waitState(5*time.Second, "no DHCP lease", func(s session.State) bool { return s.Station.DHCP == "bound" })
	var cards int
	tb.eval(`document.querySelectorAll(".pool-card canvas.map").length`, &cards)
	if cards != 2 {
		tb.t.Fatalf("%d NBL maps on the page, want 2", cards)
	}
	// The pair button works where WebUSB exists and says why not where it does not.
	var usb struct {
		HasUSB   bool   `json:"hasUSB"`
		Disabled bool   `json:"disabled"`
		Reason   string `json:"reason"`
	}
	tb.eval(`({hasUSB: !!navigator.usb, disabled: document.getElementById("pair").disabled,
		reason: document.getElementById("pair-reason").hidden ? "" : document.getElementById("pair-reason").textContent})`, &usb)
	if usb.HasUSB == usb.Disabled || (usb.Disabled && !strings.Contains(usb.Reason, "WebUSB")) {
		tb.t.Fatalf("navigator.usb %v but the pair button disabled=%v with reason %q", usb.HasUSB, usb.Disabled, usb.Reason)
	}
	tb.screenshot("loaded")
}

func nblMapChanges(tb *tab) {
	tb.change("#profile", "mix")
	tb.change("#ctl-delay", "300")
	tb.waitState(5*time.Second, "the return delay was not applied", func(s session.State) bool {
		return s.Capture.DelayMs == 300 && s.Profile == "mix"
	})
	// With returns delayed, NBLs sit with the protocol for a while: owner 5 appears in the map.
	first := tb.waitState(5*time.Second, "no NBL held by the protocol", func(s session.State) bool {
		return strings.Contains(rxPool(s).OwnerMap, "5")
	})
	var canvas1 string
	tb.eval(`document.querySelector(".pool-card canvas.map").toDataURL()`, &canvas1)
	tb.waitState(5*time.Second, "the owner map never changed", func(s session.State) bool {
		return rxPool(s).OwnerMap != rxPool(first).OwnerMap
	})
	tb.waitJS(fmt.Sprintf(`document.querySelector(".pool-card canvas.map").toDataURL() !== %q`, canvas1),
		3*time.Second, "the NBL map canvas never changed")
	tb.change("#ctl-delay", "0")
	tb.waitState(5*time.Second, "returns not back to at once", func(s session.State) bool {
		return s.Capture.DelayMs == 0 && s.Capture.Delayed == 0
	})
}

func holdGivesResourcesThenDrops(tb *tab) {
	tb.run("hold count", chromedp.SetValue("#ctl-hold", strconv.Itoa(session.DefaultRxNBLs), chromedp.ByQuery))
	tb.click("#ctl-hold-go")
	st := tb.waitState(10*time.Second, "holding NBLs never made the miniport indicate with RESOURCES", func(s session.State) bool {
		return s.Capture.ResourcesIndications > 0 && s.Capture.Held > 0
	})
	tb.t.Logf("held %d NBLs at the first RESOURCES indication", st.Capture.Held)
	tb.change("#profile", "flood64")
	tb.waitState(10*time.Second, "no drop for want of an NBL under a flood", func(s session.State) bool { return s.Stats.RxNoBuffer > 0 })
	tb.waitJS(`[...document.querySelectorAll(".counter.bad .k")].some(e => e.textContent === "Drops")`,
		2*time.Second, "the pool card does not flag the drops")
	tb.screenshot("hold")
	tb.change("#profile", "idle")
	tb.click("#ctl-release")
	st = tb.waitState(10*time.Second, "NBLs did not all come home after Release", func(s session.State) bool {
		m := rxPool(s).OwnerMap
		return s.Capture.Held == 0 && s.Pending.Pending == 0 && !strings.ContainsAny(m, "567")
	})
	if st.Capture.Policy != "at once" {
		tb.t.Fatalf("policy %q after Release, want at once", st.Capture.Policy)
	}
}

func pauseAndRestart(tb *tab) {
	tb.waitJS(`!document.getElementById("btn-pause").disabled`, 5*time.Second, "Pause is not enabled")
	tb.click("#btn-pause")
	st := tb.waitState(10*time.Second, "the pause never completed", func(s session.State) bool { return s.Adapter.State == "Paused" })
	if st.Pending.Pending != 0 || st.Capture.Held != 0 || st.Capture.Delayed != 0 {
		tb.t.Fatalf("Paused with %d NBLs away, %d held, %d delayed", st.Pending.Pending, st.Capture.Held, st.Capture.Delayed)
	}
	tb.waitJS(`document.getElementById("ad-state").textContent === "Paused"`, 2*time.Second, "the adapter bar does not say Paused")
	tb.waitJS(`!document.getElementById("btn-restart").disabled && document.getElementById("btn-pause").disabled`,
		2*time.Second, "Restart not enabled (or Pause still enabled) while Paused")
	before := st.Capture.Frames
	tb.click("#btn-restart")
	tb.waitState(10*time.Second, "no frames after the restart", func(s session.State) bool {
		return running(s) && s.Capture.Frames > before
	})
}

func frameDetail(tb *tab) {
	tb.waitJS(`document.querySelectorAll(".trow:not([hidden])").length > 5`, 10*time.Second, "too few rows in the table")
	// The last row drawn is on screen while the table follows the newest frame.
	tb.eval(`(() => { const rows = [...document.querySelectorAll(".trow:not([hidden])")];
		const r = document.getElementById("frames-scroll").getBoundingClientRect();
		const vis = rows.filter(e => { const b = e.getBoundingClientRect(); return b.top >= r.top + 2 && b.bottom <= r.bottom - 2; });
		vis[Math.floor(vis.length / 2)].id = "pick"; return true })()`, nil)
	tb.click("#pick")
	tb.waitJS(`document.querySelector(".trow.selected") !== null && document.querySelector("#tree details summary") !== null`,
		10*time.Second, "clicking a row showed no layer tree")
	tb.waitJS(`document.getElementById("tree").textContent.includes("Ethernet")`, 2*time.Second, "the layer tree has no Ethernet layer")
	tb.waitJS(`document.querySelectorAll("#hex > div").length > 0`, 2*time.Second, "no hex dump")
	var follow bool
	tb.eval(`document.getElementById("follow").checked`, &follow)
	if follow {
		tb.t.Fatal("still following the newest frame after a row was picked")
	}
	// A field of the tree lights its bytes in the hex dump.
	tb.click("#tree .f")
	tb.waitJS(`document.querySelector("#hex mark") !== null`, 2*time.Second, "selecting a field highlighted no bytes")
	var marked string
	tb.eval(`[...document.querySelectorAll("#hex .a mark")].map(m => m.textContent).join("")`, &marked)
	if marked == "" {
		tb.t.Fatal("the ASCII column has no highlighted bytes")
	}
	tb.screenshot("detail")
	// The keyboard moves the selection.
	var before, after string
	tb.eval(`document.querySelector(".trow.selected > span").textContent`, &before)
	tb.run("arrow down", chromedp.Focus("#frames-scroll", chromedp.ByQuery), chromedp.KeyEvent(kb.ArrowDown))
	tb.waitJS(fmt.Sprintf(`document.querySelector(".trow.selected > span").textContent !== %q`, before), 2*time.Second,
		"ArrowDown did not move the selection")
	tb.eval(`document.querySelector(".trow.selected > span").textContent`, &after)
	b, _ := strconv.Atoi(before)
	a, _ := strconv.Atoi(after)
	if a <= b {
		tb.t.Fatalf("ArrowDown went from frame %d to %d", b, a)
	}
	tb.waitJS(fmt.Sprintf(`document.querySelector("#tree .frame-title").textContent.startsWith("Frame %d:")`, a),
		2*time.Second, "the detail did not follow the keyboard selection")
	tb.click("#follow")
}

func nblView(tb *tab) {
	// Delayed returns keep NBLs with the protocol, so the view can show one carrying a frame.
	tb.change("#ctl-delay", "2000")
	st := tb.waitState(5*time.Second, "no NBL held by the protocol", func(s session.State) bool {
		return strings.Contains(rxPool(s).OwnerMap, "5")
	})
	slot := strings.Index(rxPool(st).OwnerMap, "5")
	// The centre of that NBL's cell, in the page's coordinates.
	var at struct{ X, Y float64 }
	tb.eval(fmt.Sprintf(`(() => { const c = document.querySelector(".pool-card canvas.map"); c.scrollIntoView({block: "center"});
		const r = c.getBoundingClientRect(), cols = Math.floor(c.width / Math.round(14 * devicePixelRatio)), pitch = r.width / cols;
		return {X: r.left + (%[1]d %% cols + 0.5) * pitch, Y: r.top + (Math.floor(%[1]d / cols) + 0.5) * pitch} })()`, slot), &at)
	tb.run("hover and click the NBL", chromedp.MouseEvent("mouseMoved", at.X, at.Y), chromedp.MouseClickXY(at.X, at.Y))
	tb.waitJS(`document.getElementById("nbl-view").open`, 3*time.Second, "clicking an NBL opened no nbl view")
	tb.waitJS(`document.getElementById("nbl-body").textContent.includes("History (nbl -log)")`, 3*time.Second, "the nbl view has no history")
	var body string
	tb.eval(`document.getElementById("nbl-body").textContent`, &body)
	for _, want := range []string{"Currently held by", "NB: DataLength", "Slot" + strconv.Itoa(slot)} {
		if !strings.Contains(body, want) {
			tb.t.Fatalf("the nbl view lacks %q:\n%s", want, truncate(body, 2000))
		}
	}
	tb.screenshot("nbl-view")
	tb.click("#nbl-close")
	tb.waitJS(`!document.getElementById("nbl-view").open`, 2*time.Second, "the nbl view did not close")
	tb.change("#ctl-delay", "0")
	tb.waitState(5*time.Second, "delayed NBLs not back", func(s session.State) bool { return s.Capture.Delayed == 0 })
}

func ndisViews(tb *tab) {
	tb.waitJS(`document.getElementById("pending").textContent.includes("Every NBL is at home")`, 3*time.Second,
		"pendingnbls does not show every NBL at home")
	tb.waitJS(`document.querySelectorAll("#nbllog .row").length > 10`, 3*time.Second, "the nbllog tail is empty")
	tb.waitJS(`document.getElementById("reports").textContent.includes("No misuse")`, 3*time.Second,
		"reports are shown where the adapter raised none")
	tb.eval(`(() => { const s = document.getElementById("side"); s.scrollTop = s.scrollHeight; return true })()`, nil)
	time.Sleep(100 * time.Millisecond)
	var png []byte
	tb.run("screenshot", chromedp.CaptureScreenshot(&png))
	if err := os.WriteFile(filepath.Join(env.shots, tb.mode.name+"-views.png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

var countRE = regexp.MustCompile(`^([\d\x{202f}]+) of ([\d\x{202f}]+) frames`)

func filterNarrows(tb *tab) {
	tb.run("typing a filter", chromedp.SendKeys("#filter", "arp", chromedp.ByQuery))
	var shown, total int
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := countRE.FindStringSubmatch(tb.text("#frames-count"))
		if m != nil {
			shown, _ = strconv.Atoi(strings.ReplaceAll(m[1], "\u202f", ""))
			total, _ = strconv.Atoi(strings.ReplaceAll(m[2], "\u202f", ""))
			if shown > 0 && shown < total {
				break
			}
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("the filter did not narrow the table: %q", tb.text("#frames-count"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	var protos []string
	tb.eval(`[...document.querySelectorAll(".trow:not([hidden])")].map(r => r.dataset.p)`, &protos)
	for _, p := range protos {
		if p != "ARP" {
			tb.t.Fatalf("row of protocol %q under filter arp (all rows: %v)", p, protos)
		}
	}
	tb.t.Logf("arp: %d of %d frames", shown, total)
	// A filter that does not parse is shown where it breaks, and the table keeps the last good one.
	tb.eval(`(() => { document.getElementById("filter").value = ""; return true })()`, nil)
	tb.run("typing a bad filter", chromedp.SendKeys("#filter", "port", chromedp.ByQuery))
	tb.waitJS(`!document.getElementById("filter-error").hidden && document.getElementById("filter-error").textContent.includes("^")`,
		2*time.Second, "no inline error for a filter that does not parse")
	tb.screenshot("filter-error")
	tb.eval(`(() => { const f = document.getElementById("filter"); f.value = ""; f.dispatchEvent(new Event("input")); return true })()`, nil)
	tb.waitJS(`document.getElementById("filter-error").hidden && !/ of /.test(document.getElementById("frames-count").textContent)`,
		2*time.Second, "clearing the filter did not show every frame")
}

func exportReadBack(tb *tab) {
	tb.click("#btn-pause")
	tb.waitState(10*time.Second, "pause", func(s session.State) bool { return s.Adapter.State == "Paused" })
	defer func() {
		tb.click("#btn-restart")
		tb.waitState(10*time.Second, "restart", running)
	}()
	st := tb.state()
	var rows []session.FrameRow
	tb.eval(fmt.Sprintf("webminiport.frames(%d)", st.Ring.Held), &rows)
	if len(rows) != st.Ring.Held || len(rows) == 0 {
		tb.t.Fatalf("frames(%d) gave %d rows", st.Ring.Held, len(rows))
	}
	dir := tb.t.TempDir()
	downloads := filepath.Join(dir, "downloads")
	tb.run("allowing downloads", browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads))
	for _, format := range []string{"pcap", "pcapng"} {
		file := tb.exportBytes(format)
		if saved := tb.download("#save-"+format, downloads, "."+format); !bytes.Equal(saved, file) {
			tb.t.Fatalf("the Save %s button wrote %d bytes that differ from exportPcap's %d", format, len(saved), len(file))
		}
		lengths := readWithPcapgo(tb.t, format, file)
		if len(lengths) != len(rows) {
			tb.t.Fatalf("%s: pcapgo read %d frames, the page holds %d", format, len(lengths), len(rows))
		}
		for i, r := range rows {
			if lengths[i] != r.Length {
				tb.t.Fatalf("%s: frame %d is %d bytes in the file, %d in the page", format, i, lengths[i], r.Length)
			}
		}
		path := filepath.Join(dir, "export."+format)
		if err := os.WriteFile(path, file, 0o644); err != nil {
			tb.t.Fatal(err)
		}
		if tshark, err := exec.LookPath("tshark"); err != nil {
			tb.t.Logf("tshark not installed: %s checked with pcapgo only", format)
		} else {
			out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-e", "frame.len").Output()
			if err != nil {
				tb.t.Fatalf("tshark -r %s: %v", format, err)
			}
			got := strings.Fields(string(out))
			if len(got) != len(rows) {
				tb.t.Fatalf("%s: tshark read %d frames, want %d", format, len(got), len(rows))
			}
			for i, g := range got {
				if g != strconv.Itoa(rows[i].Length) {
					tb.t.Fatalf("%s: tshark says frame %d is %s bytes, want %d", format, i, g, rows[i].Length)
				}
			}
		}
	}
}

// download clicks a save button and returns the file it downloaded into dir, whose name ends in
// suffix.
func (tb *tab) download(button, dir, suffix string) []byte {
	tb.t.Helper()
	tb.click(button)
	deadline := time.Now().Add(15 * time.Second)
	for {
		names, _ := filepath.Glob(filepath.Join(dir, "webminiport-*"+suffix))
		if len(names) > 0 {
			b, err := os.ReadFile(names[0])
			if err != nil {
				tb.t.Fatal(err)
			}
			if err := os.Remove(names[0]); err != nil {
				tb.t.Fatal(err)
			}
			return b
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(dir)
			tb.t.Fatalf("%s downloaded no *%s file into %s within 15 s (it holds %d entries)", button, suffix, dir, len(entries))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readWithPcapgo reads a pcap or pcapng file with gopacket's pcapgo and returns the original
// lengths of its packets.
func readWithPcapgo(t testing.TB, format string, file []byte) []int {
	t.Helper()
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var r source
	var err error
	if format == "pcap" {
		var pr *pcapgo.Reader
		pr, err = pcapgo.NewReader(bytes.NewReader(file))
		if err == nil && pr.LinkType() != layers.LinkTypeEthernet {
			t.Fatalf("pcap link type %v", pr.LinkType())
		}
		r = pr
	} else {
		r, err = pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.DefaultNgReaderOptions)
	}
	if err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	var lengths []int
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return lengths
		}
		if err != nil {
			t.Fatalf("%s: packet %d: %v", format, len(lengths)+1, err)
		}
		if len(data) != ci.CaptureLength {
			t.Fatalf("%s: packet %d: %d bytes, capture length %d", format, len(lengths)+1, len(data), ci.CaptureLength)
		}
		lengths = append(lengths, ci.Length)
	}
}

// replayFrames are five frames of a local experimental EtherType (0x88b5) between two
// stations that are not the page's, of 60 to 1460 bytes.
func replayFrames() [][]byte {
	var out [][]byte
	for i := range 5 {
		f := make([]byte, 60+i*350)
		copy(f, []byte{0x02, 0xaa, 0, 0, 0, 1, 0x02, 0xbb, 0, 0, 0, 2, 0x88, 0xb5})
		for k := 14; k < len(f); k++ {
			f[k] = byte(k*7 + i)
		}
		out = append(out, f)
	}
	return out
}

func pcapReplay(tb *tab) {
	var file bytes.Buffer
	w := pcapgo.NewWriter(&file)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		tb.t.Fatal(err)
	}
	frames := replayFrames()
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, int64(i)*1000), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			tb.t.Fatal(err)
		}
	}
	ints := make([]int, file.Len())
	for i, b := range file.Bytes() {
		ints[i] = int(b)
	}
	js, _ := json.Marshal(ints)
	var n int
	tb.mustAwait(fmt.Sprintf("webminiport.loadPcap(new Uint8Array(%s))", js), &n)
	if n != len(frames) {
		tb.t.Fatalf("loadPcap resolved with %d, want %d frames", n, len(frames))
	}
	tb.waitState(15*time.Second, "the replay did not start", func(s session.State) bool { return s.Profile == "replay" })
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := ethertypeFrames(tb.t, tb.exportBytes("pcap"), 0x88b5)
		if len(got) == len(frames) {
			for i := range frames {
				if !bytes.Equal(got[i], frames[i]) {
					tb.t.Fatalf("replayed frame %d differs:\n% x\nwant\n% x", i, got[i], frames[i])
				}
			}
			break
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("%d of %d replayed frames arrived", len(got), len(frames))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := tb.await(`webminiport.loadPcap(new Uint8Array([1, 2, 3]))`, nil); err == nil || !strings.Contains(err.Error(), "capture") {
		tb.t.Fatalf("a file that is no capture was accepted or gave an unclear error: %v", err)
	}
}

// ethertypeFrames returns the frames of a pcap with the given EtherType.
func ethertypeFrames(t testing.TB, file []byte, etherType uint16) [][]byte {
	r, err := pcapgo.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			return out
		}
		if len(data) >= 14 && uint16(data[12])<<8|uint16(data[13]) == etherType {
			out = append(out, data)
		}
	}
}

func everyModel(tb *tab) {
	for _, m := range session.ModelNames() {
		tb.mustAwait(fmt.Sprintf("webminiport.setVirtual(%q, 'idle')", m), nil)
		tb.waitState(10*time.Second, m+" did not come up with the link", func(s session.State) bool {
			return running(s) && s.Model == m && s.Adapter.Link == "connected"
		})
		tb.waitJS(fmt.Sprintf(`document.getElementById("model").value === %q && document.getElementById("ad-name").textContent.startsWith(%q)`, m, m),
			2*time.Second, "the pickers and the adapter bar do not show "+m)
	}
	if err := tb.await(`webminiport.setVirtual("RTL8153", "idle")`, nil); err == nil || !strings.Contains(err.Error(), "AX88179") {
		tb.t.Fatalf("an unknown model was accepted or gave an unclear error: %v", err)
	}
	tb.mustAwait(`webminiport.setVirtual("AX88179", "idle")`, nil)
	tb.waitState(10*time.Second, "back to the AX88179", running)
}

func pairFakeUSB(t *testing.T, m mode) {
	tb := openPage(t, m, "fake", "?fakeusb=AX88772")
	tb.waitState(10*time.Second, "the virtual adapter did not come up first", func(s session.State) bool {
		return running(s) && s.Source == "virtual"
	})
	tb.click("#pair") // a real click: requestDevice needs the user activation it gives
	st := tb.waitState(15*time.Second, "pairing the fake adapter did not bring it up", func(s session.State) bool {
		return running(s) && s.Source == "usb" && s.Adapter.Label == "Fake AX88772" && s.Station.DHCP == "bound"
	})
	if st.Adapter.Driver != "asix" || st.Adapter.VIDPID != "0b95:7720" {
		tb.t.Fatalf("paired adapter: driver %q VID:PID %q", st.Adapter.Driver, st.Adapter.VIDPID)
	}
	tb.mustAwait(`webminiport.send("ping", {count: 3, size: 1400})`, nil)
	tb.waitState(5*time.Second, "no ping replies over the fake WebUSB adapter", func(s session.State) bool { return s.Station.PingReplies >= 3 })
	tb.screenshot("usb")
	tb.eval("webminiportFake.unplug()", nil)
	st = tb.waitState(10*time.Second, "unplugging did not bring the page to a clear removed state", func(s session.State) bool {
		return s.Adapter.State == "Halted" && strings.Contains(s.Adapter.Error, "unplugged")
	})
	if st.Pending.Pending != 0 || len(st.Pools) != 0 {
		tb.t.Fatalf("after the unplug: %d NBLs away, %d pools still allocated", st.Pending.Pending, len(st.Pools))
	}
	tb.waitJS(`!document.getElementById("ad-error").hidden && document.getElementById("ad-error").textContent.includes("unplugged")`,
		2*time.Second, "the adapter bar does not say the adapter was unplugged")
	tb.eval("webminiportFake.replug()", nil)
	tb.waitState(15*time.Second, "the adapter did not come back after the replug", func(s session.State) bool {
		return running(s) && s.Source == "usb" && s.Adapter.Error == ""
	})
}

func reconnectGrantedUSB(t *testing.T, m mode) {
	tb := openPage(t, m, "fake", "?fakeusb=CDC-NCM&granted=1")
	tb.waitState(15*time.Second, "a previously paired adapter was not reconnected at start", func(s session.State) bool {
		return running(s) && s.Source == "usb" && s.Adapter.Label == "Fake CDC-NCM" && s.Adapter.Driver == "cdc_ncm"
	})
}

func platformErrorHasItsFix(t *testing.T, m mode) {
	tb := openPage(t, m, "fake", "?fakeusb=AX88179&fail=claimInterface")
	tb.waitState(10*time.Second, "the virtual adapter did not come up first", running)
	tb.click("#pair")
	tb.waitJS(`!document.getElementById("ad-error").hidden && document.getElementById("ad-error").textContent.includes("Fix:")`,
		15*time.Second, "a refused claimInterface gave no error with its fix")
	msg := tb.text("#ad-error")
	for _, want := range []string{"ax88179_178a", "unbind", "70-webminiport.rules"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("the Linux kernel-driver error does not mention %q:\n%s", want, msg)
		}
	}
	tb.waitState(15*time.Second, "the virtual adapter did not come back after the failed pairing", func(s session.State) bool {
		return running(s) && s.Source == "virtual"
	})
	if tb.text("#ad-error") != msg {
		t.Fatalf("the error left the adapter bar when the virtual adapter came back: %q", tb.text("#ad-error"))
	}
	tb.screenshot("usb-error")
}

// receivesWhileHidden: with another tab in front the page gets no animation frames, and the
// adapter must go on receiving (a capture tool keeps capturing in the background).
func receivesWhileHidden(t *testing.T) {
	tb := openPage(t, mode{name: "light"}, "shipped", "")
	tb.waitState(10*time.Second, "Running", running)
	tb.change("#profile", "flood64")
	tb.waitState(10*time.Second, "the 64-byte flood did not start", func(s session.State) bool { return s.Profile == "flood64" })

	other, cancel := chromedp.NewContext(tb.ctx) // a new tab in front of the page
	defer cancel()
	if err := chromedp.Run(other, chromedp.Navigate("about:blank"), chromedp.ActionFunc(func(ctx context.Context) error {
		return target.ActivateTarget(chromedp.FromContext(ctx).Target.TargetID).Do(cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser))
	})); err != nil {
		t.Fatalf("opening a tab in front: %v", err)
	}
	tb.waitJS(`document.visibilityState === "hidden"`, 10*time.Second, "the page did not become hidden behind the other tab")
	time.Sleep(time.Second) // whatever was in flight when the frames stopped is done
	before := tb.state().Stats.InBroadcastPkts + tb.state().Stats.InUcastPkts
	time.Sleep(2 * time.Second)
	after := tb.state().Stats.InBroadcastPkts + tb.state().Stats.InUcastPkts
	if after-before < 1000 {
		t.Fatalf("hidden for 2 s under a 64-byte flood the adapter received %d frames", after-before)
	}
	t.Logf("hidden: %d frames in 2 s", after-before)
}

// grantedAdapterFailsAtLoad: a previously paired adapter that cannot be claimed at load (a kernel
// driver holds it) shows its fix while the virtual adapter runs; plugged in again, it comes up.
func grantedAdapterFailsAtLoad(t *testing.T, m mode) {
	tb := openPage(t, m, "fake", "?fakeusb=AX88772&granted=1&fail=claimInterface")
	tb.waitJS(`!document.getElementById("ad-error").hidden && document.getElementById("ad-error").textContent.includes("Fix:")`,
		15*time.Second, "a paired adapter refused at load gave no error with its fix")
	tb.waitState(15*time.Second, "the virtual adapter did not run after the paired adapter failed at load", func(s session.State) bool {
		return running(s) && s.Source == "virtual"
	})
	if msg := tb.text("#ad-error"); !strings.Contains(msg, "asix") {
		t.Fatalf("the kernel-driver error does not name the asix driver:\n%s", msg)
	}
	tb.eval("webminiportFake.unplug()", nil)
	tb.eval("webminiportFake.replug()", nil)
	tb.waitState(15*time.Second, "the adapter plugged in again did not take over from the virtual one", func(s session.State) bool {
		return running(s) && s.Source == "usb" && s.Adapter.Driver == "asix"
	})
	tb.waitJS(`document.getElementById("ad-error").hidden`, 5*time.Second, "the error stayed after the adapter came up")
}

func shippedPageHasNoFake(t *testing.T) {
	tb := openPage(t, mode{name: "light"}, "shipped", "?fakeusb=AX88772&granted=1")
	tb.waitState(10*time.Second, "Running", func(s session.State) bool { return running(s) && s.Source == "virtual" })
	var fake bool
	tb.eval(`typeof window.webminiportFake !== "undefined"`, &fake)
	if fake {
		t.Fatal("the shipped page honoured ?fakeusb")
	}
}

// TestPageOnLargeScreens loads the page on a 4K screen at 100 % (3840×2160 CSS pixels) and at
// 200 % (1920×1080 CSS pixels, 2 device pixels each) and checks that text stays readable: the
// root font grows with the width, and the maps are drawn in device pixels.
func TestPageOnLargeScreens(t *testing.T) {
	for _, sc := range []struct {
		name          string
		width, height int64
		dpr           float64
		minFont       float64
	}{
		{"4k-100", 3840, 2160, 1, 20},
		{"4k-200", 1920, 1080, 2, 15},
	} {
		t.Run(sc.name, func(t *testing.T) {
			tb := openPage(t, mode{name: "light"}, "shipped", "")
			tb.run("screen size", emulation.SetDeviceMetricsOverride(sc.width, sc.height, sc.dpr, false))
			tb.waitState(10*time.Second, "Running", running)
			tb.waitJS(`document.querySelectorAll(".trow:not([hidden])").length > 3`, 5*time.Second, "no rows")
			var font float64
			tb.eval(`parseFloat(getComputedStyle(document.documentElement).fontSize)`, &font)
			if font < sc.minFont {
				t.Fatalf("root font %.1f px on a %dx%d screen, want at least %.0f", font, sc.width, sc.height, sc.minFont)
			}
			var mapPx struct{ W, CSS float64 }
			tb.eval(`(() => { const c = document.querySelector(".pool-card canvas.map"); return {W: c.width, CSS: c.getBoundingClientRect().width} })()`, &mapPx)
			if mapPx.W < mapPx.CSS*sc.dpr-1 {
				t.Fatalf("the NBL map has %v device pixels for %v CSS pixels at %v×", mapPx.W, mapPx.CSS, sc.dpr)
			}
			tb.screenshot(sc.name)
		})
	}
}
