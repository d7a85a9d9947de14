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

func (t *Tx) MoneyQueueAdd(ctx context.Context, moves []store.MoneyMove) error {
	if len(moves) == 0 {
		return nil
	}
	n := len(moves)
	kinds := make([]string, n)
	tasks, jobs, contributors, amounts, fees := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, m := range moves {
		kinds[i], tasks[i], jobs[i], contributors[i], amounts[i], fees[i] = string(m.Kind), m.TaskID, m.JobID, m.ContributorID, m.AmountMicros, m.FeeMicros
	}
	// ORDER BY the input's ordinality: seq is drawn in that order.
	if _, err := t.tx.Exec(ctx, `INSERT INTO money_queue (kind, task_id, job_id, contributor_id, amount_micros, fee_micros)
		SELECT kind, task_id, job_id, contributor_id, amount_micros, fee_micros
		FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
			WITH ORDINALITY AS m(kind, task_id, job_id, contributor_id, amount_micros, fee_micros, i)
		ORDER BY i`, kinds, tasks, jobs, contributors, amounts, fees); err != nil {
		return fmt.Errorf("queueing %d money rows: %w", n, err)
	}
	return nil
}

const moneyColumns = `seq, kind, task_id, job_id, contributor_id, amount_micros, fee_micros`

// MoneyQueueTake claims rows with SKIP LOCKED, so payers on several
// coordinators take disjoint batches.
func (t *Tx) MoneyQueueTake(ctx context.Context, limit int) ([]store.MoneyMove, error) {
	rows, _ := t.tx.Query(ctx, `DELETE FROM money_queue WHERE seq IN (
			SELECT seq FROM money_queue ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING `+moneyColumns, limit)
	moves, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.MoneyMove, error) {
		var m store.MoneyMove
		err := row.Scan(&m.Seq, &m.Kind, &m.TaskID, &m.JobID, &m.ContributorID, &m.AmountMicros, &m.FeeMicros)
		return m, err
	})
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
	n := len(moves)
	seqs, kinds := make([]int64, n), make([]string, n)
	tasks, jobs, contributors, amounts, fees := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	reasons, attempts, refused, retry := make([]string, n), make([]int32, n), make([]time.Time, n), make([]time.Time, n)
	for i, m := range moves {
		seqs[i], kinds[i], tasks[i], jobs[i], contributors[i], amounts[i], fees[i] = m.Seq, string(m.Kind), m.TaskID, m.JobID, m.ContributorID, m.AmountMicros, m.FeeMicros
		reasons[i], attempts[i], refused[i], retry[i] = m.Reason, int32(m.Attempts), ts(m.RefusedAt), ts(m.RetryAt)
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO money_refused (`+refusedColumns+`)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
			$8::text[], $9::integer[], $10::timestamptz[], $11::timestamptz[])`,
		seqs, kinds, tasks, jobs, contributors, amounts, fees, reasons, attempts, refused, retry); err != nil {
		return fmt.Errorf("setting aside %d refused money rows: %w", n, err)
	}
	return nil
}

const refusedColumns = moneyColumns + `, reason, attempts, refused_at, retry_at`

func scanRefused(row pgx.CollectableRow) (store.RefusedMoneyMove, error) {
	var m store.RefusedMoneyMove
	err := row.Scan(&m.Seq, &m.Kind, &m.TaskID, &m.JobID, &m.ContributorID, &m.AmountMicros, &m.FeeMicros,
		&m.Reason, &m.Attempts, &m.RefusedAt, &m.RetryAt)
	m.RefusedAt, m.RetryAt = m.RefusedAt.UTC(), m.RetryAt.UTC()
	return m, err
}

// MoneyRefusedTake claims rows with SKIP LOCKED, as MoneyQueueTake does.
func (t *Tx) MoneyRefusedTake(ctx context.Context, now time.Time, limit int) ([]store.RefusedMoneyMove, error) {
	rows, _ := t.tx.Query(ctx, `DELETE FROM money_refused WHERE seq IN (
			SELECT seq FROM money_refused WHERE retry_at <= $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING `+refusedColumns, ts(now), limit)
	moves, err := pgx.CollectRows(rows, scanRefused)
	if err != nil {
		return nil, fmt.Errorf("taking refused money rows to retry: %w", err)
	}
	slices.SortFunc(moves, func(a, b store.RefusedMoneyMove) int { return cmp.Compare(a.Seq, b.Seq) })
	return moves, nil
}

func (t *Tx) MoneyRefusedList(ctx context.Context, limit int) ([]store.RefusedMoneyMove, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+refusedColumns+` FROM money_refused ORDER BY seq LIMIT $1`, limit)
	moves, err := pgx.CollectRows(rows, scanRefused)
	if err != nil {
		return nil, fmt.Errorf("listing refused money rows: %w", err)
	}
	return moves, nil
}

func (t *Tx) MoneyPayable(ctx context.Context, now time.Time) (bool, error) {
	var payable bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM money_queue)
		OR EXISTS (SELECT 1 FROM money_refused WHERE retry_at <= $1)`, ts(now)).Scan(&payable); err != nil {
		return false, fmt.Errorf("looking for money rows to record: %w", err)
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
	overdraft := store.Overdrawable(fresh)
	for i, a := range accounts {
		if err := store.CheckFloor(a, deltas[i], after[a], overdraft[a]); err != nil {
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

func (t *Tx) LedgerAccountSum(ctx context.Context, account payouts.Account, keyPrefix string) (int64, error) {
	var sum int64
	if err := t.tx.QueryRow(ctx, `SELECT coalesce(sum(e.amount), 0)::bigint FROM ledger_entries e
		JOIN ledger_transactions lt ON lt.id = e.transaction_id
		WHERE e.account = $1 AND starts_with(lt.key, $2)`, account, keyPrefix).Scan(&sum); err != nil {
		return 0, fmt.Errorf("summing %s* entries of %s: %w", keyPrefix, account, err)
	}
	return sum, nil
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
		if !acct.MayGoNegative() && !acct.MayOwe() {
			a.NegativeAccounts = append(a.NegativeAccounts, string(acct))
		}
	}
	return a, nil
}

// ContributorEarnings counts as earned what the ledger posted to the
// contributor for each valid task (after fees; the old one-step reward
// counts too), so a reward refused or still queued is not earned yet.
func (t *Tx) ContributorEarnings(ctx context.Context, contributorID int64) ([]store.HostEarnings, error) {
	rows, err := t.tx.Query(ctx, `SELECT h.id, h.name, h.last_contact_at,
			count(*) FILTER (WHERE t.validate_state = 'valid'),
			count(*) FILTER (WHERE t.validate_state = 'invalid'),
			count(*) FILTER (WHERE t.validate_state IN ('pending', 'inconclusive') AND u.state = 'open'),
			coalesce(sum(j.reward_micros) FILTER (WHERE t.validate_state IN ('pending', 'inconclusive') AND u.state = 'open'), 0)::bigint,
			coalesce((SELECT sum(e.amount) FROM tasks pt
				JOIN ledger_transactions lt ON lt.key IN ('post:task:' || pt.id, 'reward:task:' || pt.id)
				JOIN ledger_entries e ON e.transaction_id = lt.id AND e.account = $2
				WHERE pt.host_id = h.id AND pt.validate_state = 'valid'), 0)::bigint
		FROM hosts h
		LEFT JOIN tasks t ON t.host_id = h.id AND t.outcome = 'success'
		LEFT JOIN units u ON u.id = t.unit_id
		LEFT JOIN jobs j ON j.id = u.job_id
		WHERE h.contributor_id = $1
		GROUP BY h.id ORDER BY h.id`, contributorID, payouts.ContributorAvailable(contributorID))
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
