//go:build js && wasm

package webusb

import (
	"errors"
	"fmt"
	"syscall/js"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic"
)

// DOMError is an exception a WebUSB call threw or rejected with: a DOMException (NetworkError,
// NotFoundError, SecurityError, InvalidStateError, AbortError, ...) or a JavaScript Error such
// as TypeError, with the name and message the browser gave.
type DOMError struct {
	Op      string // the call with its arguments, "claimInterface(0)"; empty from Await
	Name    string // "NetworkError"; empty when the reason was not an Error object
	Message string // "Unable to claim interface."
}

func (e *DOMError) Error() string {
	s := "webusb: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	if e.Name != "" {
		s += e.Name + ": "
	}
	return s + e.Message
}

// Messages Chromium rejects with (third_party/blink/renderer/modules/webusb), matched where the
// name alone is ambiguous.
const (
	msgDisconnected     = "The device was disconnected."
	msgNoDeviceSelected = "No device selected."
)

// ErrNoDeviceSelected is returned (wrapped around the DOMError) when the user closed the device
// chooser without picking an adapter.
var ErrNoDeviceSelected = errors.New("webusb: no device selected")

// domErrorFrom reads the name and message of a rejection reason or thrown value.
func domErrorFrom(op string, reason safejs.Value) *DOMError {
	e := &DOMError{Op: op}
	if t := reason.Type(); t == safejs.TypeObject || t == safejs.TypeFunction {
		e.Name = stringProp(reason, "name")
		e.Message = stringProp(reason, "message")
		return e
	}
	e.Message = jsString(reason)
	return e
}

// jsString is String(v), for reasons that are not objects.
func jsString(v safejs.Value) string {
	if v.Type() == safejs.TypeString {
		s, _ := v.String()
		return s
	}
	str, err := safejs.Global().Get("String")
	if err != nil {
		return "?"
	}
	s, err := str.Invoke(v)
	if err != nil {
		return "?"
	}
	out, _ := s.String()
	return out
}

// thrown turns an error from a safejs call into a *DOMError when JavaScript threw (safejs
// recovers the exception as a js.Error), else wraps it with op.
func thrown(op string, err error) error {
	// syscall/js only for the type: safejs hands the recovered exception back as a js.Error.
	var jsErr js.Error
	if errors.As(err, &jsErr) {
		return domErrorFrom(op, safejs.Safe(jsErr.Value))
	}
	return fmt.Errorf("webusb: %s: %w", op, err)
}

// Problem is a failure the user can do something about. The *PlatformError carrying it says
// what, for the platform the page runs on.
type Problem uint8

// Problems.
const (
	// ProblemDisconnected: the adapter was unplugged (or fell off the bus). The error wraps
	// usbnic.ErrDisconnected.
	ProblemDisconnected Problem = iota + 1
	// ProblemKernelDriver: an operating-system driver holds the interface (Linux: the
	// ax88179_178a, asix, cdc_ether or cdc_ncm module; macOS: the system's network driver), so
	// Chrome cannot claim it, or cannot change the configuration under it.
	ProblemKernelDriver
	// ProblemAccessDenied: the operating system does not let Chrome open the device (Linux:
	// the /dev/bus/usb node is not the user's; no udev rule).
	ProblemAccessDenied
	// ProblemNoWinUSB: on Windows, WinUSB is not the adapter's driver (or another program has
	// the adapter open).
	ProblemNoWinUSB
	// ProblemProtectedClass: the interface has a class Chrome never lets a page claim (audio,
	// HID, mass storage, smart card, video, audio/video, wireless controller).
	ProblemProtectedClass
	// ProblemInUse: another tab, app or program holds the interface.
	ProblemInUse
)

func (p Problem) String() string {
	switch p {
	case ProblemDisconnected:
		return "adapter disconnected"
	case ProblemKernelDriver:
		return "interface held by a system driver"
	case ProblemAccessDenied:
		return "access denied by the operating system"
	case ProblemNoWinUSB:
		return "WinUSB is not the adapter's driver"
	case ProblemProtectedClass:
		return "protected interface class"
	case ProblemInUse:
		return "interface in use elsewhere"
	}
	return fmt.Sprintf("problem(%d)", uint8(p))
}

// PlatformError is a WebUSB failure with a known cause and a fix.
type PlatformError struct {
	Problem  Problem
	Platform Platform
	// Summary says what is wrong, naming the adapter and interface.
	Summary string
	// Fix says what to do, with exact commands where there are some. Empty when nothing on
	// this computer helps.
	Fix string
	// Err is the browser's exception; nil when the transport saw the adapter go before the
	// browser rejected the call.
	Err *DOMError
}

func (e *PlatformError) Error() string {
	s := e.Summary
	if e.Err != nil {
		s = e.Err.Error() + " — " + s
	} else {
		s = "webusb: " + s
	}
	if e.Fix != "" {
		s += ". Fix: " + e.Fix
	}
	return s
}

// Unwrap returns the DOMError, and usbnic.ErrDisconnected for ProblemDisconnected.
func (e *PlatformError) Unwrap() []error {
	var errs []error
	if e.Problem == ProblemDisconnected {
		errs = append(errs, usbnic.ErrDisconnected)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}
