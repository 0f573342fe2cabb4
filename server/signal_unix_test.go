//go:build unix

package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunServesUntilSignal runs the whole command in this process with
// its defaults but the port, fetches the page from the URL it prints,
// then sends the process a real signal and checks that run returns 0
// and the port is closed.
func TestRunServesUntilSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			parent := t.TempDir()
			writeFile(t, filepath.Join(parent, "web", "index.html"), siteFiles["index.html"], siteTime)
			writeFile(t, filepath.Join(parent, "secret.txt"), secret, siteTime)
			if err := os.Symlink(filepath.Join("..", "secret.txt"), filepath.Join(parent, "web", "link")); err != nil {
				t.Fatal(err)
			}
			// The default -dir is web/ in the working directory.
			t.Chdir(parent)

			stdoutR, stdoutW := io.Pipe()
			var stderr lockedBuffer
			exit := make(chan int, 1)
			go func() {
				exit <- run([]string{"-addr", "127.0.0.1:0"}, stdoutW, &stderr)
				stdoutW.Close()
			}()
			lines := bufio.NewScanner(stdoutR)
			if !lines.Scan() {
				t.Fatalf("no startup line; stderr: %s", stderr.String())
			}
			startup := lines.Text()
			rest := make(chan string, 1)
			go func() {
				var b strings.Builder
				for lines.Scan() {
					b.WriteString(lines.Text() + "\n")
				}
				rest <- b.String()
			}()

			prefix := "serving " + filepath.Join(parent, "web") + " at http://127.0.0.1:"
			if !strings.HasPrefix(startup, prefix) {
				t.Fatalf("startup line %q, want it to start with %q", startup, prefix)
			}
			pageURL := startup[strings.LastIndex(startup, " ")+1:]
			client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			resp, err := client.Get(pageURL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != siteFiles["index.html"] {
				t.Fatalf("GET %s: %d %q, want index.html", pageURL, resp.StatusCode, body)
			}
			if got := resp.Header.Get("Permissions-Policy"); got != "usb=(self)" {
				t.Errorf("Permissions-Policy %q from the real server", got)
			}
			// The folder is opened as a root: a symlink out of it is refused.
			resp, err = client.Get(pageURL + "link")
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 404 || hasSecret(string(body)) {
				t.Errorf("GET /link (symlink to ../secret.txt): %d %q, want 404", resp.StatusCode, body)
			}

			// The client keeps its connection open: Shutdown must close it.
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-exit:
				if code != 0 {
					t.Errorf("exit status %d after %v, want 0; stderr: %s", code, sig, stderr.String())
				}
			case <-time.After(shutdownTimeout + 5*time.Second):
				t.Fatalf("run still running after %v", sig)
			}
			if out := <-rest; out != "shutting down\n" {
				t.Errorf("stdout after startup %q, want \"shutting down\\n\"", out)
			}
			// Only the refused symlink is reported: no loopback warning.
			if got := stderr.String(); strings.Contains(got, "WARNING") || !strings.Contains(got, "link: ") {
				t.Errorf("stderr %q, want only the refused symlink", got)
			}
			u, _ := url.Parse(pageURL)
			if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
				conn.Close()
				t.Errorf("%s still accepts connections after shutdown", u.Host)
			}
		})
	}
}
