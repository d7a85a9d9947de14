package web

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store/sqlite"
)

// testEnv is the dashboard on a fresh SQLite store, served by httptest, and
// a browser-like client that keeps cookies and does not follow redirects.
type testEnv struct {
	t      *testing.T
	svc    *service.Service
	srv    *httptest.Server
	client *http.Client
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	svc := service.New(service.Options{Store: st, Logger: log, PasswordCost: bcrypt.MinCost})
	srv := httptest.NewServer(New(svc, log, Options{}))
	t.Cleanup(srv.Close)
	return &testEnv{t: t, svc: svc, srv: srv, client: newClient(t)}
}

func newClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// response is a finished response with its body read.
type response struct {
	*http.Response
	body string
}

func (e *testEnv) do(c *http.Client, method, path string, form url.Values) response {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{resp, string(b)}
}

func (e *testEnv) get(path string) response { e.t.Helper(); return e.do(e.client, "GET", path, nil) }
func (e *testEnv) post(path string, form url.Values) response {
	e.t.Helper()
	return e.do(e.client, "POST", path, form)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the CSRF token a page's forms carry.
func csrfOf(t *testing.T, r response) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no csrf field on the page:\n%s", r.body)
	}
	return m[1]
}

func want(t *testing.T, r response, status int, texts ...string) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s %s: status %d, want %d; body:\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	for _, s := range texts {
		if !strings.Contains(r.body, s) {
			t.Errorf("%s %s: the page does not say %q:\n%s", r.Request.Method, r.Request.URL.Path, s, r.body)
		}
	}
}

func wantRedirect(t *testing.T, r response, location string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != location {
		t.Errorf("%s %s: status %d to %q, want 303 to %q", r.Request.Method, r.Request.URL, r.StatusCode, r.Header.Get("Location"), location)
	}
}

const testPassword = "correct horse battery"

// signUp signs up through the form and returns the account key shown.
func (e *testEnv) signUp(email string) string {
	e.t.Helper()
	form := e.get("/signup")
	r := e.post("/signup", url.Values{"csrf": {csrfOf(e.t, form)}, "name": {"Ada"}, "email": {email}, "password": {testPassword}})
	want(e.t, r, http.StatusCreated, "Your account key")
	key := regexp.MustCompile(`nsa_[A-Za-z0-9_-]+`).FindString(r.body)
	if key == "" {
		e.t.Fatalf("no account key on the sign-up page:\n%s", r.body)
	}
	return key
}

func cookieOf(r response, name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSignedOutPagesRedirectToSignIn(t *testing.T) {
	e := newTestEnv(t)
	wantRedirect(t, e.get("/"), "/signin")
	wantRedirect(t, e.get("/account?tab=key"), "/signin?next=%2Faccount%3Ftab%3Dkey")
	wantRedirect(t, e.post("/account/key", url.Values{"csrf": {"x"}}), "/signin")
	// A stale session cookie is dropped, and still redirected.
	e.client.Jar.SetCookies(mustURL(t, e.srv.URL), []*http.Cookie{{Name: sessionCookie, Value: service.SessionTokenPrefix + "gone"}})
	r := e.get("/")
	wantRedirect(t, r, "/signin")
	if c := cookieOf(r, sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("a stale session cookie was not deleted: %v", c)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSignUpShowsKeyOnceAndSignsIn(t *testing.T) {
	e := newTestEnv(t)
	form := e.get("/signup")
	want(t, form, http.StatusOK, `<label for="email">`, `<label for="password">`, `<label for="name">`)
	if c := cookieOf(form, formCookie); c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("the sign-up form's cookie = %+v, want HttpOnly and SameSite=Lax", c)
	}
	r := e.post("/signup", url.Values{"csrf": {csrfOf(t, form)}, "name": {"Ada"}, "email": {" Ada@Example.org "}, "password": {testPassword}})
	want(t, r, http.StatusCreated, "Your account key", "nightshift-worker attach --coordinator "+e.srv.URL+" --account-key nsa_")
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with the key has Cache-Control %q, want no-store", cc)
	}
	c := cookieOf(r, sessionCookie)
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.MaxAge < 29*24*3600 {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP, lasting 30 days", c)
	}
	key := regexp.MustCompile(`nsa_[A-Za-z0-9_-]+`).FindString(r.body)
	if got, err := e.svc.AuthContributor(t.Context(), key); err != nil || got.Email != "Ada@Example.org" {
		t.Errorf("the key shown = %q attaches %+v, %v; want the new account", key, got, err)
	}
	home := e.get("/")
	want(t, home, http.StatusOK, `id="pending">0.00<`, `id="available">0.00<`, `id="inflight">0.00<`, `id="paid">0.00<`,
		`id="credit">0.00<`, "Ada@Example.org", `aria-current="page">Home`)
	if strings.Contains(home.body, key) {
		t.Errorf("the home page shows the account key again")
	}
	// Signed in, the sign-up and sign-in pages send to the dashboard.
	wantRedirect(t, e.get("/signup"), "/")
	wantRedirect(t, e.get("/signin?next=/account"), "/account")
}

func TestSignUpRefusesBadInputWithAPage(t *testing.T) {
	e := newTestEnv(t)
	e.signUp("ada@example.org")
	other := newClient(t)
	form := e.do(other, "GET", "/signup", nil)
	token := csrfOf(t, form)
	tests := []struct {
		name     string
		form     url.Values
		status   int
		says     string
		password string
	}{
		{"short password", url.Values{"name": {"Bob"}, "email": {"bob@example.org"}, "password": {"short pw"}}, 400, "at least 10 characters", "short pw"},
		{"bad email", url.Values{"name": {"Bob"}, "email": {"bob at example"}, "password": {testPassword}}, 400, "is not an email address", testPassword},
		{"taken email", url.Values{"name": {"Bob"}, "email": {"ADA@example.org"}, "password": {testPassword}}, 409, "already exists", testPassword},
		{"no name", url.Values{"email": {"bob@example.org"}, "password": {testPassword}}, 400, "name is required", testPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("csrf", token)
			r := e.do(other, "POST", "/signup", tt.form)
			want(t, r, tt.status, tt.says, `value="`+tt.form.Get("email")+`"`, `role="alert"`)
			if strings.Contains(r.body, tt.password) {
				t.Errorf("the refused form shows the password again")
			}
			if cookieOf(r, sessionCookie) != nil {
				t.Errorf("a refused sign-up set a session cookie")
			}
		})
	}
}

func TestFormsWithoutTheirTokenAreRefused(t *testing.T) {
	e := newTestEnv(t)
	e.signUp("ada@example.org")
	account := e.get("/account")
	token := csrfOf(t, account)

	for _, tt := range []struct {
		name string
		path string
		form url.Values
	}{
		{"profile without token", "/account/profile", url.Values{"display_name": {"Mallory"}, "leaderboard": {"on"}}},
		{"profile with another token", "/account/profile", url.Values{"csrf": {token + "x"}, "display_name": {"Mallory"}, "leaderboard": {"on"}}},
		{"new key without token", "/account/key", url.Values{}},
		{"sign out without token", "/signout", url.Values{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want(t, e.post(tt.path, tt.form), http.StatusForbidden, "This form was refused")
		})
	}
	// Nothing changed: still signed in, the profile as it was.
	r := e.get("/account")
	want(t, r, http.StatusOK, `value="Ada"`)
	if strings.Contains(r.body, "Mallory") || strings.Contains(r.body, "checked") {
		t.Errorf("a refused form changed the profile:\n%s", r.body)
	}

	// Signed-out forms: the token must match the form cookie.
	stranger := newClient(t)
	noCookie := e.do(stranger, "POST", "/signin", url.Values{"csrf": {token}, "email": {"ada@example.org"}, "password": {testPassword}})
	want(t, noCookie, http.StatusForbidden, "This form was refused")
	form := e.do(stranger, "GET", "/signin", nil)
	wrong := e.do(stranger, "POST", "/signin", url.Values{"csrf": {csrfOf(t, form) + "x"}, "email": {"ada@example.org"}, "password": {testPassword}})
	want(t, wrong, http.StatusForbidden, "This form was refused")
	if cookieOf(noCookie, sessionCookie) != nil || cookieOf(wrong, sessionCookie) != nil {
		t.Errorf("a refused sign-in set a session cookie")
	}
	signup := e.do(stranger, "POST", "/signup", url.Values{"name": {"M"}, "email": {"m@example.org"}, "password": {testPassword}})
	want(t, signup, http.StatusForbidden, "This form was refused")
}

func TestSignInAndOut(t *testing.T) {
	e := newTestEnv(t)
	e.signUp("ada@example.org")
	other := newClient(t)
	form := e.do(other, "GET", "/signin?next=/account", nil)
	want(t, form, http.StatusOK, `name="next" value="/account"`)
	r := e.do(other, "POST", "/signin", url.Values{"csrf": {csrfOf(t, form)}, "next": {"/account"}, "email": {"ADA@example.org"}, "password": {testPassword}})
	wantRedirect(t, r, "/account")
	token := cookieOf(r, sessionCookie).Value
	account := e.do(other, "GET", "/account", nil)
	want(t, account, http.StatusOK, "ada@example.org")

	out := e.do(other, "POST", "/signout", url.Values{"csrf": {csrfOf(t, account)}})
	wantRedirect(t, out, "/signin?signed_out=1")
	if c := cookieOf(out, sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("signing out did not delete the cookie: %+v", c)
	}
	if _, err := e.svc.SessionContributor(t.Context(), token); err == nil {
		t.Errorf("the session still works after signing out")
	}
	wantRedirect(t, e.do(other, "GET", "/", nil), "/signin")
	want(t, e.do(other, "GET", "/signin?signed_out=1", nil), http.StatusOK, "You have signed out.")
	// The other browser is still signed in.
	want(t, e.get("/"), http.StatusOK, "ada@example.org")

	wrong := e.do(other, "POST", "/signin", url.Values{"csrf": {csrfOf(t, form)}, "email": {"ada@example.org"}, "password": {"not the password"}})
	want(t, wrong, http.StatusUnauthorized, "wrong email or password", `value="ada@example.org"`)
}

func TestSignInRateLimitAnswers429(t *testing.T) {
	e := newTestEnv(t)
	e.signUp("ada@example.org")
	e.client = newClient(t) // another browser, signed out
	form := e.get("/signin")
	token := csrfOf(t, form)
	for range 5 {
		r := e.post("/signin", url.Values{"csrf": {token}, "email": {"ada@example.org"}, "password": {"not the password"}})
		want(t, r, http.StatusUnauthorized, "wrong email or password")
	}
	r := e.post("/signin", url.Values{"csrf": {token}, "email": {"ada@example.org"}, "password": {testPassword}})
	want(t, r, http.StatusTooManyRequests, "too many failed sign-ins")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q, want the seconds to wait", ra)
	}
}

func TestNextIsOnlyALocalPath(t *testing.T) {
	for next, want := range map[string]string{
		"/account":                "/account",
		"/tasks?state=valid":      "/tasks?state=valid",
		"":                        "/",
		"https://evil.example/":   "/",
		"//evil.example/":         "/",
		"/\\evil.example":         "/",
		"evil.example":            "/",
		"/signout":                "/",
		"javascript:alert(1)":     "/",
		"/%0d%0aSet-Cookie:x=y":   "/%0d%0aSet-Cookie:x=y", // escaped: harmless in a Location
		"/a\r\nSet-Cookie: x=y":   "/",
		"http:/evil.example/path": "/",
	} {
		if got := localPath(next); got != want {
			t.Errorf("localPath(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestAccountKeyAndProfile(t *testing.T) {
	e := newTestEnv(t)
	oldKey := e.signUp("ada@example.org")
	account := e.get("/account")
	want(t, account, http.StatusOK, "cannot be shown again")
	if strings.Contains(account.body, oldKey) {
		t.Errorf("the account page shows the key again")
	}
	token := csrfOf(t, account)
	r := e.post("/account/key", url.Values{"csrf": {token}})
	want(t, r, http.StatusOK, "Your new account key")
	newKey := regexp.MustCompile(`nsa_[A-Za-z0-9_-]+`).FindString(r.body)
	if newKey == "" || newKey == oldKey {
		t.Fatalf("new key %q, old %q", newKey, oldKey)
	}
	if _, err := e.svc.AuthContributor(t.Context(), oldKey); err == nil {
		t.Errorf("the old key still works")
	}
	if _, err := e.svc.AuthContributor(t.Context(), newKey); err != nil {
		t.Errorf("the new key does not work: %v", err)
	}

	bad := e.post("/account/profile", url.Values{"csrf": {token}, "display_name": {" "}, "leaderboard": {"on"}})
	want(t, bad, http.StatusBadRequest, "a display name is required to appear on the leaderboard")
	wantRedirect(t, e.post("/account/profile", url.Values{"csrf": {token}, "display_name": {"Night owl"}, "leaderboard": {"on"}}), "/account?saved=1")
	want(t, e.get("/account?saved=1"), http.StatusOK, "Your profile is saved.", `value="Night owl"`, "checked")
}

func TestEachContributorSeesTheirOwnPages(t *testing.T) {
	e := newTestEnv(t)
	e.signUp("ada@example.org")
	bob := newClient(t)
	form := e.do(bob, "GET", "/signup", nil)
	want(t, e.do(bob, "POST", "/signup", url.Values{"csrf": {csrfOf(t, form)}, "name": {"Bob"}, "email": {"bob@example.org"}, "password": {testPassword}}),
		http.StatusCreated)
	for _, path := range []string{"/", "/account", "/?contributor=1", "/account?id=1"} {
		r := e.do(bob, "GET", path, nil)
		want(t, r, http.StatusOK, "bob@example.org")
		if strings.Contains(r.body, "ada@example.org") {
			t.Errorf("Bob's %s shows Ada's account", path)
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	e := newTestEnv(t)
	want(t, e.get("/no-such-page"), http.StatusNotFound, "There is no page at /no-such-page")
	r := e.get("/api/v9/nothing")
	if r.StatusCode != http.StatusNotFound || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || !strings.Contains(r.body, `"code":"not_found"`) {
		t.Errorf("GET /api/v9/nothing = %d %q %s, want a JSON 404", r.StatusCode, r.Header.Get("Content-Type"), r.body)
	}
	want(t, e.do(e.client, "PUT", "/signin", url.Values{}), http.StatusMethodNotAllowed, "PUT is not allowed on /signin")
	// Signed in, a missing page keeps the signed-in navigation.
	e.signUp("ada@example.org")
	want(t, e.get("/no-such-page"), http.StatusNotFound, "There is no page at /no-such-page", "Sign out")
	css := e.get("/static/style.css")
	if css.StatusCode != 200 || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /static/style.css = %d %q", css.StatusCode, css.Header.Get("Content-Type"))
	}
	want(t, e.get("/static/nothing.css"), http.StatusNotFound)
}

func TestSecureCookiesOverTLS(t *testing.T) {
	e := newTestEnv(t)
	srv := httptest.NewTLSServer(e.srv.Config.Handler)
	t.Cleanup(srv.Close)
	e.srv = srv
	e.client = srv.Client()
	jar, _ := cookiejar.New(nil)
	e.client.Jar = jar
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.client.Transport.(*http.Transport).TLSClientConfig.MinVersion = tls.VersionTLS12
	form := e.get("/signup")
	if c := cookieOf(form, formCookie); c == nil || !c.Secure {
		t.Errorf("form cookie over TLS = %+v, want Secure", c)
	}
	r := e.post("/signup", url.Values{"csrf": {csrfOf(t, form)}, "name": {"Ada"}, "email": {"ada@example.org"}, "password": {testPassword}})
	want(t, r, http.StatusCreated, "--coordinator https://")
	if c := cookieOf(r, sessionCookie); c == nil || !c.Secure || !c.HttpOnly {
		t.Errorf("session cookie over TLS = %+v, want Secure and HttpOnly", c)
	}
}

func TestRoutesAreWalkable(t *testing.T) {
	h, ok := New(nil, nil, Options{}).(chi.Routes)
	if !ok {
		t.Fatal("the dashboard's handler is not a chi router")
	}
	var got []string
	if err := chi.Walk(h, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		got = append(got, method+" "+route)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"GET /", "GET /signin", "POST /signin", "GET /signup", "POST /signup", "POST /signout",
		"GET /account", "POST /account/key", "POST /account/profile"} {
		if !slices.Contains(got, r) {
			t.Errorf("route %q is not in the walk: %q", r, got)
		}
	}
}
