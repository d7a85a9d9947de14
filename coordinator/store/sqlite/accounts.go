package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) ProjectInsert(ctx context.Context, p store.ProjectInsertParams) (workunits.Project, error) {
	share := cmp.Or(p.Share, workunits.DefaultShare)
	res, err := t.tx.ExecContext(ctx, `INSERT INTO projects (name, created_at, share) VALUES (?, ?, ?)`,
		p.Name, p.Now.UnixMilli(), share)
	if err != nil {
		return workunits.Project{}, fmt.Errorf("inserting project: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return workunits.Project{}, fmt.Errorf("reading project id: %w", err)
	}
	pr := workunits.Project{ID: id, Name: p.Name, CreatedAt: time.UnixMilli(p.Now.UnixMilli()).UTC(), Share: share}
	return pr, t.projectFirstMember(ctx, pr, p)
}

const projectColumns = `id, name, created_at, share, description`

func scanProject(row interface{ Scan(...any) error }) (workunits.Project, error) {
	var p workunits.Project
	var created int64
	err := row.Scan(&p.ID, &p.Name, &created, &p.Share, &p.Description)
	p.CreatedAt = time.UnixMilli(created).UTC()
	return p, err
}

func (t *Tx) ProjectGet(ctx context.Context, id int64) (workunits.Project, error) {
	p, err := scanProject(t.tx.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = ?`, id))
	if err != nil {
		return p, notFound(err, "project %d not found", id)
	}
	return p, nil
}

func (t *Tx) ProjectGetByKeyHash(ctx context.Context, keyHash string) (workunits.Project, error) {
	p, err := scanProject(t.tx.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects
		WHERE id = (SELECT project_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL)`, keyHash))
	if err != nil {
		return p, notFound(err, "no project has this key")
	}
	return p, nil
}

func (t *Tx) ContributorInsert(ctx context.Context, p store.ContributorInsertParams) (workunits.Contributor, error) {
	if err := t.contributorEmailFree(ctx, p.Email); err != nil {
		return workunits.Contributor{}, err
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO contributors (name, key_hash, created_at, email, password_hash, display_name)
		VALUES (?, ?, ?, ?, ?, ?)`, p.Name, p.KeyHash, p.Now.UnixMilli(), p.Email, p.PasswordHash, p.DisplayName)
	if err != nil {
		return workunits.Contributor{}, fmt.Errorf("inserting contributor: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return workunits.Contributor{}, fmt.Errorf("reading contributor id: %w", err)
	}
	return workunits.Contributor{ID: id, Name: p.Name, CreatedAt: time.UnixMilli(p.Now.UnixMilli()).UTC(),
		Email: p.Email, DisplayName: p.DisplayName}, nil
}

// contributorEmailFree refuses an email another contributor has. SQLite
// has one writer at a time, so nothing can take it between this check and
// the insert; the unique index is the backstop.
func (t *Tx) contributorEmailFree(ctx context.Context, email string) error {
	if email == "" {
		return nil
	}
	var other int64
	err := t.tx.QueryRowContext(ctx, `SELECT id FROM contributors WHERE lower(email) = lower(?) AND email <> ''`, email).Scan(&other)
	switch {
	case err == nil:
		return workunits.Errorf(workunits.ECONFLICT, "an account with this email already exists")
	case err != sql.ErrNoRows:
		return fmt.Errorf("checking the email of a new contributor: %w", err)
	}
	return nil
}

const contributorColumns = `id, name, created_at, email, display_name, leaderboard_opt_in`

func scanContributor(row scanner, extra ...any) (workunits.Contributor, error) {
	var c workunits.Contributor
	var created int64
	err := row.Scan(append([]any{&c.ID, &c.Name, &created, &c.Email, &c.DisplayName, &c.LeaderboardOptIn}, extra...)...)
	c.CreatedAt = time.UnixMilli(created).UTC()
	return c, err
}

func (t *Tx) ContributorGetByKeyHash(ctx context.Context, keyHash string) (workunits.Contributor, error) {
	c, err := scanContributor(t.tx.QueryRowContext(ctx, `SELECT `+contributorColumns+` FROM contributors WHERE key_hash = ?`, keyHash))
	if err != nil {
		return c, notFound(err, "no contributor has this key")
	}
	return c, nil
}

func (t *Tx) HostInsert(ctx context.Context, p store.HostInsertParams) (workunits.Host, error) {
	now := p.Now.UnixMilli()
	res, err := t.tx.ExecContext(ctx, `INSERT INTO hosts (contributor_id, name, platform, cores, token_hash, created_at, last_contact_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, p.ContributorID, p.Name, p.Platform, p.Cores, p.TokenHash, now, now)
	if err != nil {
		return workunits.Host{}, fmt.Errorf("inserting host: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return workunits.Host{}, fmt.Errorf("reading host id: %w", err)
	}
	at := time.UnixMilli(now).UTC()
	return workunits.Host{ID: id, ContributorID: p.ContributorID, Name: p.Name, Platform: p.Platform,
		Cores: p.Cores, CreatedAt: at, LastContactAt: at}, nil
}

func (t *Tx) HostGetByTokenHash(ctx context.Context, tokenHash string) (workunits.Host, error) {
	var h workunits.Host
	var created int64
	var contact sql.NullInt64
	err := t.tx.QueryRowContext(ctx, `SELECT id, contributor_id, name, platform, cores, created_at, last_contact_at
		FROM hosts WHERE token_hash = ?`, tokenHash).
		Scan(&h.ID, &h.ContributorID, &h.Name, &h.Platform, &h.Cores, &created, &contact)
	if err != nil {
		return h, notFound(err, "no host has this token")
	}
	h.CreatedAt = time.UnixMilli(created).UTC()
	h.LastContactAt = fromMillis(contact)
	return h, nil
}

func (t *Tx) HostTouchMany(ctx context.Context, contacts map[int64]time.Time) error {
	stmt, err := t.tx.PrepareContext(ctx, `UPDATE hosts SET last_contact_at = max(coalesce(last_contact_at, 0), ?) WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("recording host contacts: %w", err)
	}
	defer stmt.Close()
	for id, at := range contacts {
		if _, err := stmt.ExecContext(ctx, at.UnixMilli(), id); err != nil {
			return fmt.Errorf("recording contact with host %d: %w", id, err)
		}
	}
	return nil
}

func (t *Tx) HostContributorMany(ctx context.Context, hostIDs []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(hostIDs))
	err := chunks(hostIDs, func(ids []int64) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT id, contributor_id FROM hosts WHERE id IN (`+placeholders(len(ids))+`)`, int64Args(ids)...)
		if err != nil {
			return fmt.Errorf("loading host contributors: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var h, c int64
			if err := rows.Scan(&h, &c); err != nil {
				return fmt.Errorf("scanning host contributor: %w", err)
			}
			out[h] = c
		}
		return rows.Err()
	})
	return out, err
}
