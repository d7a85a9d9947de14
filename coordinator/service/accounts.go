package service

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

const maxNameLen = 200

func checkName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", workunits.Errorf(workunits.EINVALID, "%s is required", field)
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameLen:
		return "", workunits.Errorf(workunits.EINVALID, "%s must be valid text of at most %d characters", field, maxNameLen)
	}
	return name, nil
}

// CreateProject creates a research project whose first member is named
// "admin"; see CreateProjectWith.
func (s *Service) CreateProject(ctx context.Context, name string) (workunits.Project, string, error) {
	return s.CreateProjectWith(ctx, NewProject{Name: name})
}

// MaxFunding bounds one funding so that sums of many stay far from overflow.
const MaxFunding = 1_000_000_000 * 1_000_000 // a billion currency units, in micro-units

// FundProject pays amount into a project's budget once per requestKey,
// funds the project's waiting jobs that the budget now covers, and returns
// the new balance.
func (s *Service) FundProject(ctx context.Context, projectID, amount int64, requestKey string) (int64, error) {
	if amount <= 0 || amount > MaxFunding {
		return 0, workunits.Errorf(workunits.EINVALID, "amount_micros must be between 1 and %d", int64(MaxFunding))
	}
	if requestKey == "" || len(requestKey) > 200 {
		return 0, workunits.Errorf(workunits.EINVALID, "idempotency_key is required (at most 200 characters), so that a retried request funds once")
	}
	var balance int64
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.ProjectGet(ctx, projectID); err != nil {
			return err
		}
		if _, err := store.LedgerRecord(ctx, tx, payouts.Fund(projectID, amount, requestKey), s.now()); err != nil {
			return err
		}
		if err := s.fundWaitingJobs(ctx, tx, []int64{projectID}, s.now()); err != nil {
			return err
		}
		var err error
		balance, err = tx.LedgerBalance(ctx, payouts.ProjectBudget(projectID))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("funding project %d: %w", projectID, err)
	}
	return balance, nil
}

// CreateContributor signs up a volunteer and returns their account key.
func (s *Service) CreateContributor(ctx context.Context, name string) (workunits.Contributor, string, error) {
	name, err := checkName("name", name)
	if err != nil {
		return workunits.Contributor{}, "", err
	}
	key := NewKey(ContributorKeyPrefix)
	var c workunits.Contributor
	err = s.store.InTx(ctx, func(tx store.Tx) (err error) {
		c, err = tx.ContributorInsert(ctx, store.ContributorInsertParams{Name: name, KeyHash: hashKey(key), Now: s.now()})
		return err
	})
	if err != nil {
		return c, "", fmt.Errorf("creating contributor: %w", err)
	}
	return c, key, nil
}

// HostInfo is what a worker says about its PC when it attaches.
type HostInfo struct {
	Name     string
	Platform string
	Cores    int
	// OpsPerSecond is the host's benchmark (CheckOpsPerSecond); 0: none.
	OpsPerSecond float64
}

// RegisterHost attaches a PC to a contributor and returns its host token.
func (s *Service) RegisterHost(ctx context.Context, contributorID int64, info HostInfo) (workunits.Host, string, error) {
	name, err := checkName("name", info.Name)
	if err != nil {
		return workunits.Host{}, "", err
	}
	platform, err := checkName("platform", info.Platform)
	if err != nil {
		return workunits.Host{}, "", err
	}
	if info.Cores < 1 || info.Cores > 4096 {
		return workunits.Host{}, "", workunits.Errorf(workunits.EINVALID, "cores must be between 1 and 4096, got %d", info.Cores)
	}
	if info.OpsPerSecond != 0 {
		if err := CheckOpsPerSecond(info.OpsPerSecond); err != nil {
			return workunits.Host{}, "", err
		}
	}
	token := NewKey(HostTokenPrefix)
	var h workunits.Host
	err = s.store.InTx(ctx, func(tx store.Tx) (err error) {
		h, err = tx.HostInsert(ctx, store.HostInsertParams{ContributorID: contributorID, Name: name, Platform: platform,
			Cores: info.Cores, TokenHash: hashKey(token), Now: s.now()})
		if err != nil || info.OpsPerSecond == 0 {
			return err
		}
		return tx.HostOpsPerSecondSet(ctx, h.ID, info.OpsPerSecond)
	})
	if err != nil {
		return h, "", fmt.Errorf("registering host: %w", err)
	}
	s.log.Info("host registered", "host", h.ID, "contributor", contributorID, "platform", h.Platform)
	return h, token, nil
}

// Earnings is a contributor's money and work, in total and per host. The
// totals are the balances of the contributor's ledger accounts.
type Earnings struct {
	AvailableMicros int64 // earned and payable; below zero, a debt (a clawback) repaid from later earnings
	PendingMicros   int64 // reserved for reported tasks, posted when they are found valid
	InFlightMicros  int64 // in a payout run, not yet settled
	PaidMicros      int64 // paid out: settled payouts
	Hosts           []store.HostEarnings
}

// ContributorEarnings returns the signed-in contributor's earnings.
func (s *Service) ContributorEarnings(ctx context.Context, contributorID int64) (Earnings, error) {
	var e Earnings
	err := s.store.InReadTx(ctx, func(tx store.Tx) error {
		available, pending, inflight := payouts.ContributorAvailable(contributorID),
			payouts.ContributorPending(contributorID), payouts.ContributorInflight(contributorID)
		b, err := tx.LedgerBalanceMany(ctx, []payouts.Account{available, pending, inflight})
		if err != nil {
			return err
		}
		e.AvailableMicros, e.PendingMicros, e.InFlightMicros = b[available], b[pending], b[inflight]
		settled, err := tx.LedgerAccountSum(ctx, inflight, "settle:")
		if err != nil {
			return err
		}
		e.PaidMicros = -settled
		e.Hosts, err = tx.ContributorEarnings(ctx, contributorID)
		return err
	})
	return e, err
}

// LedgerAudit checks the whole ledger.
func (s *Service) LedgerAudit(ctx context.Context) (store.LedgerAudit, error) {
	var a store.LedgerAudit
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		a, err = tx.LedgerAudit(ctx)
		return err
	})
	return a, err
}
