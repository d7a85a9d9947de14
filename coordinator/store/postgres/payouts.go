package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

const payoutRunColumns = `r.id, r.key, r.threshold_micros, r.created_at, r.exported_at, r.state,
	(SELECT count(*) FROM payout_lines l WHERE l.run_id = r.id),
	(SELECT coalesce(sum(l.amount_micros), 0)::bigint FROM payout_lines l WHERE l.run_id = r.id)`

func scanPayoutRun(row pgx.CollectableRow) (store.PayoutRun, error) {
	var r store.PayoutRun
	var exported pgtype.Timestamptz
	err := row.Scan(&r.ID, &r.Key, &r.ThresholdMicros, &r.CreatedAt, &exported, &r.State, &r.LineCount, &r.TotalMicros)
	r.CreatedAt, r.ExportedAt = r.CreatedAt.UTC(), fromTS(exported)
	return r, err
}

const payoutLineColumns = `l.id, l.run_id, l.contributor_id, c.name, l.amount_micros, l.state, l.reference, l.updated_at,
	l.method, l.destination`

func scanPayoutLine(row pgx.CollectableRow) (store.PayoutLine, error) {
	var l store.PayoutLine
	err := row.Scan(&l.ID, &l.RunID, &l.ContributorID, &l.ContributorName, &l.AmountMicros, &l.State, &l.Reference, &l.UpdatedAt, &l.Method, &l.Destination)
	l.UpdatedAt = l.UpdatedAt.UTC()
	return l, err
}

// PayoutRunCreate inserts the run first: a concurrent creation of the same
// key waits on the unique key and then finds the run made. The balances it
// pays are locked, in account order as LedgerRecordMany locks them, so
// that they cannot change before the caller holds them.
func (t *Tx) PayoutRunCreate(ctx context.Context, p store.PayoutRunCreateParams) (store.PayoutRun, []store.PayoutLine, bool, error) {
	if p.ThresholdMicros <= 0 {
		return store.PayoutRun{}, nil, false, workunits.Errorf(workunits.EINVALID, "a payout threshold must be positive")
	}
	var id int64
	err := t.tx.QueryRow(ctx, `INSERT INTO payout_runs (key, threshold_micros, created_at, state) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key) DO NOTHING RETURNING id`, p.Key, p.ThresholdMicros, ts(p.Now), store.PayoutRunOpen).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := t.tx.QueryRow(ctx, `SELECT id FROM payout_runs WHERE key = $1`, p.Key).Scan(&id); err != nil {
			return store.PayoutRun{}, nil, false, fmt.Errorf("looking up payout run %q: %w", p.Key, err)
		}
		run, lines, err := t.payoutRunWithLines(ctx, id)
		return run, lines, false, err
	}
	if err != nil {
		return store.PayoutRun{}, nil, false, fmt.Errorf("creating payout run %q: %w", p.Key, err)
	}
	rows, _ := t.tx.Query(ctx, `SELECT b.account, b.balance, s.method, s.destination FROM contributor_payout_settings s
		JOIN ledger_balances b ON b.account = 'contributor:' || s.contributor_id || ':available'
		WHERE s.method <> '' AND b.balance >= greatest($1, coalesce(s.threshold_micros, 0))
		ORDER BY b.account FOR UPDATE OF b`, p.ThresholdMicros)
	var contributors, amounts []int64
	var methods, destinations []string
	var account payouts.Account
	var balance int64
	var method, destination string
	if _, err := pgx.ForEachRow(rows, []any{&account, &balance, &method, &destination}, func() error {
		if c, kind, ok := payouts.ContributorAccount(account); ok && kind == "available" {
			contributors, amounts = append(contributors, c), append(amounts, balance)
			methods, destinations = append(methods, method), append(destinations, destination)
		}
		return nil
	}); err != nil {
		return store.PayoutRun{}, nil, false, fmt.Errorf("finding payable contributors: %w", err)
	}
	if len(contributors) == 0 {
		if _, err := t.tx.Exec(ctx, `UPDATE payout_runs SET state = $2 WHERE id = $1`, id, store.PayoutRunClosed); err != nil {
			return store.PayoutRun{}, nil, false, fmt.Errorf("closing empty payout run %d: %w", id, err)
		}
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO payout_lines (run_id, contributor_id, amount_micros, state, updated_at, method, destination)
		SELECT $1, c, a, $4, $5, m, d FROM unnest($2::bigint[], $3::bigint[], $6::text[], $7::text[]) AS u (c, a, m, d) ORDER BY c`,
		id, contributors, amounts, store.PayoutLinePending, ts(p.Now), methods, destinations); err != nil {
		return store.PayoutRun{}, nil, false, fmt.Errorf("adding %d contributors to payout run %d: %w", len(contributors), id, err)
	}
	run, lines, err := t.payoutRunWithLines(ctx, id)
	return run, lines, true, err
}

func (t *Tx) payoutRunWithLines(ctx context.Context, id int64) (store.PayoutRun, []store.PayoutLine, error) {
	run, err := t.PayoutRunGet(ctx, id)
	if err != nil {
		return run, nil, err
	}
	lines, err := t.PayoutLineList(ctx, id)
	return run, lines, err
}

func (t *Tx) PayoutRunGet(ctx context.Context, id int64) (store.PayoutRun, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+payoutRunColumns+` FROM payout_runs r WHERE r.id = $1`, id)
	r, err := pgx.CollectExactlyOneRow(rows, scanPayoutRun)
	if err != nil {
		return r, notFound(err, "payout run %d not found", id)
	}
	return r, nil
}

func (t *Tx) PayoutRunList(ctx context.Context, beforeID int64, limit int) ([]store.PayoutRun, error) {
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	rows, _ := t.tx.Query(ctx, `SELECT `+payoutRunColumns+` FROM payout_runs r WHERE r.id < $1
		ORDER BY r.id DESC LIMIT $2`, beforeID, limit)
	runs, err := pgx.CollectRows(rows, scanPayoutRun)
	if err != nil {
		return nil, fmt.Errorf("listing payout runs: %w", err)
	}
	return runs, nil
}

func (t *Tx) PayoutRunExported(ctx context.Context, id int64, now time.Time) (store.PayoutRun, error) {
	if _, err := t.tx.Exec(ctx, `UPDATE payout_runs SET exported_at = coalesce(exported_at, $2) WHERE id = $1`, id, ts(now)); err != nil {
		return store.PayoutRun{}, fmt.Errorf("marking payout run %d exported: %w", id, err)
	}
	return t.PayoutRunGet(ctx, id)
}

func (t *Tx) PayoutLineList(ctx context.Context, runID int64) ([]store.PayoutLine, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+payoutLineColumns+` FROM payout_lines l
		JOIN contributors c ON c.id = l.contributor_id WHERE l.run_id = $1 ORDER BY l.id`, runID)
	lines, err := pgx.CollectRows(rows, scanPayoutLine)
	if err != nil {
		return nil, fmt.Errorf("listing lines of payout run %d: %w", runID, err)
	}
	return lines, nil
}

func (t *Tx) PayoutLineListByContributor(ctx context.Context, contributorID int64) ([]store.PayoutLine, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+payoutLineColumns+` FROM payout_lines l
		JOIN contributors c ON c.id = l.contributor_id WHERE l.contributor_id = $1 ORDER BY l.id DESC`, contributorID)
	lines, err := pgx.CollectRows(rows, scanPayoutLine)
	if err != nil {
		return nil, fmt.Errorf("listing payout lines of contributor %d: %w", contributorID, err)
	}
	return lines, nil
}

func (t *Tx) PayoutLineUpdateMany(ctx context.Context, runID int64, updates []store.PayoutLineUpdate, now time.Time) error {
	if len(updates) == 0 {
		return nil
	}
	n := len(updates)
	ids, states, refs := make([]int64, n), make([]string, n), make([]string, n)
	for i, u := range updates {
		ids[i], states[i], refs[i] = u.LineID, u.State, u.Reference
	}
	tag, err := t.tx.Exec(ctx, `UPDATE payout_lines l SET state = u.state, reference = u.reference, updated_at = $5
		FROM unnest($2::bigint[], $3::text[], $4::text[]) AS u (id, state, reference)
		WHERE l.id = u.id AND l.run_id = $1`, runID, ids, states, refs, ts(now))
	if err != nil {
		return fmt.Errorf("updating %d lines of payout run %d: %w", n, runID, err)
	}
	if tag.RowsAffected() != int64(n) {
		return workunits.Errorf(workunits.ENOTFOUND, "payout run %d lacks some of lines %v", runID, ids)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE payout_runs SET state = $2 WHERE id = $1
		AND NOT EXISTS (SELECT 1 FROM payout_lines WHERE run_id = $1 AND state = $3)`,
		runID, store.PayoutRunClosed, store.PayoutLinePending); err != nil {
		return fmt.Errorf("closing payout run %d: %w", runID, err)
	}
	return nil
}

func (t *Tx) LedgerEntryList(ctx context.Context, p store.LedgerEntryListParams) ([]store.LedgerEntry, error) {
	accounts := make([]string, len(p.Accounts))
	for i, a := range p.Accounts {
		accounts[i] = string(a)
	}
	var prefixes []string
	for _, pre := range p.Prefixes {
		if pre != "" {
			prefixes = append(prefixes, pre)
		}
	}
	rows, _ := t.tx.Query(ctx, `WITH ids AS (
			SELECT e.id FROM ledger_entries e WHERE e.account = ANY($1::text[])
			UNION SELECT e.id FROM ledger_entries e, unnest($2::text[]) AS p (prefix) WHERE starts_with(e.account, p.prefix)
			UNION SELECT e.id FROM ledger_transactions lt JOIN ledger_entries e ON e.transaction_id = lt.id
				WHERE lt.key = ANY($3::text[]))
		SELECT e.id, e.transaction_id, lt.key, lt.memo, lt.created_at, e.account, e.amount
		FROM ids JOIN ledger_entries e ON e.id = ids.id JOIN ledger_transactions lt ON lt.id = e.transaction_id
		ORDER BY e.id`, accounts, prefixes, p.Keys)
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.LedgerEntry, error) {
		var e store.LedgerEntry
		err := row.Scan(&e.ID, &e.TransactionID, &e.Key, &e.Memo, &e.At, &e.Account, &e.Amount)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing ledger entries: %w", err)
	}
	return entries, nil
}
