package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) LedgerRecord(ctx context.Context, lt payouts.Transaction, now time.Time) (bool, error) {
	if err := lt.Validate(); err != nil {
		return false, fmt.Errorf("recording ledger transaction: %w", err)
	}
	recorded, err := t.ledgerEntries(ctx, lt.Key)
	if err != nil {
		return false, err
	}
	if recorded != nil {
		if !lt.SameEntries(recorded) {
			return false, workunits.Errorf(workunits.ECONFLICT, "key %q was already used for a different transaction", lt.Key)
		}
		return false, nil // already recorded: idempotent
	}
	// Check every floor before writing anything, so a refused transaction
	// leaves no trace even if the caller went on to commit.
	for _, e := range lt.Entries {
		if e.Amount >= 0 || e.Account.MayGoNegative() {
			continue
		}
		balance, err := t.LedgerBalance(ctx, e.Account)
		if err != nil {
			return false, err
		}
		if balance+e.Amount < 0 {
			return false, workunits.Errorf(workunits.EINSUFFICIENT, "%s has %s %s, %s needed",
				e.Account, payouts.FormatMicros(balance), payouts.Currency, payouts.FormatMicros(-e.Amount))
		}
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO ledger_transactions (key, memo, created_at) VALUES (?, ?, ?)`,
		lt.Key, lt.Memo, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("recording ledger transaction %s: %w", lt.Key, err)
	}
	txID, err := res.LastInsertId()
	if err != nil {
		return false, fmt.Errorf("reading ledger transaction id: %w", err)
	}
	for _, e := range lt.Entries {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO ledger_entries (transaction_id, account, amount) VALUES (?, ?, ?)`,
			txID, e.Account, e.Amount); err != nil {
			return false, fmt.Errorf("recording entry for %s: %w", e.Account, err)
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO ledger_balances (account, balance) VALUES (?, ?)
			ON CONFLICT (account) DO UPDATE SET balance = balance + excluded.balance`, e.Account, e.Amount); err != nil {
			return false, fmt.Errorf("updating balance of %s: %w", e.Account, err)
		}
	}
	return true, nil
}

// ledgerEntries returns the entries recorded under key, or nil if none.
func (t *Tx) ledgerEntries(ctx context.Context, key string) (map[payouts.Account]int64, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT e.account, e.amount FROM ledger_entries e
		JOIN ledger_transactions lt ON lt.id = e.transaction_id WHERE lt.key = ?`, key)
	if err != nil {
		return nil, fmt.Errorf("looking up ledger transaction %s: %w", key, err)
	}
	defer rows.Close()
	var out map[payouts.Account]int64
	for rows.Next() {
		var a payouts.Account
		var amount int64
		if err := rows.Scan(&a, &amount); err != nil {
			return nil, fmt.Errorf("scanning ledger entry: %w", err)
		}
		if out == nil {
			out = map[payouts.Account]int64{}
		}
		out[a] = amount
	}
	return out, rows.Err()
}

func (t *Tx) LedgerBalance(ctx context.Context, account payouts.Account) (int64, error) {
	var b int64
	err := t.tx.QueryRowContext(ctx, `SELECT balance FROM ledger_balances WHERE account = ?`, account).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading balance of %s: %w", account, err)
	}
	return b, nil
}

func (t *Tx) LedgerAudit(ctx context.Context) (store.LedgerAudit, error) {
	var a store.LedgerAudit
	if err := t.tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM ledger_transactions), count(*), coalesce(sum(amount), 0)
		FROM ledger_entries`).Scan(&a.Transactions, &a.Entries, &a.Sum); err != nil {
		return a, fmt.Errorf("summing the ledger: %w", err)
	}
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries
		GROUP BY transaction_id HAVING sum(amount) <> 0)`).Scan(&a.Unbalanced); err != nil {
		return a, fmt.Errorf("finding unbalanced transactions: %w", err)
	}
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM ledger_balances b
		LEFT JOIN (SELECT account, sum(amount) AS total FROM ledger_entries GROUP BY account) e ON e.account = b.account
		WHERE coalesce(e.total, 0) <> b.balance`).Scan(&a.StaleBalances); err != nil {
		return a, fmt.Errorf("checking running balances: %w", err)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT account, sum(amount) FROM ledger_entries GROUP BY account HAVING sum(amount) < 0 ORDER BY account`)
	if err != nil {
		return a, fmt.Errorf("finding negative accounts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var acct payouts.Account
		var sum int64
		if err := rows.Scan(&acct, &sum); err != nil {
			return a, fmt.Errorf("scanning account: %w", err)
		}
		if !acct.MayGoNegative() {
			a.NegativeAccounts = append(a.NegativeAccounts, string(acct))
		}
	}
	return a, rows.Err()
}

func (t *Tx) ContributorEarnings(ctx context.Context, contributorID int64) ([]store.HostEarnings, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT h.id, h.name, h.last_contact_at,
			count(CASE WHEN t.validate_state = 'valid' THEN 1 END),
			count(CASE WHEN t.validate_state = 'invalid' THEN 1 END),
			count(CASE WHEN t.outcome = 'success' AND t.validate_state IN ('pending', 'inconclusive') AND u.state = 'open' THEN 1 END),
			coalesce(sum(CASE WHEN t.outcome = 'success' AND t.validate_state IN ('pending', 'inconclusive') AND u.state = 'open' THEN j.reward_micros END), 0),
			coalesce(sum(CASE WHEN t.validate_state = 'valid' THEN j.reward_micros END), 0)
		FROM hosts h
		LEFT JOIN tasks t ON t.host_id = h.id AND t.outcome = 'success'
		LEFT JOIN units u ON u.id = t.unit_id
		LEFT JOIN jobs j ON j.id = u.job_id
		WHERE h.contributor_id = ?
		GROUP BY h.id ORDER BY h.id`, contributorID)
	if err != nil {
		return nil, fmt.Errorf("summing earnings of contributor %d: %w", contributorID, err)
	}
	defer rows.Close()
	var out []store.HostEarnings
	for rows.Next() {
		var e store.HostEarnings
		var contact sql.NullInt64
		if err := rows.Scan(&e.HostID, &e.HostName, &contact, &e.TasksValid, &e.TasksInvalid, &e.TasksPending,
			&e.PendingMicros, &e.EarnedMicros); err != nil {
			return nil, fmt.Errorf("scanning host earnings: %w", err)
		}
		e.LastContactAt = fromMillis(contact)
		out = append(out, e)
	}
	return out, rows.Err()
}
