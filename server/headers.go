//go:build !js

package main

import "net/http"

// securityHeaders go on every response, errors and redirects included;
// headerWriter sets them when the status is written.
var securityHeaders = [...]struct{ name, value string }{
	// Only our own files may run. 'wasm-unsafe-eval' is what lets the page
	// compile main.wasm; it allows WebAssembly, not JavaScript eval.
	// data: and blob: images are ones the page makes itself.
	{"Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
		"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"},
	// WebUSB for this origin only, never for anything it might embed.
	{"Permissions-Policy", "usb=(self)"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	// A dev server's files change under it: the browser must revalidate
	// every time (cheap, thanks to the ETag) instead of running a stale build.
	{"Cache-Control", "no-cache"},
}

// setSecurityHeaders sets every header of securityHeaders on h.
func setSecurityHeaders(h http.Header) {
	for _, sh := range securityHeaders {
		h.Set(sh.name, sh.value)
	}
}

// headerWriter sets the response headers at the moment the status is
// written, after http.ServeContent has changed them on its own paths:
//   - on its error answers (416, 500) it deletes Cache-Control (Go 1.23 and
//     later), so the security headers are only set here, last;
//   - it leaves out Content-Length when Content-Encoding is already set, so
//     the coding of a precompressed variant is only added here, to the 200
//     that carries it, once ServeContent has set the length. A 304 or 412
//     has no body and gets no Content-Encoding.
type headerWriter struct {
	http.ResponseWriter
	encoding    string // content coding of the variant being sent, "" for none
	wroteHeader bool
}

// WriteHeader sets the final headers, then writes the status.
func (w *headerWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.wroteHeader = true
		h := w.Header()
		setSecurityHeaders(h)
		if w.encoding != "" && code == http.StatusOK {
			h.Set("Content-Encoding", w.encoding)
			// The Range header was dropped for this representation.
			h.Set("Accept-Ranges", "none")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes the status first if nobody has, as http.ResponseWriter does.
func (w *headerWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
