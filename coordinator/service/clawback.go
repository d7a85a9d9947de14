package service

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// MaxClawbackReason bounds the reason an operator gives.
const MaxClawbackReason = 500

// autoClawbackReason is the reason of a clawback the service asks for itself.
const autoClawbackReason = "automatic: failed a spot check, then blocked for invalid results"

// ClawBack treats a host as found cheating: it is blocked, and every
// result it returned since the given time is judged invalid. A reward
// already posted is reversed with a compensating transaction (the
// contributor's available balance may go below zero: a debt repaid from
// later earnings before any payout); one still pending is voided. A unit
// whose canonical result was the host's takes another host's matching
// result as canonical if there is one; otherwise it is computed again if
// its job is still running, or marked failed, saying why, if the job has
// ended. The ledger moves go through the money queue after the posts
// they reverse, so the payer records them in order.
func (s *Service) ClawBack(ctx context.Context, hostID int64, since time.Time, reason string) (store.Clawback, error) {
	switch {
	case reason == "":
		return store.Clawback{}, workunits.Errorf(workunits.EINVALID, "reason is required")
	case len(reason) > MaxClawbackReason:
		return store.Clawback{}, workunits.Errorf(workunits.EINVALID, "reason: at most %d bytes, got %d", MaxClawbackReason, len(reason))
	case since.IsZero():
		return store.Clawback{}, workunits.Errorf(workunits.EINVALID, "since is required")
	case since.After(s.now()):
		return store.Clawback{}, workunits.Errorf(workunits.EINVALID, "since (%s) is in the future", since.UTC().Format(time.RFC3339))
	}
	c := store.Clawback{HostID: hostID, Since: since.Truncate(time.Millisecond), Reason: reason}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		c.RequestedAt = s.now()
		if _, err := tx.HostQuotaGetMany(ctx, []int64{hostID}); err != nil {
			return err
		}
		id, err := tx.ClawbackInsert(ctx, c)
		if err != nil {
			return err
		}
		c.ID = id
		return s.clawBack(ctx, tx, &c)
	})
	if err != nil {
		return store.Clawback{}, fmt.Errorf("clawing back host %d: %w", hostID, err)
	}
	s.logClawback(c)
	return c, nil
}

// Clawbacks lists a host's clawbacks, newest first.
func (s *Service) Clawbacks(ctx context.Context, hostID int64) ([]store.Clawback, error) {
	var out []store.Clawback
	err := s.store.InReadTx(ctx, func(tx store.Tx) error {
		if _, err := tx.HostQuotaGetMany(ctx, []int64{hostID}); err != nil {
			return err
		}
		var err error
		out, err = tx.ClawbackList(ctx, hostID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing the clawbacks of host %d: %w", hostID, err)
	}
	return out, nil
}

// RunPendingClawbacks carries out the clawbacks the service asked for
// itself (updateTrust), one transaction each; coordinators running it at
// once take different ones. It returns how many it did.
func (s *Service) RunPendingClawbacks(ctx context.Context) (int, error) {
	var pending []store.Clawback
	if err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		pending, err = tx.ClawbackListPending(ctx, 1)
		return err
	}); err != nil || len(pending) == 0 {
		return 0, err
	}
	done := 0
	for {
		var c store.Clawback
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			pending, err := tx.ClawbackListPending(ctx, 1)
			if err != nil || len(pending) == 0 {
				c = store.Clawback{}
				return err
			}
			c = pending[0]
			return s.clawBack(ctx, tx, &c)
		})
		if err != nil {
			return done, fmt.Errorf("carrying out a clawback: %w", err)
		}
		if c.ID == 0 {
			return done, nil
		}
		done++
		s.logClawback(c)
	}
}

func (s *Service) logClawback(c store.Clawback) {
	s.log.Warn("host clawed back", "host", c.HostID, "clawback", c.ID, "reason", c.Reason, "since", c.Since,
		"tasks_invalidated", c.TasksInvalidated, "units_reopened", c.UnitsReopened, "units_failed", c.UnitsFailed,
		"amount_micros", c.AmountMicros)
}

// clawBack carries out c in tx and records it done. Jobs are locked before
// units, as cancelling does, so that no job finishes while one of its
// units is reopened.
func (s *Service) clawBack(ctx context.Context, tx store.Tx, c *store.Clawback) error {
	now := s.now()
	if err := s.blockHost(ctx, tx, c.HostID, "clawed back: "+c.Reason, now); err != nil {
		return err
	}
	listed, err := tx.TaskListByHostSince(ctx, c.HostID, c.Since)
	if err != nil {
		return err
	}
	if c.Since.IsZero() {
		// Automatic: from the first result that stood on the host's trust
		// alone; those checked before it were confirmed by other hosts.
		first := slices.IndexFunc(listed, func(ht store.HostTask) bool { return ht.Task.OnTrust })
		if first < 0 {
			listed = nil
		} else {
			listed, c.Since = listed[first:], listed[first].Task.ReceivedAt
		}
	}
	targets := map[int64]bool{}
	var jobIDs, unitIDs []int64
	for _, ht := range listed {
		if reversible(ht.Task) {
			targets[ht.Task.ID] = true
			jobIDs, unitIDs = append(jobIDs, ht.JobID), append(unitIDs, ht.Task.UnitID)
		}
	}
	if len(targets) > 0 {
		if err := s.reverseResults(ctx, tx, c, targets, dedupe(jobIDs), dedupe(unitIDs), now); err != nil {
			return err
		}
	}
	c.DoneAt = now
	return tx.ClawbackFinish(ctx, *c)
}

// reversible reports whether a result still counts: valid, or waiting to
// be judged.
func reversible(t workunits.Task) bool {
	switch t.ValidateState {
	case workunits.ValidateValid, workunits.ValidatePending, workunits.ValidateInconclusive:
		return t.Outcome == workunits.OutcomeSuccess
	}
	return false
}

func (s *Service) reverseResults(ctx context.Context, tx store.Tx, c *store.Clawback, targets map[int64]bool,
	jobIDs, unitIDs []int64, now time.Time) error {
	slices.Sort(jobIDs)
	jobs := make(map[int64]workunits.Job, len(jobIDs))
	for _, id := range jobIDs {
		j, err := tx.JobGetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		jobs[id] = j
	}
	units, err := tx.UnitGetManyForUpdate(ctx, unitIDs)
	if err != nil {
		return err
	}
	tasks, err := tx.TaskListByUnits(ctx, unitIDs)
	if err != nil {
		return err
	}
	posted, err := postedAmounts(ctx, tx, tasks, targets)
	if err != nil {
		return err
	}
	byUnit := map[int64][]workunits.Task{}
	for _, t := range tasks {
		byUnit[t.UnitID] = append(byUnit[t.UnitID], t)
	}
	var (
		changedTasks []workunits.Task
		changedUnits []workunits.Unit
		reopened     []int64
		moves        []store.MoneyMove
		hostIDs      []int64
	)
	for _, u := range units {
		job := jobs[u.JobID]
		unitTasks := byUnit[u.ID]
		for i, t := range unitTasks {
			if !targets[t.ID] || !reversible(t) { // judged since it was listed
				continue
			}
			if job.RewardMicros > 0 {
				m := store.MoneyMove{Kind: store.MoneyVoid, TaskID: t.ID, JobID: job.ID, AmountMicros: job.RewardMicros}
				if t.ValidateState == workunits.ValidateValid {
					m.Kind, m.AmountMicros = store.MoneyClawback, job.RewardMicros-payouts.FeeFor(job.RewardMicros, s.platformFeeBPS)
					if amount, ok := posted[t.ID]; ok {
						m.AmountMicros = amount
					}
					c.AmountMicros += m.AmountMicros
				}
				if m.AmountMicros > 0 {
					moves, hostIDs = append(moves, m), append(hostIDs, t.HostID)
				}
			}
			t.ValidateState = workunits.ValidateInvalid
			unitTasks[i] = t
			changedTasks = append(changedTasks, t)
			c.TasksInvalidated++
		}
		if u.State != workunits.UnitDone || !targets[u.CanonicalTaskID] {
			continue
		}
		// The canonical result was the host's: another host's matching
		// result stands in for it, or the unit is decided again.
		if other := slices.IndexFunc(unitTasks, func(t workunits.Task) bool {
			return t.ValidateState == workunits.ValidateValid && !targets[t.ID]
		}); other >= 0 {
			u.CanonicalTaskID = unitTasks[other].ID
		} else if job.State == workunits.JobActive {
			u.State, u.CanonicalTaskID, u.FinishedAt = workunits.UnitOpen, 0, time.Time{}
			reopened = append(reopened, u.ID)
			c.UnitsReopened++
		} else {
			u.State, u.CanonicalTaskID = workunits.UnitFailed, 0
			u.Error = fmt.Sprintf("its result came from host %d, found cheating (clawback %d); submit it again", c.HostID, c.ID)
			c.UnitsFailed++
		}
		changedUnits = append(changedUnits, u)
	}
	if err := tx.TaskUpdateMany(ctx, changedTasks, nil); err != nil {
		return err
	}
	if err := tx.UnitUpdateMany(ctx, changedUnits); err != nil {
		return err
	}
	if err := s.queueMoney(ctx, tx, moves, hostIDs); err != nil {
		return err
	}
	// Reopened units get new replicas, as any open unit short of a quorum.
	return s.advanceUnits(ctx, tx, reopened, now, nil, nil)
}

// postedAmounts returns what the post of each valid target task gave its
// contributor, for those whose post is recorded; the rest are still queued.
func postedAmounts(ctx context.Context, tx store.Tx, tasks []workunits.Task, targets map[int64]bool) (map[int64]int64, error) {
	var keys []string
	for _, t := range tasks {
		if targets[t.ID] && t.ValidateState == workunits.ValidateValid {
			keys = append(keys, payouts.Post(t.ID, 0, 0, 0).Key)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	entries, err := tx.LedgerEntryList(ctx, store.LedgerEntryListParams{Keys: keys})
	if err != nil {
		return nil, err
	}
	out := map[int64]int64{}
	for _, e := range entries {
		_, kind, isContributor := payouts.ContributorAccount(e.Account)
		if taskID, ok := payouts.KeyID(e.Key, "task"); ok && isContributor && kind == "available" {
			out[taskID] = e.Amount
		}
	}
	return out, nil
}

// blockHost blocks a host that is not blocked yet.
func (s *Service) blockHost(ctx context.Context, tx store.Tx, hostID int64, reason string, now time.Time) error {
	quotas, err := tx.HostQuotaGetMany(ctx, []int64{hostID})
	if err != nil {
		return err
	}
	q := quotas[0]
	if q.Blocked() {
		return nil
	}
	q.BlockedAt, q.BlockedReason = now, reason
	return tx.HostQuotaUpdateMany(ctx, []workunits.HostQuota{q})
}
