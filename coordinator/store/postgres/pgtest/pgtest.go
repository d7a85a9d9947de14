// Package pgtest gives tests a PostgreSQL schema of their own on the test
// server. It fails, never skips, when the server does not answer, so a run
// that never reached PostgreSQL cannot pass for one that did.
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the test server unless NIGHTSHIFT_TEST_DATABASE_URL names another.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	reachOnce sync.Once
	reachErr  error
)

// ServerURL returns the test server's URL and fails the test if it does
// not answer.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("NIGHTSHIFT_TEST_DATABASE_URL")
	if u == "" {
		u = DefaultURL
	}
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, u)
		if err == nil {
			err = conn.Ping(ctx)
			_ = conn.Close(ctx)
		}
		reachErr = err
	})
	if reachErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the test PostgreSQL (NIGHTSHIFT_TEST_DATABASE_URL) is unreachable: %v", reachErr)
		}
		t.Fatalf("the test PostgreSQL is unreachable: %v\n"+
			"Start the local one with `pg_ctlcluster --skip-systemctl-redirect 15 main start` (it needs a database named test),\n"+
			"or set NIGHTSHIFT_TEST_DATABASE_URL to another server (default %s).", reachErr, DefaultURL)
	}
	return u
}

// Exec runs sql on its own connection to the server, outside any test schema.
func Exec(ctx context.Context, serverURL, sql string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// NewSchema creates an empty schema, dropped when the test ends, and
// returns a database URL whose connections work in it. Anything opened on
// the URL must be closed by a cleanup registered after this call.
func NewSchema(t testing.TB) string {
	t.Helper()
	server := ServerURL(t)
	schema := "ns_test_" + strings.ToLower(rand.Text())
	if err := Exec(t.Context(), server, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := Exec(ctx, server, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("parsing NIGHTSHIFT_TEST_DATABASE_URL: %v", err)
	}
	// pgx sends query parameters it does not know as run-time settings.
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
