package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that the demo writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	demoDashboardRe = regexp.MustCompile(`Dashboard: (http://\S+)/signin`)
	demoLoginRe     = regexp.MustCompile(`(?m)^\s+(\w+)\s+email: (\S+)\s+password: (\S+)$`)
	csrfFieldRe     = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// With --keep the demo prints the dashboard's address and a login per
// contributor; signing in with one shows that contributor's earnings,
// hosts and tasks.
func TestDemoKeepDashboardLogin(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--keep", "--seeds", "2", "--signatures", "300"}, func(string) string { return "" }, &stdout, &stderr)
	}()
	defer func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo --keep: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("demo --keep did not stop within 30 s of its context ending")
		}
	}()

	var dashboard string
	var logins [][]string
	for deadline := time.Now().Add(5 * time.Minute); ; {
		out := stderr.String()
		if m := demoDashboardRe.FindStringSubmatch(out); m != nil {
			dashboard, logins = m[1], demoLoginRe.FindAllStringSubmatch(out[strings.Index(out, "Dashboard:"):], -1)
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the demo ended before printing the dashboard: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), out)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dashboard line after 5 minutes\nstdout:\n%s\nstderr:\n%s", stdout.String(), out)
		}
	}
	if len(logins) != 3 {
		t.Fatalf("demo logins printed: %q; want Ada, Grace and Mallory\n%s", logins, stderr.String())
	}
	ada := logins[0]
	if ada[1] != "Ada" {
		t.Fatalf("first login is %q, want Ada's", ada)
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get(dashboard + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, page := get("/signin")
	m := csrfFieldRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field on the sign-in page:\n%s", page)
	}
	resp, err := c.PostForm(dashboard+"/signin", url.Values{"csrf": {m[1]}, "email": {ada[2]}, "password": {ada[3]}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("signing in as %s ends at %s with %d:\n%s", ada[2], resp.Request.URL, resp.StatusCode, b)
	}
	home := string(b)
	earned := regexp.MustCompile(`id="(?:pending|available)">([0-9.]+)<`).FindAllStringSubmatch(home, -1)
	if len(earned) != 2 || earned[0][1]+earned[1][1] == "0.000.00" {
		t.Errorf("Ada's home shows pending/available %q; want earnings from the demo", earned)
	}
	if status, hosts := get("/hosts"); status != http.StatusOK ||
		!strings.Contains(hosts, "ada-desktop") || !strings.Contains(hosts, "ada-laptop") || strings.Contains(hosts, "grace-workstation") {
		t.Errorf("Ada's /hosts (status %d) does not list exactly her two PCs:\n%s", status, hosts)
	}
	if status, tasks := get("/tasks"); status != http.StatusOK || !strings.Contains(tasks, `data-task-id="`) {
		t.Errorf("Ada's /tasks (status %d) lists no task:\n%s", status, tasks)
	}
}
