package service

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// acceptAlone decides, for each unit of an adaptive job whose only result
// just came in, whether that result stands alone on its host's trust
// (workunits.Decide). It returns the task to accept alone per unit; a unit
// not in it replicates as its policy says.
func (s *Service) acceptAlone(ctx context.Context, tx store.Tx, units []workunits.Unit, jobs map[int64]workunits.Job,
	loaded []workunits.Task, tasksByUnit map[int64][]workunits.Task) (map[int64]int64, error) {
	before := make(map[int64]workunits.Task, len(loaded))
	for _, t := range loaded {
		before[t.ID] = t
	}
	type candidate struct {
		unitID int64
		task   workunits.Task
		key    store.HostAppVersion
	}
	var candidates []candidate
	for _, u := range units {
		job := jobs[u.JobID]
		if !job.Policy.Adaptive || u.State != workunits.UnitOpen {
			continue
		}
		var successes []workunits.Task
		for _, t := range tasksByUnit[u.ID] {
			if t.Outcome == workunits.OutcomeSuccess {
				successes = append(successes, t)
			}
		}
		if len(successes) != 1 {
			continue
		}
		t := successes[0]
		if before[t.ID].Outcome == workunits.OutcomeSuccess || t.ValidateState != workunits.ValidatePending || t.HostID == 0 {
			continue // not just reported
		}
		candidates = append(candidates, candidate{u.ID, t, store.HostAppVersion{HostID: t.HostID, AppVersionID: job.AppVersionID}})
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	keys := make([]store.HostAppVersion, len(candidates))
	for i, c := range candidates {
		keys[i] = c.key
	}
	trust, err := tx.HostTrustGetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	alone := map[int64]int64{}
	for _, c := range candidates {
		if cv := trust[c.key].ConsecutiveValid; workunits.Decide(cv, s.rand()) {
			alone[c.unitID] = c.task.ID
		}
	}
	return alone, nil
}

// updateTrust counts each newly judged result towards its host's trust in
// the job's app version and its host's quota and invalid streak, blocking
// hosts that return too many wrong results in a row. A result accepted
// alone on trust is valid but was not checked, so it earns no trust.
// Hosts are locked in id order, so concurrent batches never deadlock.
func (s *Service) updateTrust(ctx context.Context, tx store.Tx, advanced []advancedUnit) error {
	type event struct {
		task    workunits.Task
		key     store.HostAppVersion
		valid   bool
		checked bool
	}
	var events []event
	for _, a := range advanced {
		for _, t := range a.Plan.NewlyValid {
			events = append(events, event{t, store.HostAppVersion{HostID: t.HostID, AppVersionID: a.Job.AppVersionID}, true, !t.OnTrust})
		}
		for _, t := range a.Plan.NewlyInvalid {
			events = append(events, event{t, store.HostAppVersion{HostID: t.HostID, AppVersionID: a.Job.AppVersionID}, false, true})
		}
	}
	events = slices.DeleteFunc(events, func(e event) bool { return e.task.HostID == 0 })
	if len(events) == 0 {
		return nil
	}
	hostIDs := make([]int64, 0, len(events))
	keys := make([]store.HostAppVersion, 0, len(events))
	for _, e := range events {
		hostIDs, keys = append(hostIDs, e.key.HostID), append(keys, e.key)
	}
	slices.Sort(hostIDs)
	hostIDs = slices.Compact(hostIDs)
	quotaList, err := tx.HostQuotaGetMany(ctx, hostIDs)
	if err != nil {
		return err
	}
	quotas := make(map[int64]workunits.HostQuota, len(quotaList))
	for _, q := range quotaList {
		quotas[q.HostID] = q
	}
	trust, err := tx.HostTrustGetMany(ctx, dedupeKeys(keys))
	if err != nil {
		return err
	}
	now := s.now()
	var clawbacks []store.Clawback
	for _, e := range events {
		h, ok := trust[e.key]
		if !ok {
			h = workunits.HostTrust{HostID: e.key.HostID, AppVersionID: e.key.AppVersionID}
		}
		q := quotas[e.key.HostID]
		switch {
		case e.valid:
			h = h.OnValid(e.checked, now)
			if e.checked {
				q = q.OnValid()
			}
		default:
			h = h.OnInvalid()
			wasBlocked := q.Blocked()
			q = q.OnInvalid(now)
			if q.Blocked() && !wasBlocked {
				s.log.Warn("host blocked", "host", q.HostID, "reason", q.BlockedReason)
				if h.SpotCheckFailures > 0 {
					// Blocked after failing a spot check: treated as
					// cheating, its results that stood on trust are
					// reversed (RunPendingClawbacks).
					clawbacks = append(clawbacks, store.Clawback{HostID: q.HostID, Reason: autoClawbackReason, RequestedAt: now})
				}
			}
		}
		trust[e.key], quotas[e.key.HostID] = h, q
	}
	trusts := make([]workunits.HostTrust, 0, len(trust))
	for _, k := range dedupeKeys(keys) {
		trusts = append(trusts, trust[k])
	}
	if err := tx.HostTrustUpsertMany(ctx, trusts); err != nil {
		return err
	}
	updated := make([]workunits.HostQuota, len(hostIDs))
	for i, id := range hostIDs {
		updated[i] = quotas[id]
	}
	if err := tx.HostQuotaUpdateMany(ctx, updated); err != nil {
		return err
	}
	for _, c := range clawbacks {
		if _, err := tx.ClawbackInsert(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func dedupeKeys(keys []store.HostAppVersion) []store.HostAppVersion {
	seen := make(map[store.HostAppVersion]bool, len(keys))
	out := keys[:0:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// LeaseResult is what LeaseWork hands a host: its tasks or, if its daily quota
// is used up, how long until it may ask again.
type LeaseResult struct {
	Tasks      []store.Lease
	RetryAfter time.Duration // until the next UTC day if the quota is used up; else 0
}

// LeaseWork hands up to max tasks to a host, no more than its daily quota
// has left. A blocked host is refused with the reason.
func (s *Service) LeaseWork(ctx context.Context, hostID int64, max int, skipJobs []int64) (LeaseResult, error) {
	if err := checkLease(max, skipJobs); err != nil {
		return LeaseResult{}, err
	}
	var out LeaseResult
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		now := s.now()
		quotas, err := tx.HostQuotaGetMany(ctx, []int64{hostID})
		if err != nil {
			return err
		}
		q := quotas[0].Today(now)
		if q.Blocked() {
			return workunits.Errorf(workunits.EFORBIDDEN, "host %d is blocked since %s: %s; ask the operator to unblock it",
				hostID, q.BlockedAt.Format(time.RFC3339), q.BlockedReason)
		}
		n := min(max, q.Remaining(now))
		if n == 0 {
			out.RetryAfter = q.QuotaDay.AddDate(0, 0, 1).Sub(now)
			return nil
		}
		if out.Tasks, err = tx.TaskLease(ctx, store.TaskLeaseParams{HostID: hostID, Max: n, SkipJobs: skipJobs, Now: now}); err != nil {
			return err
		}
		if len(out.Tasks) == 0 {
			return nil
		}
		return tx.HostQuotaUpdateMany(ctx, []workunits.HostQuota{q.Leased(len(out.Tasks), now)})
	})
	if err != nil {
		return LeaseResult{}, fmt.Errorf("leasing tasks to host %d: %w", hostID, err)
	}
	if len(out.Tasks) > 0 {
		s.obs.TasksLeased(len(out.Tasks))
	}
	return out, nil
}

// HostStanding is a host's quota, streak and block, and its trust in each
// app version it has results in, for the operator.
type HostStanding struct {
	Quota workunits.HostQuota
	Trust []workunits.HostTrust
	// OpsPerSecond is the host's last benchmark; 0: it sent none.
	OpsPerSecond float64
}

// HostStanding returns a host's standing.
func (s *Service) HostStanding(ctx context.Context, hostID int64) (HostStanding, error) {
	var st HostStanding
	err := s.store.InReadTx(ctx, func(tx store.Tx) error {
		return s.hostStanding(ctx, tx, hostID, &st)
	})
	return st, err
}

func (s *Service) hostStanding(ctx context.Context, tx store.Tx, hostID int64, st *HostStanding) error {
	quotas, err := tx.HostQuotaGetMany(ctx, []int64{hostID})
	if err != nil {
		return err
	}
	st.Quota = quotas[0].Today(s.now())
	if st.Trust, err = tx.HostTrustList(ctx, hostID); err != nil {
		return err
	}
	ops, err := tx.HostOpsPerSecondMany(ctx, []int64{hostID})
	st.OpsPerSecond = ops[hostID]
	return err
}

// UnblockHost lets a blocked host lease work again and forgives its
// invalid streak; its halved quota recovers with valid results. Unblocking
// a host that is not blocked changes nothing.
func (s *Service) UnblockHost(ctx context.Context, hostID int64) (HostStanding, error) {
	var st HostStanding
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		quotas, err := tx.HostQuotaGetMany(ctx, []int64{hostID})
		if err != nil {
			return err
		}
		if q := quotas[0]; q.Blocked() {
			if err := tx.HostQuotaUpdateMany(ctx, []workunits.HostQuota{q.Unblock()}); err != nil {
				return err
			}
			s.log.Info("host unblocked", "host", hostID, "was", q.BlockedReason)
		}
		return s.hostStanding(ctx, tx, hostID, &st)
	})
	if err != nil {
		return HostStanding{}, fmt.Errorf("unblocking host %d: %w", hostID, err)
	}
	return st, nil
}
