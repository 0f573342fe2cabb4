//go:build !js

package main

import (
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"
)

// siteHandler serves the files of one folder: GET and HEAD only, no
// directory listings, precompressed variants when the client accepts them.
//
// fsys must be rooted (os.Root.FS) so that no name, however it is spelled
// and wherever a symlink points, reaches outside the folder: that is the
// guarantee. fileName's checks only turn odd requests into clear 400s.
type siteHandler struct {
	fsys     fs.FS
	errorLog *log.Logger
}

// newHandler returns the handler for the site in fsys. Failures that are
// not a plain "no such file" (permissions, a symlink out of the folder)
// are answered with 404 and reported to errorLog.
func newHandler(fsys fs.FS, errorLog *log.Logger) http.Handler {
	return &siteHandler{fsys: fsys, errorLog: errorLog}
}

// variantSuffixes maps a content coding to the suffix of the precompressed
// file that carries it, which sits next to the original (main.wasm.br).
var variantSuffixes = map[string]string{"br": ".br", "gzip": ".gz"}

// ServeHTTP answers one request for a file of the site.
func (h *siteHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer goes through hw, which sets the security headers.
	hw := &headerWriter{ResponseWriter: w}

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(hw, "405 method not allowed: this server only answers GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	urlPath := r.URL.Path
	if !strings.HasPrefix(urlPath, "/") {
		urlPath = "/" + urlPath
	}
	name, err := fileName(urlPath)
	if err != nil {
		http.Error(hw, "400 bad request: "+err.Error(), http.StatusBadRequest)
		return
	}

	f, name, info, ok := h.openFile(hw, r, urlPath, name)
	if !ok {
		return
	}
	if coding := h.negotiate(w.Header(), r, name, info); coding != "" {
		// If the variant is gone since negotiate looked, the original is sent.
		if vf, vinfo, err := h.open(name + variantSuffixes[coding]); err == nil {
			f.Close()
			f, info, hw.encoding = vf, vinfo, coding
			r = withoutRange(r)
		}
	}
	defer f.Close()

	content, ok := f.(io.ReadSeeker)
	if !ok {
		h.errorLog.Printf("%s: file system gives files that cannot seek", name)
		http.Error(hw, "500 internal server error: file cannot seek", http.StatusInternalServerError)
		return
	}
	// The type of the original, also for a variant: the coding is a
	// separate header, and main.wasm.br is still application/wasm.
	w.Header().Set("Content-Type", contentType(name))
	w.Header().Set("ETag", etag(info, hw.encoding))
	// ServeContent answers If-None-Match with 304, Range with 206 and HEAD
	// without a body.
	http.ServeContent(hw, r, name, info.ModTime(), content)
}

// openFile opens the file a request names: the file itself, or the
// index.html of a folder. When there is nothing to send it answers the
// request itself (a 404, or the redirect that adds a folder's slash) and
// returns ok == false.
func (h *siteHandler) openFile(w http.ResponseWriter, r *http.Request, urlPath, name string) (f fs.File, openName string, info fs.FileInfo, ok bool) {
	f, info, err := h.open(name)
	if err != nil {
		h.notFound(w, name, err)
		return nil, "", nil, false
	}
	if info.IsDir() {
		f.Close()
		if !strings.HasSuffix(urlPath, "/") {
			// Relative links in the folder's index.html need the slash.
			redirectToFolder(w, r, name)
			return nil, "", nil, false
		}
		name = path.Join(name, "index.html")
		if f, info, err = h.open(name); err != nil {
			// No index.html: a 404, never a listing of the folder.
			h.notFound(w, name, err)
			return nil, "", nil, false
		}
	} else if strings.HasSuffix(urlPath, "/") {
		f.Close()
		h.notFound(w, name, nil)
		return nil, "", nil, false
	}
	if !info.Mode().IsRegular() {
		f.Close()
		h.notFound(w, name, nil)
		return nil, "", nil, false
	}
	return f, name, info, true
}

// negotiate picks the content coding to send name in ("" for none) from
// the precompressed variants that exist and the request's Accept-Encoding.
// For a file that has variants it adds Vary: Accept-Encoding to h, on
// every answer, the uncompressed ones included, so that caches key on it.
func (h *siteHandler) negotiate(header http.Header, r *http.Request, name string, info fs.FileInfo) string {
	haveBr := h.hasVariant(name+variantSuffixes["br"], info)
	haveGzip := h.hasVariant(name+variantSuffixes["gzip"], info)
	if !haveBr && !haveGzip {
		return ""
	}
	header.Add("Vary", "Accept-Encoding")
	return parseAcceptEncoding(r.Header.Values("Accept-Encoding")).choose(haveBr, haveGzip)
}

// fileName turns the path of a request into a name in the site's fs.FS:
// "/" is ".", "/js/app.js" is "js/app.js".
//
// It refuses paths that name a parent (".."), contain a backslash (a
// separator on Windows, so the same URL would mean different files on
// different systems), a NUL byte, or bytes that are not UTF-8. The page
// links to no such path; a client that asks for one gets a 400 saying why.
func fileName(urlPath string) (string, error) {
	if strings.Contains(urlPath, `\`) {
		return "", errors.New("path contains a backslash")
	}
	if strings.Contains(urlPath, "\x00") {
		return "", errors.New("path contains a NUL byte")
	}
	if !utf8.ValidString(urlPath) {
		// fs.FS names are UTF-8: such a path can name no file.
		return "", errors.New("path is not valid UTF-8 once decoded")
	}
	for segment := range strings.SplitSeq(urlPath, "/") {
		if segment == ".." {
			return "", errors.New(`path contains a ".." segment`)
		}
	}
	// Clean removes "." and empty segments; with the leading slash the
	// result never starts with "..".
	name := strings.TrimPrefix(path.Clean(urlPath), "/")
	if name == "" {
		return ".", nil
	}
	return name, nil
}

// open opens name and stats the open file rather than the name, so that
// size, time and ETag describe the very bytes that are sent even if a
// build replaces the file meanwhile.
func (h *siteHandler) open(name string) (fs.File, fs.FileInfo, error) {
	f, err := h.fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// hasVariant reports whether a precompressed file can stand in for the
// original: a regular file no older than it. An older one is left over
// from a previous build, and sending it would run yesterday's code.
func (h *siteHandler) hasVariant(name string, original fs.FileInfo) bool {
	info, err := fs.Stat(h.fsys, name)
	return err == nil && info.Mode().IsRegular() && !info.ModTime().Before(original.ModTime())
}

// notFound answers 404. Whatever the reason, the client learns only that
// there is no such file; reasons other than a missing file or folder go to
// the error log, where the developer can see them.
func (h *siteHandler) notFound(w http.ResponseWriter, name string, err error) {
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		h.errorLog.Printf("%s: %v", name, err)
	}
	http.Error(w, "404 page not found", http.StatusNotFound)
}

// redirectToFolder sends a client that asked for /sub to /sub/. The
// Location is built from the cleaned name, so it always starts with a
// single slash and stays on this host.
func redirectToFolder(w http.ResponseWriter, r *http.Request, name string) {
	target := url.URL{Path: "/" + name + "/", RawQuery: r.URL.RawQuery}
	w.Header().Set("Location", target.String())
	w.WriteHeader(http.StatusMovedPermanently)
}

// withoutRange returns r without its Range field. A precompressed variant
// is always sent whole: ranges of a coded body are legal, but no browser
// asks for them, and a multi-range answer (multipart/byteranges) under one
// Content-Encoding would be wrong, so the server does not offer them.
func withoutRange(r *http.Request) *http.Request {
	if r.Header.Get("Range") == "" {
		return r
	}
	r = r.Clone(r.Context())
	r.Header.Del("Range")
	return r
}

// etag is a strong validator made of the size and modification time of
// the file that is sent, plus its coding, so that every variant of a file
// has its own ETag even when sizes and times happen to be equal
// (RFC 9110 §8.8.3: different representations, different tags).
func etag(info fs.FileInfo, encoding string) string {
	tag := strconv.FormatInt(info.Size(), 16) + "-" + strconv.FormatInt(info.ModTime().UnixNano(), 16)
	if encoding != "" {
		tag += "-" + encoding
	}
	return `"` + tag + `"`
}
