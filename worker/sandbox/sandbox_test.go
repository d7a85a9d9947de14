package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/appbuild"
	"github.com/nightshift-platform/nightshift/workunits"
)

func buildGuest(t testing.TB) (sha string, module []byte) {
	t.Helper()
	return buildWasm(t, "./worker/sandbox/testdata/guest")
}

func buildWasm(t testing.TB, pkg string) (sha string, module []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "guest.wasm")
	if err := appbuild.Wasm(context.Background(), pkg, out); err != nil {
		t.Fatal(err)
	}
	module, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return workunits.Hash(module), module
}

func TestExec(t *testing.T) {
	ctx := context.Background()
	sha, module := buildGuest(t)
	box, err := New(ctx, Config{MemoryLimitMiB: 64, MaxOutputBytes: 1 << 20, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close(ctx)

	tests := []struct {
		mode       string
		stdin      string
		wantOut    string
		wantExit   uint32
		wantStderr string
		wantErr    error
		anyErr     bool
	}{
		{mode: "echo", stdin: "hello", wantOut: "HELLO"},
		{mode: "fail", wantExit: 3, wantStderr: "something went wrong"},
		{mode: "flood", wantErr: ErrOutputTooLarge},
		{mode: "scratch", wantOut: "kept"},
		{mode: "escape", wantOut: "denied"},
		{mode: "network", wantOut: "no network"},
		{mode: "hog", anyErr: true}, // the memory limit stops it: a trap or a non-zero exit
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			res, err := box.Exec(ctx, Run{ModuleSHA256: sha, Module: module, Args: []string{"guest", tt.mode},
				Stdin: []byte(tt.stdin), ScratchDir: t.TempDir()})
			if tt.anyErr {
				if err == nil && res.ExitCode == 0 {
					t.Fatalf("ran past the memory limit: %q", res.Stdout)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if string(res.Stdout) != tt.wantOut || res.ExitCode != tt.wantExit || !strings.Contains(string(res.Stderr), tt.wantStderr) {
				t.Errorf("got stdout %q exit %d stderr %q", res.Stdout, res.ExitCode, res.Stderr)
			}
		})
	}
}

func TestExecMeasuresCPUTime(t *testing.T) {
	ctx := context.Background()
	sha, module := buildGuest(t)
	box, err := New(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close(ctx)
	res, err := box.Exec(ctx, Run{ModuleSHA256: sha, Module: module, Args: []string{"guest", "spin"}})
	if err != nil || string(res.Stdout) != "true" {
		t.Fatalf("spin: %q, %v", res.Stdout, err)
	}
	// 50 million multiply-adds take well over 10 ms on any machine.
	if res.CPUTime < 10*time.Millisecond {
		t.Errorf("cpu time = %v, want at least 10ms", res.CPUTime)
	}
}

func TestExecRefusesModuleWithWrongHash(t *testing.T) {
	ctx := context.Background()
	_, module := buildGuest(t)
	box, err := New(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close(ctx)
	_, err = box.Exec(ctx, Run{ModuleSHA256: strings.Repeat("ab", 32), Module: module, Args: []string{"guest", "echo"}})
	if !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("error = %v, want ErrHashMismatch", err)
	}
}

func TestLimitedBufferKeepsStderrTail(t *testing.T) {
	b := &limitedBuffer{max: 5, truncate: true}
	for _, s := range []string{"abc", "defg", "hi"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := b.String(); got != "efghi" {
		t.Errorf("kept %q, want the last 5 bytes %q", got, "efghi")
	}
}
