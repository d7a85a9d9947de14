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

func (t *Tx) CreditQueueAdd(ctx context.Context, credits []store.Credit) error {
	if len(credits) == 0 {
		return nil
	}
	tasks, jobs, contributors, amounts := make([]int64, len(credits)), make([]int64, len(credits)), make([]int64, len(credits)), make([]int64, len(credits))
	for i, c := range credits {
		tasks[i], jobs[i], contributors[i], amounts[i] = c.TaskID, c.JobID, c.ContributorID, c.AmountMicros
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO credit_queue (task_id, job_id, contributor_id, amount_micros)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])`, tasks, jobs, contributors, amounts); err != nil {
		return fmt.Errorf("queueing %d credits: %w", len(credits), err)
	}
	return nil
}

// CreditQueueTake claims rows with SKIP LOCKED, so payers on several
// coordinators take disjoint batches.
func (t *Tx) CreditQueueTake(ctx context.Context, limit int) ([]store.Credit, error) {
	rows, _ := t.tx.Query(ctx, `DELETE FROM credit_queue WHERE task_id IN (
			SELECT task_id FROM credit_queue ORDER BY task_id LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING task_id, job_id, contributor_id, amount_micros`, limit)
	credits, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Credit, error) {
		var c store.Credit
		err := row.Scan(&c.TaskID, &c.JobID, &c.ContributorID, &c.AmountMicros)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("taking credits to pay: %w", err)
	}
	slices.SortFunc(credits, func(a, b store.Credit) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return credits, nil
}

func (t *Tx) CreditRefusedAdd(ctx context.Context, credits []store.RefusedCredit) error {
	if len(credits) == 0 {
		return nil
	}
	n := len(credits)
	tasks, jobs, contributors, amounts := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	reasons, attempts, refused, retry := make([]string, n), make([]int32, n), make([]time.Time, n), make([]time.Time, n)
	for i, c := range credits {
		tasks[i], jobs[i], contributors[i], amounts[i] = c.TaskID, c.JobID, c.ContributorID, c.AmountMicros
		reasons[i], attempts[i], refused[i], retry[i] = c.Reason, int32(c.Attempts), ts(c.RefusedAt), ts(c.RetryAt)
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO credits_refused (task_id, job_id, contributor_id, amount_micros,
			reason, attempts, refused_at, retry_at)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
			$5::text[], $6::integer[], $7::timestamptz[], $8::timestamptz[])`,
		tasks, jobs, contributors, amounts, reasons, attempts, refused, retry); err != nil {
		return fmt.Errorf("setting aside %d refused credits: %w", n, err)
	}
	return nil
}

const refusedColumns = `task_id, job_id, contributor_id, amount_micros, reason, attempts, refused_at, retry_at`

func scanRefused(row pgx.CollectableRow) (store.RefusedCredit, error) {
	var c store.RefusedCredit
	err := row.Scan(&c.TaskID, &c.JobID, &c.ContributorID, &c.AmountMicros, &c.Reason, &c.Attempts, &c.RefusedAt, &c.RetryAt)
	c.RefusedAt, c.RetryAt = c.RefusedAt.UTC(), c.RetryAt.UTC()
	return c, err
}

// CreditRefusedTake claims rows with SKIP LOCKED, as CreditQueueTake does.
func (t *Tx) CreditRefusedTake(ctx context.Context, now time.Time, limit int) ([]store.RefusedCredit, error) {
	rows, _ := t.tx.Query(ctx, `DELETE FROM credits_refused WHERE task_id IN (
			SELECT task_id FROM credits_refused WHERE retry_at <= $1 ORDER BY task_id LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING `+refusedColumns, ts(now), limit)
	credits, err := pgx.CollectRows(rows, scanRefused)
	if err != nil {
		return nil, fmt.Errorf("taking refused credits to retry: %w", err)
	}
	slices.SortFunc(credits, func(a, b store.RefusedCredit) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return credits, nil
}

func (t *Tx) CreditRefusedList(ctx context.Context, limit int) ([]store.RefusedCredit, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+refusedColumns+` FROM credits_refused ORDER BY task_id LIMIT $1`, limit)
	credits, err := pgx.CollectRows(rows, scanRefused)
	if err != nil {
		return nil, fmt.Errorf("listing refused credits: %w", err)
	}
	return credits, nil
}

func (t *Tx) CreditPayable(ctx context.Context, now time.Time) (bool, error) {
	var payable bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM credit_queue)
		OR EXISTS (SELECT 1 FROM credits_refused WHERE retry_at <= $1)`, ts(now)).Scan(&payable); err != nil {
		return false, fmt.Errorf("looking for credits to pay: %w", err)
	}
	return payable, nil
}

// LedgerRecordMany claims the keys first: a transaction racing on the same
// key waits on the unique index and then finds it taken. The balances of
// every account the batch moves are then updated by one upsert that locks
// them in account order, so batches through the same accounts queue
// instead of deadlocking, and only then checked against their floors. A
// refusal rolls back to a savepoint, leaving no trace even if the caller
// goes on to commit. The common case is three statements for any number of
// transactions.
func (t *Tx) LedgerRecordMany(ctx context.Context, txs []payouts.Transaction, now time.Time) ([]bool, error) {
	batch, err := store.NewLedgerBatch(txs)
	if err != nil {
		return nil, err
	}
	if len(txs) == 0 {
		return nil, nil
	}
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("recording %d ledger transactions: %w", len(txs), err)
	}
	defer func() { _ = sp.Rollback(ctx) }() // a no-op once released

	keys, memos := make([]string, len(batch.Unique)), make([]string, len(batch.Unique))
	for i, j := range batch.Unique {
		keys[i], memos[i] = txs[j].Key, txs[j].Memo
	}
	rows, err := sp.Query(ctx, `INSERT INTO ledger_transactions (key, memo, created_at)
		SELECT key, memo, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(key, memo, i) ORDER BY i
		ON CONFLICT (key) DO NOTHING RETURNING id, key`, keys, memos, ts(now))
	if err != nil {
		return nil, fmt.Errorf("recording %d ledger transactions: %w", len(keys), err)
	}
	idOf := make(map[string]int64, len(keys))
	var id int64
	var key string
	if _, err := pgx.ForEachRow(rows, []any{&id, &key}, func() error {
		idOf[key] = id
		return nil
	}); err != nil {
		return nil, fmt.Errorf("recording %d ledger transactions: %w", len(keys), err)
	}

	var fresh []payouts.Transaction
	var txIDs []int64
	for _, j := range batch.Unique {
		lt := txs[j]
		id, ok := idOf[lt.Key]
		if ok {
			fresh = append(fresh, lt)
			txIDs = append(txIDs, id)
			continue
		}
		recorded, err := t.ledgerEntries(ctx, sp, lt.Key)
		if err != nil {
			return nil, err
		}
		if !lt.SameEntries(recorded) {
			return nil, workunits.Errorf(workunits.ECONFLICT, "key %q was already used for a different transaction", lt.Key)
		}
	}
	if len(fresh) == 0 {
		return batch.Recorded(nil), nil // all retries: idempotent
	}

	accounts, deltas := store.Deltas(fresh)
	rows, err = sp.Query(ctx, `INSERT INTO ledger_balances (account, balance)
		SELECT account, amount FROM unnest($1::text[], $2::bigint[]) AS e(account, amount) ORDER BY account
		ON CONFLICT (account) DO UPDATE SET balance = ledger_balances.balance + excluded.balance
		RETURNING account, balance`, accounts, deltas)
	if err != nil {
		return nil, fmt.Errorf("updating balances: %w", err)
	}
	after := make(map[payouts.Account]int64, len(accounts))
	var acct payouts.Account
	var balance int64
	if _, err := pgx.ForEachRow(rows, []any{&acct, &balance}, func() error {
		after[acct] = balance
		return nil
	}); err != nil {
		return nil, fmt.Errorf("updating balances: %w", err)
	}
	for i, a := range accounts {
		if err := store.CheckFloor(a, deltas[i], after[a]); err != nil {
			return nil, err
		}
	}

	var entryTx []int64
	var entryAccount []string
	var entryAmount []int64
	for i, lt := range fresh {
		for _, e := range lt.Entries {
			entryTx, entryAccount, entryAmount = append(entryTx, txIDs[i]), append(entryAccount, string(e.Account)), append(entryAmount, e.Amount)
		}
	}
	if _, err := sp.Exec(ctx, `INSERT INTO ledger_entries (transaction_id, account, amount)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])`, entryTx, entryAccount, entryAmount); err != nil {
		return nil, fmt.Errorf("recording ledger entries: %w", err)
	}
	if err := sp.Commit(ctx); err != nil {
		return nil, fmt.Errorf("recording %d ledger transactions: %w", len(fresh), err)
	}
	written := make(map[string]bool, len(fresh))
	for _, lt := range fresh {
		written[lt.Key] = true
	}
	return batch.Recorded(written), nil
}

// ledgerEntries returns the entries recorded under key, or nil if none.
func (t *Tx) ledgerEntries(ctx context.Context, q pgx.Tx, key string) (map[payouts.Account]int64, error) {
	rows, err := q.Query(ctx, `SELECT e.account, e.amount FROM ledger_entries e
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

func (t *Tx) LedgerBalanceMany(ctx context.Context, accounts []payouts.Account) (map[payouts.Account]int64, error) {
	out := make(map[payouts.Account]int64, len(accounts))
	if len(accounts) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT account, balance FROM ledger_balances WHERE account = ANY($1::text[])`, accounts)
	if err != nil {
		return nil, fmt.Errorf("reading %d balances: %w", len(accounts), err)
	}
	var a payouts.Account
	var b int64
	if _, err := pgx.ForEachRow(rows, []any{&a, &b}, func() error {
		out[a] = b
		return nil
	}); err != nil {
		return nil, fmt.Errorf("reading %d balances: %w", len(accounts), err)
	}
	return out, nil
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
