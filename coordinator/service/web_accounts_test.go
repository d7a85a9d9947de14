package service

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/nightshift-platform/nightshift/coordinator/store/sqlite"
	"github.com/nightshift-platform/nightshift/workunits"
)

// accountsBundle is a service with cheap password hashing and a clock the
// test moves.
type accountsBundle struct {
	svc *Service
	now time.Time
}

func setupAccounts(t *testing.T) *accountsBundle {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := &accountsBundle{now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	b.svc = New(Options{Store: st, Now: func() time.Time { return b.now }, PasswordCost: bcrypt.MinCost,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return b
}

const goodPassword = "correct horse battery"

func (b *accountsBundle) signUp(t *testing.T, email string) NewAccount {
	t.Helper()
	a, err := b.svc.SignUp(t.Context(), email, goodPassword, "Ada")
	if err != nil {
		t.Fatalf("SignUp(%q): %v", email, err)
	}
	return a
}

func wantErrCode(t *testing.T, what string, err error, code workunits.Code) {
	t.Helper()
	if got := workunits.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func TestSignUpRefusesBadInput(t *testing.T) {
	b := setupAccounts(t)
	tests := []struct {
		name, email, password, who string
		want                       string // in the message
	}{
		{"no email", "  ", goodPassword, "Ada", "email is required"},
		{"no at", "ada.example.org", goodPassword, "Ada", "not an email address"},
		{"no domain dot", "ada@localhost", goodPassword, "Ada", "not an email address"},
		{"display name form", "Ada <ada@example.org>", goodPassword, "Ada", "not an email address"},
		{"two addresses", "ada@example.org, bob@example.org", goodPassword, "Ada", "not an email address"},
		{"too long email", strings.Repeat("a", 250) + "@example.org", goodPassword, "Ada", "at most 254 bytes"},
		{"short password", "ada@example.org", "123456789", "Ada", "at least 10 characters"},
		{"password over 72 bytes", "ada@example.org", strings.Repeat("x", 73), "Ada", "at most 72 bytes"},
		{"72 bytes of few characters", "ada@example.org", strings.Repeat("é", 37), "Ada", "at most 72 bytes"},
		{"no name", "ada@example.org", goodPassword, " ", "name is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.svc.SignUp(t.Context(), tt.email, tt.password, tt.who)
			wantErrCode(t, "SignUp", err, workunits.EINVALID)
			if msg := workunits.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("SignUp error %q, want it to say %q", msg, tt.want)
			}
		})
	}
	// The limits themselves are allowed: 10 characters (of several bytes
	// each) and exactly 72 bytes.
	for i, pw := range []string{strings.Repeat("ü", 10), strings.Repeat("x", 72)} {
		if _, err := b.svc.SignUp(t.Context(), "edge"+string(rune('a'+i))+"@example.org", pw, "Edge"); err != nil {
			t.Errorf("SignUp with a %d-byte password: %v", len(pw), err)
		}
	}
}

func TestSignUpMakesAccountKeyAndSession(t *testing.T) {
	b := setupAccounts(t)
	a := b.signUp(t, "  Ada@Example.org ")
	if a.Contributor.Email != "Ada@Example.org" || a.Contributor.Name != "Ada" || a.Contributor.DisplayName != "Ada" || a.Contributor.LeaderboardOptIn {
		t.Errorf("signed-up contributor = %+v, want the trimmed email, the name as display name, off the leaderboard", a.Contributor)
	}
	if !strings.HasPrefix(a.AccountKey, ContributorKeyPrefix) {
		t.Errorf("account key %q lacks the prefix %q", a.AccountKey, ContributorKeyPrefix)
	}
	c, err := b.svc.AuthContributor(t.Context(), a.AccountKey)
	if err != nil || c.ID != a.Contributor.ID {
		t.Errorf("AuthContributor(new key) = %+v, %v; want contributor %d", c, err, a.Contributor.ID)
	}
	si, err := b.svc.SessionContributor(t.Context(), a.Session.Token)
	if err != nil || si.Contributor.ID != a.Contributor.ID || !si.CheckCSRF(a.Session.CSRFToken) || si.CheckCSRF("") || si.CheckCSRF("x") {
		t.Errorf("SessionContributor(sign-up session) = %+v, %v; want contributor %d with the session's CSRF token", si, err, a.Contributor.ID)
	}
	for _, email := range []string{"ada@example.org", "ADA@EXAMPLE.ORG  "} {
		_, err := b.svc.SignUp(t.Context(), email, goodPassword, "Other")
		wantErrCode(t, "SignUp with a taken email "+email, err, workunits.ECONFLICT)
	}
}

func TestSignIn(t *testing.T) {
	b := setupAccounts(t)
	a := b.signUp(t, "ada@example.org")
	s, err := b.svc.SignIn(t.Context(), " ADA@example.org", goodPassword, "192.0.2.1")
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	if s.Token == a.Session.Token || s.CSRFToken == a.Session.CSRFToken {
		t.Errorf("SignIn reused the sign-up session's secrets")
	}
	if si, err := b.svc.SessionContributor(t.Context(), s.Token); err != nil || si.Contributor.ID != a.Contributor.ID {
		t.Errorf("SessionContributor(signed in) = %+v, %v", si, err)
	}
	_, wrong := b.svc.SignIn(t.Context(), "ada@example.org", goodPassword+"!", "192.0.2.1")
	wantErrCode(t, "SignIn with a wrong password", wrong, workunits.EUNAUTHORIZED)
	_, unknown := b.svc.SignIn(t.Context(), "bob@example.org", goodPassword, "192.0.2.1")
	wantErrCode(t, "SignIn with an unknown email", unknown, workunits.EUNAUTHORIZED)
	if workunits.ErrorMessage(wrong) != workunits.ErrorMessage(unknown) {
		t.Errorf("a wrong password says %q and an unknown email %q: the answer tells which emails have accounts",
			workunits.ErrorMessage(wrong), workunits.ErrorMessage(unknown))
	}
	_, err = b.svc.SignIn(t.Context(), "", "", "192.0.2.1")
	wantErrCode(t, "SignIn with nothing", err, workunits.EINVALID)

	// An account made through the API has no email: its name signs no one in.
	if _, _, err := b.svc.CreateContributor(t.Context(), "api only"); err != nil {
		t.Fatal(err)
	}
	_, err = b.svc.SignIn(t.Context(), "api only", goodPassword, "192.0.2.1")
	wantErrCode(t, "SignIn as an API-only contributor", err, workunits.EUNAUTHORIZED)
}

func TestSignInRateLimit(t *testing.T) {
	b := setupAccounts(t)
	b.signUp(t, "ada@example.org")
	const ip = "192.0.2.1"
	for i := range loginMaxFailures {
		_, err := b.svc.SignIn(t.Context(), "ada@example.org", "wrong password", ip)
		wantErrCode(t, "failed sign-in "+string(rune('1'+i)), err, workunits.EUNAUTHORIZED)
		b.now = b.now.Add(time.Second)
	}
	// Past the limit even the right password is refused, from anywhere.
	_, err := b.svc.SignIn(t.Context(), "ADA@example.org", goodPassword, "198.51.100.7")
	wantErrCode(t, "SignIn past the limit", err, workunits.ETOOMANY)
	if wait := RetryAfterOf(err); wait < 14*time.Minute || wait > loginWindow {
		t.Errorf("RetryAfterOf = %v, want about %v", wait, loginWindow)
	}
	if msg := workunits.ErrorMessage(err); !strings.Contains(msg, "try again in 15 minutes") {
		t.Errorf("the refusal says %q, want when to try again", msg)
	}
	// The address that failed is limited for other accounts too; another
	// address is not.
	b.signUp(t, "bob@example.org")
	_, err = b.svc.SignIn(t.Context(), "bob@example.org", goodPassword, ip)
	wantErrCode(t, "SignIn from the limited address", err, workunits.ETOOMANY)
	if _, err := b.svc.SignIn(t.Context(), "bob@example.org", goodPassword, "198.51.100.7"); err != nil {
		t.Errorf("SignIn from another address: %v", err)
	}
	// Once the first failure is older than the window, the account may try again.
	b.now = b.now.Add(loginWindow - 4*time.Second)
	if _, err := b.svc.SignIn(t.Context(), "ada@example.org", goodPassword, "198.51.100.7"); err != nil {
		t.Errorf("SignIn once the window passed: %v", err)
	}
	if RetryAfterOf(errBadLogin) != 0 {
		t.Errorf("RetryAfterOf(a wrong password) != 0")
	}
}

func TestSessionLifetime(t *testing.T) {
	b := setupAccounts(t)
	a := b.signUp(t, "ada@example.org")
	// Used on day 20, the session lasts until day 50.
	b.now = b.now.Add(20 * 24 * time.Hour)
	si, err := b.svc.SessionContributor(t.Context(), a.Session.Token)
	if err != nil || !si.Extended || !si.ExpiresAt.Equal(b.now.Add(SessionLifetime)) {
		t.Fatalf("SessionContributor on day 20 = %+v, %v; want it extended to %v", si, err, b.now.Add(SessionLifetime))
	}
	// Used again within a minute: nothing to write.
	b.now = b.now.Add(time.Second)
	if si, err := b.svc.SessionContributor(t.Context(), a.Session.Token); err != nil || si.Extended {
		t.Errorf("SessionContributor a second later = %+v, %v; want it valid and not extended", si, err)
	}
	b.now = b.now.Add(SessionLifetime - 2*time.Second)
	if _, err := b.svc.SessionContributor(t.Context(), a.Session.Token); err != nil {
		t.Errorf("SessionContributor just before the end: %v", err)
	}
	b.now = b.now.Add(SessionLifetime)
	_, err = b.svc.SessionContributor(t.Context(), a.Session.Token)
	wantErrCode(t, "SessionContributor after 30 unused days", err, workunits.EUNAUTHORIZED)

	for _, token := range []string{"", "nonsense", SessionTokenPrefix + "unknown", a.AccountKey} {
		_, err := b.svc.SessionContributor(t.Context(), token)
		wantErrCode(t, "SessionContributor("+token+")", err, workunits.EUNAUTHORIZED)
	}
}

func TestSignOut(t *testing.T) {
	b := setupAccounts(t)
	a := b.signUp(t, "ada@example.org")
	other, err := b.svc.SignIn(t.Context(), "ada@example.org", goodPassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.svc.SignOut(t.Context(), a.Session.Token); err != nil {
		t.Fatal(err)
	}
	_, err = b.svc.SessionContributor(t.Context(), a.Session.Token)
	wantErrCode(t, "SessionContributor after SignOut", err, workunits.EUNAUTHORIZED)
	if _, err := b.svc.SessionContributor(t.Context(), other.Token); err != nil {
		t.Errorf("signing out one browser ended another's session: %v", err)
	}
	if err := b.svc.SignOut(t.Context(), a.Session.Token); err != nil {
		t.Errorf("SignOut twice: %v", err)
	}
}

func TestRegenerateAccountKey(t *testing.T) {
	b := setupAccounts(t)
	a := b.signUp(t, "ada@example.org")
	key, err := b.svc.RegenerateAccountKey(t.Context(), a.Contributor.ID)
	if err != nil {
		t.Fatal(err)
	}
	if key == a.AccountKey || !strings.HasPrefix(key, ContributorKeyPrefix) {
		t.Errorf("new key %q: want a fresh account key", key)
	}
	_, err = b.svc.AuthContributor(t.Context(), a.AccountKey)
	wantErrCode(t, "AuthContributor(old key)", err, workunits.EUNAUTHORIZED)
	if c, err := b.svc.AuthContributor(t.Context(), key); err != nil || c.ID != a.Contributor.ID {
		t.Errorf("AuthContributor(new key) = %+v, %v", c, err)
	}
	_, err = b.svc.RegenerateAccountKey(t.Context(), a.Contributor.ID+100)
	wantErrCode(t, "RegenerateAccountKey(no such contributor)", err, workunits.ENOTFOUND)
}

func TestUpdateProfile(t *testing.T) {
	b := setupAccounts(t)
	a := b.signUp(t, "ada@example.org")
	c, err := b.svc.UpdateProfile(t.Context(), a.Contributor.ID, "  Night owl ", true)
	if err != nil {
		t.Fatal(err)
	}
	if c.DisplayName != "Night owl" || !c.LeaderboardOptIn {
		t.Errorf("UpdateProfile = %+v, want Night owl on the leaderboard", c)
	}
	if c, err := b.svc.UpdateProfile(t.Context(), a.Contributor.ID, "", false); err != nil || c.DisplayName != "" || c.LeaderboardOptIn {
		t.Errorf("UpdateProfile(no name, off) = %+v, %v", c, err)
	}
	_, err = b.svc.UpdateProfile(t.Context(), a.Contributor.ID, " ", true)
	wantErrCode(t, "UpdateProfile(on the leaderboard without a name)", err, workunits.EINVALID)
	_, err = b.svc.UpdateProfile(t.Context(), a.Contributor.ID, strings.Repeat("n", 201), false)
	wantErrCode(t, "UpdateProfile(a name too long)", err, workunits.EINVALID)
	if c, err := b.svc.Contributor(t.Context(), a.Contributor.ID); err != nil || c.LeaderboardOptIn {
		t.Errorf("after refused updates, contributor = %+v, %v; want the last accepted profile", c, err)
	}
}
