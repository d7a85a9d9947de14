package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Cookie names. The session cookie holds the session's token; the form
// cookie holds the token that signed-out forms (sign in, sign up) repeat
// in their "csrf" field: a double submit, since there is no session yet
// to keep a secret in.
const (
	sessionCookie = "nightshift_session"
	formCookie    = "nightshift_csrf"
	csrfField     = "csrf"
	maxFormBody   = 64 << 10
)

type ctxKey int

const (
	signedInKey ctxKey = iota
	formTokenKey
)

// signedInOf returns the session of the request, if it is signed in.
func signedInOf(r *http.Request) (service.SignedIn, bool) {
	si, ok := r.Context().Value(signedInKey).(service.SignedIn)
	return si, ok
}

// contributorOf returns the signed-in contributor. Only handlers behind
// requireSignIn may call it: it is the one source of "whose data" for a
// page, never the URL.
func contributorOf(r *http.Request) workunits.Contributor {
	si, ok := signedInOf(r)
	if !ok {
		panic("web: contributorOf outside requireSignIn")
	}
	return si.Contributor
}

// setCookie sets an HttpOnly, SameSite=Lax cookie on the whole site,
// Secure when the request came over TLS. A zero expires makes a cookie
// that ends with the browser session; a negative maxAge deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil, Expires: expires, MaxAge: maxAge})
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	setCookie(w, r, sessionCookie, token, expires, int(time.Until(expires).Seconds()))
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	setCookie(w, r, name, "", time.Time{}, -1)
}

// loadSession puts the request's session, if any and live, in its context,
// renews a cookie whose session was extended and drops one that has ended.
func (s *server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		si, err := s.svc.SessionContributor(r.Context(), c.Value)
		switch {
		case workunits.ErrorCode(err) == workunits.EUNAUTHORIZED:
			clearCookie(w, r, sessionCookie)
			next.ServeHTTP(w, r)
			return
		case err != nil:
			s.fail(w, r, err)
			return
		}
		if si.Extended {
			setSessionCookie(w, r, c.Value, si.ExpiresAt)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), signedInKey, si)))
	})
}

// requireSignIn sends a signed-out request to the sign-in page, which
// brings them back here afterwards.
func (s *server) requireSignIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := signedInOf(r); !ok {
			target := "/signin"
			if r.Method == http.MethodGet && r.URL.RequestURI() != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireCSRF refuses a signed-in POST whose form lacks the session's token.
func (s *server) requireCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		si, _ := signedInOf(r)
		err := parseForm(w, r)
		if isTooLarge(err) {
			s.formTooLarge(w, r)
			return
		}
		if err != nil || !si.CheckCSRF(r.PostFormValue(csrfField)) {
			s.csrfRefused(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireFormCookie refuses a signed-out form whose token does not match
// the form cookie set when the form was shown.
func (s *server) requireFormCookie(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		formErr := parseForm(w, r)
		if isTooLarge(formErr) {
			s.formTooLarge(w, r)
			return
		}
		c, err := r.Cookie(formCookie)
		if formErr != nil || err != nil || c.Value == "" ||
			subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(csrfField))) != 1 {
			s.csrfRefused(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) csrfRefused(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusForbidden, "error", view{Title: "Form refused",
		Error: "This form was refused: its security token is missing, out of date or from another site. " +
			"Go back, reload the page and try again. (If it keeps happening, allow cookies for this site.)"})
}

// parseForm reads a form body of at most maxFormBody bytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	return r.ParseForm()
}

func isTooLarge(err error) bool {
	var tooBig *http.MaxBytesError
	return errors.As(err, &tooBig)
}

// withFormToken gives a signed-out form page the token its form repeats,
// from the form cookie (set now if missing), so that several tabs share it.
func withFormToken(w http.ResponseWriter, r *http.Request) *http.Request {
	token := ""
	if c, err := r.Cookie(formCookie); err == nil && strings.HasPrefix(c.Value, formTokenPrefix) && len(c.Value) < 100 {
		token = c.Value
	} else {
		token = service.NewKey(formTokenPrefix)
		setCookie(w, r, formCookie, token, time.Time{}, 0)
	}
	return r.WithContext(context.WithValue(r.Context(), formTokenKey, token))
}

const formTokenPrefix = "nsf_"

// formToken is the token withFormToken chose, or the one the request's
// form cookie holds (to show a refused form again).
func formToken(r *http.Request) string {
	if t, ok := r.Context().Value(formTokenKey).(string); ok {
		return t
	}
	if c, err := r.Cookie(formCookie); err == nil {
		return c.Value
	}
	return ""
}

// localPath returns next if it is a path on this site, and "/" otherwise,
// so that a sign-in link cannot send anyone elsewhere.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Path == "/signin" || u.Path == "/signout" || u.Path == "/signup" {
		return "/"
	}
	return next
}

// securityHeaders keeps pages out of frames and caches and allows only the
// site's own scripts and styles.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
