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

// Limits on one worker request.
const (
	MaxLeasePerRequest   = 64
	MaxReportsPerRequest = 256
	MaxSkipJobs          = 1000 // jobs a host may ask not to be sent
)

// LeaseTasks hands up to max tasks to a host: LeaseWork's tasks.
func (s *Service) LeaseTasks(ctx context.Context, hostID int64, max int, skipJobs []int64) ([]store.Lease, error) {
	l, err := s.LeaseWork(ctx, hostID, max, skipJobs)
	return l.Tasks, err
}

func checkLease(max int, skipJobs []int64) error {
	if max < 1 || max > MaxLeasePerRequest {
		return workunits.Errorf(workunits.EINVALID, "max_tasks must be between 1 and %d, got %d", MaxLeasePerRequest, max)
	}
	if len(skipJobs) > MaxSkipJobs {
		return workunits.Errorf(workunits.EINVALID, "skip_jobs: at most %d jobs, got %d", MaxSkipJobs, len(skipJobs))
	}
	for _, id := range skipJobs {
		if id < 1 {
			return workunits.Errorf(workunits.EINVALID, "skip_jobs: job ids are positive, got %d", id)
		}
	}
	return nil
}

// ReportResults takes a host's reports all together or not at all: if any
// report is refused, nothing is stored and the error names that task.
func (s *Service) ReportResults(ctx context.Context, hostID int64, reports []workunits.Report) error {
	if len(reports) == 0 {
		return workunits.Errorf(workunits.EINVALID, "reports: at least one report is needed")
	}
	if len(reports) > MaxReportsPerRequest {
		return workunits.Errorf(workunits.EINVALID, "reports: at most %d per request, got %d", MaxReportsPerRequest, len(reports))
	}
	ids := make([]int64, len(reports))
	seen := map[int64]bool{}
	for i, r := range reports {
		if err := r.Validate(); err != nil {
			return err
		}
		if seen[r.TaskID] {
			return workunits.Errorf(workunits.EINVALID, "task %d is reported twice in one request", r.TaskID)
		}
		seen[r.TaskID] = true
		ids[i] = r.TaskID
	}
	now := s.now()
	var tally judged
	ctx = withJudged(ctx, &tally)
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		tally = judged{} // a retried transaction counts afresh
		// Read without locks only to find the units; the tasks are checked
		// again once their units are locked, so a sweep or another report
		// of the same unit cannot change them between check and write.
		tasks, err := tx.TaskGetMany(ctx, ids)
		if err != nil {
			return err
		}
		unitOf := make(map[int64]int64, len(tasks))
		for _, t := range tasks {
			unitOf[t.ID] = t.UnitID
		}
		unitIDs := make([]int64, 0, len(reports))
		outputs := map[int64][]byte{}
		for _, r := range reports {
			unitID, ok := unitOf[r.TaskID]
			if !ok {
				return workunits.Errorf(workunits.ENOTFOUND, "task %d is not assigned to this host", r.TaskID)
			}
			unitIDs = append(unitIDs, unitID)
			if r.Outcome == workunits.OutcomeSuccess {
				outputs[r.TaskID] = r.Output
			}
		}
		applyReports := func(tasks []workunits.Task, jobOfUnit map[int64]workunits.Job) error {
			at := make(map[int64]int, len(tasks))
			for i, t := range tasks {
				at[t.ID] = i
			}
			for _, r := range reports {
				i, ok := at[r.TaskID]
				if !ok { // tasks never change units; this would be a store bug
					return fmt.Errorf("task %d vanished from its unit", r.TaskID)
				}
				if ignore, err := ignoreCancelled(tasks[i], jobOfUnit[tasks[i].UnitID], hostID); ignore || err != nil {
					delete(outputs, r.TaskID)
					if err != nil {
						return err
					}
					continue
				}
				t, err := workunits.ApplyReport(tasks[i], hostID, r, now)
				if err != nil {
					return err
				}
				tasks[i] = t
			}
			return nil
		}
		return s.advanceUnits(ctx, tx, unitIDs, now, applyReports, outputs)
	})
	if err != nil {
		return fmt.Errorf("taking reports from host %d: %w", hostID, err)
	}
	s.obs.TasksReported(len(reports))
	s.obs.TasksJudged(tally.valid, tally.invalid)
	return nil
}

// sweepBatch bounds the units one sweep transaction advances, so the
// single writer is never held for long.
const sweepBatch = 500

// SweepOverdue expires tasks past their deadline and issues replacements.
// It returns how many units it advanced. Coordinators sweeping one database
// at once each claim different units.
func (s *Service) SweepOverdue(ctx context.Context) (int, error) {
	// Most sweeps find nothing: look without the write lock first. A task
	// falling due just after is found by the next sweep.
	var due []int64
	if err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		due, err = tx.TaskUnitsOverdue(ctx, s.now(), 1)
		return err
	}); err != nil {
		return 0, fmt.Errorf("looking for overdue tasks: %w", err)
	}
	if len(due) == 0 {
		return 0, nil
	}
	total := 0
	for {
		var n int
		var tally judged
		err := s.store.InTx(withJudged(ctx, &tally), func(tx store.Tx) error {
			tally = judged{} // a retried transaction counts afresh
			now := s.now()
			units, err := tx.TaskUnitsOverdue(ctx, now, sweepBatch)
			if err != nil {
				return err
			}
			n = len(units)
			return s.advanceUnits(ctx, tx, units, now, nil, nil)
		})
		if err != nil {
			return total, fmt.Errorf("sweeping overdue tasks: %w", err)
		}
		s.obs.TasksJudged(tally.valid, tally.invalid)
		total += n
		if n < sweepBatch {
			return total, nil
		}
	}
}

// FinishJobs ends every active job with nothing left to do. Reports never
// finish jobs (they would all wait on the job row); this and the payer do,
// and this is the only path for jobs that pay nothing and for units failed
// or swept.
//
// Most calls find nothing to finish, so the jobs are found in a read-only
// transaction and only those are checked again, and locked, to finish them.
func (s *Service) FinishJobs(ctx context.Context) error {
	var done []int64
	err := s.store.InReadTx(ctx, func(tx store.Tx) error {
		active, err := tx.JobListActive(ctx)
		if err != nil {
			return err
		}
		done, err = tx.JobListFinishable(ctx, active)
		return err
	})
	if err != nil {
		return fmt.Errorf("looking for jobs to finish: %w", err)
	}
	if len(done) == 0 {
		return nil
	}
	err = s.store.InTx(ctx, func(tx store.Tx) error { return s.finishJobs(ctx, tx, done, s.now()) })
	if err != nil {
		return fmt.Errorf("finishing jobs: %w", err)
	}
	return nil
}

// RunBackground runs the coordinator's periodic work every interval until
// ctx ends: the deadline sweep, paying valid tasks, finishing jobs,
// carrying out clawbacks, settling cancelled jobs and writing host contacts.
// Every step is safe to run on several coordinators at once.
func (s *Service) RunBackground(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Contacts seen since the last tick would otherwise be lost.
			flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := s.FlushContacts(flushCtx); err != nil {
				s.log.Error("writing host contacts", "err", err)
			}
			return
		case due := <-t.C:
			start := time.Now()
			s.background(ctx)
			s.obs.BackgroundPass(start.Sub(due), time.Since(start))
		}
	}
}

// background is one pass of RunBackground's periodic work.
func (s *Service) background(ctx context.Context) {
	n, err := s.SweepOverdue(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Error("deadline sweep failed", "err", err)
	} else if n > 0 {
		s.log.Info("deadline sweep", "units_advanced", n)
	}
	if _, err := s.PayCredits(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("paying credits failed", "err", err)
	}
	if err := s.FinishJobs(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("finishing jobs failed", "err", err)
	}
	if _, err := s.RunPendingClawbacks(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("carrying out clawbacks failed", "err", err)
	}
	if err := s.SettleCancelledJobs(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("settling cancelled jobs failed", "err", err)
	}
	if err := s.FlushContacts(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("writing host contacts failed", "err", err)
	}
}

// advanceUnits locks the units, loads all their tasks and jobs, lets edit
// change the tasks (reports applied, say), runs workunits.Advance on each unit and
// writes the whole batch at once: changed tasks with any new outputs,
// changed units, new replicas, and a credit for every newly valid task.
// Units are locked before their tasks are written, always, so concurrent
// batches queue rather than deadlock. Jobs are finished by the payer and
// the background loop, never here: a report holds no job-wide lock.
func (s *Service) advanceUnits(ctx context.Context, tx store.Tx, unitIDs []int64, now time.Time,
	edit func(tasks []workunits.Task, jobOfUnit map[int64]workunits.Job) error, outputs map[int64][]byte) error {
	if len(unitIDs) == 0 {
		return nil
	}
	unitIDs = dedupe(unitIDs)
	units, err := tx.UnitGetManyForUpdate(ctx, unitIDs)
	if err != nil {
		return err
	}
	loaded, err := tx.TaskListByUnits(ctx, unitIDs)
	if err != nil {
		return err
	}
	tasks := slices.Clone(loaded)
	jobIDs := make([]int64, len(units))
	for i, u := range units {
		jobIDs[i] = u.JobID
	}
	jobList, err := tx.JobGetMany(ctx, dedupe(jobIDs))
	if err != nil {
		return err
	}
	jobs := make(map[int64]workunits.Job, len(jobList))
	for _, j := range jobList {
		jobs[j.ID] = j
	}
	if edit != nil {
		// Jobs are read once the units are locked: a job cancelled by a
		// transaction that locked them first is seen cancelled here.
		jobOfUnit := make(map[int64]workunits.Job, len(units))
		for _, u := range units {
			jobOfUnit[u.ID] = jobs[u.JobID]
		}
		if err := edit(tasks, jobOfUnit); err != nil {
			return err
		}
	}
	tasksByUnit := map[int64][]workunits.Task{}
	for _, t := range tasks {
		tasksByUnit[t.UnitID] = append(tasksByUnit[t.UnitID], t)
	}

	compared, err := outputsToCompare(ctx, tx, units, jobs, tasksByUnit, outputs)
	if err != nil {
		return err
	}

	final := make(map[int64]workunits.Task, len(tasks))
	for _, t := range tasks {
		final[t.ID] = t
	}
	var (
		changedUnits []workunits.Unit
		newReplicas  []int64
		advanced     = make([]advancedUnit, 0, len(units))
	)
	alone, err := s.acceptAlone(ctx, tx, units, jobs, loaded, tasksByUnit)
	if err != nil {
		return err
	}
	for _, u := range units {
		job := jobs[u.JobID]
		plan := workunits.Advance(u, tasksByUnit[u.ID], workunits.Rules{Policy: job.Policy, Validator: job.Validator, Outputs: compared, AcceptAlone: alone[u.ID]}, now)
		unitChanged := plan.Unit.State != u.State || plan.Unit.CanonicalTaskID != u.CanonicalTaskID || plan.Unit.Error != u.Error
		if unitChanged {
			changedUnits = append(changedUnits, plan.Unit)
		}
		for _, t := range plan.Changed {
			final[t.ID] = t
		}
		for range plan.NewTasks {
			newReplicas = append(newReplicas, u.ID)
		}
		advanced = append(advanced, advancedUnit{Before: u, Job: job, Plan: plan})
	}
	var changedTasks []workunits.Task
	for _, t := range loaded {
		if final[t.ID] != t {
			changedTasks = append(changedTasks, final[t.ID])
		}
	}
	for i := range advanced {
		for _, t := range loaded {
			if t.UnitID == advanced[i].Before.ID {
				advanced[i].Loaded = append(advanced[i].Loaded, t)
				advanced[i].Tasks = append(advanced[i].Tasks, final[t.ID])
			}
		}
	}
	if err := tx.TaskUpdateMany(ctx, changedTasks, outputs); err != nil {
		return err
	}
	if err := tx.UnitUpdateMany(ctx, changedUnits); err != nil {
		return err
	}
	if err := tx.TaskInsertMany(ctx, newReplicas, now); err != nil {
		return err
	}
	// Crediting and trust both lock the hosts of the results judged; lock
	// them all first, in id order, so that concurrent batches queue rather
	// than each holding a host the other waits for.
	var judgedHosts []int64
	for _, a := range advanced {
		addJudged(ctx, len(a.Plan.NewlyValid), len(a.Plan.NewlyInvalid))
		for _, t := range slices.Concat(a.Plan.NewlyValid, a.Plan.NewlyInvalid) {
			if t.HostID != 0 {
				judgedHosts = append(judgedHosts, t.HostID)
			}
		}
	}
	if len(judgedHosts) > 0 {
		slices.Sort(judgedHosts)
		if _, err := tx.HostQuotaGetMany(ctx, slices.Compact(judgedHosts)); err != nil {
			return err
		}
	}
	if err := s.payValid(ctx, tx, advanced); err != nil {
		return err
	}
	if err := s.grantCredit(ctx, tx, advanced); err != nil {
		return err
	}
	return s.updateTrust(ctx, tx, advanced)
}

// outputsToCompare gathers the outputs Advance compares for units whose
// job's validator reads them (any but bitwise, which compares hashes): of
// every successful task not yet judged, and of the canonical task. Those
// just reported are in reported; the others are loaded. It returns nil
// when no unit needs them, which is every unit of a bitwise job.
func outputsToCompare(ctx context.Context, tx store.Tx, units []workunits.Unit, jobs map[int64]workunits.Job,
	tasksByUnit map[int64][]workunits.Task, reported map[int64][]byte) (map[int64][]byte, error) {
	var need, load []int64
	for _, u := range units {
		if jobs[u.JobID].Validator.Bitwise() || u.State == workunits.UnitFailed {
			continue
		}
		for _, t := range tasksByUnit[u.ID] {
			judged := t.ValidateState == workunits.ValidateValid || t.ValidateState == workunits.ValidateInvalid
			if t.ID == u.CanonicalTaskID || t.Outcome == workunits.OutcomeSuccess && !judged {
				need = append(need, t.ID)
				if _, ok := reported[t.ID]; !ok {
					load = append(load, t.ID)
				}
			}
		}
	}
	if len(need) == 0 {
		return nil, nil
	}
	out, err := tx.TaskOutputGetMany(ctx, load)
	if err != nil {
		return nil, err
	}
	for _, id := range need {
		if o, ok := reported[id]; ok {
			out[id] = o
		}
	}
	return out, nil
}

// advancedUnit is one unit as advanceUnits left it, for what follows from
// its tasks being reported and judged (money, credit, host trust).
type advancedUnit struct {
	Before workunits.Unit // as loaded
	Job    workunits.Job
	Plan   workunits.Plan
	Loaded []workunits.Task // the unit's tasks as loaded, before reports
	Tasks  []workunits.Task // the same tasks as stored now (new replicas not included)
}

// payValid queues, for the payer, every step of the rewards of paying
// jobs that these units took: a reserve for each success newly reported,
// then a post (with the platform fee, fixed now) for each task newly valid
// and a void for each newly invalid or unchecked one. A unit's reserves
// are queued before its posts and voids, so a task reported and judged at
// once is reserved first. A report does not post to the ledger itself:
// every reward of a job is drawn from the job's escrow, and concurrent
// reports would all queue on that one balance.
func (s *Service) payValid(ctx context.Context, tx store.Tx, advanced []advancedUnit) error {
	var moves []store.MoneyMove
	var hostIDs []int64
	add := func(kind store.MoneyKind, t workunits.Task, job workunits.Job) {
		m := store.MoneyMove{Kind: kind, TaskID: t.ID, JobID: job.ID, AmountMicros: job.RewardMicros}
		if kind == store.MoneyPost {
			m.FeeMicros = payouts.FeeFor(job.RewardMicros, s.platformFeeBPS)
		}
		moves = append(moves, m)
		hostIDs = append(hostIDs, t.HostID)
	}
	for _, a := range advanced {
		if a.Job.RewardMicros <= 0 {
			continue
		}
		for i, t := range a.Tasks {
			if t.Outcome == workunits.OutcomeSuccess && a.Loaded[i].Outcome != workunits.OutcomeSuccess {
				add(store.MoneyReserve, t, a.Job)
			}
		}
		for _, t := range a.Plan.NewlyValid {
			add(store.MoneyPost, t, a.Job)
		}
		for _, judged := range [][]workunits.Task{a.Plan.NewlyInvalid, a.Plan.NewlyUnchecked} {
			for _, t := range judged {
				if t.Outcome == workunits.OutcomeSuccess { // reserved when reported
					add(store.MoneyVoid, t, a.Job)
				}
			}
		}
	}
	return s.queueMoney(ctx, tx, moves, hostIDs)
}

// queueMoney queues moves, each paying the contributor of the host in
// hostIDs at the same index: the host that ran its task.
func (s *Service) queueMoney(ctx context.Context, tx store.Tx, moves []store.MoneyMove, hostIDs []int64) error {
	if len(moves) == 0 {
		return nil
	}
	contributorOf, err := tx.HostContributorMany(ctx, dedupe(slices.Clone(hostIDs)))
	if err != nil {
		return err
	}
	for i := range moves {
		moves[i].ContributorID = contributorOf[hostIDs[i]]
	}
	return tx.MoneyQueueAdd(ctx, moves)
}

// finishJobs marks done those of the given jobs with no unit open, no
// replica still running (a late replica that proves valid is paid from the
// escrow) and no money row waiting, and returns each one's unused escrow to its project. However
// many jobs finish, it costs the same few statements.
func (s *Service) finishJobs(ctx context.Context, tx store.Tx, jobIDs []int64, now time.Time) error {
	if len(jobIDs) == 0 {
		return nil
	}
	done, err := tx.JobListFinishable(ctx, jobIDs)
	if err != nil || len(done) == 0 {
		return err
	}
	jobs, err := tx.JobGetMany(ctx, done)
	if err != nil {
		return err
	}
	if err := tx.JobFinishMany(ctx, done, now); err != nil {
		return err
	}
	if err := s.enqueueFinished(ctx, tx, done, now); err != nil {
		return err
	}
	return s.releaseEscrow(ctx, tx, jobs, now, "finished")
}

// releaseEscrow returns to their projects what the given jobs' escrow
// still holds, and funds the waiting jobs that money now covers. what says
// how the jobs ended, for errors and the log.
func (s *Service) releaseEscrow(ctx context.Context, tx store.Tx, jobs []workunits.Job, now time.Time, what string) error {
	escrows := make([]payouts.Account, len(jobs))
	for i, j := range jobs {
		escrows[i] = payouts.JobEscrow(j.ID)
	}
	left, err := tx.LedgerBalanceMany(ctx, escrows)
	if err != nil {
		return err
	}
	var releases []payouts.Transaction
	for _, j := range jobs {
		if l := left[payouts.JobEscrow(j.ID)]; l > 0 {
			releases = append(releases, payouts.Release(j.ID, j.ProjectID, l))
		}
	}
	if len(releases) > 0 {
		if _, err := tx.LedgerRecordMany(ctx, releases, now); err != nil {
			return fmt.Errorf("returning the escrow of %d %s jobs: %w", len(releases), what, err)
		}
		if err := s.fundWaitingJobs(ctx, tx, releasedProjects(jobs, left), now); err != nil {
			return err
		}
	}
	for _, j := range jobs {
		s.log.Info("job "+what, "job", j.ID, "escrow_returned_micros", max(left[payouts.JobEscrow(j.ID)], 0))
	}
	return nil
}

func dedupe(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
