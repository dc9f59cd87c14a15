// Package frontend serves a built single-page front end (FRONTEND_DIR) on the API's origin, as
// the reference deployment's web server does: its files as they are, index.html for every other
// path (the app routes in the browser: /abc-defg-hij is a room page), index.html revalidated on
// every load so that a new build is picked up, and the content-hashed assets/ cached for good.
package frontend

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"
)

const (
	indexFile = "index.html"
	// assetsDir holds the bundler's output, whose names carry a hash of their content: a changed
	// file has a new name, so a cached one never goes stale.
	assetsDir = "assets/"

	revalidate = "no-cache"
	immutable  = "public, max-age=31536000, immutable"
)

// Handler serves the files of one directory.
type Handler struct {
	dir string
}

var _ http.Handler = (*Handler)(nil)

// New serves dir, which must be a directory holding index.html (a build's output).
func New(dir string) (*Handler, error) {
	info, err := os.Stat(path.Join(dir, indexFile))
	if err != nil {
		return nil, fmt.Errorf("front end directory %q: %w", dir, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("front end directory %q: %s is not a file", dir, indexFile)
	}
	return &Handler{dir: dir}, nil
}

// ServeHTTP answers GET and HEAD with a file of the directory, or index.html for a path that
// names none. A missing file under assets/ is a 404: a stale page asking for an old bundle must
// not get HTML back as its script.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Cleaned as a rooted path, the name cannot climb out of the directory; os.OpenInRoot also
	// refuses symbolic links that would.
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name != "" && h.serveFile(w, r, name) {
		return
	}
	if strings.HasPrefix(name, assetsDir) {
		http.NotFound(w, r)
		return
	}
	if !h.serveFile(w, r, indexFile) {
		http.Error(w, "front end index.html is missing", http.StatusInternalServerError)
	}
}

// serveFile serves name when it is a regular file of the directory; false when there is none.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string) bool {
	f, err := os.OpenInRoot(h.dir, name)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	if strings.HasPrefix(name, assetsDir) {
		w.Header().Set("Cache-Control", immutable)
	} else {
		// index.html above all, and the other files at the root (icons, manifest), whose names
		// do not change with their content.
		w.Header().Set("Cache-Control", revalidate)
	}
	http.ServeContent(w, r, name, info.ModTime(), f)
	return true
}
