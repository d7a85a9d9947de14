package web

import (
	"net/http"
	"strconv"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/workunits"
)

// accountForm is what a sign-up or sign-in form shows again after a
// mistake: never the password.
type accountForm struct {
	Name, Email, Next string
	MinPassword       int
	MaxPasswordBytes  int
}

func newAccountForm(r *http.Request) accountForm {
	return accountForm{Name: r.PostFormValue("name"), Email: r.PostFormValue("email"), Next: localPath(r.FormValue("next")),
		MinPassword: service.MinPasswordChars, MaxPasswordBytes: service.MaxPasswordBytes}
}

func (s *server) handleSignUpForm() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := signedInOf(r); ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		r = withFormToken(w, r)
		s.render(w, r, http.StatusOK, "signup", view{Title: "Sign up", Data: newAccountForm(r)})
	}
}

func (s *server) handleSignUp() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		form := newAccountForm(r)
		a, err := s.svc.SignUp(r.Context(), form.Email, r.PostFormValue("password"), form.Name)
		if err != nil {
			if status := api.HTTPStatus(workunits.ErrorCode(err)); status < 500 {
				s.render(w, r, status, "signup", view{Title: "Sign up", Error: workunits.ErrorMessage(err), Data: form})
				return
			}
			s.fail(w, r, err)
			return
		}
		s.endOldSession(r)
		setSessionCookie(w, r, a.Session.Token, a.Session.ExpiresAt)
		// The key is shown on this response only: it is not stored, and
		// the page is not cached (securityHeaders).
		s.render(w, r, http.StatusCreated, "welcome", view{Title: "Your account key", Nav: "account",
			Contributor: &a.Contributor, CSRF: a.Session.CSRFToken, Data: keyShown{Key: a.AccountKey}})
	}
}

// keyShown is an account key shown once.
type keyShown struct{ Key string }

func (s *server) handleSignInForm() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		next := localPath(r.URL.Query().Get("next"))
		if _, ok := signedInOf(r); ok {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		r = withFormToken(w, r)
		v := view{Title: "Sign in", Data: newAccountForm(r)}
		if r.URL.Query().Has("signed_out") {
			v.Notice = "You have signed out."
		}
		s.render(w, r, http.StatusOK, "signin", v)
	}
}

func (s *server) handleSignIn() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		form := newAccountForm(r)
		sess, err := s.svc.SignIn(r.Context(), form.Email, r.PostFormValue("password"), s.clientIP(r))
		if err != nil {
			status := api.HTTPStatus(workunits.ErrorCode(err))
			if status >= 500 {
				s.fail(w, r, err)
				return
			}
			if wait := service.RetryAfterOf(err); wait > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
			}
			s.render(w, r, status, "signin", view{Title: "Sign in", Error: workunits.ErrorMessage(err), Data: form})
			return
		}
		s.endOldSession(r)
		setSessionCookie(w, r, sess.Token, sess.ExpiresAt)
		http.Redirect(w, r, form.Next, http.StatusSeeOther)
	}
}

// endOldSession signs out the session a browser had before signing in
// again, so that it does not linger in the store.
func (s *server) endOldSession(r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.svc.SignOut(r.Context(), c.Value); err != nil {
			s.log.Warn("ending the previous session", "err", err)
		}
	}
}

func (s *server) handleSignOut() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		si, ok := signedInOf(r)
		if !ok { // nothing to end: the session is gone already
			clearCookie(w, r, sessionCookie)
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		err := parseForm(w, r)
		if isTooLarge(err) {
			s.formTooLarge(w, r)
			return
		}
		if err != nil || !si.CheckCSRF(r.PostFormValue(csrfField)) {
			s.csrfRefused(w, r)
			return
		}
		c, _ := r.Cookie(sessionCookie)
		if err := s.svc.SignOut(r.Context(), c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
		clearCookie(w, r, sessionCookie)
		http.Redirect(w, r, "/signin?signed_out=1", http.StatusSeeOther)
	}
}

// accountPage is the account page's data.
type accountPage struct {
	Contributor workunits.Contributor
	NewKey      string // a key just made, shown this once
	DisplayName string
	OptIn       bool
}

func (s *server) handleAccount() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := contributorOf(r)
		v := view{Title: "Account", Nav: "account", Data: accountPage{Contributor: c, DisplayName: c.DisplayName, OptIn: c.LeaderboardOptIn}}
		if r.URL.Query().Has("saved") {
			v.Notice = "Your profile is saved."
		}
		s.render(w, r, http.StatusOK, "account", v)
	}
}

func (s *server) handleAccountKey() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := contributorOf(r)
		key, err := s.svc.RegenerateAccountKey(r.Context(), c.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "account", view{Title: "Account", Nav: "account",
			Notice: "Your new account key is below. The old one no longer attaches PCs; PCs already attached keep working.",
			Data:   accountPage{Contributor: c, NewKey: key, DisplayName: c.DisplayName, OptIn: c.LeaderboardOptIn}})
	}
}

func (s *server) handleAccountProfile() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := contributorOf(r)
		name, optIn := r.PostFormValue("display_name"), r.PostFormValue("leaderboard") == "on"
		if _, err := s.svc.UpdateProfile(r.Context(), c.ID, name, optIn); err != nil {
			if status := api.HTTPStatus(workunits.ErrorCode(err)); status < 500 {
				s.render(w, r, status, "account", view{Title: "Account", Nav: "account", Error: workunits.ErrorMessage(err),
					Data: accountPage{Contributor: c, DisplayName: name, OptIn: optIn}})
				return
			}
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/account?saved=1", http.StatusSeeOther)
	}
}
