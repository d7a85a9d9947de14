package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Web accounts: a contributor signs up on the dashboard with an email and a
// password, and signs in to a session held in a cookie. Passwords are kept
// as bcrypt hashes, session tokens as SHA-256 hashes (they are random and
// long, like account keys).
const (
	SessionTokenPrefix = "nsw_"
	// SessionLifetime is how long a session lasts unused: each use moves
	// its end this far ahead again.
	SessionLifetime = 30 * 24 * time.Hour
	// sessionTouchEvery spares a write per page view: a session's last use
	// is recorded at most this often.
	sessionTouchEvery = time.Minute

	MinPasswordChars = 10
	MaxPasswordBytes = 72 // bcrypt reads no further
	maxEmailBytes    = 254
	// DefaultPasswordCost is bcrypt's work factor: about a quarter of a
	// second of one core per sign-in on a 2020s PC.
	DefaultPasswordCost = 12
)

// Session is a signed-in browser as the web layer holds it. Token goes in
// the cookie and is shown to no one else; CSRFToken goes in every form.
type Session struct {
	Token     string
	CSRFToken string
	ExpiresAt time.Time
}

// NewAccount is what signing up makes: the contributor, their account key
// (for attaching PCs; shown once, only its hash is kept) and a session.
type NewAccount struct {
	Contributor workunits.Contributor
	AccountKey  string
	Session     Session
}

// SignedIn is the contributor a session belongs to.
type SignedIn struct {
	Contributor workunits.Contributor
	CSRFToken   string
	ExpiresAt   time.Time
	// Extended is true when this use moved the session's end: the web
	// layer renews the cookie to match.
	Extended bool
}

// CheckCSRF reports whether token is this session's form token.
func (si SignedIn) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(si.CSRFToken)) == 1
}

var errBadLogin = workunits.Errorf(workunits.EUNAUTHORIZED, "wrong email or password")

// CheckEmail trims an email and checks its syntax: one address, no display
// name, a domain with a dot.
func CheckEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", workunits.Errorf(workunits.EINVALID, "email is required")
	}
	if len(email) > maxEmailBytes || !utf8.ValidString(email) {
		return "", workunits.Errorf(workunits.EINVALID, "email must be valid text of at most %d bytes", maxEmailBytes)
	}
	addr, err := mail.ParseAddress(email)
	at := strings.LastIndexByte(email, '@')
	if err != nil || addr.Address != email || at < 1 || !strings.Contains(email[at+1:], ".") ||
		strings.HasSuffix(email, ".") || strings.ContainsAny(email, " \t\r\n") {
		return "", workunits.Errorf(workunits.EINVALID, "email %q is not an email address (like ada@example.org)", email)
	}
	return email, nil
}

// CheckPassword enforces the password rules: at least MinPasswordChars
// characters and at most MaxPasswordBytes bytes (bcrypt's limit: a longer
// password would be cut silently, so it is refused instead).
func CheckPassword(password string) error {
	switch {
	case !utf8.ValidString(password):
		return workunits.Errorf(workunits.EINVALID, "password must be valid text")
	case utf8.RuneCountInString(password) < MinPasswordChars:
		return workunits.Errorf(workunits.EINVALID, "password must be at least %d characters long", MinPasswordChars)
	case len(password) > MaxPasswordBytes:
		return workunits.Errorf(workunits.EINVALID, "password must be at most %d bytes long (yours is %d)", MaxPasswordBytes, len(password))
	}
	return nil
}

// SignUp makes a contributor who signs in with email and password, and
// signs them in.
func (s *Service) SignUp(ctx context.Context, email, password, name string) (NewAccount, error) {
	return s.signUp(ctx, email, password, name, true)
}

// SignUpNoSession makes a contributor who signs in with email and password,
// as SignUp does, without signing them in: for sign-up over the JSON API,
// which has no browser to hold a session. The account's Session is empty.
func (s *Service) SignUpNoSession(ctx context.Context, email, password, name string) (NewAccount, error) {
	return s.signUp(ctx, email, password, name, false)
}

func (s *Service) signUp(ctx context.Context, email, password, name string, withSession bool) (NewAccount, error) {
	email, err := CheckEmail(email)
	if err != nil {
		return NewAccount{}, err
	}
	if err := CheckPassword(password); err != nil {
		return NewAccount{}, err
	}
	if name, err = checkName("name", name); err != nil {
		return NewAccount{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost())
	if err != nil {
		return NewAccount{}, fmt.Errorf("hashing a password: %w", err)
	}
	key := NewKey(ContributorKeyPrefix)
	var a NewAccount
	err = s.store.InTx(ctx, func(tx store.Tx) (err error) {
		a.Contributor, err = tx.ContributorInsert(ctx, store.ContributorInsertParams{Name: name, KeyHash: hashKey(key), Now: s.now(),
			Email: email, PasswordHash: string(hash), DisplayName: name})
		if err != nil || !withSession {
			return err
		}
		a.Session, err = s.startSession(ctx, tx, a.Contributor.ID)
		return err
	})
	if err != nil {
		return NewAccount{}, fmt.Errorf("signing up: %w", err)
	}
	a.AccountKey = key
	s.log.Info("contributor signed up", "contributor", a.Contributor.ID)
	return a, nil
}

// SignIn checks an email and password and starts a session. Failed
// attempts are counted per email and per client address (ip), in this
// process's memory; past the limit, attempts are refused with a
// workunits.ETOOMANY error carrying a RetryAfter, whether the password is
// right or not.
func (s *Service) SignIn(ctx context.Context, email, password, ip string) (Session, error) {
	email = strings.TrimSpace(email)
	if email == "" || password == "" {
		return Session{}, workunits.Errorf(workunits.EINVALID, "email and password are required")
	}
	now := s.now()
	keys := []string{"email:" + strings.ToLower(email), "ip:" + ip}
	if wait := s.logins.wait(keys, now); wait > 0 {
		return Session{}, tooManyLogins(wait)
	}
	var login store.ContributorLogin
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		login, err = tx.ContributorGetByEmail(ctx, email)
		return err
	})
	switch {
	case workunits.ErrorCode(err) == workunits.ENOTFOUND:
		// Spend the same time as for a wrong password, so that the answer's
		// delay does not tell which emails have accounts.
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		s.logins.fail(keys, now)
		return Session{}, errBadLogin
	case err != nil:
		return Session{}, fmt.Errorf("signing in: %w", err)
	}
	if login.PasswordHash == "" || bcrypt.CompareHashAndPassword([]byte(login.PasswordHash), []byte(password)) != nil {
		s.logins.fail(keys, now)
		s.log.Info("failed sign-in", "contributor", login.ID)
		return Session{}, errBadLogin
	}
	s.logins.reset(keys[0])
	var sess Session
	err = s.store.InTx(ctx, func(tx store.Tx) (err error) {
		if _, err := tx.SessionDeleteExpired(ctx, now); err != nil {
			return err
		}
		sess, err = s.startSession(ctx, tx, login.ID)
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("signing in: %w", err)
	}
	return sess, nil
}

func (s *Service) startSession(ctx context.Context, tx store.Tx, contributorID int64) (Session, error) {
	now := s.now()
	sess := Session{Token: NewKey(SessionTokenPrefix), CSRFToken: NewKey(""), ExpiresAt: now.Add(SessionLifetime)}
	_, err := tx.SessionInsert(ctx, store.SessionInsertParams{TokenHash: hashKey(sess.Token), ContributorID: contributorID,
		CSRFSecret: sess.CSRFToken, Now: now, ExpiresAt: sess.ExpiresAt})
	return sess, err
}

var errNoSession = workunits.Errorf(workunits.EUNAUTHORIZED, "not signed in, or the session has ended")

// SessionContributor finds the contributor signed in with a session token,
// and extends the session's life.
func (s *Service) SessionContributor(ctx context.Context, token string) (SignedIn, error) {
	if !strings.HasPrefix(token, SessionTokenPrefix) {
		return SignedIn{}, errNoSession
	}
	tokenHash := hashKey(token)
	now := s.now()
	var si SignedIn
	var sess store.Session
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if sess, err = tx.SessionGet(ctx, tokenHash); err != nil {
			return err
		}
		si.Contributor, err = tx.ContributorGet(ctx, sess.ContributorID)
		return err
	})
	if err != nil {
		return SignedIn{}, authError(err, "session")
	}
	if !sess.ExpiresAt.After(now) {
		return SignedIn{}, errNoSession
	}
	si.CSRFToken, si.ExpiresAt = sess.CSRFSecret, sess.ExpiresAt
	if now.Sub(sess.LastSeenAt) >= sessionTouchEvery {
		expires := now.Add(SessionLifetime)
		err := s.store.InTx(ctx, func(tx store.Tx) error { return tx.SessionTouch(ctx, tokenHash, now, expires) })
		switch {
		case workunits.ErrorCode(err) == workunits.ENOTFOUND: // signed out meanwhile
			return SignedIn{}, errNoSession
		case err != nil:
			return SignedIn{}, fmt.Errorf("extending a session: %w", err)
		}
		si.ExpiresAt, si.Extended = expires, true
	}
	return si, nil
}

// SignOut ends a session; ending one already ended is no error.
func (s *Service) SignOut(ctx context.Context, token string) error {
	if !strings.HasPrefix(token, SessionTokenPrefix) {
		return nil
	}
	if err := s.store.InTx(ctx, func(tx store.Tx) error { return tx.SessionDelete(ctx, hashKey(token)) }); err != nil {
		return fmt.Errorf("signing out: %w", err)
	}
	return nil
}

// RegenerateAccountKey gives a contributor a new account key and returns
// it; the old one stops working at once. PCs already attached keep their
// own host tokens and go on working.
func (s *Service) RegenerateAccountKey(ctx context.Context, contributorID int64) (string, error) {
	key := NewKey(ContributorKeyPrefix)
	if err := s.store.InTx(ctx, func(tx store.Tx) error { return tx.ContributorKeyHashSet(ctx, contributorID, hashKey(key)) }); err != nil {
		return "", fmt.Errorf("replacing the account key of contributor %d: %w", contributorID, err)
	}
	s.log.Info("account key replaced", "contributor", contributorID)
	return key, nil
}

// UpdateProfile sets what a contributor shows of themselves: the name on
// the leaderboard and whether they appear there at all.
func (s *Service) UpdateProfile(ctx context.Context, contributorID int64, displayName string, leaderboardOptIn bool) (workunits.Contributor, error) {
	displayName = strings.TrimSpace(displayName)
	switch {
	case displayName == "" && leaderboardOptIn:
		return workunits.Contributor{}, workunits.Errorf(workunits.EINVALID, "a display name is required to appear on the leaderboard")
	case displayName != "":
		var err error
		if displayName, err = checkName("display name", displayName); err != nil {
			return workunits.Contributor{}, err
		}
	}
	var c workunits.Contributor
	err := s.store.InTx(ctx, func(tx store.Tx) (err error) {
		c, err = tx.ContributorProfileSet(ctx, store.ContributorProfileParams{ID: contributorID, DisplayName: displayName, LeaderboardOptIn: leaderboardOptIn})
		return err
	})
	if err != nil {
		return c, fmt.Errorf("updating the profile of contributor %d: %w", contributorID, err)
	}
	return c, nil
}

// Contributor returns a contributor by id.
func (s *Service) Contributor(ctx context.Context, id int64) (workunits.Contributor, error) {
	var c workunits.Contributor
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		c, err = tx.ContributorGet(ctx, id)
		return err
	})
	return c, err
}

func (s *Service) passwordCost() int {
	if s.passwordCostOpt > 0 {
		return s.passwordCostOpt
	}
	return DefaultPasswordCost
}

// dummyHash is a bcrypt hash of nothing anyone types, at this service's
// cost, made once.
func (s *Service) dummyHash() []byte {
	s.dummyOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(NewKey("")), s.passwordCost())
		if err != nil {
			panic("bcrypt of a short random string failed: " + err.Error())
		}
		s.dummy = h
	})
	return s.dummy
}

// RetryAfter is the wait a refused request was told to keep; it is the
// Err of the workunits.ETOOMANY error.
type RetryAfter time.Duration

func (r RetryAfter) Error() string { return fmt.Sprintf("retry after %v", time.Duration(r)) }

// RetryAfterOf returns how long a workunits.ETOOMANY error says to wait,
// at least one second; 0 for any other error.
func RetryAfterOf(err error) time.Duration {
	var r RetryAfter
	if !errors.As(err, &r) {
		return 0
	}
	return max(time.Duration(r), time.Second)
}

func tooManyLogins(wait time.Duration) error {
	minutes := int((wait + time.Minute - 1) / time.Minute)
	return &workunits.Error{Code: workunits.ETOOMANY, Err: RetryAfter(wait),
		Message: fmt.Sprintf("too many failed sign-ins: try again in %d minute%s", minutes, map[bool]string{true: "", false: "s"}[minutes == 1])}
}
