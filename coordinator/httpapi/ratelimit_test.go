package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/httpapi"
	"github.com/nightshift-platform/nightshift/coordinator/ratelimit"
	"github.com/nightshift-platform/nightshift/coordinator/service"
)

// limitedAPI serves the API with opts behind a "proxy" at 127.0.0.1, so
// that each request names its client address in X-Forwarded-For.
type limitedAPI struct {
	url string
	svc *service.Service
}

func setupLimited(t *testing.T, limits httpapi.Limits, svcOpts service.Options) *limitedAPI {
	t.Helper()
	svc, _ := newService(t, svcOpts)
	proxies, err := ratelimit.ParseProxies("127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.NewServerWithOptions(svc, quietLog,
		httpapi.Options{ClientIP: ratelimit.ClientIP(proxies), Limits: limits}))
	t.Cleanup(srv.Close)
	return &limitedAPI{url: srv.URL, svc: svc}
}

// send makes one request from client address from.
func (a *limitedAPI) send(t *testing.T, from, method, path, key, contentType string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, a.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", from)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

func (a *limitedAPI) signUp(t *testing.T, from string) (*http.Response, []byte) {
	return a.send(t, from, "POST", "/api/v1/contributors", "", "application/json", strings.NewReader(`{"name":"Ada"}`))
}

// wantTooMany checks a 429 in the API's error shape with a Retry-After of
// whole seconds.
func wantTooMany(t *testing.T, resp *http.Response, raw []byte) {
	t.Helper()
	var e api.ErrorResponse
	if resp.StatusCode != http.StatusTooManyRequests || json.Unmarshal(raw, &e) != nil || e.Error.Code != "too_many_requests" || e.Error.Message == "" {
		t.Fatalf("want 429 too_many_requests, got %d %s", resp.StatusCode, raw)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After = %q, want a positive number of seconds", resp.Header.Get("Retry-After"))
	}
}

func TestSignUpsLimitedPerAddress(t *testing.T) {
	a := setupLimited(t, httpapi.Limits{Anonymous: ratelimit.Rate{Events: 2, Per: time.Hour}}, service.Options{})
	for i := range 2 {
		if resp, raw := a.signUp(t, "198.51.100.1"); resp.StatusCode != http.StatusCreated {
			t.Fatalf("sign-up %d: %d %s", i+1, resp.StatusCode, raw)
		}
	}
	resp, raw := a.signUp(t, "198.51.100.1")
	wantTooMany(t, resp, raw)
	if s, _ := strconv.Atoi(resp.Header.Get("Retry-After")); s < 1700 || s > 1800 {
		t.Errorf("Retry-After = %d s, want about half an hour (2 an hour)", s)
	}
	// A client cannot dodge it by claiming another address in front of the
	// proxy's entry.
	resp, raw = a.signUp(t, "203.0.113.9, 198.51.100.1")
	wantTooMany(t, resp, raw)
	// The dashboard's forms share the count, and answer with a page.
	for _, page := range []string{"/signup", "/signin"} {
		resp, raw = a.send(t, "198.51.100.1", "POST", page, "", "application/x-www-form-urlencoded", strings.NewReader("name=Ada"))
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(raw, []byte("Too many")) {
			t.Errorf("POST %s over the limit: %d %q %.300s", page, resp.StatusCode, resp.Header, raw)
		}
	}
	// Another address is still served.
	if resp, raw := a.signUp(t, "198.51.100.2"); resp.StatusCode != http.StatusCreated {
		t.Errorf("sign-up from another address: %d %s", resp.StatusCode, raw)
	}
}

func TestFailedCredentialsLimitedPerAddress(t *testing.T) {
	a := setupLimited(t, httpapi.Limits{AuthFailures: ratelimit.Rate{Events: 3, Per: time.Hour}}, service.Options{})
	c, err := client.New(a.url, "", nil).CreateContributor(t.Context(), "Ada")
	if err != nil {
		t.Fatal(err)
	}
	key := c.AccountKey
	// Each kind of credential counts.
	for _, bad := range []string{"nsa_guess1", "nsh_guess2", "nso_guess3"} {
		path := map[byte]string{'a': "/api/v1/contributor/earnings", 'h': "/api/v1/host/earnings", 'o': "/api/v1/projects"}[bad[2]]
		if resp, raw := a.send(t, "198.51.100.1", "GET", path, bad, "", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET %s with %s: %d %s", path, bad, resp.StatusCode, raw)
		}
	}
	// Past the limit the address is refused before its key is checked:
	// even a good key.
	resp, raw := a.send(t, "198.51.100.1", "GET", "/api/v1/contributor/earnings", "nsa_guess4", "", nil)
	wantTooMany(t, resp, raw)
	resp, raw = a.send(t, "198.51.100.1", "GET", "/api/v1/contributor/earnings", key, "", nil)
	wantTooMany(t, resp, raw)
	if resp, raw := a.send(t, "198.51.100.2", "GET", "/api/v1/contributor/earnings", key, "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("a good key from another address: %d %s", resp.StatusCode, raw)
	}
	// Good keys cost nothing.
	for range 5 {
		if resp, raw := a.send(t, "198.51.100.3", "GET", "/api/v1/contributor/earnings", key, "", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("a good key: %d %s", resp.StatusCode, raw)
		}
	}
}

func TestRequestsLimitedPerCredential(t *testing.T) {
	a := setupLimited(t, httpapi.Limits{PerCredential: ratelimit.Rate{Events: 3, Per: time.Hour}}, service.Options{})
	ada, err := client.New(a.url, "", nil).CreateContributor(t.Context(), "Ada")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := client.New(a.url, "", nil).CreateContributor(t.Context(), "Bob")
	if err != nil {
		t.Fatal(err)
	}
	host, err := client.New(a.url, ada.AccountKey, nil).RegisterHost(t.Context(), api.RegisterHostRequest{Name: "pc", Platform: "test", Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Ada's key has used one of its three on the host; from many addresses
	// it is still one credential.
	for i := range 2 {
		if resp, raw := a.send(t, fmt.Sprint("198.51.100.", i), "GET", "/api/v1/contributor/earnings", ada.AccountKey, "", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+2, resp.StatusCode, raw)
		}
	}
	resp, raw := a.send(t, "198.51.100.9", "GET", "/api/v1/contributor/earnings", ada.AccountKey, "", nil)
	wantTooMany(t, resp, raw)
	// Other credentials, even the same contributor's host, are not held back.
	for _, key := range []string{bob.AccountKey, host.HostToken} {
		path := "/api/v1/contributor/earnings"
		if key == host.HostToken {
			path = "/api/v1/host/earnings"
		}
		if resp, raw := a.send(t, "198.51.100.9", "GET", path, key, "", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with another credential: %d %s", path, resp.StatusCode, raw)
		}
	}
}

func TestNoLimitsWhenOff(t *testing.T) {
	a := setupLimited(t, httpapi.Limits{}, service.Options{})
	for i := range 30 {
		if resp, raw := a.signUp(t, "198.51.100.1"); resp.StatusCode != http.StatusCreated {
			t.Fatalf("sign-up %d: %d %s", i+1, resp.StatusCode, raw)
		}
		if resp, raw := a.send(t, "198.51.100.1", "GET", "/api/v1/contributor/earnings", "nsa_guess", "", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad key %d: %d %s", i+1, resp.StatusCode, raw)
		}
	}
}
