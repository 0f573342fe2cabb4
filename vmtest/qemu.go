//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// programs are the binaries built on the host for the guest, which reaches them through 9p.
type programs struct {
	server string // our static-file server (./server)
	guest  string // the in-guest driver (./vmtest/guest)
}

// buildPrograms builds the server and the guest driver into the cache. Both are static
// (CGO_ENABLED=0): the guest has the host's libraries, but a static binary starts faster under
// TCG, where every page the dynamic loader touches costs.
func buildPrograms(ctx context.Context, repo, cache string) (programs, error) {
	bin := filepath.Join(cache, "bin")
	p := programs{server: filepath.Join(bin, "server"), guest: filepath.Join(bin, "vmguest")}
	for _, b := range []struct{ out, pkg string }{{p.server, "./server"}, {p.guest, "./vmtest/guest"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", b.out, b.pkg)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			return p, fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return p, nil
}

// vmSpec is one boot of the VM.
type vmSpec struct {
	kernel, initrd string
	stage2         string // the stage-2 script, a path in the host root the guest mounts
	guest          string // the guest driver, likewise
	runDir         string // shared writable with the guest as its /run/vmtest
	timeout        time.Duration
}

// qemuArgs is the QEMU command line: TCG (the machines' /dev/kvm hangs), no default devices
// and so no network card, the serial port on stdio, the host root read-only and the run folder
// writable over virtio-9p. -no-reboot with panic=-1 turns a guest panic into QEMU's exit.
//
// TCG runs the two vCPUs in one host thread (thread=single). With one thread per vCPU
// (thread=multi), Chromium's renderer crashed at about one page load in four (4 of 16 in two
// runs; 0 of 44 in six runs with thread=single). Its three core dumps agree: the
// main thread called a WebAssembly jump-table slot and jumped on into pages V8 had already
// freed (PROT_NONE), while the slot, read from the same dump, already held the new target.
// V8 repoints such a slot from a compile thread when it tiers a function up; the stale jump
// points at multi-threaded TCG running an old translation of the slot (the page never crashed
// outside the VM). The cost: variants with a page take about 1.6 times as long.
func qemuArgs(s vmSpec) []string {
	appendLine := strings.Join([]string{
		"console=ttyS0", "quiet", "loglevel=3", "panic=-1",
		// No IPv6 at all: no DAD, router or MLD frames ahead of the ones the checks count.
		"ipv6.disable=1",
		// Unknown name=value parameters reach init as environment variables.
		"VMTEST_STAGE2=" + s.stage2, "VMTEST_GUEST=" + s.guest,
	}, " ")
	return []string{
		"-accel", "tcg,thread=single", "-cpu", "max", "-smp", "2", "-m", "3G",
		"-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", s.kernel, "-initrd", s.initrd, "-append", appendLine,
		"-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
		"-virtfs", "local,path=" + s.runDir + ",mount_tag=out,security_model=none",
	}
}

// runVM boots the VM and waits for it to power off. The serial console goes to serial.log in
// the run folder; lines the guest marks with "vmtest" are shown on out as progress. QEMU runs
// in its own process group, killed with SIGKILL when ctx ends or the timeout passes, and
// through Pdeathsig when this process dies first.
func runVM(ctx context.Context, s vmSpec, out io.Writer) error {
	for _, f := range []string{s.kernel, s.initrd, s.stage2, s.guest} {
		if _, err := os.Stat(f); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	logFile, err := os.Create(filepath.Join(s.runDir, "serial.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()

	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", qemuArgs(s)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting qemu-system-x86_64: %w (apt-get install -y qemu-system-x86)", err)
	}
	t0 := time.Now()
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		fmt.Fprintln(logFile, line)
		if strings.HasPrefix(line, "vmtest") || strings.Contains(line, "Kernel panic") {
			fmt.Fprintf(out, "    %5.0fs  %s\n", time.Since(t0).Seconds(), line)
		}
	}
	err = cmd.Wait()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("the VM did not finish within %v: killed it (see %s)", s.timeout, logFile.Name())
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: killed the VM")
	case err != nil:
		return fmt.Errorf("qemu-system-x86_64: %w (see %s)", err, logFile.Name())
	}
	return nil
}
