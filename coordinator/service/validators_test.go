package service

import (
	"context"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// TestNumericValidator runs a unit of an app version uploaded with a
// numeric validator: two hosts whose floats differ in the last digits
// agree, a third beyond the tolerance is invalid, and an output that is
// not JSON fails its task.
func TestNumericValidator(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	signer, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := b.svc.CreateProjectWith(ctx, NewProject{Name: "chem", SigningKey: signing.PublicKey(signer)})
	if err != nil {
		t.Fatal(err)
	}
	upload := func(v workunits.Validator) (workunits.AppVersion, error) {
		return b.svc.UploadAppVersion(ctx, p.ID, AppUpload{App: "md", Module: wasmHeader,
			Signature: signing.Sign(signer, wasmHeader), Validator: v})
	}
	for _, bad := range []workunits.Validator{
		{Kind: "approximate"},
		{Kind: workunits.ValidatorNumeric, RelTol: -1},
		{Kind: workunits.ValidatorBitwise, AbsTol: 1e-9},
	} {
		if _, err := upload(bad); workunits.ErrorCode(err) != workunits.EINVALID {
			t.Errorf("upload with validator %+v: %v, want EINVALID", bad, err)
		}
	}
	if vs, err := b.svc.AppVersions(ctx, p.ID, "md"); err == nil && len(vs) > 0 {
		t.Fatalf("refused uploads stored %d versions", len(vs))
	}
	numeric := workunits.Validator{Kind: workunits.ValidatorNumeric, AbsTol: 1e-12, RelTol: 1e-6}
	v, err := upload(numeric)
	if err != nil {
		t.Fatal(err)
	}
	if v.Validator != numeric {
		t.Errorf("version validator = %+v, want %+v", v.Validator, numeric)
	}

	st, err := b.svc.SubmitJob(ctx, p.ID, JobRequest{App: "md", Inputs: [][]byte{[]byte(`{"step":1}`), []byte(`{"step":2}`)},
		Policy: workunits.Policy{MinQuorum: 2, TargetReplicas: 3, MaxTotalReplicas: 4, Deadline: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Job.Validator != numeric {
		t.Errorf("job validator = %+v, want the version's %+v", st.Job.Validator, numeric)
	}
	// Each host gets one replica of each unit.
	leases := map[string]map[int]store.Lease{}
	hosts := map[string]int64{}
	var unitIDs []int64
	for _, name := range []string{"ada", "grace", "linus"} {
		_, h := b.host(t, name)
		got, err := b.svc.LeaseTasks(ctx, h.ID, 4, nil)
		if err != nil || len(got) != 2 {
			t.Fatalf("%s leased %d tasks (%v), want 2", name, len(got), err)
		}
		leases[name] = map[int]store.Lease{}
		for _, l := range got {
			seq := 0
			if string(l.Input) == `{"step":2}` {
				seq = 1
			}
			leases[name][seq] = l
			if name == "ada" {
				unitIDs = append(unitIDs, l.UnitID)
			}
		}
		hosts[name] = h.ID
	}
	report := func(name string, seq int, output string) {
		t.Helper()
		b.now = b.now.Add(time.Second)
		if err := b.svc.ReportResults(ctx, hosts[name], []workunits.Report{
			{TaskID: leases[name][seq].TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte(output)}}); err != nil {
			t.Fatalf("%s reporting unit %d: %v", name, seq, err)
		}
	}
	report("grace", 0, `{"energy": -1.23456789, "atoms": [{"x": 0.5, "el": "C"}]}`)
	report("ada", 0, `{"atoms":[{"el":"C","x":0.50000001}],"energy":-1.23456788}`)
	report("linus", 0, `{"energy": -1.3, "atoms": [{"x": 0.5, "el": "C"}]}`) // after the quorum: checked against the canonical output

	report("ada", 1, `[1, 2, 3]`)
	report("grace", 1, `[1, 2, 3`)             // not JSON
	report("linus", 1, `[1.0000000001, 2, 3]`) // within rel_tol of ada's

	tasks := map[int64]workunits.Task{}
	var units []workunits.Unit
	if err := b.svc.store.InTx(ctx, func(tx store.Tx) error {
		list, err := tx.TaskListByUnits(ctx, unitIDs)
		for _, tk := range list {
			tasks[tk.ID] = tk
		}
		if err != nil {
			return err
		}
		units, err = tx.UnitGetManyForUpdate(ctx, unitIDs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		name    string
		seq     int
		outcome workunits.Outcome
		vs      workunits.ValidateState
	}{
		{"ada", 0, workunits.OutcomeSuccess, workunits.ValidateValid},
		{"grace", 0, workunits.OutcomeSuccess, workunits.ValidateValid},
		{"linus", 0, workunits.OutcomeSuccess, workunits.ValidateInvalid},
		{"ada", 1, workunits.OutcomeSuccess, workunits.ValidateValid},
		{"grace", 1, workunits.OutcomeValidateError, workunits.ValidateInvalid},
		{"linus", 1, workunits.OutcomeSuccess, workunits.ValidateValid},
	} {
		tk := tasks[leases[want.name][want.seq].TaskID]
		if tk.Outcome != want.outcome || tk.ValidateState != want.vs {
			t.Errorf("%s's task of unit %d: outcome %s, validate %s; want %s, %s",
				want.name, want.seq, tk.Outcome, tk.ValidateState, want.outcome, want.vs)
		}
	}
	for _, u := range units {
		if u.State != workunits.UnitDone {
			t.Errorf("unit %d is %s (%s), want done", u.Seq, u.State, u.Error)
		}
		// Canonical: the earliest task of those agreeing with the most.
		want := min(leases["ada"][u.Seq].TaskID, leases["grace"][u.Seq].TaskID)
		if u.Seq == 1 {
			want = min(leases["ada"][u.Seq].TaskID, leases["linus"][u.Seq].TaskID)
		}
		if u.CanonicalTaskID != want {
			t.Errorf("unit %d canonical task %d, want %d", u.Seq, u.CanonicalTaskID, want)
		}
	}
}
