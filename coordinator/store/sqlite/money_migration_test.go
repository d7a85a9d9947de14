package sqlite

import (
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
)

// TestMigrateMoneyQueue opens a database made before 0013 with a queued
// credit, a refused one, one already paid under the old key and a success
// still waiting to be judged: the credits must become reserve and post
// pairs (the refused pair still refused, in order), the paid one nothing,
// and the waiting success a reserve.
func TestMigrateMoneyQueue(t *testing.T) {
	ctx := t.Context()
	path := databaseBefore(t, "0013", "",
		`INSERT INTO jobs (id, project_id, app_version_id, min_quorum, target_replicas, max_error_replicas, max_total_replicas,
			deadline_ms, reward_micros, state, unit_count, created_at) VALUES (1, 1, 1, 2, 2, 1, 2, 1000, 40, 'active', 2, 1000)`,
		`INSERT INTO units (id, job_id, seq, input, state) VALUES (1, 1, 0, x'', 'done'), (2, 1, 1, x'', 'open')`,
		`INSERT INTO hosts (id, contributor_id, name, platform, cores, token_hash, created_at) VALUES (5, 9, 'pc', 'test', 1, 't', 1000)`,
		`INSERT INTO tasks (id, unit_id, job_id, host_id, state, outcome, validate_state, created_at) VALUES
			(10, 1, 1, 5, 'over', 'success', 'valid', 1000), (11, 1, 1, 5, 'over', 'success', 'valid', 1000),
			(12, 1, 1, 5, 'over', 'success', 'valid', 1000),
			(13, 2, 1, 5, 'over', 'success', 'pending', 1000), (14, 2, 1, 5, 'in_progress', '', 'pending', 1000)`,
		`INSERT INTO credit_queue VALUES (11, 1, 9, 40), (12, 1, 9, 40)`,
		`INSERT INTO credits_refused VALUES (10, 1, 9, 40, 'insufficient_funds: short', 2, 1000, 5000)`,
		`INSERT INTO ledger_transactions (id, key, memo, created_at) VALUES (1, 'reward:task:12', 'paid', 1000)`,
	)

	s := openTemp(t, path)
	err := s.InTx(ctx, func(tx store.Tx) error {
		refused, err := tx.MoneyRefusedList(ctx, 10)
		if err != nil {
			return err
		}
		queued, err := tx.MoneyQueueTake(ctx, 10)
		if err != nil {
			return err
		}
		type row struct {
			kind store.MoneyKind
			task int64
		}
		var gotQueued, gotRefused []row
		for _, m := range queued {
			gotQueued = append(gotQueued, row{m.Kind, m.TaskID})
			if m.JobID != 1 || m.ContributorID != 9 || m.AmountMicros != 40 || m.FeeMicros != 0 {
				t.Errorf("queued %+v, want job 1, contributor 9, 40 without fee", m)
			}
		}
		for _, m := range refused {
			gotRefused = append(gotRefused, row{m.Kind, m.TaskID})
			if m.Reason != "insufficient_funds: short" || m.Attempts != 2 || !m.RetryAt.Equal(time.UnixMilli(5000).UTC()) {
				t.Errorf("refused %+v, want the old refusal kept", m)
			}
		}
		if want := []row{{store.MoneyReserve, 11}, {store.MoneyPost, 11}, {store.MoneyReserve, 13}}; !slices.Equal(gotQueued, want) {
			t.Errorf("queued after migrating = %v, want %v", gotQueued, want)
		}
		if want := []row{{store.MoneyReserve, 10}, {store.MoneyPost, 10}}; !slices.Equal(gotRefused, want) ||
			refused[0].Seq >= refused[1].Seq {
			t.Errorf("refused after migrating = %v (%+v), want %v in order", gotRefused, refused, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
