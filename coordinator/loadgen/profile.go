package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profiler takes a CPU profile of each coordinator (from its --debug-addr)
// during the timed phase, so that a bench run says where the coordinators'
// time went and not only how much of it there was.
type profiler struct {
	urls    []string // debug URLs, one per coordinator, in --coordinators order
	dir     string
	seconds int
}

// start begins one profile per coordinator and returns a wait function
// that blocks until all are written. Failures are logged, not fatal: a
// missing profile must not throw away the run's measurements.
func (p profiler) start(ctx context.Context, log *slog.Logger) (wait func()) {
	if len(p.urls) == 0 {
		return func() {}
	}
	var wg sync.WaitGroup
	client := &http.Client{Timeout: time.Duration(p.seconds)*time.Second + time.Minute}
	for i, u := range p.urls {
		path := filepath.Join(p.dir, fmt.Sprintf("cpu-coordinator%d.pprof", i+1))
		wg.Go(func() {
			if err := fetchProfile(ctx, client, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", u, p.seconds), path); err != nil {
				log.Warn("no CPU profile", "coordinator", i+1, "err", err)
				return
			}
			log.Info("CPU profile written", "coordinator", i+1, "path", path, "seconds", p.seconds)
		})
	}
	return wg.Wait
}

func fetchProfile(ctx context.Context, client *http.Client, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
