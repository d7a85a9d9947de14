package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

const payoutRunColumns = `r.id, r.key, r.threshold_micros, r.created_at, r.exported_at, r.state,
	(SELECT count(*) FROM payout_lines l WHERE l.run_id = r.id),
	(SELECT coalesce(sum(l.amount_micros), 0) FROM payout_lines l WHERE l.run_id = r.id)`

func scanPayoutRun(row scanner) (store.PayoutRun, error) {
	var r store.PayoutRun
	var created int64
	var exported sql.NullInt64
	err := row.Scan(&r.ID, &r.Key, &r.ThresholdMicros, &created, &exported, &r.State, &r.LineCount, &r.TotalMicros)
	r.CreatedAt, r.ExportedAt = time.UnixMilli(created).UTC(), fromMillis(exported)
	return r, err
}

const payoutLineColumns = `l.id, l.run_id, l.contributor_id, c.name, l.amount_micros, l.state, l.reference, l.updated_at,
	l.method, l.destination`

func scanPayoutLine(row scanner) (store.PayoutLine, error) {
	var l store.PayoutLine
	var updated int64
	err := row.Scan(&l.ID, &l.RunID, &l.ContributorID, &l.ContributorName, &l.AmountMicros, &l.State, &l.Reference, &updated, &l.Method, &l.Destination)
	l.UpdatedAt = time.UnixMilli(updated).UTC()
	return l, err
}

// PayoutRunCreate needs no lock on the balances it reads: the single
// writer keeps them as read until this transaction ends.
func (t *Tx) PayoutRunCreate(ctx context.Context, p store.PayoutRunCreateParams) (store.PayoutRun, []store.PayoutLine, bool, error) {
	if p.ThresholdMicros <= 0 {
		return store.PayoutRun{}, nil, false, workunits.Errorf(workunits.EINVALID, "a payout threshold must be positive")
	}
	var id int64
	err := t.tx.QueryRowContext(ctx, `SELECT id FROM payout_runs WHERE key = ?`, p.Key).Scan(&id)
	switch {
	case err == nil:
		run, lines, err := t.payoutRunWithLines(ctx, id)
		return run, lines, false, err
	case !errors.Is(err, sql.ErrNoRows):
		return store.PayoutRun{}, nil, false, fmt.Errorf("looking up payout run %q: %w", p.Key, err)
	}
	type payable struct {
		account     payouts.Account
		balance     int64
		method      string
		destination string
	}
	balances, err := collect(ctx, t, func(row scanner) (payable, error) {
		var b payable
		err := row.Scan(&b.account, &b.balance, &b.method, &b.destination)
		return b, err
	}, `SELECT b.account, b.balance, s.method, s.destination FROM contributor_payout_settings s
		JOIN ledger_balances b ON b.account = 'contributor:' || s.contributor_id || ':available'
		WHERE s.method <> '' AND b.balance >= max(?, coalesce(s.threshold_micros, 0)) ORDER BY b.account`,
		p.ThresholdMicros)
	if err != nil {
		return store.PayoutRun{}, nil, false, fmt.Errorf("finding payable contributors: %w", err)
	}
	state := store.PayoutRunClosed
	if len(balances) > 0 {
		state = store.PayoutRunOpen
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO payout_runs (key, threshold_micros, created_at, state) VALUES (?, ?, ?, ?)`,
		p.Key, p.ThresholdMicros, p.Now.UnixMilli(), state)
	if err != nil {
		return store.PayoutRun{}, nil, false, fmt.Errorf("creating payout run %q: %w", p.Key, err)
	}
	if id, err = res.LastInsertId(); err != nil {
		return store.PayoutRun{}, nil, false, fmt.Errorf("creating payout run %q: %w", p.Key, err)
	}
	insert, err := t.stmt(ctx, `INSERT INTO payout_lines (run_id, contributor_id, amount_micros, state, updated_at, method, destination)
		VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return store.PayoutRun{}, nil, false, err
	}
	for _, b := range balances {
		contributor, kind, ok := payouts.ContributorAccount(b.account)
		if !ok || kind != "available" {
			continue
		}
		if _, err := insert.ExecContext(ctx, id, contributor, b.balance, store.PayoutLinePending, p.Now.UnixMilli(), b.method, b.destination); err != nil {
			return store.PayoutRun{}, nil, false, fmt.Errorf("adding contributor %d to payout run %d: %w", contributor, id, err)
		}
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
	r, err := scanPayoutRun(t.tx.QueryRowContext(ctx, `SELECT `+payoutRunColumns+` FROM payout_runs r WHERE r.id = ?`, id))
	if err != nil {
		return r, notFound(err, "payout run %d not found", id)
	}
	return r, nil
}

func (t *Tx) PayoutRunList(ctx context.Context, beforeID int64, limit int) ([]store.PayoutRun, error) {
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	runs, err := collect(ctx, t, scanPayoutRun, `SELECT `+payoutRunColumns+` FROM payout_runs r WHERE r.id < ?
		ORDER BY r.id DESC LIMIT ?`, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("listing payout runs: %w", err)
	}
	return runs, nil
}

func (t *Tx) PayoutRunExported(ctx context.Context, id int64, now time.Time) (store.PayoutRun, error) {
	if _, err := t.tx.ExecContext(ctx, `UPDATE payout_runs SET exported_at = coalesce(exported_at, ?) WHERE id = ?`,
		now.UnixMilli(), id); err != nil {
		return store.PayoutRun{}, fmt.Errorf("marking payout run %d exported: %w", id, err)
	}
	return t.PayoutRunGet(ctx, id)
}

func (t *Tx) PayoutLineList(ctx context.Context, runID int64) ([]store.PayoutLine, error) {
	lines, err := collect(ctx, t, scanPayoutLine, `SELECT `+payoutLineColumns+` FROM payout_lines l
		JOIN contributors c ON c.id = l.contributor_id WHERE l.run_id = ? ORDER BY l.id`, runID)
	if err != nil {
		return nil, fmt.Errorf("listing lines of payout run %d: %w", runID, err)
	}
	return lines, nil
}

func (t *Tx) PayoutLineListByContributor(ctx context.Context, contributorID int64) ([]store.PayoutLine, error) {
	lines, err := collect(ctx, t, scanPayoutLine, `SELECT `+payoutLineColumns+` FROM payout_lines l
		JOIN contributors c ON c.id = l.contributor_id WHERE l.contributor_id = ? ORDER BY l.id DESC`, contributorID)
	if err != nil {
		return nil, fmt.Errorf("listing payout lines of contributor %d: %w", contributorID, err)
	}
	return lines, nil
}

func (t *Tx) PayoutLineUpdateMany(ctx context.Context, runID int64, updates []store.PayoutLineUpdate, now time.Time) error {
	if len(updates) == 0 {
		return nil
	}
	update, err := t.stmt(ctx, `UPDATE payout_lines SET state = ?, reference = ?, updated_at = ? WHERE id = ? AND run_id = ?`)
	if err != nil {
		return err
	}
	for _, u := range updates {
		res, err := update.ExecContext(ctx, u.State, u.Reference, now.UnixMilli(), u.LineID, runID)
		if err != nil {
			return fmt.Errorf("updating payout line %d: %w", u.LineID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return workunits.Errorf(workunits.ENOTFOUND, "payout run %d has no line %d", runID, u.LineID)
		}
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE payout_runs SET state = ? WHERE id = ?
		AND NOT EXISTS (SELECT 1 FROM payout_lines WHERE run_id = ? AND state = ?)`,
		store.PayoutRunClosed, runID, runID, store.PayoutLinePending); err != nil {
		return fmt.Errorf("closing payout run %d: %w", runID, err)
	}
	return nil
}

// LedgerEntryList reads each kind of match through its index: exact
// accounts and prefixes (as a range: the BINARY collation orders by bytes)
// on ledger_entries_account, keys on the transactions' key.
func (t *Tx) LedgerEntryList(ctx context.Context, p store.LedgerEntryListParams) ([]store.LedgerEntry, error) {
	accounts, err := json.Marshal(emptyIfNil(p.Accounts))
	if err != nil {
		return nil, err
	}
	prefixes, err := json.Marshal(emptyIfNil(slices.DeleteFunc(slices.Clone(p.Prefixes), func(s string) bool { return s == "" })))
	if err != nil {
		return nil, err
	}
	keys, err := json.Marshal(emptyIfNil(p.Keys))
	if err != nil {
		return nil, err
	}
	entries, err := collect(ctx, t, func(row scanner) (store.LedgerEntry, error) {
		var e store.LedgerEntry
		var at int64
		err := row.Scan(&e.ID, &e.TransactionID, &e.Key, &e.Memo, &at, &e.Account, &e.Amount)
		e.At = time.UnixMilli(at).UTC()
		return e, err
	}, `WITH ids AS (
			SELECT e.id FROM ledger_entries e WHERE e.account IN (SELECT value FROM json_each(?1))
			UNION SELECT e.id FROM json_each(?2) p
				JOIN ledger_entries e ON e.account >= p.value AND e.account < p.value || char(1114111)
			UNION SELECT e.id FROM ledger_transactions lt JOIN ledger_entries e ON e.transaction_id = lt.id
				WHERE lt.key IN (SELECT value FROM json_each(?3)))
		SELECT e.id, e.transaction_id, lt.key, lt.memo, lt.created_at, e.account, e.amount
		FROM ids JOIN ledger_entries e ON e.id = ids.id JOIN ledger_transactions lt ON lt.id = e.transaction_id
		ORDER BY e.id`, string(accounts), string(prefixes), string(keys))
	if err != nil {
		return nil, fmt.Errorf("listing ledger entries: %w", err)
	}
	return entries, nil
}

// emptyIfNil makes a nil slice encode as [] rather than null.
func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
