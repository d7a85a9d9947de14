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

// The server refuses oversized headers and keeps its connections' time in
// bounds.
func TestServerLimits(t *testing.T) {
	c, err := Start(context.Background(), Config{
		Addr:        "127.0.0.1:0",
		DB:          "sqlite:" + filepath.Join(t.TempDir(), "nightshift.db"),
		OperatorKey: "nso_test",
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("stopping: %v", err)
		}
	})
	if c.srv.ReadHeaderTimeout <= 0 || c.srv.ReadTimeout <= 0 || c.srv.IdleTimeout <= 0 {
		t.Errorf("timeouts: header %v, request %v, idle %v; want all set", c.srv.ReadHeaderTimeout, c.srv.ReadTimeout, c.srv.IdleTimeout)
	}
	req, err := http.NewRequest("GET", c.URL+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Padding", strings.Repeat("a", 2*maxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("headers of %d bytes: status %d, want 431", 2*maxHeaderBytes, resp.StatusCode)
	}
	if code, _ := get(t, c.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("an ordinary request: status %d", code)
	}
}
