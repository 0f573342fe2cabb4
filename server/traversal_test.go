//go:build !js

package main

import (
	"bufio"
	"flag"
	"io"
	"io/fs"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var seedFlag = flag.Int64("seed", 0, "seed for the random request paths of TestNoRequestPathReachesOutside (0: from the clock)")

// addEscapingSymlinks puts symlinks in the served folder that point
// outside it, to the secret: a rooted file system must refuse them all.
func addEscapingSymlinks(t *testing.T, site *testSite) {
	t.Helper()
	links := map[string]string{
		"link-file":  filepath.Join("..", "secret.txt"),
		"link-dir":   "..",
		"link-abs":   filepath.Join(site.parent, "secret.txt"),
		"sub/link":   filepath.Join("..", "..", "secret.txt"),
		"app2.js.br": filepath.Join("..", "secret.txt.br"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(site.dir, filepath.FromSlash(name))); err != nil {
			t.Skipf("cannot make symlinks here: %v", err)
		}
	}
	// app2.js's only variant is a symlink out of the folder.
	writeFile(t, filepath.Join(site.dir, "app2.js"), "console.log('app2');\n", siteTime)
}

// rawGet sends target exactly as written, which an http.Client would not
// do, and returns the status and body.
func rawGet(t *testing.T, addr, target string, headers ...string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	request := "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
	for i := 0; i+1 < len(headers); i += 2 {
		request += headers[i] + ": " + headers[i+1] + "\r\n"
	}
	if _, err := io.WriteString(conn, request+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	return resp.StatusCode, string(body)
}

func TestTraversalAttemptsOverTheWire(t *testing.T) {
	site := newTestSite(t)
	addEscapingSymlinks(t, site)
	srv := httptest.NewServer(site.handler)
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	// Sanity: the secret is where the attempts aim.
	if b, err := os.ReadFile(filepath.Join(site.dir, "..", "secret.txt")); err != nil || string(b) != secret {
		t.Fatalf("secret not in place: %q, %v", b, err)
	}

	parentURL := filepath.ToSlash(site.parent)
	tests := []struct {
		name   string
		target string
		want   int // 400 for a refused path, 404 for a name that is not in the folder
	}{
		{"parent", "/../secret.txt", 400},
		{"two parents", "/../../secret.txt", 400},
		{"parent after a folder", "/sub/../../secret.txt", 400},
		{"parent after a file", "/main.wasm/../../secret.txt", 400},
		{"parent after dot", "/./../secret.txt", 400},
		{"parent after a doubled slash", "//../secret.txt", 400},
		{"encoded slash", "/..%2fsecret.txt", 400},
		{"encoded dots", "/%2e%2e/secret.txt", 400},
		{"encoded dots and slash", "/%2e%2e%2fsecret.txt", 400},
		{"encoded in capitals", "/%2E%2E%2Fsecret.txt", 400},
		{"one dot encoded", "/.%2e/secret.txt", 400},
		{"double-encoded dots and slash", "/%252e%252e%252fsecret.txt", 404},
		{"double-encoded dots", "/%252e%252e/secret.txt", 404},
		{"backslash", `/..\secret.txt`, 400},
		{"backslashes", `/..\..\secret.txt`, 400},
		{"encoded backslash", "/..%5csecret.txt", 400},
		{"encoded dots and backslash", "/%2e%2e%5csecret.txt", 400},
		{"NUL byte", "/%00/../secret.txt", 400},
		{"bytes that are not UTF-8", "/%ff%fe/../secret.txt", 400},
		{"absolute file system path", parentURL + "/secret.txt", 404},
		{"absolute path after a doubled slash", "/" + parentURL + "/secret.txt", 404},
		{"absolute /etc/passwd", "/etc/passwd", 404},
		{"encoded absolute path", "/%2fetc%2fpasswd", 404},
		{"absolute-form request with parent", "http://localhost/../secret.txt", 400},
		{"the secret's own name", "/secret.txt", 404},
		{"the secret's variant's name", "/secret.txt.br", 404},
		{"symlink to a file outside", "/link-file", 404},
		{"symlink to the parent folder", "/link-dir/secret.txt", 404},
		{"symlink to an absolute path", "/link-abs", 404},
		{"symlink in a subfolder", "/sub/link", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawGet(t, addr, tc.target, "Accept-Encoding", "br, gzip")
			if hasSecret(body) {
				t.Fatalf("%s: got the secret (status %d)", tc.target, status)
			}
			if status != tc.want {
				t.Errorf("%s: status %d, want %d (body %q)", tc.target, status, tc.want, body)
			}
		})
	}

	// net/http itself refuses a target that is not a path, before the
	// handler: still a 400, still no secret.
	if status, body := rawGet(t, addr, "../secret.txt"); status != 400 || hasSecret(body) {
		t.Errorf("../secret.txt: status %d, body %q; want 400 without the secret", status, body)
	}

	// A variant that is a symlink out of the folder is no variant.
	status, body := rawGet(t, addr, "/app2.js", "Accept-Encoding", "br")
	if status != 200 || body != "console.log('app2');\n" {
		t.Errorf("/app2.js with an escaping .br: status %d, body %q; want the plain file", status, body)
	}

	// The refused symlinks are reported, so a developer who made one sees why.
	if got := site.log.String(); !strings.Contains(got, "link-file") || !strings.Contains(got, "escapes") {
		t.Errorf("error log %q, want the escaping symlinks reported", got)
	}
}

// TestNoRequestPathReachesOutside builds random request paths out of
// pieces that have escaped web servers before and checks that none gets
// the secret, and none makes the server fail.
func TestNoRequestPathReachesOutside(t *testing.T) {
	site := newTestSite(t)
	addEscapingSymlinks(t, site)
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (rerun with -seed %d)", seed, seed)
	rng := rand.New(rand.NewSource(seed))

	pieces := []string{
		"..", ".", "...", "%2e%2e", "%2E.", ".%2e", "%252e%252e", "%2e", "",
		"/", "//", "%2f", "%2F", "%252f", `\`, "%5c", "%5C", "%00", "%ff",
		"secret.txt", "secret.txt.br", "web", "sub", "link-dir", "link-file", "link-abs",
		"main.wasm", "index.html", "empty", filepath.ToSlash(site.parent),
	}
	counts := map[int]int{}
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		b.WriteString("/")
		for n := 1 + rng.Intn(8); n > 0; n-- {
			b.WriteString(pieces[rng.Intn(len(pieces))])
			if rng.Intn(2) == 0 {
				b.WriteString("/")
			}
		}
		target := b.String()
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n")))
		if err != nil {
			// net/http would answer 400 before the handler runs.
			counts[400]++
			continue
		}
		r.Header.Set("Accept-Encoding", "br, gzip")
		w := httptest.NewRecorder()
		site.handler.ServeHTTP(w, r)
		counts[w.Code]++
		if hasSecret(w.Body.String()) {
			t.Fatalf("seed %d: %q got the secret (status %d)", seed, target, w.Code)
		}
		if w.Code >= 500 {
			t.Fatalf("seed %d: %q: status %d, body %q", seed, target, w.Code, w.Body.String())
		}
	}
	t.Logf("statuses: %v", counts)
	// The only errors worth a log line here are the refused symlinks;
	// anything else means an odd name got as far as the file system.
	for _, line := range strings.Split(strings.TrimSpace(site.log.String()), "\n") {
		if line != "" && !strings.Contains(line, "path escapes from parent") {
			t.Errorf("seed %d: unexpected error log line %q", seed, line)
		}
	}
	// The pieces must reach the handler's refusals and the file system's.
	if counts[400] == 0 || counts[404] == 0 {
		t.Errorf("statuses %v: expected both 400s and 404s from these pieces", counts)
	}
}

// FuzzFileName checks that every name fileName accepts is a valid fs.FS
// name inside the folder.
func FuzzFileName(f *testing.F) {
	f.Fuzz(func(t *testing.T, urlPath string) {
		name, err := fileName("/" + urlPath)
		if err != nil {
			return
		}
		if !validInside(name) {
			t.Fatalf("fileName(%q) = %q: not a name inside the folder", "/"+urlPath, name)
		}
	})
}

// validInside is what a name must be for the handler to open it: an
// fs.FS name (no leading slash, no empty, "." or ".." element), without
// the backslash or NUL that some systems read differently.
func validInside(name string) bool {
	return fs.ValidPath(name) && !strings.ContainsAny(name, "\\\x00")
}
