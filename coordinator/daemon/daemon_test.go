package daemon

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The profiler answers on its own address only, never on the public one.
func TestProfilerOnlyOnDebugAddr(t *testing.T) {
	tests := []struct {
		name      string
		debugAddr string
	}{
		{"off", ""},
		{"on", "127.0.0.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c, err := Start(ctx, Config{
				Addr:        "127.0.0.1:0",
				DB:          "sqlite:" + filepath.Join(t.TempDir(), "nightshift.db"),
				OperatorKey: "nso_test",
				DebugAddr:   tt.debugAddr,
				Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if err := c.Stop(stopCtx); err != nil {
					t.Errorf("stopping: %v", err)
				}
			})
			if code, _ := get(t, c.URL+"/debug/pprof/"); code != http.StatusNotFound {
				t.Errorf("public address serves the profiler: status %d", code)
			}
			if tt.debugAddr == "" {
				if c.DebugURL != "" {
					t.Errorf("DebugURL = %q without a debug address", c.DebugURL)
				}
				return
			}
			code, body := get(t, c.DebugURL+"/debug/pprof/")
			if code != http.StatusOK || !strings.Contains(body, "goroutine") {
				t.Errorf("profiler index: status %d, body %.200q", code, body)
			}
			if code, body := get(t, c.DebugURL+"/debug/pprof/profile?seconds=1"); code != http.StatusOK || len(body) == 0 {
				t.Errorf("CPU profile: status %d, %d bytes", code, len(body))
			}
		})
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
