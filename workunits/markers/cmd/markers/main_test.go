package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/appbuild"
	"github.com/nightshift-platform/nightshift/worker/sandbox"
	"github.com/nightshift-platform/nightshift/workunits"
	"github.com/nightshift-platform/nightshift/workunits/appiface"
	"github.com/nightshift-platform/nightshift/workunits/appkit"
	"github.com/nightshift-platform/nightshift/workunits/markers"
)

// wasmBundle is the program as volunteers get it, in the worker's sandbox.
type wasmBundle struct {
	box    *sandbox.Sandbox
	sha    string
	module []byte
	d      *markers.Dataset
}

func setupWasm(t *testing.T) wasmBundle {
	t.Helper()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "markers.wasm")
	if err := appbuild.Wasm(ctx, appbuild.MarkersApp, out); err != nil {
		t.Fatal(err)
	}
	module, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	box, err := sandbox.New(ctx, sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close(ctx) })
	d, err := markers.LoadDataset()
	if err != nil {
		t.Fatal(err)
	}
	return wasmBundle{box: box, sha: workunits.Hash(module), module: module, d: d}
}

// exec runs the program on stdin with scratch as its /scratch.
func (b wasmBundle) exec(ctx context.Context, stdin, scratch string, c sandbox.Control) (sandbox.Result, error) {
	return b.box.Exec(ctx, sandbox.Run{ModuleSHA256: b.sha, Module: b.module, Args: []string{"markers"},
		Stdin: []byte(stdin), ScratchDir: scratch, Control: c})
}

// native is what every host must output for in.
func (b wasmBundle) native(t *testing.T, in markers.Input) string {
	t.Helper()
	out, err := json.Marshal(markers.Run(b.d, in))
	if err != nil {
		t.Fatal(err)
	}
	return string(out) + "\n"
}

// TestWasm runs the program as volunteers do: its output must be byte for
// byte what the native code computes, or replicas from different hosts
// would never agree.
func TestWasm(t *testing.T) {
	b := setupWasm(t)
	ctx := context.Background()

	t.Run("matches native", func(t *testing.T) {
		for _, in := range []markers.Input{
			{K: 1, Seed: 0, N: 1},
			{K: 5, Seed: 1, N: 1000},
			{K: 64, Seed: 1<<64 - 1, N: 50},
		} {
			res, err := b.exec(ctx, inputJSON(t, in), t.TempDir(), nil)
			if err != nil || res.ExitCode != 0 || len(res.Stderr) != 0 {
				t.Fatalf("%+v: exit %d, stderr %q, err %v", in, res.ExitCode, res.Stderr, err)
			}
			if want := b.native(t, in); string(res.Stdout) != want {
				t.Errorf("%+v: wasm output differs from native:\nwasm   %s\nnative %s", in, res.Stdout, want)
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
				res, err := b.exec(ctx, tt.stdin, t.TempDir(), nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.ExitCode != 1 {
					t.Errorf("exit code %d, want 1", res.ExitCode)
				}
				if len(res.Stdout) != 0 {
					t.Errorf("stdout = %q, want nothing", res.Stdout)
				}
				if stderr := string(res.Stderr); !strings.HasPrefix(stderr, "markers: ") || !strings.Contains(stderr, tt.wantErr) {
					t.Errorf("stderr = %q, want a markers: message containing %q", stderr, tt.wantErr)
				}
			})
		}
	})
}

// A run stopped mid-way, as the worker stops it after asking for a
// checkpoint, and started again on the same scratch directory must
// resume from the checkpoint and output what an uninterrupted run does.
func TestWasmResumesFromCheckpoint(t *testing.T) {
	b := setupWasm(t)
	in := markers.Input{K: 5, Seed: 7, N: 60_000}
	stdin := inputJSON(t, in)
	perYield := yieldWork / in.K
	const stopAt = 40 // the yield that asks for a checkpoint; the next one stops the run

	whole := &recorder{}
	wholeScratch := t.TempDir()
	res, err := b.exec(context.Background(), stdin, wholeScratch, whole)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("uninterrupted run: exit %d, stderr %q, err %v", res.ExitCode, res.Stderr, err)
	}
	want := string(res.Stdout)
	if want != b.native(t, in) {
		t.Fatalf("uninterrupted run differs from native: %s", want)
	}
	wholeYields, _ := whole.seen()
	if wholeYields <= stopAt+1 {
		t.Fatalf("only %d yields: the unit is too small to stop at yield %d", wholeYields, stopAt+1)
	}
	// Unasked, it checkpoints now and then as well.
	if st := loadCheckpoint(t, wholeScratch); st.Input != in || st.Done <= 0 || st.Done >= in.N || st.Done%perYield != 0 {
		t.Errorf("periodic checkpoint: input %+v, done %d; want a mid-way one of %+v", st.Input, st.Done, in)
	}

	scratch := t.TempDir()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	first := &recorder{onYield: func(n int) appiface.Action {
		switch n {
		case stopAt:
			return appiface.Checkpoint
		case stopAt + 1:
			stop()
		}
		return appiface.Continue
	}}
	res, err = b.exec(ctx, stdin, scratch, first)
	if !errors.Is(err, context.Canceled) || len(res.Stdout) != 0 {
		t.Fatalf("stopped run: stdout %q, err %v; want it cancelled before any output", res.Stdout, err)
	}
	if st := loadCheckpoint(t, scratch); st.Done != stopAt*perYield {
		t.Fatalf("checkpoint after %d draws, want %d: the one asked for at yield %d", st.Done, stopAt*perYield, stopAt)
	}

	second := &recorder{}
	res, err = b.exec(context.Background(), stdin, scratch, second)
	if err != nil || res.ExitCode != 0 || len(res.Stderr) != 0 {
		t.Fatalf("resumed run: exit %d, stderr %q, err %v", res.ExitCode, res.Stderr, err)
	}
	if string(res.Stdout) != want {
		t.Errorf("resumed run's output differs:\ngot  %s\nwant %s", res.Stdout, want)
	}
	yields, progress := second.seen()
	if wantFirst := float64((stopAt+1)*perYield) / float64(in.N); len(progress) == 0 || progress[0] != wantFirst {
		t.Errorf("resumed run first reported progress %v, want %v: it did not start from the checkpoint", progress[:min(1, len(progress))], wantFirst)
	}
	if yields != wholeYields-stopAt {
		t.Errorf("resumed run yielded %d times, want %d", yields, wholeYields-stopAt)
	}
}

// A checkpoint that is not this unit's, or not one at all, only costs
// the time it would have saved.
func TestWasmStartsAfreshFromUnusableCheckpoint(t *testing.T) {
	b := setupWasm(t)
	in := markers.Input{K: 3, Seed: 11, N: 2000}
	other, err := markers.NewSearch(b.d, markers.Input{K: 3, Seed: 12, N: 2000})
	if err != nil {
		t.Fatal(err)
	}
	other.Step(1000)
	foreign, err := json.Marshal(other.State())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		checkpoint string
	}{
		{"another unit's", string(foreign)},
		{"impossible", `{"input": {"k": 3, "seed": 11, "n": 2000}, "rng": 1, "done": 1000, "histogram": [1]}`},
		{"not JSON", `{"input":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scratch := t.TempDir()
			if err := os.WriteFile(filepath.Join(scratch, filepath.Base(appkit.CheckpointPath)), []byte(tt.checkpoint), 0o600); err != nil {
				t.Fatal(err)
			}
			res, err := b.exec(context.Background(), inputJSON(t, in), scratch, nil)
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("exit %d, stderr %q, err %v", res.ExitCode, res.Stderr, err)
			}
			if want := b.native(t, in); string(res.Stdout) != want {
				t.Errorf("output differs:\ngot  %s\nwant %s", res.Stdout, want)
			}
			if !strings.Contains(string(res.Stderr), "starting afresh") {
				t.Errorf("stderr = %q, want a note that the checkpoint was not used", res.Stderr)
			}
		})
	}
}

// recorder is a sandbox.Control that answers each yield (numbered from 1)
// with onYield, or Continue, and keeps the progress reported.
type recorder struct {
	onYield func(n int) appiface.Action

	mu       sync.Mutex
	yields   int
	progress []float64
}

func (r *recorder) Yield(context.Context) appiface.Action {
	r.mu.Lock()
	r.yields++
	n := r.yields
	r.mu.Unlock()
	if r.onYield == nil {
		return appiface.Continue
	}
	return r.onYield(n)
}

func (r *recorder) Progress(f float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress = append(r.progress, f)
}

func (r *recorder) seen() (yields int, progress []float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.yields, slices.Clone(r.progress)
}

func loadCheckpoint(t *testing.T, scratch string) markers.State {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scratch, filepath.Base(appkit.CheckpointPath)))
	if err != nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	var st markers.State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("checkpoint %s: %v", b, err)
	}
	return st
}

func inputJSON(t *testing.T, in markers.Input) string {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
