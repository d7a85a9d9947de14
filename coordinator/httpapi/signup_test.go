package httpapi_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/daemon/daemontest"
)

// Signing up over the API with an email and password makes an account
// that signs in to the dashboard, under the web form's rules.
func TestSignUpWithDashboardLogin(t *testing.T) {
	coord := daemontest.Start(t, daemon.Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "test.db")})
	k := &keysBundle{url: coord.URL}

	status, raw := k.call(t, "POST", "/api/v1/contributors", "", `{"name":"Ada","email":"ada@example.org","password":"correct horse battery"}`)
	var c api.Contributor
	if status != http.StatusCreated || json.Unmarshal(raw, &c) != nil || c.AccountKey == "" || c.Email != "ada@example.org" {
		t.Fatalf("sign-up with a login: %d %s", status, raw)
	}
	if _, err := coord.Service.SignIn(t.Context(), "ADA@example.org", "correct horse battery", "192.0.2.1"); err != nil {
		t.Errorf("signing in with the API sign-up's login: %v", err)
	}
	if got, err := coord.Service.AuthContributor(t.Context(), c.AccountKey); err != nil || got.ID != c.ID {
		t.Errorf("the account key attaches %+v, %v; want contributor %d", got, err, c.ID)
	}

	for _, tc := range []struct {
		body       string
		wantStatus int
		wantInMsg  string
	}{
		{`{"name":"Bob","email":"bob@example.org"}`, http.StatusBadRequest, "email and password go together"},
		{`{"name":"Bob","password":"correct horse battery"}`, http.StatusBadRequest, "email and password go together"},
		{`{"name":"Bob","email":"bob@example.org","password":"short"}`, http.StatusBadRequest, "at least 10 characters"},
		{`{"name":"Bob","email":"not an email","password":"correct horse battery"}`, http.StatusBadRequest, "not an email address"},
		{`{"name":"Ada 2","email":"Ada@Example.org","password":"correct horse battery"}`, http.StatusConflict, "already exists"},
	} {
		status, raw := k.call(t, "POST", "/api/v1/contributors", "", tc.body)
		wantError(t, status, raw, tc.wantStatus, tc.wantInMsg)
	}
	// Without a login the account is API-only, as before.
	status, raw = k.call(t, "POST", "/api/v1/contributors", "", `{"name":"Grace"}`)
	var grace api.Contributor
	if status != http.StatusCreated || json.Unmarshal(raw, &grace) != nil || grace.AccountKey == "" || grace.Email != "" {
		t.Errorf("API-only sign-up: %d %s", status, raw)
	}
}
