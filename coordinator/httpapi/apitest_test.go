package httpapi_test

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store/sqlite"
)

// quietLog discards everything: these tests read answers, not logs.
var quietLog = slog.New(slog.DiscardHandler)

// newService returns a service over a new embedded store in a temporary
// directory, closed when the test ends. opts get the store and quietLog,
// and operatorKey unless they name one.
func newService(tb testing.TB, opts service.Options) (*service.Service, *sqlite.Store) {
	tb.Helper()
	st, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "test.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	opts.Store, opts.Logger = st, quietLog
	if opts.OperatorKey == "" {
		opts.OperatorKey = operatorKey
	}
	return service.New(opts), st
}
