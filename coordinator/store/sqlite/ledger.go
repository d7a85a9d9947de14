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

func (t *Tx) MoneyQueueAdd(ctx context.Context, moves []store.MoneyMove) error {
	if len(moves) == 0 {
		return nil
	}
	insert, err := t.stmt(ctx, `INSERT INTO money_queue (kind, task_id, job_id, contributor_id, amount_micros, fee_micros)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, m := range moves {
		if _, err := insert.ExecContext(ctx, m.Kind, m.TaskID, m.JobID, m.ContributorID, m.AmountMicros, m.FeeMicros); err != nil {
			return fmt.Errorf("queueing the %s of task %d: %w", m.Kind, m.TaskID, err)
		}
	}
	return nil
}

const moneyColumns = `seq, kind, task_id, job_id, contributor_id, amount_micros, fee_micros`

func (t *Tx) MoneyQueueTake(ctx context.Context, limit int) ([]store.MoneyMove, error) {
	moves, err := collect(ctx, t, func(row scanner) (store.MoneyMove, error) {
		var m store.MoneyMove
		err := row.Scan(&m.Seq, &m.Kind, &m.TaskID, &m.JobID, &m.ContributorID, &m.AmountMicros, &m.FeeMicros)
		return m, err
	}, `DELETE FROM money_queue WHERE seq IN (SELECT seq FROM money_queue ORDER BY seq LIMIT ?)
		RETURNING `+moneyColumns, limit)
	if err != nil {
		return nil, fmt.Errorf("taking money rows to record: %w", err)
	}
	slices.SortFunc(moves, func(a, b store.MoneyMove) int { return cmp.Compare(a.Seq, b.Seq) })
	return moves, nil
}

func (t *Tx) MoneyRefusedAdd(ctx context.Context, moves []store.RefusedMoneyMove) error {
	if len(moves) == 0 {
		return nil
	}
	insert, err := t.stmt(ctx, `INSERT INTO money_refused (`+refusedColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, m := range moves {
		if _, err := insert.ExecContext(ctx, m.Seq, m.Kind, m.TaskID, m.JobID, m.ContributorID, m.AmountMicros, m.FeeMicros,
			m.Reason, m.Attempts, m.RefusedAt.UnixMilli(), m.RetryAt.UnixMilli()); err != nil {
			return fmt.Errorf("setting aside the refused %s of task %d: %w", m.Kind, m.TaskID, err)
		}
	}
	return nil
}

const refusedColumns = moneyColumns + `, reason, attempts, refused_at, retry_at`

func scanRefused(row scanner) (store.RefusedMoneyMove, error) {
	var m store.RefusedMoneyMove
	var refused, retry int64
	err := row.Scan(&m.Seq, &m.Kind, &m.TaskID, &m.JobID, &m.ContributorID, &m.AmountMicros, &m.FeeMicros,
		&m.Reason, &m.Attempts, &refused, &retry)
	m.RefusedAt, m.RetryAt = time.UnixMilli(refused).UTC(), time.UnixMilli(retry).UTC()
	return m, err
}

func (t *Tx) MoneyRefusedTake(ctx context.Context, now time.Time, limit int) ([]store.RefusedMoneyMove, error) {
	moves, err := collect(ctx, t, scanRefused, `DELETE FROM money_refused WHERE seq IN (
			SELECT seq FROM money_refused WHERE retry_at <= ? ORDER BY seq LIMIT ?)
		RETURNING `+refusedColumns, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("taking refused money rows to retry: %w", err)
	}
	slices.SortFunc(moves, func(a, b store.RefusedMoneyMove) int { return cmp.Compare(a.Seq, b.Seq) })
	return moves, nil
}

func (t *Tx) MoneyRefusedList(ctx context.Context, limit int) ([]store.RefusedMoneyMove, error) {
	moves, err := collect(ctx, t, scanRefused, `SELECT `+refusedColumns+` FROM money_refused ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing refused money rows: %w", err)
	}
	return moves, nil
}

func (t *Tx) MoneyPayable(ctx context.Context, now time.Time) (bool, error) {
	var payable bool
	if err := t.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM money_queue)
		OR EXISTS (SELECT 1 FROM money_refused WHERE retry_at <= ?)`, now.UnixMilli()).Scan(&payable); err != nil {
		return false, fmt.Errorf("looking for money rows to record: %w", err)
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
	overdraft := store.Overdrawable(fresh)
	for i, a := range accounts {
		if deltas[i] >= 0 || a.MayGoNegative() || overdraft[a] {
			continue
		}
		balance, err := t.LedgerBalance(ctx, a)
		if err != nil {
			return nil, err
		}
		if err := store.CheckFloor(a, deltas[i], balance+deltas[i], false); err != nil {
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

func (t *Tx) LedgerAccountSum(ctx context.Context, account payouts.Account, keyPrefix string) (int64, error) {
	var sum int64
	if err := t.tx.QueryRowContext(ctx, `SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
		JOIN ledger_transactions lt ON lt.id = e.transaction_id
		WHERE e.account = ? AND substr(lt.key, 1, length(?)) = ?`, account, keyPrefix, keyPrefix).Scan(&sum); err != nil {
		return 0, fmt.Errorf("summing %s* entries of %s: %w", keyPrefix, account, err)
	}
	return sum, nil
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
		if !acct.MayGoNegative() && !acct.MayOwe() {
			a.NegativeAccounts = append(a.NegativeAccounts, string(acct))
		}
	}
	return a, rows.Err()
}

// ContributorEarnings counts as earned what the ledger posted to the
// contributor for each valid task (after fees; the old one-step reward
// counts too), so a reward refused or still queued is not earned yet.
func (t *Tx) ContributorEarnings(ctx context.Context, contributorID int64) ([]store.HostEarnings, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT h.id, h.name, h.last_contact_at,
			count(CASE WHEN t.validate_state = 'valid' THEN 1 END),
			count(CASE WHEN t.validate_state = 'invalid' THEN 1 END),
			count(CASE WHEN t.outcome = 'success' AND t.validate_state IN ('pending', 'inconclusive') AND u.state = 'open' THEN 1 END),
			coalesce(sum(CASE WHEN t.outcome = 'success' AND t.validate_state IN ('pending', 'inconclusive') AND u.state = 'open' THEN j.reward_micros END), 0),
			coalesce((SELECT sum(e.amount) FROM tasks pt
				JOIN ledger_transactions lt ON lt.key IN ('post:task:' || pt.id, 'reward:task:' || pt.id)
				JOIN ledger_entries e ON e.transaction_id = lt.id AND e.account = ?
				WHERE pt.host_id = h.id AND pt.validate_state = 'valid'), 0)
		FROM hosts h
		LEFT JOIN tasks t ON t.host_id = h.id AND t.outcome = 'success'
		LEFT JOIN units u ON u.id = t.unit_id
		LEFT JOIN jobs j ON j.id = u.job_id
		WHERE h.contributor_id = ?
		GROUP BY h.id ORDER BY h.id`, payouts.ContributorAvailable(contributorID), contributorID)
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
