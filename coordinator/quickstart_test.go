//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// quickStartUnits is how many units the README's quick-start job has.
const quickStartUnits = 6

// TestReadmeQuickStart runs the README's quick start verbatim, as a
// researcher would paste it into a shell from the repository's root, and
// checks that it ends with every unit's validated result. Only where it
// keeps its files (QS) and where the coordinator listens (ADDR) are set.
func TestReadmeQuickStart(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the quick start needs %s (scripts/apt-ensure quickstart installs it): %v", tool, err)
		}
	}
	script := readmeBlock(t, filepath.Join("..", "README.md"), "quickstart")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "QS="+t.TempDir(), "ADDR="+freeAddr(t))
	// The script starts a coordinator and workers in the background: they
	// share its process group, which is killed whatever happens.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if runErr != nil {
		t.Fatalf("quick start failed: %v\nstdout:\n%s\nstderr:\n%s", runErr, tail(stdout.String()), tail(stderr.String()))
	}

	// It ends by printing the results, one JSON line per unit.
	var results []api.Result
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r api.Result
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte(`{"seq":`)) {
			continue
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("result line %q: %v", line, err)
		}
		results = append(results, r)
	}
	if len(results) != quickStartUnits {
		t.Fatalf("quick start printed %d results, want %d\nstdout:\n%s", len(results), quickStartUnits, tail(stdout.String()))
	}
	for i, r := range results {
		if r.Seq != i || r.State != "done" || len(r.Output) == 0 {
			t.Errorf("result %d: seq %d, state %q, %d output bytes; want seq %d, done, an output", i, r.Seq, r.State, len(r.Output), i)
		}
	}
}

// readmeBlock returns the shell code between <!-- name:begin --> and
// <!-- name:end --> in a Markdown file, without its ``` fences.
func readmeBlock(t *testing.T, path, name string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	begin, end := fmt.Sprintf("<!-- %s:begin -->", name), fmt.Sprintf("<!-- %s:end -->", name)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %s … %s block", path, begin, end)
	}
	var code []string
	inFence := false
	for _, line := range strings.Split(text[i+len(begin):j], "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			code = append(code, line)
		}
	}
	if len(code) == 0 {
		t.Fatalf("the %s block of %s has no code", name, path)
	}
	return strings.Join(code, "\n")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// tail is the end of a long output, which is where a failure shows.
func tail(s string) string {
	const max = 6000
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}
