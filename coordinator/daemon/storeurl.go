package daemon

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/store/postgres"
	"github.com/nightshift-platform/nightshift/coordinator/store/sqlite"
)

// OpenStore opens the store a database URL names and brings its schema up
// to date: "postgres://…" (or "postgresql://…") for PostgreSQL, "sqlite:PATH"
// for the embedded store. Both migrate under a lock, so coordinators
// starting at once against one database apply each migration once.
func OpenStore(ctx context.Context, dbURL string) (store.Store, error) {
	switch {
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		return postgres.Open(ctx, dbURL)
	case strings.HasPrefix(dbURL, "sqlite:"):
		path := strings.TrimPrefix(dbURL, "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("database URL %q names no file: use sqlite:PATH", dbURL)
		}
		return sqlite.Open(ctx, path)
	default:
		return nil, fmt.Errorf("database URL %q: want postgres://… or sqlite:PATH", redact(dbURL))
	}
}

// redact keeps a database password out of errors and logs.
func redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
