//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSnapshotPageLeavesThePrecompressedFilesBehind(t *testing.T) {
	web, dst := t.TempDir(), filepath.Join(t.TempDir(), "page")
	for name, body := range map[string]string{
		"index.html": "<!doctype html>", "main.wasm": "\x00asm", "main.wasm.gz": "stale", "main.wasm.br": "half",
		"wasm_exec.js": "js", "img/logo.svg": "<svg/>",
	} {
		p := filepath.Join(web, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Left over from an earlier run: must be gone.
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "old.js"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	copied, err := snapshotPage(web, dst)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(copied, ","), "img/logo.svg,index.html,main.wasm,wasm_exec.js"; got != want {
		t.Errorf("copied %s, want %s", got, want)
	}
	for _, gone := range []string{"main.wasm.gz", "main.wasm.br", "old.js"} {
		if _, err := os.Stat(filepath.Join(dst, gone)); err == nil {
			t.Errorf("%s is in the snapshot", gone)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dst, "main.wasm")); err != nil || string(b) != "\x00asm" {
		t.Errorf("main.wasm in the snapshot = %q, %v", b, err)
	}
}

func TestSnapshotPageNeedsABuild(t *testing.T) {
	_, err := snapshotPage(t.TempDir(), filepath.Join(t.TempDir(), "page"))
	if err == nil || !strings.Contains(err.Error(), "./build.sh build") {
		t.Fatalf("err = %v, want one that says to build", err)
	}
}
