// Package daemontest runs coordinators for tests.
package daemontest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/daemon"
)

// Start starts a coordinator with cfg, on a free local port and logging
// nowhere unless cfg says otherwise, and stops it when the test ends.
func Start(t testing.TB, cfg daemon.Config) *daemon.Coordinator {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := daemon.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("starting a coordinator: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("stopping the coordinator: %v", err)
		}
	})
	return c
}
