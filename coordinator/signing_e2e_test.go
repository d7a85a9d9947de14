package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/workunits"
)

// storedTasks returns the outcome and stderr of each reported task of a
// job, as the coordinator stored them.
func (b *bundle) storedTasks(t *testing.T, jobID int64) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+b.dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, outcome, stderr FROM tasks WHERE job_id = ? AND outcome <> ''`, jobID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id int64
		var outcome, stderr string
		if err := rows.Scan(&id, &outcome, &stderr); err != nil {
			t.Fatal(err)
		}
		out[strconv.FormatInt(id, 10)+" "+outcome] = stderr
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// tamperingProxy stands between a worker and the coordinator and serves
// every module with a byte appended, as a compromised mirror would.
func tamperingProxy(t *testing.T, coordURL string) string {
	t.Helper()
	target, err := url.Parse(coordURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasPrefix(resp.Request.URL.Path, "/api/v1/modules/") || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		body = append(body, 0)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestWorkerRefusesUnverifiedModules is the acceptance criterion: a worker
// refuses a module whose hash or signature does not verify, runs nothing,
// keeps nothing, and says why in its report.
func TestWorkerRefusesUnverifiedModules(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	markers, _ := buildPrograms(t)
	sha := workunits.Hash(markers)
	// One replica and no more: the refused task fails its unit.
	once := api.Policy{MinQuorum: 1, TargetReplicas: 1, MaxTotalReplicas: 1, DeadlineSeconds: 600}

	// refused runs a job on a fresh worker (through via, if set) and
	// returns the stderr its refused task was stored with.
	refused := func(t *testing.T, name string, via func(*client.Client) *client.Client) string {
		t.Helper()
		job := b.submit(t, once, 0, `{"k":1,"seed":1,"n":5}`)
		host := b.host(t, b.contributor(t, name), name+"-pc")
		if via != nil {
			host = via(host)
		}
		dir := t.TempDir()
		startAgentIn(t, host, dir, nil)
		var stored map[string]string
		waitFor(t, 60*time.Second, "the refused task's report", func() bool {
			stored = b.storedTasks(t, job.ID)
			return len(stored) > 0
		})
		if len(stored) != 1 {
			t.Fatalf("stored tasks = %v, want one", stored)
		}
		var stderr string
		for k, v := range stored {
			if !strings.HasSuffix(k, " "+string(workunits.OutcomeError)) {
				t.Errorf("task %s: want outcome error", k)
			}
			stderr = v
		}
		t.Logf("stored stderr: %s", stderr)
		if _, err := os.Stat(filepath.Join(dir, "modules", sha+".wasm")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the worker kept the refused module (stat: %v)", err)
		}
		waitFor(t, 30*time.Second, "the job to finish", func() bool { return b.job(t, job.ID).State == string(workunits.JobDone) })
		if r := b.results(t, job.ID); len(r) != 1 || r[0].State != string(workunits.UnitFailed) || r[0].Output != nil {
			t.Errorf("results = %+v, want the unit failed with no output", r)
		}
		return stderr
	}

	t.Run("HashMismatch", func(t *testing.T) {
		proxy := tamperingProxy(t, b.coord.URL)
		stderr := refused(t, "mallory-mirror", func(c *client.Client) *client.Client {
			return client.New(proxy, c.Key(), nil)
		})
		if !strings.Contains(stderr, "module hash mismatch") || !strings.Contains(stderr, sha) {
			t.Errorf("stored stderr = %q, want it to say the module hash mismatches %s", stderr, sha)
		}
	})

	t.Run("BadSignature", func(t *testing.T) {
		// The operator replaces the project's key: versions signed with the
		// old one no longer verify, and a worker meeting the project for the
		// first time pins the new key and refuses them.
		priv, err := signing.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.operator.SetSigningKey(ctx, b.project.ID, signing.Encode(signing.PublicKey(priv))); err != nil {
			t.Fatal(err)
		}
		stderr := refused(t, "fresh", nil)
		if !strings.Contains(stderr, "module signature does not verify") {
			t.Errorf("stored stderr = %q, want it to say the module signature does not verify", stderr)
		}
	})
	b.audit(t)
}
