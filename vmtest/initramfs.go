//go:build linux

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// busyboxPath is the static busybox of Debian's busybox-static package: stage 1 runs before
// any library is reachable, so a dynamically linked one cannot work there.
const busyboxPath = "/bin/busybox"

// shortHash is a cache key: 16 hex digits of the SHA-256 of s.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// ensureInitramfs returns the gzipped newc initramfs for k, building it when the cache has none
// for this kernel, module list, stage-1 script and busybox.
func ensureInitramfs(ctx context.Context, cache, repo string, k *kernel) (string, error) {
	stage1, err := os.ReadFile(filepath.Join(repo, "vmtest", "stage1.sh"))
	if err != nil {
		return "", err
	}
	busybox, err := os.ReadFile(busyboxPath)
	if err != nil {
		return "", fmt.Errorf("%w: install busybox-static (./build.sh vmtest does)", err)
	}
	if err := checkStatic(busyboxPath); err != nil {
		return "", err
	}
	key := shortHash(k.version + "\x00" + strings.Join(k.modules, " ") + "\x00" + string(stage1) + "\x00" + string(busybox))
	out := filepath.Join(cache, "initramfs-"+key+".cpio.gz")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}

	dir, err := os.MkdirTemp(cache, "initramfs-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	for _, d := range []string{"bin", "dev", "proc", "sys", "lib/modules"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "init"), stage1, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), busybox, 0o755); err != nil {
		return "", err
	}
	for _, m := range k.modules {
		if err := copyFile(filepath.Join(k.modDir, m), filepath.Join(dir, "lib", "modules", m)); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "modules.list"), []byte(strings.Join(k.modules, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}

	// find | cpio: the newc format is what the kernel unpacks; -R 0:0 makes every file root's.
	find := exec.CommandContext(ctx, "find", ".", "-print0")
	find.Dir = dir
	list, err := find.Output()
	if err != nil {
		return "", fmt.Errorf("find in %s: %w", dir, err)
	}
	cpio := exec.CommandContext(ctx, "cpio", "--null", "--create", "--format=newc", "--quiet", "--owner=0:0")
	cpio.Dir = dir
	cpio.Stdin = bytes.NewReader(list)
	var stderr bytes.Buffer
	cpio.Stderr = &stderr
	archive, err := cpio.Output()
	if err != nil {
		return "", fmt.Errorf("cpio: %w: %s", err, stderr.String())
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := zw.Write(archive); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	// Old initramfs files are of no use once the inputs changed.
	old, _ := filepath.Glob(filepath.Join(cache, "initramfs-*.cpio.gz"))
	for _, f := range old {
		os.Remove(f)
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, gz.Bytes(), 0o644); err != nil {
		return "", err
	}
	return out, os.Rename(tmp, out)
}

// checkStatic fails when path is a dynamically linked ELF program (it has an interpreter).
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: stage 1 needs busybox-static (apt-get install -y busybox-static)", path)
		}
	}
	return nil
}
