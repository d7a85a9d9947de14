// Package sqlite is the embedded default store: SQLite through the pure-Go
// modernc.org/sqlite driver, in WAL mode with a single writer and a few
// readers beside it.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on one SQLite database file.
type Store struct {
	db     *sql.DB // the one writer
	reader *sql.DB // read-only connections, for InReadTx
}

// readers is how many read-only transactions run at once. In WAL mode they
// run beside the writer without waiting for it.
const readers = 4

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// IMMEDIATE takes the write lock at BEGIN, so two transactions never
	// both read and then fail to upgrade.
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening sqlite database %s: %w", path, err)
	}
	// SQLite has one writer; one connection makes that explicit and keeps
	// every transaction serialised without busy retries.
	db.SetMaxOpenConns(1)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// Opened once the file is in WAL mode and up to date. query_only makes
	// SQLite itself refuse a write on these connections.
	r := url.Values{}
	r.Add("_pragma", "busy_timeout(10000)")
	r.Add("_pragma", "query_only(1)")
	if s.reader, err = sql.Open("sqlite", "file:"+path+"?"+r.Encode()); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening sqlite database %s to read: %w", path, err)
	}
	s.reader.SetMaxOpenConns(readers)
	return s, nil
}

func (s *Store) Close() error { return errors.Join(s.reader.Close(), s.db.Close()) }

func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("listing migrations: %w", err)
	}
	sort.Strings(names)
	return s.InTx(ctx, func(stx store.Tx) error {
		tx := stx.(*Tx).tx
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		for _, name := range names {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
				return fmt.Errorf("checking migration %s: %w", name, err)
			}
			if n > 0 {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return fmt.Errorf("reading migration %s: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("applying migration %s: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().UnixMilli()); err != nil {
				return fmt.Errorf("recording migration %s: %w", name, err)
			}
		}
		return nil
	})
}

// InTx runs fn in one IMMEDIATE transaction.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	// Roll back on every way out, a panic included: the transaction holds
	// the only connection, and with it the database's write lock.
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if err := fn(&Tx{tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// InReadTx runs fn in one deferred transaction on a read-only connection:
// it reads one snapshot, taken at its first read, and never takes the
// write lock.
func (s *Store) InReadTx(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("beginning read-only transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if err := fn(&Tx{tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing read-only transaction: %w", err)
	}
	return nil
}

// Tx implements store.Tx on a database/sql transaction.
type Tx struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // prepared on tx's connection; closed with it
}

// stmt returns query prepared once per transaction. A batch runs the same
// statement thousands of times, and in a CPU profile of scripts/bench
// parsing it again each time cost more than running it.
func (t *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	s, err := t.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("preparing a statement: %w", err)
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = s
	return s, nil
}

var _ store.Tx = (*Tx)(nil)

func millis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return workunits.Errorf(workunits.ENOTFOUND, format, args...)
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// int64s runs a query of one integer column and collects it.
func (t *Tx) int64s(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// placeholders returns "?,?,…" for n values.
// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner = interface{ Scan(...any) error }

// collect runs a query and scans each row with scan: the twin of
// pgx.CollectRows, so a listing is one call, not a loop to get right.
func collect[T any](ctx context.Context, t *Tx, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func int64Args(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}

// maxVariables keeps IN lists under SQLite's bound-parameter limit.
const maxVariables = 10000

// chunks calls fn on successive slices of ids of at most maxVariables.
func chunks(ids []int64, fn func([]int64) error) error {
	for len(ids) > 0 {
		n := min(len(ids), maxVariables)
		if err := fn(ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}
