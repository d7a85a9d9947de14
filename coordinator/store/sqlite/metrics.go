package sqlite

import (
	"context"
	"fmt"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

type stateCount struct {
	state string
	n     int64
}

func scanStateCount(row scanner) (stateCount, error) {
	var c stateCount
	return c, row.Scan(&c.state, &c.n)
}

func (t *Tx) UnitCountByState(ctx context.Context) (map[workunits.UnitState]int64, error) {
	rows, err := collect(ctx, t, scanStateCount, `SELECT state, count(*) FROM units GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("counting units by state: %w", err)
	}
	out := make(map[workunits.UnitState]int64, len(rows))
	for _, r := range rows {
		out[workunits.UnitState(r.state)] = r.n
	}
	return out, nil
}

func (t *Tx) LedgerTotalByKind(ctx context.Context) (map[string]int64, error) {
	kind := store.LedgerKindSQL("account")
	rows, err := collect(ctx, t, scanStateCount,
		`SELECT `+kind+` AS kind, coalesce(sum(balance), 0) FROM ledger_balances GROUP BY kind`)
	if err != nil {
		return nil, fmt.Errorf("summing the ledger by account kind: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.state] = r.n
	}
	return out, nil
}
