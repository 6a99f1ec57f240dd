// Package site is the plumbing the example servers share, kept out of their
// main.go files so that those show the hub alone: it finds the official
// socket.io-client browser bundle in examples/node_modules (installed with
// `npm ci --prefix examples`; this repository holds none of its code) for
// the hub to serve (hub.Options.ClientFiles), serves the pages' common
// stylesheet and script, and runs an http.Server that prints its URL and
// stops gracefully on Ctrl-C.
//
// Call [ClientFiles] to find the bundle, [Mount] to add the common assets
// to a mux, then [Run].
package site

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// DistPath is where npm puts the browser bundle, relative to examples/.
const DistPath = "node_modules/socket.io-client/dist"

// ErrNoClientFiles reports that the socket.io-client bundle is not installed.
var ErrNoClientFiles = errors.New("site: socket.io-client browser bundle not found; run `npm ci --prefix examples` in the repository root (or pass -client-dist DIR, the dist directory of socket.io-client)")

//go:embed static
var static embed.FS

// ClientFiles finds the socket.io-client package's dist directory, for
// hub.Options.ClientFiles. With dir set (the -client-dist flag) it takes
// that directory; otherwise it looks for examples/node_modules relative to
// the working directory (the repository root, examples/ or examples/NAME)
// and to this source file. A directory without socket.io.js is reported
// with [ErrNoClientFiles], telling the user what to run.
func ClientFiles(dir string) (fs.FS, error) {
	candidates := []string{dir}
	if dir == "" {
		candidates = []string{
			filepath.Join("examples", DistPath),
			DistPath,
			filepath.Join("..", DistPath),
		}
		if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
			// file is examples/internal/site/site.go when built from a checkout.
			candidates = append(candidates, filepath.Join(filepath.Dir(file), "..", "..", DistPath))
		}
	}
	for _, c := range candidates {
		_, err := os.Stat(filepath.Join(c, "socket.io.js"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("site: looking for the socket.io-client bundle: %w", err)
		}
		return os.DirFS(c), nil
	}
	if dir != "" {
		return nil, fmt.Errorf("%w (no socket.io.js in %s)", ErrNoClientFiles, dir)
	}
	return nil, ErrNoClientFiles
}

// Mount adds the pages' shared assets to mux, at /assets/ (style.css,
// page.js). The hub serves the client bundle itself, at
// /socket.io/socket.io.js.
func Mount(mux *http.ServeMux) {
	assets, _ := fs.Sub(static, "static")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
}

// Page returns a handler that serves one embedded HTML page.
func Page(fsys fs.FS, name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			http.Error(w, "page not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(data)
	}
}

// Run listens on addr, prints the URLs of paths (e.g. "/",
// "/message.html") so a user can open them, and serves handler until
// SIGINT or SIGTERM; then it calls shutdown (the hub's Shutdown, which
// disconnects the clients) and stops the http.Server, in that order.
func Run(name, addr string, handler http.Handler, shutdown func(context.Context) error, paths ...string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + browserHost(ln.Addr().(*net.TCPAddr))
	for _, p := range paths {
		fmt.Printf("%s: open %s%s\n", name, base, p)
	}
	fmt.Printf("%s: listening on %s (Ctrl-C stops)\n", name, base)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, name, ln, handler, shutdown)
}

// serve serves handler on ln until ctx ends, then stops the hub (shutdown)
// and the http.Server, in that order, within 5 seconds.
func serve(ctx context.Context, name string, ln net.Listener, handler http.Handler, shutdown func(context.Context) error) error {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info(name + ": shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The hub first: it tells every client (WebSocket close, long-polling
	// close packet) and answers the polling requests it holds open, which
	// the http.Server's Shutdown would wait for until sctx ends. The
	// server then has nothing of the hub's left to wait for (it never
	// waits for WebSockets).
	err := shutdown(sctx)
	err = errors.Join(err, srv.Shutdown(sctx))
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// browserHost turns a listening address into one a browser can open:
// an unspecified IP (":8080") becomes localhost.
func browserHost(a *net.TCPAddr) string {
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, fmt.Sprint(a.Port))
}
