// Package postgres is the store for coordinators that outgrow one SQLite
// file: PostgreSQL through pgx and a connection pool. Transactions run at
// READ COMMITTED and lock what they change: rows they read to update are
// taken FOR UPDATE, and leasing claims tasks with SKIP LOCKED so that hosts
// asking at once do not queue behind each other.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key held while migrating, so that two
// coordinators starting at once apply each migration once.
const migrationLock int64 = 0x6e73_6d69_6772 // "nsmigr"

// Store is a store.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at databaseURL (a postgres:// URL or a
// key=value connection string) and brings its schema up to date.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parsing database URL: %w", err)
	}
	if !strings.Contains(databaseURL, "pool_max_conns") {
		// pgxpool's default (the larger of 4 and the CPU count) lets a few
		// slow requests hold every connection and starve the background
		// loops that pay and finish jobs.
		cfg.MaxConns = defaultMaxConns
	}
	return openConfig(ctx, cfg)
}

// defaultMaxConns is the pool size unless the URL sets pool_max_conns.
const defaultMaxConns = 16

func openConfig(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("configuring postgres pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("listing migrations: %w", err)
	}
	sort.Strings(names)
	return s.InTx(ctx, func(stx store.Tx) error {
		tx := stx.(*Tx).tx
		// Taken before anything else, even creating schema_migrations: two
		// concurrent CREATE TABLE IF NOT EXISTS can still collide. Every
		// statement after it sees what a coordinator that held it committed.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("waiting for the migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)`); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		for _, name := range names {
			var applied bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&applied); err != nil {
				return fmt.Errorf("checking migration %s: %w", name, err)
			}
			if applied {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return fmt.Errorf("reading migration %s: %w", name, err)
			}
			// Without arguments pgx sends the simple protocol, which runs
			// a file of several statements.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("applying migration %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, name, ts(time.Now())); err != nil {
				return fmt.Errorf("recording migration %s: %w", name, err)
			}
		}
		return nil
	})
}

// InTx runs fn in one READ COMMITTED transaction; the methods of Tx take the
// row locks that make concurrent transactions safe.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	// Roll back on every way out, a panic included, so the connection goes
	// back to the pool and its locks are released.
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	if err := fn(&Tx{tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// InReadTx runs fn in one READ ONLY transaction, in which PostgreSQL
// refuses every write and the methods of Tx take no row locks. It is
// REPEATABLE READ, so that reads of several statements (an audit, the
// earnings) see one snapshot, as on SQLite; a read-only transaction never
// fails to serialise.
func (s *Store) InReadTx(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("beginning read-only transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	if err := fn(&Tx{tx: tx, readOnly: true}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("committing read-only transaction: %w", err)
	}
	return nil
}

// Tx implements store.Tx on a pgx transaction.
type Tx struct {
	tx       pgx.Tx
	readOnly bool // a read-only transaction may not lock rows either
}

// forUpdateSkipLocked is the clause that claims rows for a read-write
// transaction, passing over rows others hold; a read-only transaction
// reads them all and claims none.
func (t *Tx) forUpdateSkipLocked() string {
	if t.readOnly {
		return ""
	}
	return " FOR UPDATE SKIP LOCKED"
}

var _ store.Tx = (*Tx)(nil)

// ts is t as the store keeps it: UTC, to the millisecond.
func ts(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

// nullTS is t as stored in a column where the zero time means unknown.
func nullTS(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: ts(t), Valid: true}
}

// fromTS reads a nullable time column back: NULL is the zero time.
func fromTS(v pgtype.Timestamptz) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return v.Time.UTC()
}

func notFound(err error, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return workunits.Errorf(workunits.ENOTFOUND, format, args...)
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
