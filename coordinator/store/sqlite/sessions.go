package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) ContributorGet(ctx context.Context, id int64) (workunits.Contributor, error) {
	c, err := scanContributor(t.tx.QueryRowContext(ctx, `SELECT `+contributorColumns+` FROM contributors WHERE id = ?`, id))
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
	c, err := scanContributor(t.tx.QueryRowContext(ctx, `SELECT `+contributorColumns+`, password_hash FROM contributors
		WHERE lower(email) = lower(?) AND email <> ''`, email), &l.PasswordHash)
	if err != nil {
		return l, notFound(err, "no account has this email")
	}
	l.Contributor = c
	return l, nil
}

func (t *Tx) ContributorKeyHashSet(ctx context.Context, id int64, keyHash string) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE contributors SET key_hash = ? WHERE id = ?`, keyHash, id)
	if err != nil {
		return fmt.Errorf("replacing the account key of contributor %d: %w", id, err)
	}
	return oneRow(res, "contributor %d not found", id)
}

func (t *Tx) ContributorProfileSet(ctx context.Context, p store.ContributorProfileParams) (workunits.Contributor, error) {
	c, err := scanContributor(t.tx.QueryRowContext(ctx, `UPDATE contributors SET display_name = ?, leaderboard_opt_in = ?
		WHERE id = ? RETURNING `+contributorColumns, p.DisplayName, p.LeaderboardOptIn, p.ID))
	if err != nil {
		return c, notFound(err, "contributor %d not found", p.ID)
	}
	return c, nil
}

func (t *Tx) SessionInsert(ctx context.Context, p store.SessionInsertParams) (store.Session, error) {
	var taken int
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE token_hash = ?`, p.TokenHash).Scan(&taken); err != nil {
		return store.Session{}, fmt.Errorf("checking a new session: %w", err)
	}
	if taken > 0 {
		return store.Session{}, workunits.Errorf(workunits.ECONFLICT, "a session with this token already exists")
	}
	now := p.Now.UnixMilli()
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, contributor_id, csrf_secret, created_at, expires_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?)`, p.TokenHash, p.ContributorID, p.CSRFSecret, now, p.ExpiresAt.UnixMilli(), now); err != nil {
		return store.Session{}, fmt.Errorf("inserting a session of contributor %d: %w", p.ContributorID, err)
	}
	at := time.UnixMilli(now).UTC()
	return store.Session{TokenHash: p.TokenHash, ContributorID: p.ContributorID, CSRFSecret: p.CSRFSecret,
		CreatedAt: at, ExpiresAt: time.UnixMilli(p.ExpiresAt.UnixMilli()).UTC(), LastSeenAt: at}, nil
}

func (t *Tx) SessionGet(ctx context.Context, tokenHash string) (store.Session, error) {
	var s store.Session
	var created, expires, seen int64
	err := t.tx.QueryRowContext(ctx, `SELECT token_hash, contributor_id, csrf_secret, created_at, expires_at, last_seen_at
		FROM sessions WHERE token_hash = ?`, tokenHash).Scan(&s.TokenHash, &s.ContributorID, &s.CSRFSecret, &created, &expires, &seen)
	if err != nil {
		return s, notFound(err, "no such session")
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC(), time.UnixMilli(seen).UTC()
	return s, nil
}

func (t *Tx) SessionTouch(ctx context.Context, tokenHash string, lastSeen, expiresAt time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = max(last_seen_at, ?), expires_at = max(expires_at, ?)
		WHERE token_hash = ?`, lastSeen.UnixMilli(), expiresAt.UnixMilli(), tokenHash)
	if err != nil {
		return fmt.Errorf("touching a session: %w", err)
	}
	return oneRow(res, "no such session")
}

func (t *Tx) SessionDelete(ctx context.Context, tokenHash string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("deleting a session: %w", err)
	}
	return nil
}

func (t *Tx) SessionDeleteExpired(ctx context.Context, now time.Time) (int, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("deleting expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// oneRow turns an update that matched no row into workunits.ENOTFOUND.
func oneRow(res sql.Result, format string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("counting updated rows: %w", err)
	}
	if n == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, format, args...)
	}
	return nil
}
