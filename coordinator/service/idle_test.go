package service

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/store/sqlite"
	"github.com/nightshift-platform/nightshift/workunits"
)

// writeCounter counts the read-write transactions a store is asked for.
type writeCounter struct {
	store.Store
	n atomic.Int64
}

func (c *writeCounter) InTx(ctx context.Context, fn func(store.Tx) error) error {
	c.n.Add(1)
	return c.Store.InTx(ctx, fn)
}

// idleWork runs every background step and the reads a host's first
// request makes, with nothing for any of them to do: an active job with
// nothing due, no credit, no contact to write, and a token not yet cached.
func idleWork(t *testing.T, ctx context.Context, b *testBundle, token string) {
	t.Helper()
	if n, err := b.svc.SweepOverdue(ctx); err != nil || n != 0 {
		t.Errorf("SweepOverdue = %d, %v; want 0, nil", n, err)
	}
	if n, err := b.svc.PayCredits(ctx); err != nil || n != 0 {
		t.Errorf("PayCredits = %d, %v; want 0, nil", n, err)
	}
	if err := b.svc.FinishJobs(ctx); err != nil {
		t.Errorf("FinishJobs: %v", err)
	}
	if err := b.svc.FlushContacts(ctx); err != nil {
		t.Errorf("FlushContacts: %v", err)
	}
	if _, err := b.svc.AuthHost(ctx, token); err != nil {
		t.Errorf("AuthHost of a token not yet cached: %v", err)
	}
	if _, err := b.svc.AuthHost(ctx, HostTokenPrefix+"unknown"); workunits.ErrorCode(err) != workunits.EUNAUTHORIZED {
		t.Errorf("AuthHost of an unknown token: %v, want %s", err, workunits.EUNAUTHORIZED)
	}
}

// idleBundle is a bundle with an active job that has nothing due, and a
// host whose token it returns.
func idleBundle(t *testing.T, b *testBundle) (workunits.Host, string) {
	t.Helper()
	ctx := t.Context()
	if _, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: [][]byte{[]byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	c, _, err := b.svc.CreateContributor(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	h, token, err := b.svc.RegisterHost(ctx, c.ID, HostInfo{Name: "pc", Platform: "test", Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	return h, token
}

// TestIdleWorkOpensNoWriteTransaction: background steps with nothing to
// do, and the host lookup behind a cache miss, only read. The contact the
// lookup noted is written by the next FlushContacts.
func TestIdleWorkOpensNoWriteTransaction(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		h, token := idleBundle(t, b)
		counter := &writeCounter{Store: b.svc.store}
		b.svc.store = counter
		idleWork(t, t.Context(), b, token)
		if n := counter.n.Load(); n != 0 {
			t.Errorf("%d read-write transactions with nothing to do, want none", n)
		}
		b.now = b.now.Add(time.Minute)
		if err := b.svc.FlushContacts(t.Context()); err != nil {
			t.Fatal(err)
		}
		var got workunits.Host
		if err := b.svc.store.InReadTx(t.Context(), func(tx store.Tx) (err error) {
			got, err = tx.HostGetByTokenHash(t.Context(), hashKey(token))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if want := b.now.Add(-time.Minute); got.ID != h.ID || !got.LastContactAt.Equal(want) {
			t.Errorf("host after the flush = %+v, want host %d last heard from at %v", got, h.ID, want)
		}
	})
}

// TestIdleWorkWhileSQLiteIsLocked: on SQLite a read-write transaction
// waits for the database's one write lock. With another process holding
// it, idle background work and a host's first request still answer.
func TestIdleWorkWhileSQLiteIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := setupOn(t, st)
	_, token := idleBundle(t, b)

	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	idleWork(t, ctx, b, token)
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
}
