//go:build linux

package main

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// usbmonText is the kernel's usbmon text trace of every bus (Documentation/usb/usbmon.rst):
// one line per URB submission, completion and error, with the setup packet and the first
// bytes of data, as the host controller driver saw them.
const usbmonText = "/sys/kernel/debug/usb/usbmon/0u"

// usbmonTrace copies the usbmon text trace into a file while a variant runs, so that what went
// over the bus (which transfer ended how, and in what order) can be read after a failure.
type usbmonTrace struct {
	fd   int
	out  *os.File
	done chan struct{}
	wg   sync.WaitGroup
}

// startUSBMon starts copying the trace to path. The trace is opened non-blocking and polled:
// a blocking read would keep the goroutine, and the file, until the next URB after the stop.
func startUSBMon(path string) (*usbmonTrace, error) {
	fd, err := syscall.Open(usbmonText, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: usbmonText, Err: err}
	}
	out, err := os.Create(path)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	t := &usbmonTrace{fd: fd, out: out, done: make(chan struct{})}
	t.wg.Add(1)
	go t.copy()
	return t, nil
}

func (t *usbmonTrace) copy() {
	defer t.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Read(t.fd, buf)
		if n > 0 {
			t.out.Write(buf[:n])
			continue
		}
		if err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR) {
			return
		}
		select {
		case <-t.done:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop ends the copy and closes both files.
func (t *usbmonTrace) stop() error {
	close(t.done)
	t.wg.Wait()
	syscall.Close(t.fd)
	return t.out.Close()
}
