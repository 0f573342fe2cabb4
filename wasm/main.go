//go:build js && wasm

// Command wasm is the webminiport program that runs in the page. For now it only proves that the
// module loads: it reports its Go version on the page and stays alive for later callbacks.
package main

import (
	"runtime"
	"syscall/js"
)

func main() {
	status := "webminiport wasm loaded (" + runtime.Version() + ")"
	// The loader and page tests read this global to know the program is running.
	js.Global().Set("webminiportStatus", status)
	if el := js.Global().Get("document").Call("getElementById", "status"); el.Truthy() {
		el.Set("textContent", status)
	}
	// Returning from main would exit the Go program and kill every callback the page holds.
	select {}
}
