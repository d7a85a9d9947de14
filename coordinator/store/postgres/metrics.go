package postgres

import (
	"context"
	"fmt"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) UnitCountByState(ctx context.Context) (map[workunits.UnitState]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT state, count(*) FROM units GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("counting units by state: %w", err)
	}
	defer rows.Close()
	out := map[workunits.UnitState]int64{}
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("counting units by state: %w", err)
		}
		out[workunits.UnitState(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting units by state: %w", err)
	}
	return out, nil
}

func (t *Tx) LedgerTotalByKind(ctx context.Context) (map[string]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT kind, coalesce(sum(balance), 0)::BIGINT FROM
		(SELECT `+store.LedgerKindSQL("account")+` AS kind, balance FROM ledger_balances) b GROUP BY kind`)
	if err != nil {
		return nil, fmt.Errorf("summing the ledger by account kind: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var kind string
		var n int64
		if err := rows.Scan(&kind, &n); err != nil {
			return nil, fmt.Errorf("summing the ledger by account kind: %w", err)
		}
		out[kind] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summing the ledger by account kind: %w", err)
	}
	return out, nil
}
