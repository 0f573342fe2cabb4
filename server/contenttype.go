//go:build !js

package main

import (
	"mime"
	"path"
)

// contentTypes names the types of the files the page is made of. They are
// spelled out here rather than taken from package mime because mime reads
// the system's tables (/etc/mime.types, the Windows registry), which have
// been seen to call .js text/plain; that breaks module scripts, and a
// .wasm that is not application/wasm cannot be compiled with
// WebAssembly.instantiateStreaming.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".wasm": "application/wasm",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
	".map":  "application/json",
}

// contentType returns the Content-Type for a file name. Names outside the
// table fall back to package mime, then to application/octet-stream: the
// server never guesses from the bytes, in keeping with nosniff.
func contentType(name string) string {
	ext := path.Ext(name)
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
