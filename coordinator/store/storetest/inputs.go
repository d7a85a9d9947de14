package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// InputBlob stores data as a complete blob in parts of partSize.
func (f *factory) InputBlob(data []byte, partSize int) store.InputBlob {
	f.t.Helper()
	sha := workunits.Hash(data)
	for seq := 0; seq*partSize < len(data) || seq == 0; seq++ {
		part := data[seq*partSize : min(len(data), (seq+1)*partSize)]
		f.fail("storing part", f.tx.InputBlobPartPut(f.ctx, sha, int64(seq), part))
	}
	b := store.InputBlob{SHA256: sha, Size: int64(len(data)), PartSize: int64(partSize), CreatedAt: t0}
	_, err := f.tx.InputBlobInsert(f.ctx, b)
	f.fail("recording blob", err)
	return b
}

func testInputs(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("BlobPartsAndDedup", func(t *testing.T) {
		s := setup(t, newStore)
		ctx := t.Context()
		data := []byte("hello, blob parts")
		sha := workunits.Hash(data)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			if _, err := tx.InputBlobGet(ctx, sha); workunits.ErrorCode(err) != workunits.ENOTFOUND {
				t.Errorf("InputBlobGet before upload: %v, want ENOTFOUND", err)
			}
			b := f.InputBlob(data, 5)
			// The same parts again change nothing, and the blob is recorded once.
			for seq := range 4 {
				if err := tx.InputBlobPartPut(ctx, sha, int64(seq), []byte("xxxxx")); err != nil {
					return err
				}
			}
			created, err := tx.InputBlobInsert(ctx, store.InputBlob{SHA256: sha, Size: 1, PartSize: 1, CreatedAt: t0.Add(time.Hour)})
			if err != nil || created {
				t.Errorf("second InputBlobInsert = %v, %v; want false, nil", created, err)
			}
			got, err := tx.InputBlobGet(ctx, sha)
			if err != nil || !reflect.DeepEqual(got, b) {
				t.Errorf("InputBlobGet = %+v, %v; want %+v", got, err, b)
			}
			var all []byte
			for seq := range 4 {
				p, err := tx.InputBlobPartGet(ctx, sha, int64(seq))
				if err != nil {
					return err
				}
				all = append(all, p...)
			}
			if string(all) != string(data) {
				t.Errorf("parts read back %q, want %q", all, data)
			}
			_, err = tx.InputBlobPartGet(ctx, sha, 4)
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("ProjectBlobs", func(t *testing.T) {
		s := setup(t, newStore)
		ctx := t.Context()
		inTx(t, s, func(tx store.Tx, f *factory) error {
			a, b := f.Project(), f.Project()
			var blobs []store.InputBlob
			for i := range 3 {
				blobs = append(blobs, f.InputBlob(fmt.Appendf(nil, "blob %d", i), 4))
			}
			for i, bl := range blobs {
				added, err := tx.ProjectBlobGrant(ctx, a.ID, bl.SHA256, t0.Add(time.Duration(i)*time.Minute))
				if err != nil || !added {
					t.Errorf("grant %d = %v, %v; want true", i, added, err)
				}
			}
			if added, err := tx.ProjectBlobGrant(ctx, a.ID, blobs[0].SHA256, t0.Add(time.Hour)); err != nil || added {
				t.Errorf("second grant = %v, %v; want false", added, err)
			}
			got, err := tx.ProjectBlobGet(ctx, a.ID, blobs[1].SHA256)
			if want := (store.InputBlob{SHA256: blobs[1].SHA256, Size: blobs[1].Size, PartSize: 4, CreatedAt: t0.Add(time.Minute)}); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("ProjectBlobGet = %+v, %v; want %+v (granted time)", got, err, want)
			}
			// Project b never uploaded it: not found, although it exists.
			_, err = tx.ProjectBlobGet(ctx, b.ID, blobs[1].SHA256)
			wantCode(t, err, workunits.ENOTFOUND)
			if l, err := tx.ProjectBlobList(ctx, b.ID, "", 10); err != nil || len(l) != 0 {
				t.Errorf("other project's list = %v, %v; want empty", l, err)
			}
			// Pages in hash order.
			var seen []string
			after := ""
			for {
				page, err := tx.ProjectBlobList(ctx, a.ID, after, 2)
				if err != nil {
					return err
				}
				if len(page) == 0 {
					break
				}
				for _, p := range page {
					seen = append(seen, p.SHA256)
				}
				after = page[len(page)-1].SHA256
			}
			want := []string{blobs[0].SHA256, blobs[1].SHA256, blobs[2].SHA256}
			slices.Sort(want)
			if !reflect.DeepEqual(seen, want) {
				t.Errorf("listed %v, want %v", seen, want)
			}
			return nil
		})
	})

	t.Run("UnitRefsLeaseAndHostUse", func(t *testing.T) {
		s := setup(t, newStore)
		ctx := t.Context()
		inTx(t, s, func(tx store.Tx, f *factory) error {
			bl := f.InputBlob([]byte("line 1\nline 2\nline 3\n"), 8)
			other := f.InputBlob([]byte("another"), 8)
			job := f.BareJob()
			refs := []workunits.InputRef{
				{Blob: bl.SHA256, Offset: 0, Length: 7, SHA256: workunits.Hash([]byte("line 1\n"))},
				{Blob: bl.SHA256, Offset: 7, Length: 14, SHA256: workunits.Hash([]byte("line 2\nline 3\n"))},
			}
			units, err := tx.UnitInsertRefs(ctx, job.ID, refs)
			if err != nil {
				return err
			}
			if len(units) != 2 || units[1].Seq != 1 || units[0].State != workunits.UnitOpen || len(units[0].Input) != 0 {
				t.Fatalf("units = %+v", units)
			}
			// An inline unit beside them has no ref.
			inline := f.Job(jobSpec{})
			got, err := tx.UnitInputRefMany(ctx, []int64{units[0].ID, units[1].ID, inline.Units[0].ID})
			if want := map[int64]workunits.InputRef{units[0].ID: refs[0], units[1].ID: refs[1]}; err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("UnitInputRefMany = %v, %v; want %v", got, err, want)
			}
			bySeq, err := tx.JobInputRefList(ctx, job.ID, 0, 5)
			if want := map[int]workunits.InputRef{1: refs[1]}; err != nil || !reflect.DeepEqual(bySeq, want) {
				t.Errorf("JobInputRefList(after 0) = %v, %v; want %v", bySeq, err, want)
			}
			if err := tx.TaskInsertMany(ctx, []int64{units[0].ID}, t0); err != nil {
				return err
			}
			host := f.Host(f.Contributor().ID)
			if in, err := tx.HostBlobRangeInUse(ctx, host.ID, bl.SHA256, 0, 7); err != nil || in {
				t.Errorf("HostBlobRangeInUse before lease = %v, %v; want false", in, err)
			}
			leases, err := tx.TaskLease(ctx, store.TaskLeaseParams{HostID: host.ID, Max: 10, Now: t0})
			if err != nil {
				return err
			}
			var ref *workunits.InputRef
			for _, l := range leases {
				if l.UnitID == units[0].ID {
					ref = l.InputRef
				} else if l.InputRef != nil {
					t.Errorf("inline unit %d leased with ref %+v", l.UnitID, l.InputRef)
				}
			}
			if ref == nil || *ref != refs[0] {
				t.Errorf("leased ref = %+v, want %+v", ref, refs[0])
			}
			if in, err := tx.HostBlobRangeInUse(ctx, host.ID, bl.SHA256, 0, 7); err != nil || !in {
				t.Errorf("HostBlobRangeInUse of its unit's range after lease = %v, %v; want true", in, err)
			}
			// Only the leased unit's exact range: not the other unit's, not
			// the whole blob, not a part or an overlap of its own.
			for _, r := range []struct{ off, n int64 }{{7, 14}, {0, 21}, {0, 6}, {1, 6}, {0, 8}} {
				if in, err := tx.HostBlobRangeInUse(ctx, host.ID, bl.SHA256, r.off, r.n); err != nil || in {
					t.Errorf("HostBlobRangeInUse(%d+%d) after lease = %v, %v; want false", r.off, r.n, in, err)
				}
			}
			if in, err := tx.HostBlobRangeInUse(ctx, host.ID, other.SHA256, 0, 7); err != nil || in {
				t.Errorf("HostBlobRangeInUse of an unused blob = %v, %v; want false", in, err)
			}
			otherHost := f.Host(f.Contributor().ID)
			if in, err := tx.HostBlobRangeInUse(ctx, otherHost.ID, bl.SHA256, 0, 7); err != nil || in {
				t.Errorf("HostBlobRangeInUse of another host = %v, %v; want false", in, err)
			}
			return nil
		})
	})

	t.Run("Idempotency", func(t *testing.T) {
		s := setup(t, newStore)
		ctx := t.Context()
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job := f.BareJob()
			other := f.Project()
			r := store.IdempotencyRecord{ProjectID: job.ProjectID, Key: "k1", RequestHash: "h1", JobID: job.ID, CreatedAt: t0}
			if ok, err := tx.IdempotencyInsert(ctx, r); err != nil || !ok {
				t.Errorf("first insert = %v, %v", ok, err)
			}
			if ok, err := tx.IdempotencyInsert(ctx, store.IdempotencyRecord{ProjectID: job.ProjectID, Key: "k1", RequestHash: "h2", JobID: job.ID, CreatedAt: t0}); err != nil || ok {
				t.Errorf("second insert = %v, %v; want false", ok, err)
			}
			if got, err := tx.IdempotencyGet(ctx, job.ProjectID, "k1"); err != nil || !reflect.DeepEqual(got, r) {
				t.Errorf("get = %+v, %v; want %+v (the first)", got, err, r)
			}
			// Keys are per project.
			_, err := tx.IdempotencyGet(ctx, other.ID, "k1")
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("IdempotencyConcurrent", func(t *testing.T) {
		s := setup(t, newStore)
		ctx := t.Context()
		var job workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) error { job = f.BareJob(); return nil })
		rec := store.IdempotencyRecord{ProjectID: job.ProjectID, Key: "race", RequestHash: "h", JobID: job.ID, CreatedAt: t0}
		// The first holds its uncommitted insert while the second tries.
		firstIn := make(chan struct{})
		results := make([]bool, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		wg.Go(func() {
			errs[0] = s.InTx(ctx, func(tx store.Tx) (err error) {
				results[0], err = tx.IdempotencyInsert(ctx, rec)
				close(firstIn)
				time.Sleep(100 * time.Millisecond)
				return err
			})
		})
		wg.Go(func() {
			<-firstIn
			errs[1] = s.InTx(ctx, func(tx store.Tx) (err error) {
				results[1], err = tx.IdempotencyInsert(ctx, rec)
				return err
			})
		})
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if !results[0] || results[1] {
			t.Errorf("inserted = %v, want the first only", results)
		}
	})
}
