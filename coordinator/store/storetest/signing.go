package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testSigning(t *testing.T, newStore func(*testing.T) store.Store) {
	key := bytes.Repeat([]byte{7}, 32)
	sig := bytes.Repeat([]byte{9}, 64)

	t.Run("ProjectSigningKey", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p, other := f.Project(), f.Project()
			got, err := tx.ProjectSigningKeyGet(t.Context(), p.ID)
			if err != nil || got != nil {
				t.Errorf("ProjectSigningKeyGet before any is set = %x, %v; want nil, nil", got, err)
			}
			if err := tx.ProjectSigningKeySet(t.Context(), p.ID, key); err != nil {
				return err
			}
			if got, err = tx.ProjectSigningKeyGet(t.Context(), p.ID); err != nil || !bytes.Equal(got, key) {
				t.Errorf("ProjectSigningKeyGet = %x, %v; want %x", got, err, key)
			}
			if got, err = tx.ProjectSigningKeyGet(t.Context(), other.ID); err != nil || got != nil {
				t.Errorf("another project's key = %x, %v; want nil, nil", got, err)
			}
			_, err = tx.ProjectSigningKeyGet(t.Context(), 999999)
			wantCode(t, err, workunits.ENOTFOUND)
			wantCode(t, tx.ProjectSigningKeySet(t.Context(), 999999, key), workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("VersionsKeepSignatureAndEstimates", func(t *testing.T) {
		s := setup(t, newStore)
		est := workunits.Estimates{Ops: 5e9, MemoryMiB: 100, DiskMiB: 3, Deadline: 90 * time.Second}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p := f.Project()
			sha := f.Module()
			in, err := tx.AppVersionInsert(t.Context(), store.AppVersionInsertParams{ProjectID: p.ID, AppName: "sim",
				ModuleSHA256: sha, Size: 10, Now: t0, Signature: sig, Estimates: est})
			if err != nil {
				return err
			}
			dflt, err := tx.AppVersionInsert(t.Context(), store.AppVersionInsertParams{ProjectID: p.ID, AppName: "sim",
				ModuleSHA256: sha, Size: 10, Now: t0, Signature: sig})
			if err != nil {
				return err
			}
			for _, want := range []workunits.AppVersion{in, dflt} {
				got, err := tx.AppVersionGet(t.Context(), p.ID, "sim", want.Version)
				if err != nil {
					return err
				}
				if !sameVersion(got, want) || !bytes.Equal(got.Signature, sig) || got.Estimates != want.Estimates || !got.DeprecatedAt.IsZero() {
					t.Errorf("AppVersionGet(%d) = %+v, want %+v", want.Version, got, want)
				}
			}
			if in.Estimates != est {
				t.Errorf("estimates stored as %+v, want %+v", in.Estimates, est)
			}
			if dflt.Estimates != workunits.DefaultEstimates {
				t.Errorf("estimates left at zero stored as %+v, want the defaults %+v", dflt.Estimates, workunits.DefaultEstimates)
			}
			if in.ModuleSHA256 != dflt.ModuleSHA256 || in.Version == dflt.Version {
				t.Errorf("one module uploaded twice: versions %d and %d of %s, %s; want two versions of one blob",
					in.Version, dflt.Version, in.ModuleSHA256, dflt.ModuleSHA256)
			}
			return nil
		})
	})

	t.Run("Deprecate", func(t *testing.T) {
		s := setup(t, newStore)
		var p, other workunits.Project
		var v1, v2 workunits.AppVersion
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p, other = f.Project(), f.Project()
			v1, v2 = f.AppVersion(p.ID, "sim"), f.AppVersion(p.ID, "sim")
			f.AppVersion(other.ID, "sim")
			return nil
		})
		deprecate := func(projectID int64, version int, now time.Time) (v workunits.AppVersion, err error) {
			err = s.InTx(t.Context(), func(tx store.Tx) (err error) {
				v, err = tx.AppVersionDeprecate(t.Context(), projectID, "sim", version, now)
				return err
			})
			return v, err
		}
		latest := func() (v workunits.AppVersion, err error) {
			err = s.InReadTx(t.Context(), func(tx store.Tx) (err error) {
				v, err = tx.AppVersionGet(t.Context(), p.ID, "sim", 0)
				return err
			})
			return v, err
		}
		t1 := t0.Add(time.Hour)
		got, err := deprecate(p.ID, 2, t1)
		if err != nil || got.ID != v2.ID || !sameMS(got.DeprecatedAt, t1) {
			t.Fatalf("AppVersionDeprecate(2) = %+v, %v; want version 2 deprecated at %v", got, err, t1)
		}
		if got, err := deprecate(p.ID, 2, t1.Add(time.Hour)); err != nil || !sameMS(got.DeprecatedAt, t1) {
			t.Errorf("deprecating again = %+v, %v; want it to keep its first time %v", got, err, t1)
		}
		if got, err := latest(); err != nil || got.ID != v1.ID {
			t.Errorf("latest after deprecating 2 = %+v, %v; want version 1", got, err)
		}
		var named workunits.AppVersion
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			named, err = tx.AppVersionGet(t.Context(), p.ID, "sim", 2)
			return err
		})
		if !sameMS(named.DeprecatedAt, t1) {
			t.Errorf("version 2 named explicitly = %+v, want it found and marked deprecated", named)
		}
		if _, err := deprecate(p.ID, 1, t1); err != nil {
			t.Fatal(err)
		}
		_, err = latest()
		wantCode(t, err, workunits.ENOTFOUND)
		_, err = deprecate(p.ID, 3, t1)
		wantCode(t, err, workunits.ENOTFOUND)
		_, err = deprecate(999999, 1, t1)
		wantCode(t, err, workunits.ENOTFOUND)
		// The other project's version 1 is untouched.
		inTx(t, s, func(tx store.Tx, f *factory) error {
			theirs, err := tx.AppVersionGet(t.Context(), other.ID, "sim", 0)
			if err != nil || !theirs.DeprecatedAt.IsZero() {
				t.Errorf("the other project's latest sim = %+v, %v; want version 1, not deprecated", theirs, err)
			}
			return nil
		})
	})

	t.Run("Lists", func(t *testing.T) {
		s := setup(t, newStore)
		var p, other, empty workunits.Project
		var sims []workunits.AppVersion
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p, other, empty = f.Project(), f.Project(), f.Project()
			f.AppVersion(p.ID, "zeta")
			sims = []workunits.AppVersion{f.AppVersion(p.ID, "sim"), f.AppVersion(p.ID, "sim"), f.AppVersion(p.ID, "sim")}
			f.AppVersion(other.ID, "other")
			_, err := tx.AppVersionDeprecate(t.Context(), p.ID, "sim", 3, t0)
			return err
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			apps, err := tx.AppList(t.Context(), p.ID)
			if err != nil {
				return err
			}
			want := []store.AppSummary{{Name: "sim", Versions: 3, Latest: 2}, {Name: "zeta", Versions: 1, Latest: 1}}
			if len(apps) != len(want) {
				t.Fatalf("AppList = %+v, want %+v", apps, want)
			}
			for i := range want {
				if apps[i] != want[i] {
					t.Errorf("AppList[%d] = %+v, want %+v", i, apps[i], want[i])
				}
			}
			if none, err := tx.AppList(t.Context(), empty.ID); err != nil || none == nil || len(none) != 0 {
				t.Errorf("AppList of a project without apps = %#v, %v; want empty, not nil", none, err)
			}
			versions, err := tx.AppVersionList(t.Context(), p.ID, "sim")
			if err != nil {
				return err
			}
			if len(versions) != 3 {
				t.Fatalf("AppVersionList = %d versions, want 3", len(versions))
			}
			for i, v := range versions {
				if !sameVersion(v, sims[i]) {
					t.Errorf("AppVersionList[%d] = %+v, want %+v", i, v, sims[i])
				}
				if deprecated := !v.DeprecatedAt.IsZero(); deprecated != (i == 2) {
					t.Errorf("version %d deprecated = %v", v.Version, deprecated)
				}
			}
			_, err = tx.AppVersionList(t.Context(), p.ID, "other")
			wantCode(t, err, workunits.ENOTFOUND)
			_, err = tx.AppVersionList(t.Context(), p.ID, "nope")
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("LeaseCarriesSignature", func(t *testing.T) {
		s := setup(t, newStore)
		var host workunits.Host
		var p workunits.Project
		inTx(t, s, func(tx store.Tx, f *factory) error {
			host = f.Host(f.Contributor().ID)
			p = f.Project()
			if err := tx.ProjectSigningKeySet(t.Context(), p.ID, key); err != nil {
				return err
			}
			v, err := tx.AppVersionInsert(t.Context(), store.AppVersionInsertParams{ProjectID: p.ID, AppName: "signed",
				ModuleSHA256: f.Module(), Size: 10, Now: t0, Signature: sig})
			if err != nil {
				return err
			}
			job, err := tx.JobInsert(t.Context(), workunits.Job{ProjectID: p.ID, AppVersionID: v.ID,
				Policy: workunits.DefaultPolicy, State: workunits.JobActive, UnitCount: 1, CreatedAt: t0})
			if err != nil {
				return err
			}
			units, err := tx.UnitInsertMany(t.Context(), job.ID, [][]byte{[]byte(`{}`)})
			if err != nil {
				return err
			}
			return tx.TaskInsertMany(t.Context(), []int64{units[0].ID}, t0)
		})
		ls := lease(t, s, host.ID, 1, t0)
		if len(ls) != 1 {
			t.Fatalf("leased %d tasks, want 1", len(ls))
		}
		if l := ls[0]; l.ProjectID != p.ID || !bytes.Equal(l.ModuleSignature, sig) || !bytes.Equal(l.SigningKey, key) {
			t.Errorf("lease = project %d, signature %x, key %x; want project %d, %x, %x", l.ProjectID, l.ModuleSignature, l.SigningKey, p.ID, sig, key)
		}
	})
}
