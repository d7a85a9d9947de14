package postgres

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// TestMigrateKeys opens a schema made before 0005 holding two projects:
// each project's key must move to api_keys under an admin member, and
// projects.key_hash keep what it held.
func TestMigrateKeys(t *testing.T) {
	ctx := t.Context()
	cfg := newSchema(t)
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0001_init.sql", "0002_tasks_in_progress_by_job.sql", "0003_credit_queue.sql", "0004_credits_refused.sql"} {
		body, err := migrations.ReadFile("migrations/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(body)); err != nil {
			t.Fatalf("applying %s: %v", name, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, now())`, "migrations/"+name); err != nil {
			t.Fatal(err)
		}
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	if _, err := conn.Exec(ctx, `INSERT INTO projects (name, key_hash, created_at) VALUES ('old', 'hash-old', $1), ('other', 'hash-other', $1)`, created); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)

	s := openIn(t, cfg)
	var keyHash *string
	if err := s.pool.QueryRow(ctx, `SELECT key_hash FROM projects WHERE name = 'old'`).Scan(&keyHash); err != nil || keyHash == nil || *keyHash != "hash-old" {
		t.Errorf("projects.key_hash of project old after migrating = %v, %v; want kept", keyHash, err)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error {
		for _, hash := range []string{"hash-old", "hash-other"} {
			p, err := tx.ProjectGetByKeyHash(ctx, hash)
			if err != nil {
				t.Errorf("ProjectGetByKeyHash(%s): %v", hash, err)
				continue
			}
			members, err := tx.MemberList(ctx, p.ID)
			if err != nil || len(members) != 1 || members[0].Name != "admin" || members[0].Role != workunits.RoleAdmin || !members[0].CreatedAt.Equal(created) {
				t.Errorf("members of project %q = %+v, %v; want one admin named admin", p.Name, members, err)
			}
			k, err := tx.APIKeyGetByHash(ctx, hash)
			if err != nil || k.ProjectID != p.ID || k.MemberID != members[0].ID || k.Role != workunits.RoleAdmin || k.Revoked() {
				t.Errorf("APIKeyGetByHash(%s) = %+v, %v; want the live admin key of project %d", hash, k, err, p.ID)
			}
		}
		// A new project leaves the old column empty.
		_, err := tx.ProjectInsert(ctx, store.ProjectInsertParams{Name: "new", KeyHash: "hash-new", Now: created})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
