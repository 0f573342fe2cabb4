//go:build js && wasm && !fakeusb

package main

import "webminiport/usbnic/webusb"

// navigatorUSB returns the browser's navigator.usb. The shipped page has no fake: only a build
// with the fakeusb tag (fakeusb.go) can put one in its place.
func navigatorUSB() (*webusb.USB, error) { return webusb.Navigator() }
