//go:build linux

package ffs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// functionFSEndpoint reports whether name is a FunctionFS endpoint file: "ep" and a number.
func functionFSEndpoint(name string) bool {
	n, err := strconv.Atoi(name[min(2, len(name)):])
	return len(name) > 2 && name[:2] == "ep" && err == nil && n > 0
}

// MountDir is a mounted FunctionFS instance (mount -t functionfs NAME PATH).
type MountDir string

// Open opens one of the instance's files for reading and writing. The files are used through
// plain read(2) and write(2), not os.File: os.File skips zero-length reads, which FunctionFS
// and GadgetFS need, and would put ep0 (which supports poll) into non-blocking mode, where f_fs
// answers EAGAIN whenever its mutex is busy. So ep0 is blocking. FunctionFS's endpoint files
// ("ep1", "ep2", ...) are opened O_NONBLOCK, which in f_fs only means "fail with EAGAIN instead
// of waiting while the endpoint is disabled" (ffs_epfile_wait_ep): a transfer started just after
// a disable then ends at once, rather than waiting for the next enable and taking data meant for
// the next configuration. GadgetFS's are blocking: its endpoints stay configured until their
// files close.
func (d MountDir) Open(name string) (File, error) {
	path := filepath.Join(string(d), name)
	flags := syscall.O_RDWR | syscall.O_CLOEXEC
	if functionFSEndpoint(name) {
		flags |= syscall.O_NONBLOCK
	}
	fd, err := syscall.Open(path, flags, 0)
	if err != nil {
		return nil, fmt.Errorf("ffs: open %s: %w", path, err)
	}
	return &rawFile{fd: fd, path: path}, nil
}

// List names the instance's files.
func (d MountDir) List() ([]string, error) {
	entries, err := os.ReadDir(string(d))
	if err != nil {
		return nil, fmt.Errorf("ffs: %w", err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

type rawFile struct {
	fd   int
	path string
}

func (f *rawFile) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(f.fd, p)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, f.wrap("read", err)
		}
		return n, nil
	}
}

func (f *rawFile) Write(p []byte) (int, error) {
	for {
		n, err := syscall.Write(f.fd, p)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, f.wrap("write", err)
		}
		return n, nil
	}
}

func (f *rawFile) Close() error {
	if err := syscall.Close(f.fd); err != nil {
		return f.wrap("close", err)
	}
	return nil
}

// fileError carries the errno and, for the answers FunctionFS gives on purpose, the package's
// sentinel for it.
type fileError struct {
	op, path string
	errno    syscall.Errno
	kind     error
}

func (e *fileError) Error() string { return fmt.Sprintf("%s %s: %v", e.op, e.path, e.errno) }

func (e *fileError) Is(target error) bool { return e.kind != nil && target == e.kind }

func (e *fileError) Unwrap() error { return e.errno }

func (f *rawFile) wrap(op string, err error) error {
	e := &fileError{op: op, path: f.path}
	if !errors.As(err, &e.errno) {
		return fmt.Errorf("%s %s: %w", op, f.path, err)
	}
	switch e.errno {
	case syscall.EL2HLT:
		e.kind = ErrStalled
	case syscall.EIDRM:
		e.kind = ErrCancelled
	case syscall.ESHUTDOWN, syscall.EAGAIN:
		e.kind = ErrDisabled
	}
	return e
}
