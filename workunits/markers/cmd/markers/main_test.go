package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/nightshift-platform/nightshift/workunits/markers"
)

// TestWasm builds the program as volunteers get it and runs it under
// wazero: its output must be byte for byte what the native code computes,
// or replicas from different hosts would never agree.
func TestWasm(t *testing.T) {
	ctx := context.Background()
	wasmRuntime := wazero.NewRuntime(ctx)
	t.Cleanup(func() { wasmRuntime.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, wasmRuntime)
	module, err := wasmRuntime.CompileModule(ctx, buildWasm(t))
	if err != nil {
		t.Fatalf("compile wasm: %v", err)
	}
	runWasm := func(t *testing.T, stdin string) (stdout, stderr string, code uint32) {
		t.Helper()
		var out, errOut bytes.Buffer
		config := wazero.NewModuleConfig().
			WithName(""). // anonymous, so the module can run more than once
			WithArgs("markers").
			WithStdin(strings.NewReader(stdin)).
			WithStdout(&out).
			WithStderr(&errOut)
		_, err := wasmRuntime.InstantiateModule(ctx, module, config)
		var exit *sys.ExitError
		switch {
		case err == nil:
			code = 0
		case errors.As(err, &exit):
			code = exit.ExitCode()
		default:
			t.Fatalf("run wasm: %v", err)
		}
		return out.String(), errOut.String(), code
	}

	d, err := markers.LoadDataset()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("matches native", func(t *testing.T) {
		for _, in := range []markers.Input{
			{K: 1, Seed: 0, N: 1},
			{K: 5, Seed: 1, N: 1000},
			{K: 64, Seed: 1<<64 - 1, N: 50},
		} {
			stdin, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			native, err := json.Marshal(markers.Run(d, in))
			if err != nil {
				t.Fatal(err)
			}
			want := string(native) + "\n"
			stdout, stderr, code := runWasm(t, string(stdin))
			if code != 0 || stderr != "" {
				t.Fatalf("%s: exit %d, stderr %q", stdin, code, stderr)
			}
			if stdout != want {
				t.Errorf("%s: wasm output differs from native:\nwasm   %s\nnative %s", stdin, stdout, want)
			}
		}
	})

	t.Run("rejects bad input", func(t *testing.T) {
		tests := []struct {
			name, stdin, wantErr string
		}{
			{"empty", "", "stdin is empty"},
			{"not JSON", "k=5", "read input: invalid character"},
			{"unknown field", `{"k": 5, "seed": 1, "n": 10, "genes": 3}`, `unknown field "genes"`},
			{"k too large", `{"k": 65, "seed": 1, "n": 10}`, "invalid input: k must be between 1 and 64, got 65"},
			{"n missing", `{"k": 5, "seed": 1}`, "invalid input: n must be between 1 and 1000000, got 0"},
			{"negative seed", `{"k": 5, "seed": -1, "n": 10}`, "read input: json: cannot unmarshal number -1"},
			{"two objects", `{"k": 5, "n": 10} {"k": 5, "n": 10}`, "unexpected data after the JSON object"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				stdout, stderr, code := runWasm(t, tt.stdin)
				if code != 1 {
					t.Errorf("exit code %d, want 1", code)
				}
				if stdout != "" {
					t.Errorf("stdout = %q, want nothing", stdout)
				}
				if !strings.HasPrefix(stderr, "markers: ") || !strings.Contains(stderr, tt.wantErr) {
					t.Errorf("stderr = %q, want a markers: message containing %q", stderr, tt.wantErr)
				}
			})
		}
	})
}

// buildWasm compiles this program for wasip1 into a temporary directory.
// go test puts its own toolchain first on PATH, so "go" is the one
// running the test.
func buildWasm(t *testing.T) []byte {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the wasm build needs the go command: %v", err)
	}
	out := filepath.Join(t.TempDir(), "markers.wasm")
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for wasip1: %v\n%s", err, output)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}
