//go:build !js

// Command server is the local development server for the webminiport page:
// it serves a folder (web/ by default) on 127.0.0.1:8080 with the headers
// the page needs (application/wasm, a CSP that allows WebAssembly,
// Permissions-Policy for WebUSB) and sends main.wasm precompressed when
// main.wasm.br or main.wasm.gz sit next to it.
//
//	go run ./server [-addr 127.0.0.1:8080] [-dir web]
//
// It stays on loopback by default because WebUSB only exists in a secure
// context, and http://127.0.0.1 is one. It stops cleanly on SIGINT or
// SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// Server timeouts. The server only reads requests without bodies, so the
// read limits are short; a client stuck sending headers is cut off by
// readHeaderTimeout instead of holding a connection forever.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	// main.wasm is several MB before compression; a minute covers it even
	// over a slow link, while a client that stops reading is still cut off.
	writeTimeout = time.Minute
	idleTimeout  = 2 * time.Minute
	// shutdownTimeout bounds how long a signal waits for requests in
	// flight before the remaining connections are closed.
	shutdownTimeout = 5 * time.Second
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command: it parses args, serves until SIGINT or SIGTERM,
// and returns the exit status (0 after a clean stop, 1 when the server
// cannot start or stop, 2 for bad flags). stdout gets the URL to open;
// stderr gets errors and warnings.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:8080", "`host:port` to listen on; keep it loopback for WebUSB")
	dir := flags.String("dir", "web", "`folder` to serve")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "server: unexpected argument %q (use -dir to choose the folder)\n", flags.Arg(0))
		return 2
	}

	// Registered before anything is printed, so that once the URL is out a
	// signal always means a clean stop.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := serve(ctx, *addr, *dir, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "server: %v\n", err)
		return 1
	}
	return 0
}

// serve serves dir on addr until ctx is done, then shuts down.
func serve(ctx context.Context, addr, dir string, stdout, stderr io.Writer) error {
	root, absDir, err := openFolder(dir)
	if err != nil {
		return err
	}
	defer root.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("cannot listen on %s: the port is already in use (another server running?); choose another with -addr", addr)
		}
		return fmt.Errorf("cannot listen on %s: %v", addr, err)
	}
	if !isLoopback(addr) {
		fmt.Fprint(stderr, nonLoopbackWarning(addr, absDir))
	}

	errorLog := log.New(stderr, "server: ", log.LstdFlags)
	srv := &http.Server{
		Handler:           newHandler(root.FS(), errorLog),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          errorLog,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "serving %s at %s\n", absDir, browserURL(addr, ln.Addr().(*net.TCPAddr).Port))

	select {
	case err := <-served:
		return fmt.Errorf("serving stopped: %v", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: requests still running after %v were cut off: %v", shutdownTimeout, err)
	}
	// Shutdown has closed the listener; Serve has returned ErrServerClosed.
	<-served
	return nil
}

// openFolder opens dir as an os.Root, the rooted file system the handler
// serves from: every open through it stays inside dir, symlinks included.
// It also returns dir's absolute path, for messages.
func openFolder(dir string) (*os.Root, string, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", fmt.Errorf("folder %q: %v", dir, err)
	}
	info, err := os.Stat(absDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, "", fmt.Errorf("folder %s does not exist (run from the repository root, or pass -dir)", absDir)
	case err != nil:
		return nil, "", fmt.Errorf("folder %s: %v", absDir, err)
	case !info.IsDir():
		return nil, "", fmt.Errorf("%s is not a folder (pass the folder to serve with -dir)", absDir)
	}
	root, err := os.OpenRoot(absDir)
	if err != nil {
		return nil, "", fmt.Errorf("folder %s: %v", absDir, err)
	}
	return root, absDir, nil
}
