//go:build !js

package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), "<!doctype html>", siteTime)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStderr []string
	}{
		{"a folder that does not exist", []string{"-addr", "127.0.0.1:0", "-dir", filepath.Join(dir, "nope")},
			1, []string{"folder " + filepath.Join(dir, "nope") + " does not exist", "-dir"}},
		{"a file instead of a folder", []string{"-addr", "127.0.0.1:0", "-dir", filepath.Join(dir, "index.html")},
			1, []string{filepath.Join(dir, "index.html") + " is not a folder"}},
		{"a port already taken", []string{"-addr", taken.Addr().String(), "-dir", dir},
			1, []string{"cannot listen on " + taken.Addr().String(), "already in use", "-addr"}},
		{"an address without a port", []string{"-addr", "127.0.0.1", "-dir", dir},
			1, []string{"cannot listen on 127.0.0.1", "missing port"}},
		{"an unknown flag", []string{"-port", "80"}, 2, []string{"flag provided but not defined: -port", "-addr", "-dir"}},
		{"an argument that is not a flag", []string{"-dir", dir, "web"}, 2, []string{`unexpected argument "web"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr lockedBuffer
			if got := run(tc.args, &stdout, &stderr); got != tc.wantStatus {
				t.Errorf("exit status %d, want %d", got, tc.wantStatus)
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if stdout.String() != "" {
				t.Errorf("stdout %q: nothing is served, so no URL may be printed", stdout.String())
			}
		})
	}
}

func TestRunHelpExitsZero(t *testing.T) {
	var stdout, stderr lockedBuffer
	if got := run([]string{"-h"}, &stdout, &stderr); got != 0 {
		t.Errorf("exit status %d, want 0", got)
	}
	if !strings.Contains(stderr.String(), "-addr") {
		t.Errorf("usage %q lacks -addr", stderr.String())
	}
}
