//go:build !js

package main

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestContentTypeByExtension(t *testing.T) {
	site := newTestSite(t)
	tests := []struct {
		path, want string
	}{
		{"/index.html", "text/html; charset=utf-8"},
		{"/", "text/html; charset=utf-8"},
		{"/app.js", "text/javascript; charset=utf-8"},
		{"/style.css", "text/css; charset=utf-8"},
		{"/main.wasm", "application/wasm"},
		{"/icon.svg", "image/svg+xml"},
		{"/logo.png", "image/png"},
		{"/data.json", "application/json"},
		{"/app.js.map", "application/json"},
		{"/blob.unknownext", "application/octet-stream"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			w := site.serve(t, "GET", tc.path)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", w.Code)
			}
			if got := w.Header().Get("Content-Type"); got != tc.want {
				t.Errorf("Content-Type %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNegotiationPicksVariant(t *testing.T) {
	site := newTestSite(t)
	tests := []struct {
		name           string
		path           string
		acceptEncoding string // "" sends no field
		wantEncoding   string
		wantBody       string // name in siteFiles
		wantVary       bool
	}{
		{"no Accept-Encoding gets the plain file", "/main.wasm", "", "", "main.wasm", true},
		{"a browser gets br", "/main.wasm", "gzip, deflate, br, zstd", "br", "main.wasm.br", true},
		{"gzip only gets gzip", "/main.wasm", "gzip", "gzip", "main.wasm.gz", true},
		{"identity only gets the plain file", "/main.wasm", "identity", "", "main.wasm", true},
		{"br refused with q=0 gets gzip", "/main.wasm", "br;q=0, gzip", "gzip", "main.wasm.gz", true},
		{"everything refused gets the plain file", "/main.wasm", "br;q=0, gzip;q=0", "", "main.wasm", true},
		{"gzip weighted higher gets gzip", "/main.wasm", "br;q=0.2, gzip;q=0.9", "gzip", "main.wasm.gz", true},
		{"wildcard gets br", "/main.wasm", "*", "br", "main.wasm.br", true},
		{"wildcard without br gets gzip", "/main.wasm", "*, br;q=0", "gzip", "main.wasm.gz", true},
		{"missing br variant falls back to gzip", "/gzonly.js", "br, gzip", "gzip", "gzonly.js.gz", true},
		{"missing br variant and no gzip asked gets plain", "/gzonly.js", "br", "", "gzonly.js", true},
		{"a file without variants is plain and has no Vary", "/app.js", "br, gzip", "", "app.js", false},
		{"a variant older than its file is ignored", "/stale.js", "br", "", "stale.js", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.acceptEncoding != "" {
				headers = []string{"Accept-Encoding", tc.acceptEncoding}
			}
			w := site.serve(t, "GET", tc.path, headers...)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", w.Code)
			}
			if got := w.Header().Get("Content-Encoding"); got != tc.wantEncoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.wantEncoding)
			}
			if got, want := w.Body.String(), siteFiles[tc.wantBody]; got != want {
				t.Errorf("body %q, want %s: %q", got, tc.wantBody, want)
			}
			if got, want := w.Header().Get("Content-Length"), strconv.Itoa(len(siteFiles[tc.wantBody])); got != want {
				t.Errorf("Content-Length %q, want %s", got, want)
			}
			// The type of the original, never that of .br or .gz.
			if got, want := w.Header().Get("Content-Type"), contentTypes[filepath.Ext(tc.path)]; got != want {
				t.Errorf("Content-Type %q, want %q", got, want)
			}
			if got := w.Header().Values("Vary"); tc.wantVary != (len(got) == 1 && got[0] == "Accept-Encoding") {
				t.Errorf("Vary %q, want Accept-Encoding: %v", got, tc.wantVary)
			}
		})
	}
}

func TestIndexHTMLVariantIsServedForTheFolder(t *testing.T) {
	site := newTestSite(t)
	writeFile(t, filepath.Join(site.dir, "sub", "index.html.gz"), "GZIP-OF-SUB-INDEX", siteTime)
	w := site.serve(t, "GET", "/sub/", "Accept-Encoding", "gzip")
	if w.Code != http.StatusOK || w.Body.String() != "GZIP-OF-SUB-INDEX" || w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("got %d %q Content-Encoding %q, want 200 with sub/index.html.gz",
			w.Code, w.Body.String(), w.Header().Get("Content-Encoding"))
	}
	if got := w.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/html", got)
	}
}

func TestVariantRequestedByNameIsPlainBytes(t *testing.T) {
	site := newTestSite(t)
	w := site.serve(t, "GET", "/main.wasm.br", "Accept-Encoding", "br")
	if w.Code != http.StatusOK || w.Body.String() != siteFiles["main.wasm.br"] {
		t.Fatalf("got %d %q, want the .br file's bytes", w.Code, w.Body.String())
	}
	if got := w.Header().Get("Content-Encoding"); got != "" {
		t.Errorf("Content-Encoding %q on a file asked for by its own name, want none", got)
	}
}

// wantSecurityHeaders are the exact headers every answer must carry.
var wantSecurityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
		"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
	"Permissions-Policy":     "usb=(self)",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"Cache-Control":          "no-cache",
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	site := newTestSite(t)
	plainETag := site.serve(t, "GET", "/main.wasm").Header().Get("ETag")
	tests := []struct {
		name       string
		method     string
		target     string
		headers    []string
		wantStatus int
	}{
		{"a file", "GET", "/app.js", nil, http.StatusOK},
		{"the folder's index", "GET", "/", nil, http.StatusOK},
		{"a compressed variant", "GET", "/main.wasm", []string{"Accept-Encoding", "br"}, http.StatusOK},
		{"HEAD", "HEAD", "/main.wasm", nil, http.StatusOK},
		{"a range", "GET", "/main.wasm", []string{"Range", "bytes=0-3"}, http.StatusPartialContent},
		{"an unsatisfiable range", "GET", "/main.wasm", []string{"Range", "bytes=9999-"}, http.StatusRequestedRangeNotSatisfiable},
		{"not modified", "GET", "/main.wasm", []string{"If-None-Match", plainETag}, http.StatusNotModified},
		{"precondition failed", "GET", "/main.wasm", []string{"If-Match", `"other"`}, http.StatusPreconditionFailed},
		{"a missing file", "GET", "/nope.js", nil, http.StatusNotFound},
		{"a folder without index", "GET", "/empty/", nil, http.StatusNotFound},
		{"a folder without its slash", "GET", "/sub", nil, http.StatusMovedPermanently},
		{"a parent path", "GET", "/../secret.txt", nil, http.StatusBadRequest},
		{"a method other than GET or HEAD", "POST", "/app.js", nil, http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := site.serve(t, tc.method, tc.target, tc.headers...)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tc.wantStatus)
			}
			for name, want := range wantSecurityHeaders {
				if got := w.Header().Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("%s: %q, want exactly %q", name, got, want)
				}
			}
		})
	}
}

func TestETagIsStrongAndDiffersPerVariant(t *testing.T) {
	site := newTestSite(t)
	tags := map[string]string{}
	for _, coding := range []string{"identity", "br", "gzip"} {
		w := site.serve(t, "GET", "/main.wasm", "Accept-Encoding", coding)
		tag := w.Header().Get("ETag")
		if !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) || len(tag) < 3 {
			t.Errorf("%s: ETag %q is not a strong (quoted, no W/) tag", coding, tag)
		}
		for other, otherTag := range tags {
			if tag == otherTag {
				t.Errorf("%s and %s share ETag %q", coding, other, tag)
			}
		}
		tags[coding] = tag
	}

	// Same site, the file rebuilt: a new size or a new time gives a new tag.
	before := tags["identity"]
	writeFile(t, filepath.Join(site.dir, "main.wasm"), siteFiles["main.wasm"], siteTime.Add(time.Second))
	if after := site.serve(t, "GET", "/main.wasm").Header().Get("ETag"); after == before {
		t.Errorf("ETag %q unchanged after the file's time changed", after)
	}
	writeFile(t, filepath.Join(site.dir, "main.wasm"), siteFiles["main.wasm"]+"x", siteTime)
	if after := site.serve(t, "GET", "/main.wasm").Header().Get("ETag"); after == before {
		t.Errorf("ETag %q unchanged after the file's size changed", after)
	}
}

func TestIfNoneMatch(t *testing.T) {
	site := newTestSite(t)
	plain := site.serve(t, "GET", "/main.wasm").Header().Get("ETag")
	br := site.serve(t, "GET", "/main.wasm", "Accept-Encoding", "br").Header().Get("ETag")
	tests := []struct {
		name           string
		acceptEncoding string
		ifNoneMatch    string
		wantStatus     int
	}{
		{"the plain file's tag gives 304", "identity", plain, http.StatusNotModified},
		{"the br variant's tag gives 304 for br", "br", br, http.StatusNotModified},
		{"the br tag does not match the plain file", "identity", br, http.StatusOK},
		{"the plain tag does not match the br variant", "br", plain, http.StatusOK},
		{"a weak form of the tag matches", "identity", "W/" + plain, http.StatusNotModified},
		{"the tag in a list matches", "br", `"nope", ` + br, http.StatusNotModified},
		{"a star matches", "gzip", "*", http.StatusNotModified},
		{"another tag does not match", "identity", `"nope"`, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := site.serve(t, "GET", "/main.wasm", "Accept-Encoding", tc.acceptEncoding, "If-None-Match", tc.ifNoneMatch)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tc.wantStatus)
			}
			if got := w.Header().Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary %q, want Accept-Encoding", got)
			}
			if w.Code != http.StatusNotModified {
				return
			}
			if w.Body.Len() != 0 {
				t.Errorf("304 with a body of %d bytes", w.Body.Len())
			}
			if got := w.Header().Get("ETag"); got == "" {
				t.Error("304 without ETag")
			}
			for _, name := range []string{"Content-Encoding", "Content-Length", "Content-Type"} {
				if got := w.Header().Get(name); got != "" {
					t.Errorf("304 with %s %q", name, got)
				}
			}
		})
	}
}

func TestHEAD(t *testing.T) {
	site := newTestSite(t)
	tests := []struct {
		acceptEncoding string
		wantEncoding   string
		wantLength     int
	}{
		{"identity", "", len(siteFiles["main.wasm"])},
		{"br", "br", len(siteFiles["main.wasm.br"])},
		{"gzip", "gzip", len(siteFiles["main.wasm.gz"])},
	}
	for _, tc := range tests {
		t.Run(tc.acceptEncoding, func(t *testing.T) {
			get := site.serve(t, "GET", "/main.wasm", "Accept-Encoding", tc.acceptEncoding)
			head := site.serve(t, "HEAD", "/main.wasm", "Accept-Encoding", tc.acceptEncoding)
			if head.Code != http.StatusOK || head.Body.Len() != 0 {
				t.Fatalf("HEAD: status %d with %d body bytes, want 200 and none", head.Code, head.Body.Len())
			}
			if got := head.Header().Get("Content-Encoding"); got != tc.wantEncoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.wantEncoding)
			}
			if got := head.Header().Get("Content-Length"); got != strconv.Itoa(tc.wantLength) {
				t.Errorf("Content-Length %q, want %d", got, tc.wantLength)
			}
			for _, name := range []string{"Content-Type", "ETag", "Vary", "Last-Modified"} {
				if head.Header().Get(name) != get.Header().Get(name) {
					t.Errorf("%s: HEAD %q, GET %q", name, head.Header().Get(name), get.Header().Get(name))
				}
			}
		})
	}
}

func TestRangeOnPlainFile(t *testing.T) {
	site := newTestSite(t)
	body := siteFiles["main.wasm"]
	size := strconv.Itoa(len(body))
	etag := site.serve(t, "GET", "/main.wasm").Header().Get("ETag")
	tests := []struct {
		name       string
		headers    []string
		wantStatus int
		wantRange  string // Content-Range
		wantBody   string
	}{
		{"a middle range", []string{"Range", "bytes=2-5"}, 206, "bytes 2-5/" + size, body[2:6]},
		{"an open-ended range", []string{"Range", "bytes=20-"}, 206, "bytes 20-" + strconv.Itoa(len(body)-1) + "/" + size, body[20:]},
		{"a suffix range", []string{"Range", "bytes=-3"}, 206, "bytes " + strconv.Itoa(len(body)-3) + "-" + strconv.Itoa(len(body)-1) + "/" + size, body[len(body)-3:]},
		{"a range past the end", []string{"Range", "bytes=9999-"}, 416, "bytes */" + size, ""},
		{"If-Range with the current tag honours the range", []string{"Range", "bytes=0-3", "If-Range", etag}, 206, "bytes 0-3/" + size, body[:4]},
		{"If-Range with an old tag sends everything", []string{"Range", "bytes=0-3", "If-Range", `"old"`}, 200, "", body},
		{"a range with the br tag on the plain file sends everything", []string{"Range", "bytes=0-3", "If-Range", etag[:len(etag)-1] + `-br"`}, 200, "", body},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := site.serve(t, "GET", "/main.wasm", tc.headers...)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tc.wantStatus)
			}
			if got := w.Header().Get("Content-Range"); got != tc.wantRange {
				t.Errorf("Content-Range %q, want %q", got, tc.wantRange)
			}
			if tc.wantStatus != 416 && w.Body.String() != tc.wantBody {
				t.Errorf("body %q, want %q", w.Body.String(), tc.wantBody)
			}
		})
	}
}

func TestMultipleRangesOnPlainFile(t *testing.T) {
	site := newTestSite(t)
	body := siteFiles["main.wasm"]
	w := site.serve(t, "GET", "/main.wasm", "Range", "bytes=0-1,4-6")
	if w.Code != http.StatusPartialContent {
		t.Fatalf("status %d, want 206", w.Code)
	}
	mediaType, params, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if err != nil || mediaType != "multipart/byteranges" {
		t.Fatalf("Content-Type %q, want multipart/byteranges", w.Header().Get("Content-Type"))
	}
	mr := multipart.NewReader(w.Body, params["boundary"])
	for _, want := range []string{body[0:2], body[4:7]} {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(part)
		if string(got) != want {
			t.Errorf("part %q, want %q", got, want)
		}
		if ct := part.Header.Get("Content-Type"); ct != "application/wasm" {
			t.Errorf("part Content-Type %q, want application/wasm", ct)
		}
	}
}

// A compressed variant is sent whole: the Range field is ignored and the
// answer says ranges are not offered for it.
func TestRangeOnVariantSendsWholeVariant(t *testing.T) {
	site := newTestSite(t)
	for _, rng := range []string{"bytes=0-3", "bytes=0-1,4-6", "bytes=9999-"} {
		t.Run(rng, func(t *testing.T) {
			w := site.serve(t, "GET", "/main.wasm", "Accept-Encoding", "br", "Range", rng)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", w.Code)
			}
			if got, want := w.Body.String(), siteFiles["main.wasm.br"]; got != want {
				t.Errorf("body %q, want the whole br variant %q", got, want)
			}
			if got := w.Header().Get("Content-Range"); got != "" {
				t.Errorf("Content-Range %q on a whole body", got)
			}
			if got := w.Header().Get("Accept-Ranges"); got != "none" {
				t.Errorf("Accept-Ranges %q, want none", got)
			}
			if got := w.Header().Get("Content-Encoding"); got != "br" {
				t.Errorf("Content-Encoding %q, want br", got)
			}
			if got := w.Header().Get("Content-Type"); got != "application/wasm" {
				t.Errorf("Content-Type %q, want application/wasm", got)
			}
		})
	}
}

func TestFolders(t *testing.T) {
	site := newTestSite(t)
	tests := []struct {
		name         string
		target       string
		wantStatus   int
		wantBody     string // name in siteFiles, for 200
		wantLocation string // for 301
	}{
		{"the root serves index.html", "/", 200, "index.html", ""},
		{"index.html by name", "/index.html", 200, "index.html", ""},
		{"a subfolder serves its index.html", "/sub/", 200, "sub/index.html", ""},
		{"a page in a subfolder", "/sub/page.html", 200, "sub/page.html", ""},
		{"a subfolder without slash is redirected", "/sub", 301, "", "/sub/"},
		{"the redirect keeps the query", "/sub?x=1&y=2", 301, "", "/sub/?x=1&y=2"},
		{"dot segments are cleaned before the redirect", "/./sub/.", 301, "", "/sub/"},
		{"a doubled slash is cleaned before the redirect", "//sub", 301, "", "/sub/"},
		{"a folder without index.html is not listed", "/empty/", 404, "", ""},
		{"a folder whose index.html is a folder is not listed", "/dirindex/", 404, "", ""},
		{"a file with a trailing slash is not found", "/app.js/", 404, "", ""},
		{"a path through a file is not found", "/app.js/x", 404, "", ""},
		{"a missing file is not found", "/nope.html", 404, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := site.serve(t, "GET", tc.target)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %q)", w.Code, tc.wantStatus, w.Body.String())
			}
			switch tc.wantStatus {
			case 200:
				if got, want := w.Body.String(), siteFiles[tc.wantBody]; got != want {
					t.Errorf("body %q, want %s", got, tc.wantBody)
				}
			case 301:
				if got := w.Header().Get("Location"); got != tc.wantLocation {
					t.Errorf("Location %q, want %q", got, tc.wantLocation)
				}
			case 404:
				for _, listed := range []string{"listed.txt", "inner.txt", "<a href"} {
					if strings.Contains(w.Body.String(), listed) {
						t.Errorf("404 body %q lists the folder (%q)", w.Body.String(), listed)
					}
				}
			}
		})
	}
	if got := site.log.String(); got != "" {
		t.Errorf("error log %q: missing files and folders are not errors", got)
	}
}

func TestMethodsOtherThanGETAndHEADAreRefused(t *testing.T) {
	site := newTestSite(t)
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		t.Run(method, func(t *testing.T) {
			w := site.serve(t, method, "/app.js")
			if w.Code != http.StatusMethodNotAllowed {
				t.Fatalf("status %d, want 405", w.Code)
			}
			if got := w.Header().Get("Allow"); got != "GET, HEAD" {
				t.Errorf("Allow %q, want GET, HEAD", got)
			}
		})
	}
}

func TestUnreadableFileIsLoggedAndNotFound(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	site := newTestSite(t)
	if err := os.Chmod(filepath.Join(site.dir, "app.js"), 0); err != nil {
		t.Fatal(err)
	}
	w := site.serve(t, "GET", "/app.js")
	if w.Code != http.StatusNotFound {
		t.Fatalf("status %d, want 404", w.Code)
	}
	if got := site.log.String(); !strings.Contains(got, "app.js") || !strings.Contains(got, "permission denied") {
		t.Errorf("error log %q, want the file and the reason", got)
	}
}
