package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) ContributorGet(ctx context.Context, id int64) (workunits.Contributor, error) {
	c, err := scanContributor(t.tx.QueryRow(ctx, `SELECT `+contributorColumns+` FROM contributors WHERE id = $1`, id))
	if err != nil {
		return c, notFound(err, "contributor %d not found", id)
	}
	return c, nil
}

func (t *Tx) ContributorGetByEmail(ctx context.Context, email string) (store.ContributorLogin, error) {
	var l store.ContributorLogin
	if email == "" {
		return l, workunits.Errorf(workunits.ENOTFOUND, "no account has this email")
	}
	c, err := scanContributor(t.tx.QueryRow(ctx, `SELECT `+contributorColumns+`, password_hash FROM contributors
		WHERE lower(email) = lower($1) AND email <> ''`, email), &l.PasswordHash)
	if err != nil {
		return l, notFound(err, "no account has this email")
	}
	l.Contributor = c
	return l, nil
}

func (t *Tx) ContributorKeyHashSet(ctx context.Context, id int64, keyHash string) error {
	tag, err := t.tx.Exec(ctx, `UPDATE contributors SET key_hash = $1 WHERE id = $2`, keyHash, id)
	if err != nil {
		return fmt.Errorf("replacing the account key of contributor %d: %w", id, err)
	}
	return oneRow(tag, "contributor %d not found", id)
}

func (t *Tx) ContributorProfileSet(ctx context.Context, p store.ContributorProfileParams) (workunits.Contributor, error) {
	c, err := scanContributor(t.tx.QueryRow(ctx, `UPDATE contributors SET display_name = $1, leaderboard_opt_in = $2
		WHERE id = $3 RETURNING `+contributorColumns, p.DisplayName, p.LeaderboardOptIn, p.ID))
	if err != nil {
		return c, notFound(err, "contributor %d not found", p.ID)
	}
	return c, nil
}

func (t *Tx) SessionInsert(ctx context.Context, p store.SessionInsertParams) (store.Session, error) {
	s := store.Session{TokenHash: p.TokenHash, ContributorID: p.ContributorID, CSRFSecret: p.CSRFSecret,
		CreatedAt: ts(p.Now), ExpiresAt: ts(p.ExpiresAt), LastSeenAt: ts(p.Now)}
	tag, err := t.tx.Exec(ctx, `INSERT INTO sessions (token_hash, contributor_id, csrf_secret, created_at, expires_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $4) ON CONFLICT (token_hash) DO NOTHING`, s.TokenHash, s.ContributorID, s.CSRFSecret, s.CreatedAt, s.ExpiresAt)
	if err != nil {
		return store.Session{}, fmt.Errorf("inserting a session of contributor %d: %w", p.ContributorID, err)
	}
	if tag.RowsAffected() == 0 {
		return store.Session{}, workunits.Errorf(workunits.ECONFLICT, "a session with this token already exists")
	}
	return s, nil
}

func (t *Tx) SessionGet(ctx context.Context, tokenHash string) (store.Session, error) {
	var s store.Session
	err := t.tx.QueryRow(ctx, `SELECT token_hash, contributor_id, csrf_secret, created_at, expires_at, last_seen_at
		FROM sessions WHERE token_hash = $1`, tokenHash).Scan(&s.TokenHash, &s.ContributorID, &s.CSRFSecret, &s.CreatedAt, &s.ExpiresAt, &s.LastSeenAt)
	if err != nil {
		return s, notFound(err, "no such session")
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC(), s.LastSeenAt.UTC()
	return s, nil
}

func (t *Tx) SessionTouch(ctx context.Context, tokenHash string, lastSeen, expiresAt time.Time) error {
	tag, err := t.tx.Exec(ctx, `UPDATE sessions SET last_seen_at = greatest(last_seen_at, $1), expires_at = greatest(expires_at, $2)
		WHERE token_hash = $3`, ts(lastSeen), ts(expiresAt), tokenHash)
	if err != nil {
		return fmt.Errorf("touching a session: %w", err)
	}
	return oneRow(tag, "no such session")
}

func (t *Tx) SessionDelete(ctx context.Context, tokenHash string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("deleting a session: %w", err)
	}
	return nil
}

func (t *Tx) SessionDeleteExpired(ctx context.Context, now time.Time) (int, error) {
	tag, err := t.tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, ts(now))
	if err != nil {
		return 0, fmt.Errorf("deleting expired sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// oneRow turns an update that matched no row into workunits.ENOTFOUND.
func oneRow(tag pgconn.CommandTag, format string, args ...any) error {
	if tag.RowsAffected() == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, format, args...)
	}
	return nil
}
