package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

//go:embed templates static
var assets embed.FS

// navItem is one link of the main navigation; Key is what a page sets as
// its Nav to be marked current.
type navItem struct{ Key, Label, Path string }

var nav = []navItem{
	{"home", "Home", "/"},
	{"hosts", "Hosts", "/hosts"},
	{"tasks", "Tasks", "/tasks"},
	{"payouts", "Payouts", "/payouts"},
	{"leaderboard", "Leaderboard", "/leaderboard"},
	{"projects", "Projects", "/projects"},
	{"preferences", "Preferences", "/preferences"},
	{"account", "Account", "/account"},
}

// view is what every page's template gets: the layout's needs and the
// page's own Data.
type view struct {
	Title       string
	Nav         string                 // the current navItem's Key
	Contributor *workunits.Contributor // nil when signed out
	CSRF        string                 // the token every POST form carries as "csrf"
	Notice      string                 // a success to announce
	Error       string                 // what is wrong, shown above the content
	Data        any
	NavItems    []navItem
	Origin      string // this site's scheme and host, for commands to copy
}

// pages holds one template set per page: layout.html and partials plus the
// page's own file, which defines "content".
type pages map[string]*template.Template

var funcs = template.FuncMap{
	"money": formatMoney,
	"currency": func() string {
		return payouts.Currency
	},
	"credit": func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"attach": func(origin, key string) attachCommand { return attachCommand{Coordinator: origin, Key: key} },
}

// attachCommand fills the "attach" template: the worker command that
// attaches a PC with an account key.
type attachCommand struct{ Coordinator, Key string }

func parsePages() pages {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(assets, "templates/layout.html"))
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := pages{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(assets, f))
	}
	return out
}

// render writes a page with the given status. The page is rendered to a
// buffer first, so a template error is a clean 500, not half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	if si, ok := signedInOf(r); ok {
		c := si.Contributor
		v.Contributor, v.CSRF = &c, si.CSRFToken
	} else if v.CSRF == "" {
		v.CSRF = formToken(r)
	}
	v.NavItems = nav
	v.Origin = "http://" + r.Host
	if r.TLS != nil {
		v.Origin = "https://" + r.Host
	}
	t, ok := s.pages[page]
	var buf bytes.Buffer
	if !ok {
		s.log.Error("no such page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("rendering a page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail renders the error page for err: what is wrong for a client's
// mistake, only "something went wrong" (and a log line) for ours.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := api.HTTPStatus(workunits.ErrorCode(err))
	msg := workunits.ErrorMessage(err)
	if status >= 500 {
		s.log.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "Something went wrong on our side. Please try again in a moment."
	}
	s.render(w, r, status, "error", view{Title: http.StatusText(status), Error: msg})
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSONError(w, http.StatusNotFound, workunits.ENOTFOUND, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
		return
	}
	// With the session, so that a signed-in contributor keeps their
	// navigation on a missing page.
	securityHeaders(s.loadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusNotFound, "error", view{Title: "Page not found",
			Error: fmt.Sprintf("There is no page at %s.", r.URL.Path)})
	}))).ServeHTTP(w, r)
}

func (s *server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusMethodNotAllowed, "error", view{Title: "Method not allowed",
			Error: fmt.Sprintf("%s is not allowed on %s.", r.Method, r.URL.Path)})
	})).ServeHTTP(w, r)
}

// writeJSONError answers a path under /api/ that no API route serves in the
// API's error shape.
func writeJSONError(w http.ResponseWriter, status int, code workunits.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": string(code), "message": msg}})
}

// formatMoney shows micro-units with at least two decimals and no
// trailing zeros beyond them: 12.5 → "12.50", 0.000123 → "0.000123".
func formatMoney(micros int64) string {
	s := payouts.FormatMicros(micros)
	dot := strings.IndexByte(s, '.')
	for len(s) > dot+3 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	return s
}

// staticHandler serves the embedded stylesheet and script. They change only
// with the binary, so browsers may keep them for an hour.
func staticHandler() http.Handler {
	sub, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
