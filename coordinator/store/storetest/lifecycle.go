package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testLifecycle(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("Cancel", func(t *testing.T) {
		s := setup(t, newStore)
		var job, other jobFixture
		var host workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job = f.Job(jobSpec{Units: 3, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 2}})
			other = f.Job(jobSpec{Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}})
			host = f.Host(f.Contributor().ID)
			// Unit 0 is done, unit 1 has a task running, unit 2 is untouched.
			done := job.Units[0]
			done.State, done.CanonicalTaskID = workunits.UnitDone, job.Tasks[0][0].ID
			f.UpdateUnits(done)
			f.UpdateTasks(reported(job.Tasks[0][0], host.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second),
				leased(job.Tasks[0][1], host.ID, t0.Add(time.Hour)),
				leased(job.Tasks[1][0], host.ID, t0.Add(time.Hour)),
				reported(job.Tasks[1][1], host.ID, workunits.OutcomeSuccess, workunits.ValidatePending, time.Second),
				leased(other.Tasks[0][0], host.ID, t0.Add(time.Hour)))
			return nil
		})
		var res store.JobCancelResult
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			if _, err := tx.JobGetForUpdate(t.Context(), job.Job.ID); err != nil {
				return err
			}
			res, err = tx.JobCancel(t.Context(), job.Job.ID, "job cancelled")
			return err
		})
		if res.UnitsEnded != 2 || res.TasksWithdrawn != 2 || len(res.Unchecked) != 1 ||
			res.Unchecked[0].ID != job.Tasks[1][1].ID || res.Unchecked[0].HostID != host.ID || res.Unchecked[0].UnitID != job.Units[1].ID {
			t.Errorf("JobCancel = %+v, want 2 units ended, 2 tasks withdrawn and task %d (host %d) unchecked", res, job.Tasks[1][1].ID, host.ID)
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.JobGet(t.Context(), job.Job.ID)
			if err != nil {
				return err
			}
			if got.State != workunits.JobCancelled || !got.FinishedAt.IsZero() {
				t.Errorf("cancelled job: state %q, FinishedAt %v; want %q and none yet", got.State, got.FinishedAt, workunits.JobCancelled)
			}
			units, err := tx.UnitGetManyForUpdate(t.Context(), job.UnitIDs())
			if err != nil {
				return err
			}
			for _, u := range units {
				want, wantErr := workunits.UnitFailed, "job cancelled"
				if u.ID == job.Units[0].ID {
					want, wantErr = workunits.UnitDone, ""
				}
				if u.State != want || u.Error != wantErr {
					t.Errorf("unit %d: %q %q, want %q %q", u.Seq, u.State, u.Error, want, wantErr)
				}
			}
			tasks, err := tx.TaskListByUnits(t.Context(), job.UnitIDs())
			if err != nil {
				return err
			}
			states := map[workunits.TaskState]int{}
			for _, tk := range tasks {
				states[tk.State]++
				if tk.State == workunits.TaskOver && tk.Outcome != workunits.OutcomeSuccess && tk.Outcome != workunits.OutcomeNotNeeded {
					t.Errorf("withdrawn task %d has outcome %q, want %q", tk.ID, tk.Outcome, workunits.OutcomeNotNeeded)
				}
				if want := map[int64]workunits.ValidateState{job.Tasks[0][0].ID: workunits.ValidateValid,
					job.Tasks[1][1].ID: workunits.ValidateUnchecked}[tk.ID]; want != "" && tk.ValidateState != want {
					t.Errorf("task %d is %q, want %q", tk.ID, tk.ValidateState, want)
				}
			}
			if states[workunits.TaskUnsent] != 0 || states[workunits.TaskInProgress] != 2 {
				t.Errorf("task states after cancel = %v, want none unsent and 2 in progress", states)
			}
			// The host is told about its two tasks of the cancelled job only.
			ids, err := tx.TaskListCancelled(t.Context(), host.ID)
			if err != nil {
				return err
			}
			if want := []int64{job.Tasks[0][1].ID, job.Tasks[1][0].ID}; !slices.Equal(ids, want) {
				t.Errorf("TaskListCancelled = %v, want %v", ids, want)
			}
			// Leasing hands out nothing of a cancelled job.
			leases, err := tx.TaskLease(t.Context(), store.TaskLeaseParams{HostID: f.Host(f.Contributor().ID).ID, Max: 10, Now: t0})
			if err != nil {
				return err
			}
			if len(leases) != 0 {
				t.Errorf("leased %d tasks of a cancelled job", len(leases))
			}
			return nil
		})
		// Cancelling again changes nothing.
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			res, err = tx.JobCancel(t.Context(), job.Job.ID, "again")
			return err
		})
		if !reflect.DeepEqual(res, store.JobCancelResult{}) {
			t.Errorf("second JobCancel = %+v, want nothing changed", res)
		}
	})

	t.Run("CancelDoneJob", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job = f.Job(jobSpec{})
			return tx.JobFinish(t.Context(), job.Job.ID, t0)
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			res, err := tx.JobCancel(t.Context(), job.Job.ID, "too late")
			if err != nil {
				return err
			}
			got, err := tx.JobGet(t.Context(), job.Job.ID)
			if !reflect.DeepEqual(res, store.JobCancelResult{}) || got.State != workunits.JobDone {
				t.Errorf("cancelling a done job: %+v, state %q; want nothing changed", res, got.State)
			}
			return err
		})
	})

	t.Run("Settle", func(t *testing.T) {
		s := setup(t, newStore)
		var paid, owing, active jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			paid, owing, active = f.Job(jobSpec{Reward: 5}), f.Job(jobSpec{Reward: 5}), f.Job(jobSpec{Reward: 5})
			c := f.Contributor()
			for _, j := range []jobFixture{paid, owing} {
				if _, err := tx.JobCancel(t.Context(), j.Job.ID, "cancelled"); err != nil {
					return err
				}
			}
			return tx.MoneyQueueAdd(t.Context(), []store.MoneyMove{{Kind: store.MoneyVoid, TaskID: owing.Tasks[0][0].ID, JobID: owing.Job.ID,
				ContributorID: c.ID, AmountMicros: 5}})
		})
		all := []int64{paid.Job.ID, owing.Job.ID, active.Job.ID}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			unsettled, err := tx.JobListUnsettled(t.Context(), 10)
			if err != nil {
				return err
			}
			if want := []int64{paid.Job.ID, owing.Job.ID}; !slices.Equal(unsettled, want) {
				t.Errorf("JobListUnsettled = %v, want %v", unsettled, want)
			}
			ready, err := tx.JobListSettleable(t.Context(), all)
			if err != nil {
				return err
			}
			if want := []int64{paid.Job.ID}; !slices.Equal(ready, want) {
				t.Errorf("JobListSettleable = %v, want %v (a void is queued for %d)", ready, want, owing.Job.ID)
			}
			return tx.JobSettleMany(t.Context(), all, t0.Add(time.Hour))
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			jobs, err := tx.JobGetMany(t.Context(), all)
			if err != nil {
				return err
			}
			// Settling sets finished_at of cancelled jobs only; the caller
			// asks JobListSettleable first.
			if !sameMS(jobs[0].FinishedAt, t0.Add(time.Hour)) || !jobs[2].FinishedAt.IsZero() || jobs[2].State != workunits.JobActive {
				t.Errorf("after JobSettleMany: %+v", jobs)
			}
			unsettled, err := tx.JobListUnsettled(t.Context(), 10)
			if err != nil {
				return err
			}
			if slices.Contains(unsettled, paid.Job.ID) {
				t.Errorf("JobListUnsettled = %v still lists settled job %d", unsettled, paid.Job.ID)
			}
			return nil
		})
	})

	t.Run("Retire", func(t *testing.T) {
		s := setup(t, newStore)
		var job, other jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job = f.Job(jobSpec{Units: 2, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}})
			other = f.Job(jobSpec{Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}})
			h := f.Host(f.Contributor().ID)
			for _, j := range []jobFixture{job, other} {
				tk := reported(j.Tasks[0][0], h.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second)
				if err := tx.TaskUpdateMany(t.Context(), []workunits.Task{tk}, map[int64][]byte{tk.ID: []byte("out")}); err != nil {
					return err
				}
				u := j.Units[0]
				u.State, u.CanonicalTaskID = workunits.UnitDone, tk.ID
				f.UpdateUnits(u)
			}
			return tx.JobFinishMany(t.Context(), []int64{job.Job.ID, other.Job.ID}, t0)
		})
		retired := t0.Add(2 * time.Hour)
		inTx(t, s, func(tx store.Tx, f *factory) error { return tx.JobRetire(t.Context(), job.Job.ID, retired) })
		inTx(t, s, func(tx store.Tx, f *factory) error {
			return tx.JobRetire(t.Context(), job.Job.ID, retired.Add(time.Hour))
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			l, err := tx.JobLifecycleGet(t.Context(), job.Job.ID)
			if err != nil {
				return err
			}
			if !sameMS(l.RetiredAt, retired) || l.Webhook != nil {
				t.Errorf("JobLifecycleGet = %+v, want retired at %v (the first retirement) and no webhook", l, retired)
			}
			results, err := tx.JobResultList(t.Context(), job.Job.ID, -1, 10)
			if err != nil {
				return err
			}
			if len(results) != 2 {
				t.Fatalf("retired job lists %d units, want its 2 unit rows kept", len(results))
			}
			for _, r := range results {
				if len(r.Input) != 0 || len(r.Output) != 0 {
					t.Errorf("retired unit %d still has input %q output %q", r.Seq, r.Input, r.Output)
				}
			}
			if results[0].State != workunits.UnitDone {
				t.Errorf("retired unit 0 state %q, want %q kept", results[0].State, workunits.UnitDone)
			}
			p, err := tx.JobProgress(t.Context(), job.Job.ID)
			if err != nil {
				return err
			}
			if p.Units[workunits.UnitDone] != 1 || p.Outcomes[workunits.OutcomeSuccess] != 1 {
				t.Errorf("retired job progress %+v, want its counts kept", p)
			}
			kept, err := tx.JobResultList(t.Context(), other.Job.ID, -1, 10)
			if err != nil {
				return err
			}
			if string(kept[0].Output) != "out" || len(kept[0].Input) == 0 {
				t.Errorf("another job's result changed: %+v", kept[0])
			}
			l, err = tx.JobLifecycleGet(t.Context(), other.Job.ID)
			if err != nil || !l.RetiredAt.IsZero() {
				t.Errorf("other job's lifecycle %+v, %v; want not retired", l, err)
			}
			return nil
		})
		err := s.InTx(t.Context(), func(tx store.Tx) error {
			_, err := tx.JobLifecycleGet(t.Context(), 4242)
			return err
		})
		wantCode(t, err, workunits.ENOTFOUND)
	})

	t.Run("InputBlobsRelease", func(t *testing.T) { testInputBlobsRelease(t, newStore) })
}

func testWebhookDeliveries(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("EnqueueClaimUpdate", func(t *testing.T) {
		s := setup(t, newStore)
		var hooked, plain workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) error {
			hooked, plain = f.BareJob(), f.BareJob()
			if err := tx.WebhookSet(t.Context(), hooked.ID, "https://old.example/hook", "old-secret-0123456789"); err != nil {
				return err
			}
			return tx.WebhookSet(t.Context(), hooked.ID, "https://lab.example/hook", "s3cret-0123456789abcdef")
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			with, err := tx.WebhookJobs(t.Context(), []int64{hooked.ID, plain.ID})
			if err != nil {
				return err
			}
			if !slices.Equal(with, []int64{hooked.ID}) {
				t.Errorf("WebhookJobs = %v, want [%d]", with, hooked.ID)
			}
			l, err := tx.JobLifecycleGet(t.Context(), hooked.ID)
			if err != nil {
				return err
			}
			if l.Webhook == nil || l.Webhook.URL != "https://lab.example/hook" || l.Webhook.State != store.WebhookIdle {
				t.Errorf("webhook before any event = %+v, want the new URL, idle", l.Webhook)
			}
			// The plain job has no webhook, so nothing is enqueued for it;
			// a repeated event is enqueued once.
			return tx.WebhookDeliveryAddMany(t.Context(), []store.WebhookEvent{
				{JobID: hooked.ID, Event: "job.done", At: t0}, {JobID: plain.ID, Event: "job.done", At: t0},
				{JobID: hooked.ID, Event: "job.done", At: t0.Add(time.Minute)}})
		})
		var claimed []store.WebhookDelivery
		lease := t0.Add(time.Minute)
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			none, err := tx.WebhookDeliveryClaim(t.Context(), t0.Add(-time.Second), lease, 10)
			if len(none) != 0 {
				t.Errorf("claimed %d deliveries not yet due", len(none))
			}
			if err != nil {
				return err
			}
			claimed, err = tx.WebhookDeliveryClaim(t.Context(), t0, lease, 10)
			return err
		})
		if len(claimed) != 1 {
			t.Fatalf("claimed %d deliveries, want 1", len(claimed))
		}
		d := claimed[0]
		if d.JobID != hooked.ID || d.Event != "job.done" || d.URL != "https://lab.example/hook" || d.Secret != "s3cret-0123456789abcdef" ||
			d.State != store.WebhookPending || d.Attempts != 0 || !sameMS(d.CreatedAt, t0) || !sameMS(d.NextAttemptAt, lease) {
			t.Errorf("claimed %+v", d)
		}
		// Claimed, it is not due again until the lease runs out.
		inTx(t, s, func(tx store.Tx, f *factory) error {
			again, err := tx.WebhookDeliveryClaim(t.Context(), t0.Add(30*time.Second), lease, 10)
			if len(again) != 0 {
				t.Errorf("a claimed delivery was claimed again within its lease")
			}
			return err
		})
		retryAt := t0.Add(10 * time.Second)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			return tx.WebhookDeliveryUpdate(t.Context(), store.WebhookDeliveryUpdate{ID: d.ID, State: store.WebhookPending,
				Attempts: 1, LastError: "HTTP 500", NextAttemptAt: retryAt})
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			l, err := tx.JobLifecycleGet(t.Context(), hooked.ID)
			if err != nil {
				return err
			}
			want := store.WebhookStatus{URL: "https://lab.example/hook", Event: "job.done", State: store.WebhookPending,
				Attempts: 1, LastError: "HTTP 500", NextAttemptAt: retryAt}
			if l.Webhook == nil || *l.Webhook != want {
				t.Errorf("webhook = %+v, want %+v", l.Webhook, want)
			}
			got, err := tx.WebhookDeliveryClaim(t.Context(), retryAt, retryAt.Add(time.Minute), 10)
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].Attempts != 1 || got[0].LastError != "HTTP 500" {
				t.Errorf("claim after the retry time = %+v, want the delivery with 1 attempt", got)
			}
			return tx.WebhookDeliveryUpdate(t.Context(), store.WebhookDeliveryUpdate{ID: d.ID, State: store.WebhookDelivered,
				Attempts: 2, NextAttemptAt: retryAt, DeliveredAt: retryAt})
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.WebhookDeliveryGet(t.Context(), d.ID)
			if err != nil {
				return err
			}
			if got.State != store.WebhookDelivered || got.Attempts != 2 || !sameMS(got.DeliveredAt, retryAt) {
				t.Errorf("delivered: %+v", got)
			}
			l, err := tx.JobLifecycleGet(t.Context(), hooked.ID)
			if err != nil {
				return err
			}
			if l.Webhook.State != store.WebhookDelivered || !l.Webhook.NextAttemptAt.IsZero() {
				t.Errorf("webhook after delivery = %+v, want delivered, no next attempt", l.Webhook)
			}
			none, err := tx.WebhookDeliveryClaim(t.Context(), t0.Add(24*time.Hour), t0.Add(25*time.Hour), 10)
			if len(none) != 0 {
				t.Errorf("a delivered delivery was claimed again")
			}
			if err != nil {
				return err
			}
			err = tx.WebhookDeliveryUpdate(t.Context(), store.WebhookDeliveryUpdate{ID: 4242, State: store.WebhookFailed, NextAttemptAt: t0})
			wantCode(t, err, workunits.ENOTFOUND)
			_, err = tx.WebhookDeliveryGet(t.Context(), 4242)
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("ClaimOrderAndLimit", func(t *testing.T) {
		s := setup(t, newStore)
		var jobs []workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) error {
			var events []store.WebhookEvent
			for i := range 3 {
				j := f.BareJob()
				jobs = append(jobs, j)
				if err := tx.WebhookSet(t.Context(), j.ID, "http://lab.example/hook", "0123456789abcdef"); err != nil {
					return err
				}
				// Due in reverse order of the jobs.
				events = append(events, store.WebhookEvent{JobID: j.ID, Event: "job.cancelled", At: t0.Add(time.Duration(3-i) * time.Second)})
			}
			return tx.WebhookDeliveryAddMany(t.Context(), events)
		})
		var first, second []store.WebhookDelivery
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			first, err = tx.WebhookDeliveryClaim(t.Context(), t0.Add(time.Minute), t0.Add(time.Hour), 2)
			return err
		})
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			second, err = tx.WebhookDeliveryClaim(t.Context(), t0.Add(time.Minute), t0.Add(time.Hour), 2)
			return err
		})
		if len(first) != 2 || len(second) != 1 {
			t.Fatalf("claimed %d then %d, want 2 then 1", len(first), len(second))
		}
		got := []int64{first[0].JobID, first[1].JobID, second[0].JobID}
		if want := []int64{jobs[2].ID, jobs[1].ID, jobs[0].ID}; !slices.Equal(slices.Sorted(slices.Values(got[:2])), slices.Sorted(slices.Values(want[:2]))) || got[2] != want[2] {
			t.Errorf("claimed jobs %v, want the earliest due first: %v", got, want)
		}
	})

	t.Run("ConcurrentClaimsSplit", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			var events []store.WebhookEvent
			for range 20 {
				j := f.BareJob()
				if err := tx.WebhookSet(t.Context(), j.ID, "http://lab.example/hook", "0123456789abcdef"); err != nil {
					return err
				}
				events = append(events, store.WebhookEvent{JobID: j.ID, Event: "job.done", At: t0})
			}
			return tx.WebhookDeliveryAddMany(t.Context(), events)
		})
		results := make(chan []int64, 4)
		for range 4 {
			go func() {
				var ids []int64
				for {
					var got []store.WebhookDelivery
					err := s.InTx(t.Context(), func(tx store.Tx) (err error) {
						got, err = tx.WebhookDeliveryClaim(t.Context(), t0, t0.Add(time.Hour), 3)
						return err
					})
					if err != nil {
						t.Error(err)
					}
					if len(got) == 0 {
						results <- ids
						return
					}
					for _, d := range got {
						ids = append(ids, d.ID)
					}
				}
			}()
		}
		seen := map[int64]bool{}
		for range 4 {
			for _, id := range <-results {
				if seen[id] {
					t.Errorf("delivery %d was claimed twice", id)
				}
				seen[id] = true
			}
		}
		if len(seen) != 20 {
			t.Errorf("claimed %d deliveries in all, want 20", len(seen))
		}
	})
}
