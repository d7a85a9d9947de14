package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) ProjectInsert(ctx context.Context, p store.ProjectInsertParams) (workunits.Project, error) {
	pr := workunits.Project{Name: p.Name, CreatedAt: ts(p.Now), Share: cmp.Or(p.Share, workunits.DefaultShare)}
	if err := t.tx.QueryRow(ctx, `INSERT INTO projects (name, created_at, share) VALUES ($1, $2, $3) RETURNING id`,
		p.Name, pr.CreatedAt, pr.Share).Scan(&pr.ID); err != nil {
		return workunits.Project{}, fmt.Errorf("inserting project: %w", err)
	}
	return pr, t.projectFirstMember(ctx, pr, p)
}

const projectColumns = `id, name, created_at, share, description`

func scanProject(row pgx.Row) (workunits.Project, error) {
	var p workunits.Project
	err := row.Scan(&p.ID, &p.Name, &p.CreatedAt, &p.Share, &p.Description)
	p.CreatedAt = p.CreatedAt.UTC()
	return p, err
}

func (t *Tx) projectWhere(ctx context.Context, where string, arg any) (workunits.Project, error) {
	return scanProject(t.tx.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE `+where, arg))
}

func (t *Tx) ProjectGet(ctx context.Context, id int64) (workunits.Project, error) {
	p, err := t.projectWhere(ctx, `id = $1`, id)
	if err != nil {
		return p, notFound(err, "project %d not found", id)
	}
	return p, nil
}

func (t *Tx) ProjectGetByKeyHash(ctx context.Context, keyHash string) (workunits.Project, error) {
	p, err := t.projectWhere(ctx, `id = (SELECT project_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL)`, keyHash)
	if err != nil {
		return p, notFound(err, "no project has this key")
	}
	return p, nil
}

func (t *Tx) ContributorInsert(ctx context.Context, p store.ContributorInsertParams) (workunits.Contributor, error) {
	c := workunits.Contributor{Name: p.Name, CreatedAt: ts(p.Now), Email: p.Email, DisplayName: p.DisplayName}
	// A taken email inserts nothing and returns no row, even when another
	// transaction takes it at the same moment: the unique index decides.
	err := t.tx.QueryRow(ctx, `INSERT INTO contributors (name, key_hash, created_at, email, password_hash, display_name)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (lower(email)) WHERE email <> '' DO NOTHING RETURNING id`,
		p.Name, p.KeyHash, c.CreatedAt, p.Email, p.PasswordHash, p.DisplayName).Scan(&c.ID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return workunits.Contributor{}, workunits.Errorf(workunits.ECONFLICT, "an account with this email already exists")
	case err != nil:
		return workunits.Contributor{}, fmt.Errorf("inserting contributor: %w", err)
	}
	return c, nil
}

const contributorColumns = `id, name, created_at, email, display_name, leaderboard_opt_in`

func scanContributor(row pgx.Row, extra ...any) (workunits.Contributor, error) {
	var c workunits.Contributor
	err := row.Scan(append([]any{&c.ID, &c.Name, &c.CreatedAt, &c.Email, &c.DisplayName, &c.LeaderboardOptIn}, extra...)...)
	c.CreatedAt = c.CreatedAt.UTC()
	return c, err
}

func (t *Tx) ContributorGetByKeyHash(ctx context.Context, keyHash string) (workunits.Contributor, error) {
	c, err := scanContributor(t.tx.QueryRow(ctx, `SELECT `+contributorColumns+` FROM contributors WHERE key_hash = $1`, keyHash))
	if err != nil {
		return c, notFound(err, "no contributor has this key")
	}
	return c, nil
}

func (t *Tx) HostInsert(ctx context.Context, p store.HostInsertParams) (workunits.Host, error) {
	now := ts(p.Now)
	h := workunits.Host{ContributorID: p.ContributorID, Name: p.Name, Platform: p.Platform, Cores: p.Cores,
		CreatedAt: now, LastContactAt: now}
	if err := t.tx.QueryRow(ctx, `INSERT INTO hosts (contributor_id, name, platform, cores, token_hash, created_at, last_contact_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, p.ContributorID, p.Name, p.Platform, p.Cores, p.TokenHash, now).
		Scan(&h.ID); err != nil {
		return workunits.Host{}, fmt.Errorf("inserting host: %w", err)
	}
	return h, nil
}

func (t *Tx) HostGetByTokenHash(ctx context.Context, tokenHash string) (workunits.Host, error) {
	var h workunits.Host
	var contact pgtype.Timestamptz
	err := t.tx.QueryRow(ctx, `SELECT id, contributor_id, name, platform, cores, created_at, last_contact_at
		FROM hosts WHERE token_hash = $1`, tokenHash).
		Scan(&h.ID, &h.ContributorID, &h.Name, &h.Platform, &h.Cores, &h.CreatedAt, &contact)
	if err != nil {
		return h, notFound(err, "no host has this token")
	}
	h.CreatedAt = h.CreatedAt.UTC()
	h.LastContactAt = fromTS(contact)
	return h, nil
}

// HostTouchMany updates in host id order, so two coordinators flushing
// contacts of the same hosts wait for each other instead of deadlocking.
func (t *Tx) HostTouchMany(ctx context.Context, contacts map[int64]time.Time) error {
	if len(contacts) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(contacts))
	times := make([]time.Time, len(ids))
	for i, id := range ids {
		times[i] = ts(contacts[id])
	}
	// Lock the rows in id order first, as every transaction that locks
	// several hosts does: an UPDATE joining the list takes them in
	// whatever order its plan reads them, and would deadlock with those.
	if _, err := t.tx.Exec(ctx, `SELECT 1 FROM hosts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
		return fmt.Errorf("locking %d hosts to record their contact: %w", len(ids), err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE hosts h SET last_contact_at = greatest(h.last_contact_at, c.at)
		FROM (SELECT * FROM unnest($1::bigint[], $2::timestamptz[]) AS c(id, at) ORDER BY id) c
		WHERE h.id = c.id`, ids, times); err != nil {
		return fmt.Errorf("recording contact with %d hosts: %w", len(ids), err)
	}
	return nil
}

func (t *Tx) HostContributorMany(ctx context.Context, hostIDs []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(hostIDs))
	if len(hostIDs) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT id, contributor_id FROM hosts WHERE id = ANY($1)`, hostIDs)
	if err != nil {
		return nil, fmt.Errorf("loading host contributors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h, c int64
		if err := rows.Scan(&h, &c); err != nil {
			return nil, fmt.Errorf("scanning host contributor: %w", err)
		}
		out[h] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading host contributors: %w", err)
	}
	return out, nil
}
