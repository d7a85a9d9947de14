package store

import (
	"context"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// SessionTx is what a transaction can do with web accounts (a contributor's
// email, password hash and profile) and their dashboard sessions.
//
// A session is found by the SHA-256 of its cookie's token: the store never
// sees a token, a password or an account key, only their hashes.
type SessionTx interface {
	// ContributorGet finds a contributor by id.
	ContributorGet(ctx context.Context, id int64) (workunits.Contributor, error)
	// ContributorGetByEmail finds the contributor whose email equals email
	// without regard to case, with their password hash. An empty email
	// finds no one (workunits.ENOTFOUND).
	ContributorGetByEmail(ctx context.Context, email string) (ContributorLogin, error)
	// ContributorKeyHashSet replaces a contributor's account key: the old
	// one stops working at once.
	ContributorKeyHashSet(ctx context.Context, id int64, keyHash string) error
	// ContributorProfileSet sets what a contributor chooses to show.
	ContributorProfileSet(ctx context.Context, p ContributorProfileParams) (workunits.Contributor, error)

	// SessionInsert starts a session; a token hash already in use is a
	// workunits.ECONFLICT.
	SessionInsert(ctx context.Context, p SessionInsertParams) (Session, error)
	// SessionGet finds a session, expired or not: the caller decides.
	SessionGet(ctx context.Context, tokenHash string) (Session, error)
	// SessionTouch records that a session was used at lastSeen and moves
	// its expiry to expiresAt (a sliding lifetime). It never moves either
	// back in time.
	SessionTouch(ctx context.Context, tokenHash string, lastSeen, expiresAt time.Time) error
	// SessionDelete ends a session; ending one that is gone is no error.
	SessionDelete(ctx context.Context, tokenHash string) error
	// SessionDeleteExpired removes the sessions whose expiry is not after
	// now and returns how many it removed.
	SessionDeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// ContributorLogin is a contributor with what signing in checks.
type ContributorLogin struct {
	workunits.Contributor
	PasswordHash string
}

// ContributorProfileParams is what a contributor sets about themselves.
type ContributorProfileParams struct {
	ID               int64
	DisplayName      string
	LeaderboardOptIn bool
}

// Session is a signed-in browser.
type Session struct {
	TokenHash     string
	ContributorID int64
	CSRFSecret    string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	LastSeenAt    time.Time
}

type SessionInsertParams struct {
	TokenHash     string
	ContributorID int64
	CSRFSecret    string
	Now           time.Time
	ExpiresAt     time.Time
}
