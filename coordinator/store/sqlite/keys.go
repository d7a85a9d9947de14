package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// projectFirstMember gives a project just inserted its admin member and,
// if p has one, its first key.
func (t *Tx) projectFirstMember(ctx context.Context, pr workunits.Project, p store.ProjectInsertParams) error {
	name := p.AdminName
	if name == "" {
		name = store.FirstAdminName
	}
	m, err := t.MemberInsert(ctx, store.MemberInsertParams{ProjectID: pr.ID, Name: name, Email: p.AdminEmail, Role: workunits.RoleAdmin, Now: p.Now})
	if err != nil || p.KeyHash == "" {
		return err
	}
	_, err = t.APIKeyInsert(ctx, store.APIKeyInsertParams{ProjectID: pr.ID, MemberID: m.ID, Name: store.FirstKeyName,
		Role: workunits.RoleAdmin, KeyHash: p.KeyHash, Prefix: p.KeyPrefix, Now: p.Now})
	return err
}

func (t *Tx) ProjectList(ctx context.Context) ([]workunits.Project, error) {
	out, err := collect(ctx, t, scanProject, `SELECT `+projectColumns+` FROM projects ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("listing projects: %w", err)
	}
	return out, nil
}

func (t *Tx) ProjectRename(ctx context.Context, id int64, name string) (workunits.Project, error) {
	if _, err := t.tx.ExecContext(ctx, `UPDATE projects SET name = ? WHERE id = ?`, name, id); err != nil {
		return workunits.Project{}, fmt.Errorf("renaming project %d: %w", id, err)
	}
	return t.ProjectGet(ctx, id)
}

// projectLock checks the project exists. SQLite has one writer, so the
// transaction holds every row already.
func (t *Tx) projectLock(ctx context.Context, projectID int64) error {
	var id int64
	if err := t.tx.QueryRowContext(ctx, `SELECT id FROM projects WHERE id = ?`, projectID).Scan(&id); err != nil {
		return notFound(err, "project %d not found", projectID)
	}
	return nil
}

const memberColumns = `id, project_id, name, email, role, created_at, removed_at`

func scanMember(row interface{ Scan(...any) error }) (workunits.Member, error) {
	var m workunits.Member
	var created int64
	var removed sql.NullInt64
	err := row.Scan(&m.ID, &m.ProjectID, &m.Name, &m.Email, &m.Role, &created, &removed)
	m.CreatedAt, m.RemovedAt = time.UnixMilli(created).UTC(), fromMillis(removed)
	return m, err
}

func (t *Tx) MemberInsert(ctx context.Context, p store.MemberInsertParams) (workunits.Member, error) {
	if !p.Role.Valid() {
		return workunits.Member{}, workunits.Errorf(workunits.EINVALID, "role must be one of admin, researcher, viewer, got %q", p.Role)
	}
	if err := t.projectLock(ctx, p.ProjectID); err != nil {
		return workunits.Member{}, err
	}
	if p.Email != "" {
		var other int64
		err := t.tx.QueryRowContext(ctx, `SELECT id FROM project_members
			WHERE project_id = ? AND lower(email) = lower(?) AND removed_at IS NULL AND email <> ''`, p.ProjectID, p.Email).Scan(&other)
		switch {
		case err == nil:
			return workunits.Member{}, workunits.Errorf(workunits.ECONFLICT, "member %d already has email %s", other, p.Email)
		case err != sql.ErrNoRows:
			return workunits.Member{}, fmt.Errorf("checking email of new member: %w", err)
		}
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO project_members (project_id, name, email, role, created_at) VALUES (?, ?, ?, ?, ?)`,
		p.ProjectID, p.Name, p.Email, p.Role, p.Now.UnixMilli())
	if err != nil {
		return workunits.Member{}, fmt.Errorf("inserting member of project %d: %w", p.ProjectID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return workunits.Member{}, fmt.Errorf("reading member id: %w", err)
	}
	return workunits.Member{ID: id, ProjectID: p.ProjectID, Name: p.Name, Email: p.Email, Role: p.Role,
		CreatedAt: time.UnixMilli(p.Now.UnixMilli()).UTC()}, nil
}

func (t *Tx) MemberGet(ctx context.Context, projectID, memberID int64) (workunits.Member, error) {
	m, err := scanMember(t.tx.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM project_members WHERE id = ? AND project_id = ?`,
		memberID, projectID))
	if err != nil {
		return m, notFound(err, "member %d not found", memberID)
	}
	return m, nil
}

func (t *Tx) MemberList(ctx context.Context, projectID int64) ([]workunits.Member, error) {
	out, err := collect(ctx, t, scanMember, `SELECT `+memberColumns+` FROM project_members WHERE project_id = ? ORDER BY id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("listing members of project %d: %w", projectID, err)
	}
	return out, nil
}

func (t *Tx) MemberRemove(ctx context.Context, projectID, memberID int64, now time.Time) (workunits.Member, error) {
	if err := t.projectLock(ctx, projectID); err != nil {
		return workunits.Member{}, err
	}
	m, err := t.MemberGet(ctx, projectID, memberID)
	if err != nil || m.Removed() {
		return m, err
	}
	var otherAdmins, ownAdminKeys, otherAdminKeys int
	if err := t.tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM project_members WHERE project_id = ?1 AND id <> ?2 AND role = 'admin' AND removed_at IS NULL),
		(SELECT count(*) FROM api_keys WHERE project_id = ?1 AND member_id = ?2 AND role = 'admin' AND revoked_at IS NULL),
		(SELECT count(*) FROM api_keys WHERE project_id = ?1 AND member_id <> ?2 AND role = 'admin' AND revoked_at IS NULL)`,
		projectID, memberID).Scan(&otherAdmins, &ownAdminKeys, &otherAdminKeys); err != nil {
		return m, fmt.Errorf("counting the admins of project %d: %w", projectID, err)
	}
	if err := workunits.CheckMemberRemovable(m, otherAdmins, ownAdminKeys, otherAdminKeys); err != nil {
		return m, err
	}
	at := now.UnixMilli()
	if _, err := t.tx.ExecContext(ctx, `UPDATE project_members SET removed_at = ? WHERE id = ?`, at, memberID); err != nil {
		return m, fmt.Errorf("removing member %d: %w", memberID, err)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE member_id = ? AND revoked_at IS NULL`, at, memberID); err != nil {
		return m, fmt.Errorf("revoking the keys of member %d: %w", memberID, err)
	}
	m.RemovedAt = time.UnixMilli(at).UTC()
	return m, nil
}

const keyColumns = `id, project_id, member_id, name, role, prefix, created_at, revoked_at`

func scanKey(row interface{ Scan(...any) error }) (workunits.APIKey, error) {
	var k workunits.APIKey
	var created int64
	var revoked sql.NullInt64
	err := row.Scan(&k.ID, &k.ProjectID, &k.MemberID, &k.Name, &k.Role, &k.Prefix, &created, &revoked)
	k.CreatedAt, k.RevokedAt = time.UnixMilli(created).UTC(), fromMillis(revoked)
	return k, err
}

func (t *Tx) APIKeyInsert(ctx context.Context, p store.APIKeyInsertParams) (workunits.APIKey, error) {
	if err := t.projectLock(ctx, p.ProjectID); err != nil {
		return workunits.APIKey{}, err
	}
	m, err := t.MemberGet(ctx, p.ProjectID, p.MemberID)
	if err != nil {
		return workunits.APIKey{}, err
	}
	if err := workunits.CheckKeyInsert(m, p.Role); err != nil {
		return workunits.APIKey{}, err
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO api_keys (project_id, member_id, name, role, key_hash, prefix, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, p.ProjectID, p.MemberID, p.Name, p.Role, p.KeyHash, p.Prefix, p.Now.UnixMilli())
	if err != nil {
		return workunits.APIKey{}, fmt.Errorf("inserting key of member %d: %w", p.MemberID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return workunits.APIKey{}, fmt.Errorf("reading key id: %w", err)
	}
	return workunits.APIKey{ID: id, ProjectID: p.ProjectID, MemberID: p.MemberID, Name: p.Name, Role: p.Role,
		Prefix: p.Prefix, CreatedAt: time.UnixMilli(p.Now.UnixMilli()).UTC()}, nil
}

func (t *Tx) APIKeyGet(ctx context.Context, projectID, keyID int64) (workunits.APIKey, error) {
	k, err := scanKey(t.tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ? AND project_id = ?`, keyID, projectID))
	if err != nil {
		return k, notFound(err, "key %d not found", keyID)
	}
	return k, nil
}

func (t *Tx) APIKeyList(ctx context.Context, projectID int64) ([]workunits.APIKey, error) {
	out, err := collect(ctx, t, scanKey, `SELECT `+keyColumns+` FROM api_keys WHERE project_id = ? ORDER BY id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("listing keys of project %d: %w", projectID, err)
	}
	return out, nil
}

func (t *Tx) APIKeyRevoke(ctx context.Context, projectID, keyID int64, now time.Time) (workunits.APIKey, error) {
	if err := t.projectLock(ctx, projectID); err != nil {
		return workunits.APIKey{}, err
	}
	k, err := t.APIKeyGet(ctx, projectID, keyID)
	if err != nil || k.Revoked() {
		return k, err
	}
	var otherAdminKeys int
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM api_keys
		WHERE project_id = ? AND id <> ? AND role = 'admin' AND revoked_at IS NULL`, projectID, keyID).Scan(&otherAdminKeys); err != nil {
		return k, fmt.Errorf("counting the admin keys of project %d: %w", projectID, err)
	}
	if err := workunits.CheckKeyRevocable(k, otherAdminKeys); err != nil {
		return k, err
	}
	at := now.UnixMilli()
	if _, err := t.tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, at, keyID); err != nil {
		return k, fmt.Errorf("revoking key %d: %w", keyID, err)
	}
	k.RevokedAt = time.UnixMilli(at).UTC()
	return k, nil
}

func (t *Tx) APIKeyGetByHash(ctx context.Context, keyHash string) (workunits.APIKey, error) {
	k, err := scanKey(t.tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE key_hash = ?`, keyHash))
	if err != nil {
		return k, notFound(err, "no project has this key")
	}
	return k, nil
}
