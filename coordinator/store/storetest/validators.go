package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testValidators(t *testing.T, newStore func(*testing.T) store.Store) {
	numeric := workunits.Validator{Kind: workunits.ValidatorNumeric, AbsTol: 1e-9, RelTol: 2.5e-6}

	t.Run("VersionsAndJobsKeepTheirValidator", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p := f.Project()
			sha := f.Module()
			in, err := tx.AppVersionInsert(t.Context(), store.AppVersionInsertParams{ProjectID: p.ID, AppName: "sim",
				ModuleSHA256: sha, Size: 10, Now: t0, Validator: numeric})
			if err != nil {
				return err
			}
			dflt, err := tx.AppVersionInsert(t.Context(), store.AppVersionInsertParams{ProjectID: p.ID, AppName: "sim",
				ModuleSHA256: sha, Size: 10, Now: t0})
			if err != nil {
				return err
			}
			if in.Validator != numeric {
				t.Errorf("AppVersionInsert returned validator %+v, want %+v", in.Validator, numeric)
			}
			bitwise := workunits.Validator{Kind: workunits.ValidatorBitwise}
			if dflt.Validator != bitwise {
				t.Errorf("a version uploaded without a validator has %+v, want %+v", dflt.Validator, bitwise)
			}
			for _, want := range []workunits.AppVersion{in, dflt} {
				got, err := tx.AppVersionGet(t.Context(), p.ID, "sim", want.Version)
				if err != nil {
					return err
				}
				if got.Validator != want.Validator {
					t.Errorf("AppVersionGet(%d).Validator = %+v, want %+v", want.Version, got.Validator, want.Validator)
				}
			}
			versions, err := tx.AppVersionList(t.Context(), p.ID, "sim")
			if err != nil {
				return err
			}
			if len(versions) != 2 || versions[0].Validator != numeric || versions[1].Validator != bitwise {
				t.Errorf("AppVersionList = %+v, want validators %+v then %+v", versions, numeric, bitwise)
			}

			jobs := map[int64]workunits.Validator{}
			for _, v := range []workunits.Validator{numeric, {}} {
				j, err := tx.JobInsert(t.Context(), workunits.Job{ProjectID: p.ID, AppVersionID: in.ID, Policy: workunits.DefaultPolicy,
					State: workunits.JobActive, CreatedAt: t0, Validator: v})
				if err != nil {
					return err
				}
				jobs[j.ID] = v.WithDefaults()
				if j.Validator != v.WithDefaults() {
					t.Errorf("JobInsert returned validator %+v, want %+v", j.Validator, v.WithDefaults())
				}
			}
			for id, want := range jobs {
				got, err := tx.JobGet(t.Context(), id)
				if err != nil {
					return err
				}
				if got.Validator != want {
					t.Errorf("JobGet(%d).Validator = %+v, want %+v", id, got.Validator, want)
				}
			}
			var ids []int64
			for id := range jobs {
				ids = append(ids, id)
			}
			many, err := tx.JobGetMany(t.Context(), ids)
			if err != nil {
				return err
			}
			for _, j := range many {
				if j.Validator != jobs[j.ID] {
					t.Errorf("JobGetMany: job %d validator %+v, want %+v", j.ID, j.Validator, jobs[j.ID])
				}
			}
			return nil
		})
	})

	t.Run("TaskOutputGetMany", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		outputs := map[int64][]byte{}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job = f.Job(jobSpec{Units: 2, Policy: workunits.Policy{MinQuorum: 2, TargetReplicas: 3}})
			c := f.Contributor()
			h := f.Host(c.ID)
			// Unit 0: a JSON output, an empty output and an error; unit 1:
			// one output, one running, one unsent.
			outputs[job.Tasks[0][0].ID] = []byte(`{"energy": -1.5}`)
			outputs[job.Tasks[0][1].ID] = nil
			outputs[job.Tasks[1][0].ID] = []byte{0, 1, 2, 255}
			tasks := []workunits.Task{
				reported(job.Tasks[0][0], h.ID, workunits.OutcomeSuccess, workunits.ValidatePending, 0),
				reported(job.Tasks[0][1], h.ID, workunits.OutcomeSuccess, workunits.ValidatePending, 0),
				reported(job.Tasks[0][2], h.ID, workunits.OutcomeError, workunits.ValidatePending, 0),
				reported(job.Tasks[1][0], h.ID, workunits.OutcomeSuccess, workunits.ValidatePending, 0),
				leased(job.Tasks[1][1], h.ID, t0.Add(time.Hour)),
			}
			return tx.TaskUpdateMany(t.Context(), tasks, outputs)
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			var all []int64
			for _, unit := range job.Tasks {
				for _, tk := range unit {
					all = append(all, tk.ID)
				}
			}
			all = append(all, 999_999) // no such task
			got, err := tx.TaskOutputGetMany(t.Context(), all)
			if err != nil {
				return err
			}
			if len(got) != len(outputs) {
				t.Errorf("TaskOutputGetMany returned %d outputs, want %d (only tasks with one): %v", len(got), len(outputs), got)
			}
			for id, want := range outputs {
				out, ok := got[id]
				if !ok || !bytes.Equal(out, want) || out == nil {
					t.Errorf("output of task %d = %q (present %v), want %q, not nil", id, out, ok, want)
				}
			}
			one, err := tx.TaskOutputGetMany(t.Context(), []int64{job.Tasks[1][0].ID})
			if err != nil {
				return err
			}
			if len(one) != 1 || !bytes.Equal(one[job.Tasks[1][0].ID], []byte{0, 1, 2, 255}) {
				t.Errorf("TaskOutputGetMany(one task) = %v", one)
			}
			none, err := tx.TaskOutputGetMany(t.Context(), nil)
			if err != nil || len(none) != 0 {
				t.Errorf("TaskOutputGetMany(nil) = %v, %v; want empty", none, err)
			}
			return nil
		})
	})
}
