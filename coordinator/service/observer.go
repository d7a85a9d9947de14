package service

import (
	"context"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Observer is told what the service did, once it is committed, so that an
// edge package (coordinator/metrics) can count it. It keeps the service
// free of any metrics library. Calls must be cheap and must not block.
type Observer interface {
	TasksLeased(n int)
	TasksReported(n int)
	// TasksJudged counts results newly found valid and invalid.
	TasksJudged(valid, invalid int)
	PayoutRunCreated()
	// BackgroundPass reports one pass of RunBackground: how late it started
	// after its tick was due, and how long it took.
	BackgroundPass(lag, took time.Duration)
}

type nopObserver struct{}

func (nopObserver) TasksLeased(int)                             {}
func (nopObserver) TasksReported(int)                           {}
func (nopObserver) TasksJudged(int, int)                        {}
func (nopObserver) PayoutRunCreated()                           {}
func (nopObserver) BackgroundPass(time.Duration, time.Duration) {}

// judged tallies, through the context, the results an advanceUnits call
// judged; the caller reports the tally once its transaction commits.
type judged struct{ valid, invalid int }

type judgedKey struct{}

func withJudged(ctx context.Context, j *judged) context.Context {
	return context.WithValue(ctx, judgedKey{}, j)
}

func addJudged(ctx context.Context, valid, invalid int) {
	if j, ok := ctx.Value(judgedKey{}).(*judged); ok {
		j.valid += valid
		j.invalid += invalid
	}
}

// Totals are platform-wide counts read from the store, for a metrics scrape.
type Totals struct {
	UnitsByState map[workunits.UnitState]int64
	LedgerByKind map[string]int64 // store.LedgerKinds' kinds, in micro-units
}

// Totals reads the platform's units by state and ledger balances by account
// kind, in one read-only transaction.
func (s *Service) Totals(ctx context.Context) (Totals, error) {
	var out Totals
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if out.UnitsByState, err = tx.UnitCountByState(ctx); err != nil {
			return err
		}
		out.LedgerByKind, err = tx.LedgerTotalByKind(ctx)
		return err
	})
	if err != nil {
		return Totals{}, fmt.Errorf("reading totals: %w", err)
	}
	return out, nil
}
