package main

import (
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/daemon/daemontest"
	"github.com/nightshift-platform/nightshift/coordinator/service"
)

// TestSetupFundsWhatTheJobsSetAside: the project is funded for the policy
// its jobs are submitted with, so submitting spends the whole budget and
// the credited-task count read from it later is exact.
func TestSetupFundsWhatTheJobsSetAside(t *testing.T) {
	ctx := t.Context()
	opKey := service.NewKey(service.OperatorKeyPrefix)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := daemontest.Start(t, daemon.Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "bench.db"),
		OperatorKey: opKey, BackgroundInterval: time.Hour, Logger: log})
	// Quorum 3 takes the other policy fields from their defaults, which
	// depend on it.
	cfg := config{urls: []string{c.URL}, operatorKey: opKey, hosts: 3, contributors: 3, tasks: 9, quorum: 3,
		reward: 7, setupConc: 2}
	fx, err := setup(ctx, cfg, http.DefaultClient, log)
	if err != nil {
		t.Fatal(err)
	}
	p, err := fx.project.Project(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var escrow int64
	for _, id := range fx.jobs {
		j, err := fx.project.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		escrow += j.EscrowMicros
	}
	if fx.funding == 0 || escrow != fx.funding || p.BudgetMicros != 0 {
		t.Errorf("funded %d, jobs set aside %d, budget left %d; want the jobs to set aside exactly the funding",
			fx.funding, escrow, p.BudgetMicros)
	}
}
