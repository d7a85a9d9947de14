package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestREADMEConfigTable holds README's configuration table to the real flag
// sets of serve and migrate: every flag has a row with its environment
// variable and default, and every row names a real flag.
func TestREADMEConfigTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	begin, end := "<!-- serve-flags:begin -->", "<!-- serve-flags:end -->"
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s … %s table", begin, end)
	}
	row := regexp.MustCompile("^\\| `--([a-z0-9-]+)` \\| `(NIGHTSHIFT_[A-Z0-9_]+)` \\| (?:`([^`]*)`|—) \\|([^|]+)\\|$")
	type entry struct{ env, def string }
	rows := map[string]entry{}
	for _, line := range strings.Split(text[i+len(begin):j], "\n") {
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("README row not in the form | `--flag` | `NIGHTSHIFT_…` | `default` or — | meaning |: %s", line)
			continue
		}
		rows[m[1]] = entry{m[2], m[3]}
	}
	serve, _ := serveFlags(io.Discard)
	migrate, _, _ := migrateFlags(io.Discard)
	seen := map[string]bool{}
	for _, fs := range []*flag.FlagSet{serve, migrate} {
		fs.VisitAll(func(f *flag.Flag) {
			seen[f.Name] = true
			r, ok := rows[f.Name]
			switch {
			case !ok:
				t.Errorf("%s --%s is not in README's configuration table", fs.Name(), f.Name)
			case r.env != envName(f.Name):
				t.Errorf("README says --%s is set by %s; it is %s", f.Name, r.env, envName(f.Name))
			case r.def != f.DefValue:
				t.Errorf("README says --%s defaults to %q; it is %q", f.Name, r.def, f.DefValue)
			}
		})
	}
	for name := range rows {
		if !seen[name] {
			t.Errorf("README's configuration table lists --%s, which neither serve nor migrate has", name)
		}
	}
}

func TestFlagsFromEnvironment(t *testing.T) {
	env := map[string]string{
		"NIGHTSHIFT_ADDR":             "127.0.0.1:9999",
		"NIGHTSHIFT_PLATFORM_FEE_BPS": "250",
		"NIGHTSHIFT_LOG_FORMAT":       "json",
		"NIGHTSHIFT_SHUTDOWN_TIMEOUT": "5s",
	}
	fs, o := serveFlags(io.Discard)
	if err := parseFlags(fs, []string{"--log-format", "text"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:9999" || o.feeBPS != 250 || o.shutdownTimeout != 5*time.Second {
		t.Errorf("environment not applied: %+v", *o)
	}
	if o.logFormat != "text" {
		t.Errorf("--log-format text on the command line lost to the environment: %q", o.logFormat)
	}
	env["NIGHTSHIFT_PLATFORM_FEE_BPS"] = "lots"
	fs, _ = serveFlags(io.Discard)
	err := parseFlags(fs, nil, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "NIGHTSHIFT_PLATFORM_FEE_BPS") {
		t.Errorf("a bad environment value should name its variable, got %v", err)
	}
}

// TestServeNeverLogsSecrets runs serve at debug level, in both log formats,
// with an operator key and a database password, and looks for them in
// everything it writes: the log, help output, and errors.
func TestServeNeverLogsSecrets(t *testing.T) {
	const operatorKey = "nso_test-operator-key-never-logged"
	const password = "pg-password-never-logged"
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			env := map[string]string{"NIGHTSHIFT_OPERATOR_KEY": operatorKey, "NIGHTSHIFT_LOG_LEVEL": "debug", "NIGHTSHIFT_LOG_FORMAT": format}
			getenv := func(k string) string { return env[k] }
			var out syncBuffer
			s := startServe(t, getenv, &out, "--data", t.TempDir())
			// An operator request, a wrong key, and a request that fails validation.
			for _, key := range []string{operatorKey, operatorKey + "x"} {
				req, _ := http.NewRequest("POST", s.url+"/api/v1/projects", strings.NewReader(`{"name":""}`))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
			s.stop(t)

			// A database URL with a password that does not answer.
			var pgOut syncBuffer
			err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db",
				"postgres://nightshift:" + password + "@127.0.0.1:1/nightshift?connect_timeout=2"}, getenv, io.Discard, &pgOut)
			if err == nil {
				t.Fatal("serve against a database that does not answer should fail")
			}
			var help syncBuffer
			_ = run(context.Background(), []string{"serve", "-h"}, getenv, io.Discard, &help)

			all := out.String() + pgOut.String() + err.Error() + help.String()
			for _, secret := range []string{operatorKey, password} {
				if strings.Contains(all, secret) {
					t.Errorf("a secret was written out:\n%s", all)
				}
			}
			if !strings.Contains(out.String(), "coordinator listening") {
				t.Errorf("the log does not say the coordinator is listening:\n%s", out.String())
			}
		})
	}
}

// TestServeShutdownFinishesInFlight stops serve while a sign-up's body is
// still arriving: the request completes, serve returns without error, and
// after a restart on the same data the account works.
func TestServeShutdownFinishesInFlight(t *testing.T) {
	data := t.TempDir()
	getenv := func(string) string { return "" }
	var out syncBuffer
	s := startServe(t, getenv, &out, "--data", data, "--log-format", "json")

	body, bodyW := io.Pipe()
	type answer struct {
		status int
		body   []byte
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.url+"/api/v1/contributors", body)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{resp.StatusCode, b, err}
	}()
	if _, err := io.WriteString(bodyW, `{"name":`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the server has the request and is reading its body
	s.cancel()
	time.Sleep(300 * time.Millisecond) // shutdown has begun and is waiting for the request
	if _, err := io.WriteString(bodyW, `"late"}`); err != nil {
		t.Fatal(err)
	}
	bodyW.Close()
	a := <-answered
	if a.err != nil || a.status != http.StatusCreated {
		t.Fatalf("in-flight sign-up: status %d, %v: %s", a.status, a.err, a.body)
	}
	if err := <-s.done; err != nil {
		t.Fatalf("serve: %v\n%s", err, out.String())
	}
	var created struct {
		AccountKey string `json:"account_key"`
	}
	if err := json.Unmarshal(a.body, &created); err != nil || created.AccountKey == "" {
		t.Fatalf("sign-up answer %s: %v", a.body, err)
	}

	var out2 syncBuffer
	s2 := startServe(t, getenv, &out2, "--data", data)
	req, _ := http.NewRequest("GET", s2.url+"/api/v1/contributor/earnings", nil)
	req.Header.Set("Authorization", "Bearer "+created.AccountKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the account made during shutdown does not work after a restart: %d", resp.StatusCode)
	}
	s2.stop(t)
}

type serving struct {
	url    string
	cancel context.CancelFunc
	done   chan error
}

// startServe runs "coordinator serve" in-process on a free port and waits
// until its log says where it listens.
func startServe(t *testing.T, getenv func(string) string, out *syncBuffer, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), getenv, io.Discard, out)
	}()
	urlRe := regexp.MustCompile(`"?url"?[=:]"?(http://[0-9.:]+)`)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			if strings.Contains(sc.Text(), "coordinator listening") {
				if m := urlRe.FindStringSubmatch(sc.Text()); m != nil {
					s.url = m[1]
					return s
				}
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("serve ended before listening: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not start listening:\n%s", out.String())
	return nil
}

func (s *serving) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	if err := <-s.done; err != nil {
		t.Errorf("serve: %v", err)
	}
}
