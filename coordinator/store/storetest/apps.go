package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testBlobs(t *testing.T, newStore func(*testing.T) store.Store) {
	module := []byte("\x00asm\x01\x00\x00\x00 a module")
	sha := workunits.Hash(module)

	t.Run("PutGet", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error { return tx.BlobPut(t.Context(), sha, module) })
		// Uploading the same module again, in a later request, is not an error.
		inTx(t, s, func(tx store.Tx, f *factory) error { return tx.BlobPut(t.Context(), sha, module) })
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.BlobGet(t.Context(), sha)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, module) {
				t.Errorf("BlobGet = %q, want %q", got, module)
			}
			return nil
		})
	})

	t.Run("PutTwiceInOneTx", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			if err := tx.BlobPut(t.Context(), sha, module); err != nil {
				return err
			}
			return tx.BlobPut(t.Context(), sha, module)
		})
	})

	t.Run("GetUnknown", func(t *testing.T) {
		s := setup(t, newStore)
		err := s.InTx(t.Context(), func(tx store.Tx) error {
			_, err := tx.BlobGet(t.Context(), sha)
			return err
		})
		wantCode(t, err, workunits.ENOTFOUND)
	})

	t.Run("Referenced", func(t *testing.T) {
		s := setup(t, newStore)
		referenced := func(sha string) bool {
			t.Helper()
			var ok bool
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				ok, err = tx.BlobReferenced(t.Context(), sha)
				return err
			})
			return ok
		}
		var p workunits.Project
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p = f.Project()
			return tx.BlobPut(t.Context(), sha, module)
		})
		if referenced(sha) {
			t.Errorf("BlobReferenced before any app version uses the blob = true, want false")
		}
		if referenced(workunits.Hash([]byte("never stored"))) {
			t.Errorf("BlobReferenced of an unknown blob = true, want false")
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			_, err := tx.AppVersionInsert(t.Context(), store.AppVersionInsertParams{ProjectID: p.ID, AppName: "sim",
				ModuleSHA256: sha, Size: int64(len(module)), Now: t0})
			return err
		})
		if !referenced(sha) {
			t.Errorf("BlobReferenced after an app version uses the blob = false, want true")
		}
	})
}

func testAppVersions(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("Versions", func(t *testing.T) {
		s := setup(t, newStore)
		var p workunits.Project
		var modules [2]string
		var inserted [2]workunits.AppVersion
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p = f.Project()
			modules = [2]string{f.Module(), f.Module()}
			return nil
		})
		for i, sha := range modules {
			now := t0.Add(time.Duration(i) * time.Hour)
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				inserted[i], err = tx.AppVersionInsert(t.Context(), store.AppVersionInsertParams{ProjectID: p.ID,
					AppName: "sim", ModuleSHA256: sha, Size: int64(100 + i), Now: now})
				return err
			})
			want := workunits.AppVersion{ID: inserted[i].ID, AppID: inserted[i].AppID, AppName: "sim", Version: i + 1,
				ModuleSHA256: sha, Size: int64(100 + i), CreatedAt: now}
			if got := inserted[i]; got.ID == 0 || got.AppID == 0 || !sameVersion(got, want) {
				t.Errorf("AppVersionInsert #%d = %+v, want %+v with ids", i+1, got, want)
			}
		}
		if inserted[0].AppID != inserted[1].AppID {
			t.Errorf("versions of one app have app ids %d and %d, want one app", inserted[0].AppID, inserted[1].AppID)
		}
		if inserted[0].ID == inserted[1].ID {
			t.Errorf("both versions have id %d", inserted[0].ID)
		}

		tests := []struct {
			name    string
			version int
			want    workunits.AppVersion
		}{
			{"Latest", 0, inserted[1]},
			{"First", 1, inserted[0]},
			{"Second", 2, inserted[1]},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				inTx(t, s, func(tx store.Tx, f *factory) error {
					got, err := tx.AppVersionGet(t.Context(), p.ID, "sim", tt.version)
					if err != nil {
						return err
					}
					if !sameVersion(got, tt.want) {
						t.Errorf("AppVersionGet(version %d) = %+v, want %+v", tt.version, got, tt.want)
					}
					return nil
				})
			})
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := setup(t, newStore)
		var mine, theirs workunits.Project
		inTx(t, s, func(tx store.Tx, f *factory) error {
			mine, theirs = f.Project(), f.Project()
			f.AppVersion(mine.ID, "sim")
			f.AppVersion(theirs.ID, "render")
			return nil
		})
		tests := []struct {
			name    string
			app     string
			version int
		}{
			{"UnknownApp", "nope", 0},
			{"UnknownAppVersion", "nope", 1},
			{"UnknownVersion", "sim", 2},
			{"OtherProjectsApp", "render", 0},
			{"OtherProjectsAppVersion", "render", 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.InTx(t.Context(), func(tx store.Tx) error {
					_, err := tx.AppVersionGet(t.Context(), mine.ID, tt.app, tt.version)
					return err
				})
				wantCode(t, err, workunits.ENOTFOUND)
			})
		}
	})

	t.Run("AppsPerProject", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			a, b := f.Project(), f.Project()
			a1, a2 := f.AppVersion(a.ID, "sim"), f.AppVersion(a.ID, "sim")
			b1 := f.AppVersion(b.ID, "sim")
			if a2.Version != 2 || b1.Version != 1 {
				t.Errorf("versions: project a has %d, project b's first is %d; want 2 and 1", a2.Version, b1.Version)
			}
			if b1.AppID == a1.AppID {
				t.Errorf("two projects share app %d, want an app each", a1.AppID)
			}
			got, err := tx.AppVersionGet(t.Context(), b.ID, "sim", 0)
			if err != nil {
				return err
			}
			if !sameVersion(got, b1) {
				t.Errorf("project b's latest sim = %+v, want %+v", got, b1)
			}
			return nil
		})
	})
}

func sameVersion(a, b workunits.AppVersion) bool {
	return a.ID == b.ID && a.AppID == b.AppID && a.AppName == b.AppName && a.Version == b.Version &&
		a.ModuleSHA256 == b.ModuleSHA256 && a.Size == b.Size && sameMS(a.CreatedAt, b.CreatedAt)
}
