// Package web serves the contributor dashboard: server-rendered HTML pages
// over a service.Service, every asset embedded, usable without JavaScript.
//
// A page is a handler in this package, a template in templates/ (which
// defines "content" and is rendered inside layout.html) and a line in
// routes. Signed-in pages read the contributor only from the session
// (contributorOf), never from the URL.
package web

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/nightshift-platform/nightshift/coordinator/ratelimit"
	"github.com/nightshift-platform/nightshift/coordinator/service"
)

// Options configure the dashboard. The zero value is usable.
type Options struct {
	// ClientIP names the client of a request, for the sign-in rate limit;
	// nil: the address the connection comes from. Behind a reverse proxy,
	// set it to read the proxy's header, or every sign-in counts against
	// the proxy's address.
	ClientIP func(*http.Request) string
	// Anonymous limits sign-ups and sign-in attempts per client address
	// (ratelimit.AddrKey of ClientIP); nil: no limit beyond the sign-in
	// limiter's count of failures.
	Anonymous *ratelimit.Limiter
}

type server struct {
	svc       *service.Service
	log       *slog.Logger
	clientIP  func(*http.Request) string
	anonymous *ratelimit.Limiter
	pages     pages
}

// New returns the dashboard's handler, a chi router (so that its routes can
// be walked), to be mounted at "/".
func New(svc *service.Service, log *slog.Logger, opts Options) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	s := &server{svc: svc, log: log, clientIP: opts.ClientIP, anonymous: opts.Anonymous, pages: parsePages()}
	if s.clientIP == nil {
		s.clientIP = remoteIP
	}
	r := chi.NewRouter()
	s.routes(r)
	return r
}

// routes is the whole dashboard on one screen.
func (s *server) routes(r chi.Router) {
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)
	r.Handle("/static/*", staticHandler())

	r.Group(func(r chi.Router) {
		r.Use(securityHeaders, s.loadSession)

		// Signed out: the forms carry a double-submit cookie's token.
		r.Get("/signup", s.handleSignUpForm())
		r.With(s.limitAnonymous, s.requireFormCookie).Post("/signup", s.handleSignUp())
		r.Get("/signin", s.handleSignInForm())
		r.With(s.limitAnonymous, s.requireFormCookie).Post("/signin", s.handleSignIn())
		r.Post("/signout", s.handleSignOut())

		// Signed in: every form carries the session's CSRF token.
		r.Group(func(r chi.Router) {
			r.Use(s.requireSignIn, s.requireCSRF)
			r.Get("/", s.handleHome())
			r.Get("/account", s.handleAccount())
			r.Post("/account/key", s.handleAccountKey())
			r.Post("/account/profile", s.handleAccountProfile())
			r.Get("/tasks", s.handleTasks())
			r.Get("/payouts", s.handlePayouts())
			r.Get("/payouts/statement.csv", s.handleStatement())
			r.Post("/payouts/settings", s.handlePayoutSettings())
			// Community pages: hosts, preferences, leaderboard, projects.
			r.Get("/hosts", s.handleHosts())
			r.Get("/preferences", s.handlePreferences())
			r.Post("/preferences", s.handlePreferencesSave())
			r.Get("/leaderboard", s.handleLeaderboard())
			r.Get("/projects", s.handleProjects())
		})
	})
}

// remoteIP is the host part of the connection's address.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
