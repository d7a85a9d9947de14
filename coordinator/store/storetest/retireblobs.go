package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// BlobJob inserts an active job of the project whose two units read the
// first and the rest of the blob.
func (f *factory) BlobJob(projectID int64, b store.InputBlob) workunits.Job {
	f.t.Helper()
	_, job := f.bareJob(projectID, workunits.DefaultPolicy, 0, 2, t0)
	refs := []workunits.InputRef{
		{Blob: b.SHA256, Offset: 0, Length: 1, SHA256: "r0"},
		{Blob: b.SHA256, Offset: 1, Length: b.Size - 1, SHA256: "r1"},
	}
	_, err := f.tx.UnitInsertRefs(f.ctx, job.ID, refs)
	f.fail("inserting units", err)
	return job
}

// GrantedBlob stores data as a blob in parts of 4 bytes and grants it to
// the projects.
func (f *factory) GrantedBlob(data string, projectIDs ...int64) store.InputBlob {
	f.t.Helper()
	b := f.InputBlob([]byte(data), 4)
	for _, p := range projectIDs {
		_, err := f.tx.ProjectBlobGrant(f.ctx, p, b.SHA256, t0)
		f.fail("granting blob", err)
	}
	return b
}

// retireRelease retires a job and releases its blobs, as RetireJob does.
func retireRelease(t *testing.T, s store.Store, job workunits.Job) []string {
	t.Helper()
	var deleted []string
	inTx(t, s, func(tx store.Tx, f *factory) (err error) {
		if err := tx.JobRetire(t.Context(), job.ID, t0.Add(time.Hour)); err != nil {
			return err
		}
		deleted, err = tx.InputBlobsRelease(t.Context(), job.ProjectID, job.ID)
		return err
	})
	return deleted
}

// wantBlob checks whether the blob and all its parts are stored, and
// whether each project may use it.
func wantBlob(t *testing.T, s store.Store, b store.InputBlob, stored bool, grants map[int64]bool) {
	t.Helper()
	inTx(t, s, func(tx store.Tx, f *factory) error {
		_, err := tx.InputBlobGet(t.Context(), b.SHA256)
		parts, perr := tx.InputBlobPartCount(t.Context(), b.SHA256)
		if perr != nil {
			return perr
		}
		want := int64(0)
		if stored {
			want = (b.Size + b.PartSize - 1) / b.PartSize
		}
		if (err == nil) != stored || parts != want {
			t.Errorf("blob %.8s: InputBlobGet err %v, %d parts; want stored %v with %d parts", b.SHA256, err, parts, stored, want)
		}
		for p, granted := range grants {
			_, err := tx.ProjectBlobGet(t.Context(), p, b.SHA256)
			if (err == nil) != granted {
				t.Errorf("blob %.8s for project %d: ProjectBlobGet err %v; want granted %v", b.SHA256, p, err, granted)
			}
			list, lerr := tx.ProjectBlobList(t.Context(), p, "", 10)
			if lerr != nil {
				return lerr
			}
			listed := slices.ContainsFunc(list, func(l store.InputBlob) bool { return l.SHA256 == b.SHA256 })
			if listed != granted {
				t.Errorf("blob %.8s in project %d's list: %v; want %v", b.SHA256, p, listed, granted)
			}
		}
		return nil
	})
}

func testInputBlobsRelease(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("OwnBlobFreed", func(t *testing.T) {
		s := setup(t, newStore)
		var p int64
		var own, kept store.InputBlob
		var job workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p = f.Project().ID
			own = f.GrantedBlob("the job's own input, in parts", p)
			kept = f.GrantedBlob("another blob of the project", p)
			job = f.BlobJob(p, own)
			return nil
		})
		if deleted := retireRelease(t, s, job); !slices.Equal(deleted, []string{own.SHA256}) {
			t.Errorf("InputBlobsRelease = %v, want [%s]", deleted, own.SHA256)
		}
		wantBlob(t, s, own, false, map[int64]bool{p: false})
		wantBlob(t, s, kept, true, map[int64]bool{p: true})
		// Releasing again finds nothing to do.
		if deleted := retireRelease(t, s, job); len(deleted) != 0 {
			t.Errorf("second InputBlobsRelease = %v, want none", deleted)
		}
	})

	t.Run("KeptWhileAnotherLiveJobOfTheProjectReadsIt", func(t *testing.T) {
		s := setup(t, newStore)
		var p int64
		var b store.InputBlob
		var first, second, third workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p = f.Project().ID
			b = f.GrantedBlob("read by three jobs", p)
			first, second, third = f.BlobJob(p, b), f.BlobJob(p, b), f.BlobJob(p, b)
			// A done job still counts until it is retired.
			return tx.JobFinish(t.Context(), second.ID, t0)
		})
		if deleted := retireRelease(t, s, first); len(deleted) != 0 {
			t.Errorf("InputBlobsRelease with two live jobs left = %v, want none", deleted)
		}
		wantBlob(t, s, b, true, map[int64]bool{p: true})
		if deleted := retireRelease(t, s, second); len(deleted) != 0 {
			t.Errorf("InputBlobsRelease with one live job left = %v, want none", deleted)
		}
		wantBlob(t, s, b, true, map[int64]bool{p: true})
		if deleted := retireRelease(t, s, third); !slices.Equal(deleted, []string{b.SHA256}) {
			t.Errorf("InputBlobsRelease of the last job = %v, want [%s]", deleted, b.SHA256)
		}
		wantBlob(t, s, b, false, map[int64]bool{p: false})
	})

	t.Run("KeptWhileAnotherProjectHoldsIt", func(t *testing.T) {
		s := setup(t, newStore)
		var p, q int64
		var b store.InputBlob
		var job, qJob workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p, q = f.Project().ID, f.Project().ID
			b = f.GrantedBlob("uploaded by two projects", p, q)
			job = f.BlobJob(p, b)
			return nil
		})
		// Project q uploaded it too: p gives back its grant, q keeps it.
		if deleted := retireRelease(t, s, job); len(deleted) != 0 {
			t.Errorf("InputBlobsRelease = %v, want none: project %d holds it", deleted, q)
		}
		wantBlob(t, s, b, true, map[int64]bool{p: false, q: true})
		// Once q's own job that read it is retired, q gives it back too,
		// and then it goes.
		inTx(t, s, func(tx store.Tx, f *factory) error { qJob = f.BlobJob(q, b); return nil })
		if deleted := retireRelease(t, s, qJob); !slices.Equal(deleted, []string{b.SHA256}) {
			t.Errorf("InputBlobsRelease of q's job = %v, want [%s]", deleted, b.SHA256)
		}
		wantBlob(t, s, b, false, map[int64]bool{p: false, q: false})
	})

	t.Run("ModuleBlobsUntouched", func(t *testing.T) {
		s := setup(t, newStore)
		var module, loose string
		var inline, blobJob workunits.Job
		var b store.InputBlob
		inTx(t, s, func(tx store.Tx, f *factory) error {
			fx := f.Job(jobSpec{})
			inline, module = fx.Job, fx.Version.ModuleSHA256
			loose = f.Module()
			b = f.GrantedBlob("an input", inline.ProjectID)
			blobJob = f.BlobJob(inline.ProjectID, b)
			return nil
		})
		if deleted := retireRelease(t, s, inline); len(deleted) != 0 {
			t.Errorf("InputBlobsRelease of a job with inline inputs = %v, want none", deleted)
		}
		if deleted := retireRelease(t, s, blobJob); !slices.Equal(deleted, []string{b.SHA256}) {
			t.Errorf("InputBlobsRelease = %v, want [%s]", deleted, b.SHA256)
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			for _, m := range []string{module, loose} {
				if _, err := tx.BlobGet(t.Context(), m); err != nil {
					t.Errorf("module blob %.8s: %v, want kept", m, err)
				}
			}
			return nil
		})
	})

	// A submission that locked the blob first keeps it; one that comes
	// after the release finds it gone.
	t.Run("ConcurrentSubmit", func(t *testing.T) {
		s := setup(t, newStore)
		ctx := t.Context()
		var p int64
		var b store.InputBlob
		var retiring, submitted workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p = f.Project().ID
			b = f.GrantedBlob("raced for", p)
			retiring = f.BlobJob(p, b)
			_, submitted = f.bareJob(p, workunits.DefaultPolicy, 0, 1, t0)
			return nil
		})
		locked := make(chan struct{})
		var deleted []string
		errs := make([]error, 2)
		var wg sync.WaitGroup
		wg.Go(func() {
			errs[0] = s.InTx(ctx, func(tx store.Tx) error {
				if _, err := tx.InputBlobLock(ctx, b.SHA256); err != nil {
					return err
				}
				close(locked)
				time.Sleep(100 * time.Millisecond)
				_, err := tx.UnitInsertRefs(ctx, submitted.ID, []workunits.InputRef{{Blob: b.SHA256, Offset: 0, Length: b.Size, SHA256: "all"}})
				return err
			})
		})
		wg.Go(func() {
			<-locked
			errs[1] = s.InTx(ctx, func(tx store.Tx) (err error) {
				if err := tx.JobRetire(ctx, retiring.ID, t0.Add(time.Hour)); err != nil {
					return err
				}
				deleted, err = tx.InputBlobsRelease(ctx, p, retiring.ID)
				return err
			})
		})
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if len(deleted) != 0 {
			t.Errorf("release after a submission locked the blob = %v, want none", deleted)
		}
		wantBlob(t, s, b, true, map[int64]bool{p: true})

		// Now the release goes first and holds its transaction open.
		released := make(chan struct{})
		var late workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) error {
			_, late = f.bareJob(p, workunits.DefaultPolicy, 0, 1, t0)
			return nil
		})
		wg.Go(func() {
			errs[0] = s.InTx(ctx, func(tx store.Tx) (err error) {
				if err := tx.JobRetire(ctx, submitted.ID, t0.Add(time.Hour)); err != nil {
					return err
				}
				deleted, err = tx.InputBlobsRelease(ctx, p, submitted.ID)
				close(released)
				time.Sleep(100 * time.Millisecond)
				return err
			})
		})
		wg.Go(func() {
			<-released
			errs[1] = s.InTx(ctx, func(tx store.Tx) error {
				if _, err := tx.InputBlobLock(ctx, b.SHA256); err != nil {
					return err
				}
				_, err := tx.UnitInsertRefs(ctx, late.ID, []workunits.InputRef{{Blob: b.SHA256, Offset: 0, Length: b.Size, SHA256: "all"}})
				return err
			})
		})
		wg.Wait()
		if errs[0] != nil {
			t.Fatal(errs[0])
		}
		wantCode(t, errs[1], workunits.ENOTFOUND)
		if !slices.Equal(deleted, []string{b.SHA256}) {
			t.Errorf("release of the last job = %v, want [%s]", deleted, b.SHA256)
		}
		wantBlob(t, s, b, false, map[int64]bool{p: false})
	})
}
