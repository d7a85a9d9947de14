package service

import (
	"context"
	"sync"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// racingStore lets another submission commit just before the first
// read-write transaction: the moment between a submission finding its key
// unused and writing it.
type racingStore struct {
	store.Store
	once   sync.Once
	before func()
}

func (s *racingStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	s.once.Do(s.before)
	return s.Store.InTx(ctx, fn)
}

func TestSubmissionLosingTheKeyRaceReturnsTheWinner(t *testing.T) {
	ctx := context.Background()
	req := JobRequest{App: "app", Inputs: [][]byte{[]byte(`1`), []byte(`2`)}, RewardMicros: 100,
		IdempotencyKey: "k", RequestHash: "h1"}
	tests := []struct {
		name       string
		winnerHash string
		wantCode   workunits.Code
	}{
		{"same request", "h1", ""},
		{"different request", "h2", workunits.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			if _, err := b.svc.FundProject(ctx, b.project.ID, 1_000_000, "f"); err != nil {
				t.Fatal(err)
			}
			var winner JobStatus
			racing := &racingStore{Store: b.svc.store, before: func() {
				w := req
				w.RequestHash = tt.winnerHash
				var err error
				if winner, err = b.svc.SubmitJob(ctx, b.project.ID, w); err != nil {
					t.Errorf("winner: %v", err)
				}
			}}
			loser := New(Options{Store: racing, Now: b.svc.clock, Logger: b.svc.log})
			st, err := loser.SubmitJob(ctx, b.project.ID, req)
			if got := workunits.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("loser: %v, want code %q", err, tt.wantCode)
			}
			if err == nil && (st.Job.ID != winner.Job.ID || !st.Replayed) {
				t.Errorf("loser got job %d (replayed %v), want the winner's %d, replayed", st.Job.ID, st.Replayed, winner.Job.ID)
			}
			escrow := int64(2 * workunits.DefaultPolicy.MaxTotalReplicas * 100)
			if got := b.balance(t, payouts.ProjectBudget(b.project.ID)); got != 1_000_000-escrow {
				t.Errorf("budget = %d, want %d: one job's escrow", got, 1_000_000-escrow)
			}
		})
	}
}
