//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestLoadingScreenShowsProgress loads the page over a throttled connection and records what
// the loading screen said: the server sends main.wasm gzip-compressed, so the loader must learn
// the real size (from main.wasm.gz's trailer) and count decompressed bytes against it.
func TestLoadingScreenShowsProgress(t *testing.T) {
	if env.skip != "" {
		t.Skip(env.skip)
	}
	info, err := os.Stat(filepath.Join(env.site, "shipped", "main.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(env.browser)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()
	// Injected by the DevTools protocol, so the page's CSP does not apply to it.
	const recorder = `window.__loading = []; const __timer = setInterval(() => {
		const s = document.getElementById("status"), p = document.getElementById("progress");
		if (s) window.__loading.push({text: s.textContent, value: p && p.hasAttribute("value") ? p.value : -1, max: p ? p.max : 0});
		if (window.webminiport) clearInterval(__timer); }, 20);`
	err = chromedp.Run(ctx,
		network.Enable(),
		network.SetCacheDisabled(true),
		network.EmulateNetworkConditions(false, 20, 2e6, 2e6),
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(recorder).Do(ctx)
			return err
		}),
		chromedp.Navigate(env.baseURL+"shipped/"),
	)
	if err != nil {
		t.Fatal(err)
	}
	var ready bool
	for deadline := time.Now().Add(45 * time.Second); !ready; {
		if err := chromedp.Run(ctx, chromedp.Evaluate(`typeof window.webminiport === "object"`, &ready)); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the page never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var raw json.RawMessage
	if err := chromedp.Run(ctx, chromedp.Evaluate(`window.__loading`, &raw)); err != nil {
		t.Fatal(err)
	}
	var steps []struct {
		Text       string
		Value, Max float64
	}
	if err := json.Unmarshal(raw, &steps); err != nil {
		t.Fatal(err)
	}
	total := fmt.Sprintf("of %.1f MB", float64(info.Size())/1e6)
	var progress []float64
	compiled := false
	for _, s := range steps {
		if strings.Contains(s.Text, total) && strings.Contains(s.Text, "compressed") && s.Value >= 0 {
			if s.Max != float64(info.Size()) {
				t.Fatalf("progress max %v, want the decompressed size %d", s.Max, info.Size())
			}
			progress = append(progress, s.Value)
		}
		if strings.HasPrefix(s.Text, "compiling") {
			compiled = true
		}
	}
	if len(progress) < 3 {
		t.Fatalf("the loading screen showed %d progress steps against %q (a slow load should show many): %+v",
			len(progress), total, steps[:min(len(steps), 20)])
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] < progress[i-1] {
			t.Fatalf("progress went back from %v to %v", progress[i-1], progress[i])
		}
	}
	if !compiled {
		t.Fatal("the loading screen never said it was compiling")
	}
	t.Logf("%d progress steps up to %.0f of %d bytes", len(progress), progress[len(progress)-1], info.Size())
}
