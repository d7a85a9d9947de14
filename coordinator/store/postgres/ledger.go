package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// LedgerRecord claims the key first: a transaction racing on the same key
// waits on the unique index and then finds it taken. Balances are moved
// with one upsert that locks them in account order, so transfers through
// the same accounts queue instead of deadlocking, and only then checked
// against their floors; a refusal rolls back to a savepoint, leaving no
// trace even if the caller goes on to commit.
func (t *Tx) LedgerRecord(ctx context.Context, lt payouts.Transaction, now time.Time) (bool, error) {
	if err := lt.Validate(); err != nil {
		return false, fmt.Errorf("recording ledger transaction: %w", err)
	}
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("recording ledger transaction %s: %w", lt.Key, err)
	}
	defer func() { _ = sp.Rollback(ctx) }() // a no-op once released

	var txID int64
	err = sp.QueryRow(ctx, `INSERT INTO ledger_transactions (key, memo, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO NOTHING RETURNING id`, lt.Key, lt.Memo, ts(now)).Scan(&txID)
	if errors.Is(err, pgx.ErrNoRows) {
		recorded, err := t.ledgerEntries(ctx, lt.Key)
		if err != nil {
			return false, err
		}
		if !lt.SameEntries(recorded) {
			return false, workunits.Errorf(workunits.ECONFLICT, "key %q was already used for a different transaction", lt.Key)
		}
		return false, nil // already recorded: idempotent
	}
	if err != nil {
		return false, fmt.Errorf("recording ledger transaction %s: %w", lt.Key, err)
	}

	entries := slices.Clone(lt.Entries)
	slices.SortFunc(entries, func(a, b payouts.Entry) int { return cmp.Compare(a.Account, b.Account) })
	accounts, amounts := make([]string, len(entries)), make([]int64, len(entries))
	for i, e := range entries {
		accounts[i], amounts[i] = string(e.Account), e.Amount
	}
	rows, err := sp.Query(ctx, `INSERT INTO ledger_balances (account, balance)
		SELECT account, amount FROM unnest($1::text[], $2::bigint[]) AS e(account, amount) ORDER BY account
		ON CONFLICT (account) DO UPDATE SET balance = ledger_balances.balance + excluded.balance
		RETURNING account, balance`, accounts, amounts)
	if err != nil {
		return false, fmt.Errorf("updating balances for %s: %w", lt.Key, err)
	}
	after := map[payouts.Account]int64{}
	var acct payouts.Account
	var balance int64
	if _, err := pgx.ForEachRow(rows, []any{&acct, &balance}, func() error {
		after[acct] = balance
		return nil
	}); err != nil {
		return false, fmt.Errorf("updating balances for %s: %w", lt.Key, err)
	}
	// In the caller's order, so the error names the same account SQLite's does.
	for _, e := range lt.Entries {
		if e.Amount >= 0 || e.Account.MayGoNegative() || after[e.Account] >= 0 {
			continue
		}
		before := after[e.Account] - e.Amount
		return false, workunits.Errorf(workunits.EINSUFFICIENT, "%s has %s %s, %s needed",
			e.Account, payouts.FormatMicros(before), payouts.Currency, payouts.FormatMicros(-e.Amount))
	}

	if _, err := sp.Exec(ctx, `INSERT INTO ledger_entries (transaction_id, account, amount)
		SELECT $1, account, amount FROM unnest($2::text[], $3::bigint[]) AS e(account, amount)`,
		txID, accounts, amounts); err != nil {
		return false, fmt.Errorf("recording entries of %s: %w", lt.Key, err)
	}
	if err := sp.Commit(ctx); err != nil {
		return false, fmt.Errorf("recording ledger transaction %s: %w", lt.Key, err)
	}
	return true, nil
}

// ledgerEntries returns the entries recorded under key, or nil if none.
func (t *Tx) ledgerEntries(ctx context.Context, key string) (map[payouts.Account]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT e.account, e.amount FROM ledger_entries e
		JOIN ledger_transactions lt ON lt.id = e.transaction_id WHERE lt.key = $1`, key)
	if err != nil {
		return nil, fmt.Errorf("looking up ledger transaction %s: %w", key, err)
	}
	var out map[payouts.Account]int64
	var a payouts.Account
	var amount int64
	if _, err := pgx.ForEachRow(rows, []any{&a, &amount}, func() error {
		if out == nil {
			out = map[payouts.Account]int64{}
		}
		out[a] = amount
		return nil
	}); err != nil {
		return nil, fmt.Errorf("looking up ledger transaction %s: %w", key, err)
	}
	return out, nil
}

func (t *Tx) LedgerBalance(ctx context.Context, account payouts.Account) (int64, error) {
	var b int64
	err := t.tx.QueryRow(ctx, `SELECT balance FROM ledger_balances WHERE account = $1`, account).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading balance of %s: %w", account, err)
	}
	return b, nil
}

func (t *Tx) LedgerAudit(ctx context.Context) (store.LedgerAudit, error) {
	var a store.LedgerAudit
	if err := t.tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM ledger_transactions), count(*), coalesce(sum(amount), 0)::bigint
		FROM ledger_entries`).Scan(&a.Transactions, &a.Entries, &a.Sum); err != nil {
		return a, fmt.Errorf("summing the ledger: %w", err)
	}
	if err := t.tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries
		GROUP BY transaction_id HAVING sum(amount) <> 0) unbalanced`).Scan(&a.Unbalanced); err != nil {
		return a, fmt.Errorf("finding unbalanced transactions: %w", err)
	}
	if err := t.tx.QueryRow(ctx, `SELECT count(*) FROM ledger_balances b
		LEFT JOIN (SELECT account, sum(amount) AS total FROM ledger_entries GROUP BY account) e ON e.account = b.account
		WHERE coalesce(e.total, 0) <> b.balance`).Scan(&a.StaleBalances); err != nil {
		return a, fmt.Errorf("checking running balances: %w", err)
	}
	rows, err := t.tx.Query(ctx, `SELECT account FROM ledger_entries GROUP BY account HAVING sum(amount) < 0 ORDER BY account`)
	if err != nil {
		return a, fmt.Errorf("finding negative accounts: %w", err)
	}
	negative, err := pgx.CollectRows(rows, pgx.RowTo[payouts.Account])
	if err != nil {
		return a, fmt.Errorf("finding negative accounts: %w", err)
	}
	for _, acct := range negative {
		if !acct.MayGoNegative() {
			a.NegativeAccounts = append(a.NegativeAccounts, string(acct))
		}
	}
	return a, nil
}

func (t *Tx) ContributorEarnings(ctx context.Context, contributorID int64) ([]store.HostEarnings, error) {
	rows, err := t.tx.Query(ctx, `SELECT h.id, h.name, h.last_contact_at,
			count(*) FILTER (WHERE t.validate_state = 'valid'),
			count(*) FILTER (WHERE t.validate_state = 'invalid'),
			count(*) FILTER (WHERE t.validate_state IN ('pending', 'inconclusive') AND u.state = 'open'),
			coalesce(sum(j.reward_micros) FILTER (WHERE t.validate_state IN ('pending', 'inconclusive') AND u.state = 'open'), 0)::bigint,
			coalesce(sum(j.reward_micros) FILTER (WHERE t.validate_state = 'valid'), 0)::bigint
		FROM hosts h
		LEFT JOIN tasks t ON t.host_id = h.id AND t.outcome = 'success'
		LEFT JOIN units u ON u.id = t.unit_id
		LEFT JOIN jobs j ON j.id = u.job_id
		WHERE h.contributor_id = $1
		GROUP BY h.id ORDER BY h.id`, contributorID)
	if err != nil {
		return nil, fmt.Errorf("summing earnings of contributor %d: %w", contributorID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.HostEarnings, error) {
		var e store.HostEarnings
		var contact pgtype.Timestamptz
		err := row.Scan(&e.HostID, &e.HostName, &contact, &e.TasksValid, &e.TasksInvalid, &e.TasksPending,
			&e.PendingMicros, &e.EarnedMicros)
		e.LastContactAt = fromTS(contact)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("summing earnings of contributor %d: %w", contributorID, err)
	}
	return out, nil
}
