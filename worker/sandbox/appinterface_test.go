package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/workunits/appiface"
)

// recorder is a Control that keeps what the module told it and answers
// each yield (numbered from 1) with onYield, or Continue.
type recorder struct {
	onYield func(ctx context.Context, n int) appiface.Action

	mu       sync.Mutex
	yields   int
	progress []float64
}

func (r *recorder) Yield(ctx context.Context) appiface.Action {
	r.mu.Lock()
	r.yields++
	n := r.yields
	r.mu.Unlock()
	if r.onYield == nil {
		return appiface.Continue
	}
	return r.onYield(ctx, n)
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

type appBundle struct {
	box    *Sandbox
	sha    string
	module []byte
}

func setupApp(t *testing.T) appBundle {
	t.Helper()
	ctx := context.Background()
	sha, module := buildGuest(t)
	box, err := New(ctx, Config{MemoryLimitMiB: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close(ctx) })
	return appBundle{box: box, sha: sha, module: module}
}

func (b appBundle) exec(ctx context.Context, c Control, args ...string) (Result, error) {
	return b.box.Exec(ctx, Run{ModuleSHA256: b.sha, Module: b.module, Args: append([]string{"guest"}, args...), Control: c})
}

func TestAppInterface(t *testing.T) {
	b := setupApp(t)
	ctx := context.Background()

	t.Run("yields and progress reach the Control", func(t *testing.T) {
		tests := []struct {
			name         string
			checkpointAt int // 0: never
			wantOut      string
		}{
			{"continue", 0, "checkpoints at []"},
			{"checkpoint asked", 3, "checkpoints at [3]"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := &recorder{onYield: func(_ context.Context, n int) appiface.Action {
					if n == tt.checkpointAt {
						return appiface.Checkpoint
					}
					return appiface.Continue
				}}
				res, err := b.exec(ctx, c, "steps", "5")
				if err != nil || string(res.Stdout) != tt.wantOut {
					t.Fatalf("stdout %q, err %v; want %q", res.Stdout, err, tt.wantOut)
				}
				yields, progress := c.seen()
				if want := []float64{0.2, 0.4, 0.6, 0.8, 1}; yields != 5 || !slices.Equal(progress, want) {
					t.Errorf("%d yields, progress %v; want 5 and %v", yields, progress, want)
				}
			})
		}
	})

	t.Run("no Control: yield continues at once", func(t *testing.T) {
		res, err := b.exec(ctx, nil, "steps", "5")
		if err != nil || string(res.Stdout) != "checkpoints at []" {
			t.Fatalf("stdout %q, err %v", res.Stdout, err)
		}
	})

	t.Run("progress is kept within 0 to 1", func(t *testing.T) {
		c := &recorder{}
		if _, err := b.exec(ctx, c, "progress", "0.5", "-1", "2", "NaN", "+Inf"); err != nil {
			t.Fatal(err)
		}
		if _, progress := c.seen(); !slices.Equal(progress, []float64{0.5, 0, 1, 1}) {
			t.Errorf("progress %v, want [0.5 0 1 1]", progress)
		}
	})

	t.Run("a suspended module makes no progress", func(t *testing.T) {
		parked, release := make(chan struct{}), make(chan struct{})
		c := &recorder{onYield: func(_ context.Context, n int) appiface.Action {
			if n == 2 {
				close(parked)
				<-release
			}
			return appiface.Continue
		}}
		type outcome struct {
			res Result
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			res, err := b.exec(ctx, c, "steps", "5")
			done <- outcome{res, err}
		}()
		<-parked
		// Unblocked, the module would finish its 3 other steps in microseconds.
		time.Sleep(50 * time.Millisecond)
		if yields, progress := c.seen(); yields != 2 || len(progress) != 2 {
			t.Errorf("while suspended: %d yields, progress %v; want it held at the second step", yields, progress)
		}
		select {
		case o := <-done:
			t.Fatalf("finished while suspended: %q, %v", o.res.Stdout, o.err)
		default:
		}
		close(release)
		o := <-done
		if yields, _ := c.seen(); o.err != nil || string(o.res.Stdout) != "checkpoints at []" || yields != 5 {
			t.Errorf("after resuming: stdout %q, err %v, %d yields", o.res.Stdout, o.err, yields)
		}
	})

	t.Run("cancelling stops the module at its next yield", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		c := &recorder{onYield: func(_ context.Context, n int) appiface.Action {
			if n == 3 {
				cancel()
			}
			return appiface.Continue
		}}
		res, err := b.exec(ctx, c, "steps", "5")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v (stdout %q), want context.Canceled", err, res.Stdout)
		}
		if yields, progress := c.seen(); yields != 3 || len(progress) != 3 || len(res.Stdout) != 0 {
			t.Errorf("%d yields, progress %v, stdout %q; want it stopped in the third yield", yields, progress, res.Stdout)
		}
		// The runtime is still good for the next run.
		if res, err := b.exec(context.Background(), nil, "steps", "1"); err != nil || res.ExitCode != 0 {
			t.Errorf("next run: %q, %v", res.Stdout, err)
		}
	})

	t.Run("concurrent runs each reach their own Control", func(t *testing.T) {
		// Both modules wait in their first yield until the other is in
		// its own, so they are surely running at the same time.
		var arrived sync.WaitGroup
		arrived.Add(2)
		bothIn := make(chan struct{})
		go func() { arrived.Wait(); close(bothIn) }()
		control := func(checkpointAt int) *recorder {
			return &recorder{onYield: func(_ context.Context, n int) appiface.Action {
				if n == 1 {
					arrived.Done()
					select {
					case <-bothIn:
					case <-time.After(10 * time.Second):
						t.Error("the other run never yielded: runs do not overlap")
					}
				}
				if n == checkpointAt {
					return appiface.Checkpoint
				}
				return appiface.Continue
			}}
		}
		runs := []struct {
			steps   int
			c       *recorder
			wantOut string
		}{
			{3, control(2), "checkpoints at [2]"},
			{6, control(5), "checkpoints at [5]"},
		}
		var wg sync.WaitGroup
		for _, r := range runs {
			wg.Go(func() {
				res, err := b.exec(ctx, r.c, "steps", strconv.Itoa(r.steps))
				if err != nil || string(res.Stdout) != r.wantOut {
					t.Errorf("steps %d: stdout %q, err %v; want %q", r.steps, res.Stdout, err, r.wantOut)
				}
			})
		}
		wg.Wait()
		for _, r := range runs {
			if yields, _ := r.c.seen(); yields != r.steps {
				t.Errorf("steps %d: its Control saw %d yields", r.steps, yields)
			}
		}
	})
}

// appkit's atomic save (a synced temporary file renamed over the
// checkpoint) must work through WASI as it does natively.
func TestCheckpointThroughWASI(t *testing.T) {
	b := setupApp(t)
	scratch := t.TempDir()
	res, err := b.box.Exec(context.Background(), Run{ModuleSHA256: b.sha, Module: b.module,
		Args: []string{"guest", "checkpoint"}, ScratchDir: scratch})
	if err != nil || res.ExitCode != 0 || string(res.Stdout) != "2 true <nil>" {
		t.Fatalf("stdout %q, stderr %q, exit %d, err %v", res.Stdout, res.Stderr, res.ExitCode, err)
	}
	entries, err := os.ReadDir(scratch)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "checkpoint.json" {
		t.Errorf("scratch holds %v, want only checkpoint.json", entries)
	}
	if got, err := os.ReadFile(filepath.Join(scratch, "checkpoint.json")); err != nil || string(got) != "2" {
		t.Errorf("checkpoint.json = %q, %v", got, err)
	}
}

func TestModuleWithoutAppInterface(t *testing.T) {
	ctx := context.Background()
	sha, module := buildWasm(t, "./worker/sandbox/testdata/plain")
	box, err := New(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close(ctx)
	compiled, err := box.compile(ctx, sha, module)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range compiled.ImportedFunctions() {
		if mod, name, _ := f.Import(); mod == appiface.Module {
			t.Fatalf("the plain guest imports %s.%s: it no longer tests modules without the app interface", mod, name)
		}
	}
	res, err := box.Exec(ctx, Run{ModuleSHA256: sha, Module: module, Args: []string{"plain"}, Control: &recorder{}})
	if err != nil || string(res.Stdout) != "plain" {
		t.Fatalf("stdout %q, err %v", res.Stdout, err)
	}
}

// BenchmarkYield times one yield call from a Go wasm guest to a Control
// that answers at once, including the guest's side of the call.
func BenchmarkYield(b *testing.B) {
	sha, module := buildGuest(b)
	ctx := context.Background()
	box, err := New(ctx, Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer box.Close(ctx)
	run := func(n int) {
		res, err := box.Exec(ctx, Run{ModuleSHA256: sha, Module: module, Args: []string{"guest", "yield", strconv.Itoa(n)}, Control: &recorder{}})
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("stdout %q, err %v", res.Stdout, err)
		}
	}
	run(0) // compile outside the timing
	b.ResetTimer()
	run(b.N)
}
