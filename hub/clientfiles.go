package hub

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Content types of the client bundle's files, as socket.io serves them.
const (
	typeJS  = "application/javascript; charset=utf-8"
	typeMap = "application/json; charset=utf-8"
)

// clientFileTypes are the file names socket.io's serveClient answers
// under its path, with the content type this hub serves them with; ""
// for the msgpack bundle, which has socket.io-msgpack-parser built in:
// served only by a hub with that parser (Options.Parser).
var clientFileTypes = map[string]string{
	"socket.io.js":                 typeJS,
	"socket.io.js.map":             typeMap,
	"socket.io.min.js":             typeJS,
	"socket.io.min.js.map":         typeMap,
	"socket.io.esm.min.js":         typeJS,
	"socket.io.esm.min.js.map":     typeMap,
	"socket.io.msgpack.min.js":     "",
	"socket.io.msgpack.min.js.map": "",
}

// Bodies of the 404 answers for a bundle file that is not served.
const (
	notServedBody = "hub: the socket.io client bundle is not served. Install it with `npm install socket.io-client` " +
		"and give its dist directory to the hub: hub.Options{ClientFiles: os.DirFS(\"node_modules/socket.io-client/dist\")} " +
		"(or an embedded copy, see the README of github.com/go-realtime/realtime).\n"
	msgpackBody = "hub: the msgpack bundle is not served: this hub speaks socket.io's default parser; " +
		"load socket.io.js or socket.io.min.js, or set hub.Options{Parser: hub.MsgpackParser}.\n"
)

// clientFiles serves the socket.io-client bundle from Options.ClientFiles.
type clientFiles struct {
	fsys    fs.FS // nil: not served
	msgpack bool  // the hub uses the msgpack parser: its bundle is served too
	logger  *slog.Logger
	warned  atomic.Bool // the missing option has been logged

	mu    sync.Mutex
	files map[string]*clientFile // read so far
}

// clientFile is one file of the bundle, read once.
type clientFile struct {
	data  []byte
	etag  string
	ctype string
}

func newClientFiles(fsys fs.FS, parser Parser, logger *slog.Logger) *clientFiles {
	c := &clientFiles{fsys: fsys, msgpack: parser == MsgpackParser, logger: logger, files: make(map[string]*clientFile)}
	if fsys == nil {
		return c
	}
	// The usual mistake: the package directory rather than its dist.
	if c.exists("socket.io.js") || c.exists("socket.io.min.js") {
		return c
	}
	hint := "give it the dist directory of the socket.io-client npm package, e.g. os.DirFS(\"node_modules/socket.io-client/dist\")"
	if c.exists("dist/socket.io.js") {
		hint = "it holds dist/socket.io.js: give it fs.Sub(fsys, \"dist\")"
	}
	logger.Warn("hub: Options.ClientFiles has no socket.io.js nor socket.io.min.js; " + hint)
	return c
}

// exists reports whether name is in the file system; a file system that
// panics has nothing.
func (c *clientFiles) exists(name string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_, err := fs.Stat(c.fsys, name)
	return err == nil
}

// serve answers a request for name, the path below the hub's, if it is
// one of the bundle's files, and reports whether it was.
func (c *clientFiles) serve(w http.ResponseWriter, r *http.Request, name string) bool {
	ctype, ok := c.fileType(name)
	if !ok {
		return false
	}
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "hub: "+name+" answers GET and HEAD only", http.StatusMethodNotAllowed)
	case ctype == "":
		http.Error(w, msgpackBody, http.StatusNotFound)
	case c.fsys == nil:
		if !c.warned.Swap(true) {
			c.logger.Warn("hub: a page asked for the socket.io client bundle, which is not served; set Options.ClientFiles",
				"path", r.URL.Path)
		}
		http.Error(w, notServedBody, http.StatusNotFound)
	default:
		f, err := c.load(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			http.Error(w, "hub: "+name+" is not in Options.ClientFiles (is it the dist directory of the socket.io-client package?)", http.StatusNotFound)
		case err != nil:
			c.logger.Error("hub: reading the socket.io client bundle", "file", name, "err", err)
			http.Error(w, "hub: cannot read "+name, http.StatusInternalServerError)
		default:
			h := w.Header()
			h.Set("Cache-Control", "public, max-age=0")
			h.Set("Content-Type", f.ctype)
			h.Set("ETag", f.etag)
			// Answers If-None-Match with 304, HEAD and ranges.
			http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
		}
	}
	return true
}

// fileType is the content type name is served with ("": not served), and
// whether it is one of the bundle's files.
func (c *clientFiles) fileType(name string) (string, bool) {
	ctype, ok := clientFileTypes[name]
	if ctype == "" && ok && c.msgpack {
		ctype = typeJS
		if strings.HasSuffix(name, ".map") {
			ctype = typeMap
		}
	}
	return ctype, ok
}

// load returns the file called name, reading it on first use.
func (c *clientFiles) load(name string) (*clientFile, error) {
	c.mu.Lock()
	f := c.files[name]
	c.mu.Unlock()
	if f != nil {
		return f, nil
	}
	data, err := c.read(name) // not under c.mu: the file system is the application's
	if err != nil {
		return nil, err
	}
	ctype, _ := c.fileType(name)
	f = &clientFile{data: data, etag: etag(data), ctype: ctype}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.files[name]; prev != nil {
		return prev, nil
	}
	c.files[name] = f
	return f, nil
}

// read reads name from the file system, turning a panic into an error.
func (c *clientFiles) read(name string) (data []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.logger.Error("hub: Options.ClientFiles panicked", "file", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			data, err = nil, fmt.Errorf("hub: reading %s: panic: %v", name, p)
		}
	}()
	return fs.ReadFile(c.fsys, name)
}

// etag is a file's strong ETag: the client's version from the bundle's
// banner ("Socket.IO v4.8.1"; socket.io's own ETag is its version), and
// a digest of the content, so that a changed file never matches.
func etag(data []byte) string {
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:8])
	if v := bundleVersion(data); v != "" {
		return `"` + v + "-" + digest + `"`
	}
	return `"` + digest + `"`
}

// bundleVersion returns the version in the banner at the start of a
// socket.io-client bundle, or "".
func bundleVersion(data []byte) string {
	head := data[:min(len(data), 512)]
	_, after, ok := bytes.Cut(head, []byte("Socket.IO v"))
	if !ok {
		return ""
	}
	n := 0
	for n < len(after) && n < 32 && versionByte(after[n]) {
		n++
	}
	return string(after[:n])
}

func versionByte(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '.' || b == '-' || b == '+'
}
