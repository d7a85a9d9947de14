package sqlite

import (
	"cmp"
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

func (t *Tx) CreditQueueAdd(ctx context.Context, credits []store.Credit) error {
	if len(credits) == 0 {
		return nil
	}
	insert, err := t.stmt(ctx, `INSERT INTO credit_queue (task_id, job_id, contributor_id, amount_micros) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, c := range credits {
		if _, err := insert.ExecContext(ctx, c.TaskID, c.JobID, c.ContributorID, c.AmountMicros); err != nil {
			return fmt.Errorf("queueing credit of task %d: %w", c.TaskID, err)
		}
	}
	return nil
}

func (t *Tx) CreditQueueTake(ctx context.Context, limit int) ([]store.Credit, error) {
	rows, err := t.tx.QueryContext(ctx, `DELETE FROM credit_queue WHERE task_id IN (
			SELECT task_id FROM credit_queue ORDER BY task_id LIMIT ?)
		RETURNING task_id, job_id, contributor_id, amount_micros`, limit)
	if err != nil {
		return nil, fmt.Errorf("taking credits to pay: %w", err)
	}
	defer rows.Close()
	var credits []store.Credit
	for rows.Next() {
		var c store.Credit
		if err := rows.Scan(&c.TaskID, &c.JobID, &c.ContributorID, &c.AmountMicros); err != nil {
			return nil, fmt.Errorf("taking credits to pay: %w", err)
		}
		credits = append(credits, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("taking credits to pay: %w", err)
	}
	slices.SortFunc(credits, func(a, b store.Credit) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return credits, nil
}

func (t *Tx) CreditRefusedAdd(ctx context.Context, credits []store.RefusedCredit) error {
	if len(credits) == 0 {
		return nil
	}
	insert, err := t.stmt(ctx, `INSERT INTO credits_refused (task_id, job_id, contributor_id, amount_micros,
		reason, attempts, refused_at, retry_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, c := range credits {
		if _, err := insert.ExecContext(ctx, c.TaskID, c.JobID, c.ContributorID, c.AmountMicros,
			c.Reason, c.Attempts, c.RefusedAt.UnixMilli(), c.RetryAt.UnixMilli()); err != nil {
			return fmt.Errorf("setting aside the refused credit of task %d: %w", c.TaskID, err)
		}
	}
	return nil
}

const refusedColumns = `task_id, job_id, contributor_id, amount_micros, reason, attempts, refused_at, retry_at`

func scanRefused(rows *sql.Rows) ([]store.RefusedCredit, error) {
	defer rows.Close()
	var out []store.RefusedCredit
	for rows.Next() {
		var c store.RefusedCredit
		var refused, retry int64
		if err := rows.Scan(&c.TaskID, &c.JobID, &c.ContributorID, &c.AmountMicros, &c.Reason, &c.Attempts,
			&refused, &retry); err != nil {
			return nil, err
		}
		c.RefusedAt, c.RetryAt = time.UnixMilli(refused).UTC(), time.UnixMilli(retry).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

func (t *Tx) CreditRefusedTake(ctx context.Context, now time.Time, limit int) ([]store.RefusedCredit, error) {
	rows, err := t.tx.QueryContext(ctx, `DELETE FROM credits_refused WHERE task_id IN (
			SELECT task_id FROM credits_refused WHERE retry_at <= ? ORDER BY task_id LIMIT ?)
		RETURNING `+refusedColumns, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("taking refused credits to retry: %w", err)
	}
	credits, err := scanRefused(rows)
	if err != nil {
		return nil, fmt.Errorf("taking refused credits to retry: %w", err)
	}
	slices.SortFunc(credits, func(a, b store.RefusedCredit) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return credits, nil
}

func (t *Tx) CreditRefusedList(ctx context.Context, limit int) ([]store.RefusedCredit, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+refusedColumns+` FROM credits_refused ORDER BY task_id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing refused credits: %w", err)
	}
	credits, err := scanRefused(rows)
	if err != nil {
		return nil, fmt.Errorf("listing refused credits: %w", err)
	}
	return credits, nil
}

func (t *Tx) CreditPayable(ctx context.Context, now time.Time) (bool, error) {
	var payable bool
	if err := t.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM credit_queue)
		OR EXISTS (SELECT 1 FROM credits_refused WHERE retry_at <= ?)`, now.UnixMilli()).Scan(&payable); err != nil {
		return false, fmt.Errorf("looking for credits to pay: %w", err)
	}
	return payable, nil
}

// LedgerRecordMany checks every key and every floor before writing
// anything, so a refused batch leaves no trace even if the caller goes on
// to commit; the single writer keeps what it read true until it writes.
func (t *Tx) LedgerRecordMany(ctx context.Context, txs []payouts.Transaction, now time.Time) ([]bool, error) {
	batch, err := store.NewLedgerBatch(txs)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(batch.Unique))
	for i, j := range batch.Unique {
		keys[i] = txs[j].Key
	}
	used, err := t.ledgerKeysUsed(ctx, keys)
	if err != nil {
		return nil, err
	}
	var fresh []payouts.Transaction
	for _, i := range batch.Unique {
		lt := txs[i]
		if !used[lt.Key] {
			fresh = append(fresh, lt)
			continue
		}
		recorded, err := t.ledgerEntries(ctx, lt.Key)
		if err != nil {
			return nil, err
		}
		if !lt.SameEntries(recorded) {
			return nil, workunits.Errorf(workunits.ECONFLICT, "key %q was already used for a different transaction", lt.Key)
		}
	}
	accounts, deltas := store.Deltas(fresh)
	for i, a := range accounts {
		if deltas[i] >= 0 || a.MayGoNegative() {
			continue
		}
		balance, err := t.LedgerBalance(ctx, a)
		if err != nil {
			return nil, err
		}
		if err := store.CheckFloor(a, deltas[i], balance+deltas[i]); err != nil {
			return nil, err
		}
	}
	if len(fresh) == 0 {
		return batch.Recorded(nil), nil
	}

	insertTx, err := t.stmt(ctx, `INSERT INTO ledger_transactions (key, memo, created_at) VALUES (?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	insertEntry, err := t.stmt(ctx, `INSERT INTO ledger_entries (transaction_id, account, amount) VALUES (?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	written := make(map[string]bool, len(fresh))
	for _, lt := range fresh {
		res, err := insertTx.ExecContext(ctx, lt.Key, lt.Memo, now.UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("recording ledger transaction %s: %w", lt.Key, err)
		}
		txID, err := res.LastInsertId()
		if err != nil {
			return nil, fmt.Errorf("reading ledger transaction id: %w", err)
		}
		for _, e := range lt.Entries {
			if _, err := insertEntry.ExecContext(ctx, txID, e.Account, e.Amount); err != nil {
				return nil, fmt.Errorf("recording entry for %s: %w", e.Account, err)
			}
		}
		written[lt.Key] = true
	}
	upsertBalance, err := t.stmt(ctx, `INSERT INTO ledger_balances (account, balance) VALUES (?, ?)
		ON CONFLICT (account) DO UPDATE SET balance = balance + excluded.balance`)
	if err != nil {
		return nil, err
	}
	for i, a := range accounts {
		if _, err := upsertBalance.ExecContext(ctx, a, deltas[i]); err != nil {
			return nil, fmt.Errorf("updating balance of %s: %w", a, err)
		}
	}
	return batch.Recorded(written), nil
}

// ledgerKeysUsed says which of keys already name a recorded transaction,
// in one statement: a payer's batch has thousands, almost all new.
func (t *Tx) ledgerKeysUsed(ctx context.Context, keys []string) (map[string]bool, error) {
	list, err := json.Marshal(keys)
	if err != nil {
		return nil, fmt.Errorf("looking up %d ledger keys: %w", len(keys), err)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT key FROM ledger_transactions WHERE key IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, fmt.Errorf("looking up %d ledger keys: %w", len(keys), err)
	}
	defer rows.Close()
	used := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("looking up %d ledger keys: %w", len(keys), err)
		}
		used[k] = true
	}
	return used, rows.Err()
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

func (t *Tx) LedgerBalanceMany(ctx context.Context, accounts []payouts.Account) (map[payouts.Account]int64, error) {
	list, err := json.Marshal(accounts)
	if err != nil {
		return nil, fmt.Errorf("reading %d balances: %w", len(accounts), err)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT account, balance FROM ledger_balances
		WHERE account IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, fmt.Errorf("reading %d balances: %w", len(accounts), err)
	}
	defer rows.Close()
	out := make(map[payouts.Account]int64, len(accounts))
	for rows.Next() {
		var a payouts.Account
		var b int64
		if err := rows.Scan(&a, &b); err != nil {
			return nil, fmt.Errorf("reading %d balances: %w", len(accounts), err)
		}
		out[a] = b
	}
	return out, rows.Err()
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
