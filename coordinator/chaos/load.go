package main

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// openDB opens the run's database for the checks: driver is "pgx" or
// "sqlite".
func openDB(driver, dsn string) (*sql.DB, error) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening the database to check it: %w", err)
	}
	return db, nil
}

// load reads every row the checks need, with SQL both stores accept.
func load(ctx context.Context, db *sql.DB, funding int64) (snapshot, error) {
	s := snapshot{funding: funding, balances: map[string]int64{}}
	steps := []struct {
		what, query string
		scan        func(*sql.Rows) error
	}{
		{"jobs", `SELECT id, project_id, min_quorum, max_error_replicas, max_total_replicas, reward_micros, state FROM jobs`,
			func(r *sql.Rows) error {
				var j jobRow
				err := r.Scan(&j.ID, &j.ProjectID, &j.MinQuorum, &j.MaxErrorReplicas, &j.MaxTotalReplicas, &j.Reward, &j.State)
				s.jobs = append(s.jobs, j)
				return err
			}},
		{"units", `SELECT id, job_id, state, coalesce(canonical_task_id, 0), input FROM units`,
			func(r *sql.Rows) error {
				var u unitRow
				err := r.Scan(&u.ID, &u.JobID, &u.State, &u.CanonicalTaskID, &u.Input)
				s.units = append(s.units, u)
				return err
			}},
		{"tasks", `SELECT id, unit_id, job_id, coalesce(host_id, 0), state, outcome, validate_state, output_sha256,
				CASE WHEN sent_at IS NULL THEN 0 ELSE 1 END,
				CASE WHEN received_at IS NULL THEN 0 ELSE 1 END,
				CASE WHEN received_at IS NOT NULL AND deadline_at IS NOT NULL AND received_at > deadline_at THEN 1 ELSE 0 END
			FROM tasks`,
			func(r *sql.Rows) error {
				var t taskRow
				var sent, received, late int
				err := r.Scan(&t.ID, &t.UnitID, &t.JobID, &t.HostID, &t.State, &t.Outcome, &t.ValidateState, &t.OutputSHA256, &sent, &received, &late)
				t.Sent, t.Received, t.ReceivedLate = sent == 1, received == 1, late == 1
				s.tasks = append(s.tasks, t)
				return err
			}},
		{"hosts", `SELECT id, contributor_id, CASE WHEN blocked_at IS NULL THEN 0 ELSE 1 END FROM hosts`,
			func(r *sql.Rows) error {
				var h hostRow
				var blocked int
				err := r.Scan(&h.ID, &h.ContributorID, &blocked)
				h.Blocked = blocked == 1
				s.hosts = append(s.hosts, h)
				return err
			}},
		{"ledger entries", `SELECT t.key, e.account, e.amount FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id`,
			func(r *sql.Rows) error {
				var e ledgerEntry
				err := r.Scan(&e.TxKey, &e.Account, &e.Amount)
				s.entries = append(s.entries, e)
				return err
			}},
		{"ledger balances", `SELECT account, balance FROM ledger_balances`,
			func(r *sql.Rows) error {
				var a string
				var b int64
				err := r.Scan(&a, &b)
				s.balances[a] = b
				return err
			}},
		{"money queues", `SELECT (SELECT count(*) FROM money_queue) + (SELECT count(*) FROM money_refused)`,
			func(r *sql.Rows) error { return r.Scan(&s.moneyQueued) }},
	}
	for _, st := range steps {
		rows, err := db.QueryContext(ctx, st.query)
		if err != nil {
			return s, fmt.Errorf("loading %s: %w", st.what, err)
		}
		for rows.Next() {
			if err := st.scan(rows); err != nil {
				rows.Close()
				return s, fmt.Errorf("loading %s: %w", st.what, err)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return s, fmt.Errorf("loading %s: %w", st.what, err)
		}
	}
	return s, nil
}
