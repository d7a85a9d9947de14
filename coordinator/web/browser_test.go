package web_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/daemon/daemontest"
)

// The browser tests drive the dashboard in headless Chromium (Debian's
// chromium package; scripts/apt-ensure browser installs it) against a real
// coordinator: SQLite in a temporary directory, the HTTP server and every
// background loop. Without Chromium they skip, except under CI=true, where
// they fail. Screenshots go to t.ArtifactDir(): `go test -artifacts
// -outputdir DIR` keeps them (scripts/test keeps them in test-output/).
//
// To add a test: b := newBrowser(t), then b.open(path) to load a page,
// b.fill and b.submit to send a form (both return the HTTP status of the
// page that loads), b.text to read an element and b.screenshot to keep a
// picture. b.coord.Service reaches the coordinator's use cases directly,
// for setting up data or checking what a page did.

// browser is a coordinator and a Chromium tab looking at it.
type browser struct {
	t     *testing.T
	coord *daemon.Coordinator
	tab   context.Context
}

// chromium finds the browser, or ends the test: skipped, or failed under CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is not installed and CI=true: run scripts/apt-ensure browser")
	}
	t.Skip("Chromium is not installed (scripts/apt-ensure browser installs it); skipping the browser tests")
	return ""
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromium(t)
	coord := daemontest.Start(t, daemon.Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "coordinator.db")})
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true), chromedp.UserDataDir(t.TempDir()))
	if os.Geteuid() == 0 { // Chromium's sandbox refuses to run as root
		opts = append(opts, chromedp.NoSandbox)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first action starts the browser; it lives as long as tab.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	return &browser{t: t, coord: coord, tab: tab}
}

// step runs actions with a time limit, failing the test on an error.
func (b *browser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// load runs actions that load a page and returns that page's HTTP status
// (after redirects).
func (b *browser) load(what string, actions ...chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return int(resp.Status)
}

// open loads a path of the coordinator.
func (b *browser) open(path string) int {
	b.t.Helper()
	return b.load("opening "+path, chromedp.Navigate(b.coord.URL+path))
}

// fill types into form fields, by element id.
func (b *browser) fill(fields map[string]string) {
	b.t.Helper()
	for id, v := range fields {
		b.step("filling #"+id, chromedp.SetValue(chromedp.ID(id), v))
	}
}

// submit clicks a button (a CSS selector) and returns the status of the page
// it loads.
func (b *browser) submit(button string) int {
	b.t.Helper()
	return b.load("clicking "+button, chromedp.Click(chromedp.CSS(button)))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval runs JavaScript in the page.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluating %q: %v", js, err)
	}
	return v
}

// location is the page's path and query.
func (b *browser) location() string {
	b.t.Helper()
	u, err := url.Parse(eval[string](b, "location.href"))
	if err != nil {
		b.t.Fatal(err)
	}
	return u.RequestURI()
}

// screenshot keeps a picture of the whole page as NAME.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.t.ArtifactDir(), name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// cookie returns the browser's cookie of this name for the coordinator.
func (b *browser) cookie(name string) *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.tab, network.GetCookies, network.GetCookiesParams{URLs: []string{b.coord.URL + "/"}})
	if err != nil {
		b.t.Fatalf("reading cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signUp fills and sends the sign-up form and returns the account key shown.
func (b *browser) signUp(email, password string) string {
	b.t.Helper()
	if status := b.open("/signup"); status != 200 {
		b.t.Fatalf("GET /signup: status %d", status)
	}
	b.fill(map[string]string{"name": "Ada", "email": email, "password": password})
	if status := b.submit("main form button[type=submit]"); status != 201 {
		b.t.Fatalf("signing up: status %d, page says %q", status, b.text("main"))
	}
	return b.text("#account-key")
}

const browserPassword = "correct horse battery"

func TestBrowserSignUpSignOutSignIn(t *testing.T) {
	b := newBrowser(t)
	if status := b.open("/"); status != 200 || b.location() != "/signin" {
		t.Errorf("signed out, / ends at %s with status %d; want the sign-in page", b.location(), status)
	}
	b.open("/account")
	if got := b.location(); got != "/signin?next=%2Faccount" {
		t.Errorf("signed out, /account ends at %s; want /signin?next=%%2Faccount", got)
	}
	b.screenshot("signin")

	key := b.signUp("ada@example.org", browserPassword)
	if !strings.HasPrefix(key, "nsa_") {
		t.Errorf("the account key shown is %q", key)
	}
	if c, err := b.coord.Service.AuthContributor(t.Context(), key); err != nil || c.Email != "ada@example.org" {
		t.Errorf("the key shown attaches %+v, %v; want the new account", c, err)
	}
	b.screenshot("account-key")

	c := b.cookie("nightshift_session")
	if c == nil || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/" {
		t.Errorf("session cookie = %+v; want HttpOnly, SameSite=Lax, Path=/", c)
	}
	if hidden := eval[bool](b, `!document.cookie.includes("nightshift_session")`); !hidden {
		t.Errorf("the page's script can read the session cookie")
	}

	if status := b.submit("nav form button[type=submit]"); status != 200 || b.location() != "/signin?signed_out=1" {
		t.Errorf("signing out ends at %s with status %d", b.location(), status)
	}
	if b.cookie("nightshift_session") != nil {
		t.Errorf("the session cookie is still there after signing out")
	}
	b.open("/")
	if got := b.location(); got != "/signin" {
		t.Errorf("after signing out, / ends at %s; want /signin", got)
	}

	b.fill(map[string]string{"email": "ADA@example.org", "password": browserPassword})
	if status := b.submit("main form button[type=submit]"); status != 200 || b.location() != "/" {
		t.Fatalf("signing in ends at %s with status %d, page says %q", b.location(), status, b.text("main"))
	}
	for _, id := range []string{"#pending", "#available", "#inflight", "#paid", "#credit", "#rac"} {
		if got := b.text(id); got != "0.00" {
			t.Errorf("home %s shows %q, want 0.00", id, got)
		}
	}
	b.screenshot("home")

	// On a phone: nothing wider than the screen.
	b.step("narrowing to a phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	b.open("/account")
	if w := eval[int](b, "document.documentElement.scrollWidth"); w > 375 {
		t.Errorf("at 375 px the account page is %d px wide", w)
	}
	b.screenshot("account-375px")
}

func TestBrowserFormWithoutCSRFTokenIsRefused(t *testing.T) {
	b := newBrowser(t)
	b.signUp("ada@example.org", browserPassword)
	b.open("/account")
	b.fill(map[string]string{"display_name": "Forged"})
	eval[bool](b, `document.querySelectorAll("input[name=csrf]").forEach(e => e.value = "forged"), true`)
	if status := b.submit("form[action='/account/profile'] button[type=submit]"); status != 403 {
		t.Errorf("a profile form with a forged token: status %d, want 403", status)
	}
	if msg := b.text("main"); !strings.Contains(msg, "This form was refused") {
		t.Errorf("the refusal page says %q", msg)
	}
	b.screenshot("csrf-refused")
	b.open("/account")
	if got := eval[string](b, `document.getElementById("display_name").value`); got != "Ada" {
		t.Errorf("after the refused form the display name is %q, want Ada", got)
	}
}

func TestBrowserSignInRateLimit(t *testing.T) {
	b := newBrowser(t)
	b.signUp("ada@example.org", browserPassword)
	b.submit("nav form button[type=submit]") // sign out
	for i := range 5 {
		b.open("/signin")
		b.fill(map[string]string{"email": "ada@example.org", "password": "not the password"})
		if status := b.submit("main form button[type=submit]"); status != 401 {
			t.Errorf("wrong password %d: status %d, want 401", i+1, status)
		}
	}
	b.open("/signin")
	b.fill(map[string]string{"email": "ada@example.org", "password": browserPassword})
	if status := b.submit("main form button[type=submit]"); status != 429 {
		t.Errorf("after 5 wrong passwords: status %d, want 429", status)
	}
	if msg := b.text("#form-error"); !strings.Contains(msg, "too many failed sign-ins") {
		t.Errorf("the page says %q", msg)
	}
	b.screenshot("rate-limited")
}
