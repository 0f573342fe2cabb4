//go:build js && wasm

// Package webusb is the usbnic.Transport over WebUSB (navigator.usb) in Chromium.
//
// A USB wraps navigator.usb, or any object of the same shape (the fake of usbnic/webusb/fakeusb
// in tests). It pairs adapters only from inside a click handler (BindPairButton), because
// requestDevice needs transient user activation; finds previously paired adapters with Devices
// (getDevices); and reports plug and unplug through Watch. Each adapter is a *Device, which
// implements usbnic.Transport.
//
// Every promise is awaited through one dispatcher (await.go): two js.Funcs made once for the life
// of the program, so no call creates or releases a js.Func and a cancelled wait leaks nothing.
// Rejections become *DOMError (the DOMException's name and message), and the failures a user can
// fix (a Linux kernel driver on the interface, udev permissions, Windows without WinUSB, a
// protected interface class, the adapter unplugged) become *PlatformError with the fix for the
// platform the page runs on.
//
// The package is built on github.com/hack-pad/safejs; syscall/js appears only for its types
// (js.Error, to read the exception safejs recovered).
package webusb
