//go:build !js

package main

import (
	"bytes"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// siteTime is the modification time of every file of the test site, so
// that ETags and freshness of variants do not depend on when files were
// written.
var siteTime = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)

// The variants hold marker bytes, not real compressed data: the server
// never decodes them, and equal lengths make the size+mtime part of the
// ETags collide on purpose, so only the coding can tell them apart.
var siteFiles = map[string]string{
	"index.html":                    "<!doctype html><title>webminiport</title>\n",
	"app.js":                        "console.log('app');\n",
	"app.js.map":                    `{"version":3}`,
	"style.css":                     "body { margin: 0 }\n",
	"icon.svg":                      `<svg xmlns="http://www.w3.org/2000/svg"/>`,
	"logo.png":                      "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",
	"data.json":                     `{"a":1}`,
	"blob.unknownext":               "\x00\x01\x02",
	"main.wasm":                     "\x00asm\x01\x00\x00\x00 plain main.wasm bytes",
	"main.wasm.br":                  "BROTLI-MARKER-BYTES-of-same-length-",
	"main.wasm.gz":                  "GZIP-MARKER-BYTES-of-the-same-size-",
	"gzonly.js":                     "console.log('gzip only');\n",
	"gzonly.js.gz":                  "GZIP-OF-GZONLY",
	"stale.js":                      "console.log('rebuilt');\n",
	"stale.js.br":                   "BROTLI-OF-OLD-BUILD",
	"sub/index.html":                "<!doctype html><title>sub</title>\n",
	"sub/page.html":                 "<!doctype html><title>page</title>\n",
	"empty/listed.txt":              "a folder without index.html",
	"dirindex/index.html/inner.txt": "index.html is a folder here",
}

// secret is what lies next to the served folder; no request may get it.
const secret = "TOP-SECRET: outside the served folder\n"

// testSite is a temporary folder holding web/ (siteFiles) and, beside
// it, secret.txt, with the handler serving web/ through an os.Root.
type testSite struct {
	parent  string // holds web/ and secret.txt
	dir     string // parent/web, the served folder
	handler http.Handler
	log     *lockedBuffer // the handler's error log
}

func newTestSite(t *testing.T) *testSite {
	t.Helper()
	parent := t.TempDir()
	dir := filepath.Join(parent, "web")
	for name, content := range siteFiles {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), content, siteTime)
	}
	// A variant older than its original is a leftover of a previous build.
	writeFile(t, filepath.Join(dir, "stale.js.br"), siteFiles["stale.js.br"], siteTime.Add(-time.Hour))
	writeFile(t, filepath.Join(parent, "secret.txt"), secret, siteTime)
	// A precompressed secret as well, in case a variant lookup could be
	// steered outside.
	writeFile(t, filepath.Join(parent, "secret.txt.br"), secret, siteTime)

	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	logBuf := &lockedBuffer{}
	return &testSite{
		parent:  parent,
		dir:     dir,
		handler: newHandler(root.FS(), log.New(logBuf, "", 0)),
		log:     logBuf,
	}
}

func writeFile(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// serve sends one request straight to the site's handler. headers are
// name, value pairs.
func (s *testSite) serve(t *testing.T, method, target string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, r)
	return w
}

// lockedBuffer is a bytes.Buffer safe for the server's goroutines to
// write while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// hasSecret reports whether a response body carries any of the secret.
func hasSecret(body string) bool {
	return strings.Contains(body, "TOP-SECRET")
}
