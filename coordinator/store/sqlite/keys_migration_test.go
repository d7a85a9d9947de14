package sqlite

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// TestMigrateKeys opens a database made before 0005 holding a project with
// an app, a job and a unit: the project's key must move to api_keys under
// an admin member, nothing stored be lost, and every reference to the
// rebuilt projects table still hold.
func TestMigrateKeys(t *testing.T) {
	ctx := t.Context()
	path := databaseBefore(t, "0005", "?_pragma=foreign_keys(1)",
		`INSERT INTO projects (id, name, key_hash, created_at) VALUES (1, 'old', 'hash-old', 1000), (2, 'other', 'hash-other', 2000)`,
		`INSERT INTO blobs (sha256, data) VALUES ('m', x'00')`,
		`INSERT INTO apps (id, project_id, name) VALUES (1, 1, 'sim')`,
		`INSERT INTO app_versions (id, app_id, version, module_sha256, size, created_at) VALUES (1, 1, 1, 'm', 1, 1000)`,
		`INSERT INTO jobs (id, project_id, app_version_id, min_quorum, target_replicas, max_error_replicas, max_total_replicas,
			deadline_ms, reward_micros, state, unit_count, created_at) VALUES (1, 1, 1, 1, 1, 1, 1, 1000, 1, 'active', 1, 1000)`,
	)

	s := openTemp(t, path)
	var keyHash sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT key_hash FROM projects WHERE id = 1`).Scan(&keyHash); err != nil || keyHash.String != "hash-old" {
		t.Errorf("projects.key_hash of project 1 after migrating = %v, %v; want kept", keyHash, err)
	}
	rows, err := s.db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("PRAGMA foreign_key_check finds broken references after migrating")
	}
	rows.Close()
	var sqlText string
	if err := s.db.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = 'jobs'`).Scan(&sqlText); err != nil || !strings.Contains(sqlText, "REFERENCES projects (id)") {
		t.Errorf("jobs after migrating = %q, %v; want it still to reference projects", sqlText, err)
	}

	err = s.InTx(ctx, func(tx store.Tx) error {
		p, err := tx.ProjectGetByKeyHash(ctx, "hash-old")
		if err != nil || p.ID != 1 || p.Name != "old" || p.CreatedAt.UnixMilli() != 1000 {
			t.Errorf("ProjectGetByKeyHash(old key) = %+v, %v; want project 1", p, err)
		}
		k, err := tx.APIKeyGetByHash(ctx, "hash-other")
		if err != nil || k.ProjectID != 2 || k.Role != workunits.RoleAdmin || k.Name != store.FirstKeyName || k.Revoked() {
			t.Errorf("APIKeyGetByHash(other key) = %+v, %v; want project 2's live admin key", k, err)
		}
		members, err := tx.MemberList(ctx, 1)
		if err != nil || len(members) != 1 || members[0].Name != "admin" || members[0].Role != workunits.RoleAdmin {
			t.Errorf("MemberList(1) = %+v, %v; want one admin named admin", members, err)
		}
		if _, err := tx.JobGet(ctx, 1); err != nil {
			t.Errorf("JobGet(1) after migrating: %v", err)
		}
		// The rebuilt table still refuses what the old one did.
		if _, err := tx.AppVersionInsert(ctx, store.AppVersionInsertParams{ProjectID: 99, AppName: "x", ModuleSHA256: "m", Now: p.CreatedAt}); err == nil {
			t.Error("inserting an app of project 99, which does not exist, succeeded after migrating")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
