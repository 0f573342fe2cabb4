//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// snapshotPage copies the built page from web into dst, which is emptied first, and returns
// the list of files copied. The VM serves the copy: web/ is rebuilt in place by anyone running
// ./build.sh build, and a main.wasm.br half written by a concurrent brotli run, served to the
// page mid-test, hangs its load. The precompressed variants stay behind (the server then sends
// main.wasm as it is, which costs nothing on the guest's loopback) so that no pair of files
// from different builds can meet.
func snapshotPage(web, dst string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(web, "main.wasm")); err != nil {
		return nil, fmt.Errorf("%s/main.wasm is missing: run ./build.sh build first (./build.sh vmtest does)", web)
	}
	if err := os.RemoveAll(dst); err != nil {
		return nil, err
	}
	var copied []string
	err := filepath.WalkDir(web, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(web, path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(rel, ".wasm.gz") || strings.HasSuffix(rel, ".wasm.br") || !d.Type().IsRegular() {
			return nil
		}
		copied = append(copied, rel)
		return copyFile(path, filepath.Join(dst, rel))
	})
	return copied, err
}
