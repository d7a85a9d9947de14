package sandbox

// How fast apps run in the sandbox against the same program built for this
// machine, for a Go guest (workunits/markers/cmd/markers) and a C guest
// (workunits/markers/csrc, built with clang and wasi-libc). The C app must
// print the very bytes the Go app prints, so both do the same work.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/appbuild"
	"github.com/nightshift-platform/nightshift/coordinator/wasmcheck"
	"github.com/nightshift-platform/nightshift/workunits"
	"github.com/nightshift-platform/nightshift/workunits/appiface"
	"github.com/nightshift-platform/nightshift/workunits/markers"
)

// requireCToolchain skips the test when clang, wasm-ld, wasi-libc or
// clang's wasm32 runtime library is missing, and fails it under CI, where
// scripts/test installs them.
func requireCToolchain(t testing.TB) {
	t.Helper()
	if why := missingCToolchain(); why != "" {
		why += " (Debian 12: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32; scripts/test installs them)"
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
}

func missingCToolchain() string {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "clang"
	}
	for _, prog := range []string{cc, "wasm-ld"} {
		if _, err := exec.LookPath(prog); err != nil {
			return prog + " is not installed"
		}
	}
	args := []string{"--target=wasm32-wasi"}
	if root := os.Getenv("WASI_SYSROOT"); root != "" {
		args = append(args, "--sysroot="+root)
	}
	// Both print the bare name when the file is nowhere to be found.
	for what, flag := range map[string]string{
		"wasi-libc":                         "-print-file-name=libc.a",
		"clang's wasm32 runtime (builtins)": "-print-libgcc-file-name",
	} {
		out, err := exec.Command(cc, append(args, flag)...).Output()
		path := strings.TrimSpace(string(out))
		if _, statErr := os.Stat(path); err != nil || !filepath.IsAbs(path) || statErr != nil {
			return what + " is not installed"
		}
	}
	return ""
}

// buildCMarkers builds the C markers app natively and for wasm32-wasi with
// its build script; env may set CFLAGS and WASM_CFLAGS (see the script).
func buildCMarkers(t testing.TB, env ...string) (native, sha string, module []byte) {
	t.Helper()
	requireCToolchain(t)
	root, err := appbuild.ModuleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	native, wasm := filepath.Join(dir, "markers"), filepath.Join(dir, "markers.wasm")
	for target, out := range map[string]string{"native": native, "wasm": wasm} {
		cmd := exec.Command(filepath.Join(root, "workunits/markers/csrc/build"), target, out)
		cmd.Env = append(os.Environ(), env...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the C markers app (%s): %v\n%s", target, err, msg)
		}
	}
	module, err = os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	return native, workunits.Hash(module), module
}

// buildGoMarkers builds the Go markers app natively and for wasip1.
func buildGoMarkers(t testing.TB) (native, sha string, module []byte) {
	t.Helper()
	native = filepath.Join(t.TempDir(), "markers")
	if err := appbuild.Native(context.Background(), appbuild.MarkersApp, native); err != nil {
		t.Fatal(err)
	}
	sha, module = buildWasm(t, appbuild.MarkersApp)
	return native, sha, module
}

// runNative runs a native app on stdin; it returns its stdout, exit code
// and the CPU time of all its threads.
func runNative(t testing.TB, path string, stdin []byte) (stdout, stderr []byte, exit int, cpu time.Duration) {
	t.Helper()
	cmd := exec.Command(path)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("running %s: %v", path, err)
	}
	st := cmd.ProcessState
	return out.Bytes(), errOut.Bytes(), st.ExitCode(), st.UserTime() + st.SystemTime()
}

// goOutput is what the Go app prints for in.
func goOutput(t testing.TB, in markers.Input) []byte {
	t.Helper()
	d, err := markers.LoadDataset()
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(markers.Run(d, in))
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func TestCMarkersMatchesGo(t *testing.T) {
	native, sha, module := buildCMarkers(t)
	ctx := context.Background()
	// A coordinator would accept it as an app: WASI and the app interface only.
	if err := wasmcheck.Check(ctx, module); err != nil {
		t.Fatalf("the C module is no valid app: %v", err)
	}
	box, err := New(ctx, Config{MemoryLimitMiB: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close(ctx)

	for _, in := range []markers.Input{
		{K: 1, Seed: 0, N: 1},
		{K: 5, Seed: 1, N: 3000},
		{K: 2, Seed: 42, N: 20_000}, // many ties among the best
		{K: 64, Seed: 1<<64 - 1, N: 300},
	} {
		t.Run(fmt.Sprintf("k=%d,seed=%d,n=%d", in.K, in.Seed, in.N), func(t *testing.T) {
			stdin, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			want := goOutput(t, in)

			got, stderr, exit, _ := runNative(t, native, stdin)
			if exit != 0 || !bytes.Equal(got, want) {
				t.Errorf("native: exit %d, stderr %q\n got %s\nwant %s", exit, stderr, got, want)
			}

			// Asked for a checkpoint now and then, the C app carries on.
			rec := &recorder{onYield: func(_ context.Context, n int) appiface.Action {
				if n%3 == 0 {
					return appiface.Checkpoint
				}
				return appiface.Continue
			}}
			res, err := box.Exec(ctx, Run{ModuleSHA256: sha, Module: module, Stdin: stdin, Control: rec})
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 0 || !bytes.Equal(res.Stdout, want) {
				t.Errorf("sandbox: exit %d, stderr %q\n got %s\nwant %s", res.ExitCode, res.Stderr, res.Stdout, want)
			}
			// Progress after every batch of 2048/k signatures, a yield
			// between batches, as the Go app does.
			perYield := max(1, 2048/in.K)
			batches := (in.N + perYield - 1) / perYield
			yields, progress := rec.seen()
			if yields != batches-1 || len(progress) != batches || progress[len(progress)-1] != 1 {
				t.Errorf("%d yields and progress reports %v, want %d yields and %d reports ending at 1",
					yields, progress, batches-1, batches)
			}
		})
	}

	for _, tt := range []struct{ stdin, wantErr string }{
		{``, "stdin is empty"},
		{`{"k":0,"seed":1,"n":10}`, "invalid input: k must be between 1 and 64, got 0"},
		{`{"k":5,"seed":1,"n":1000001}`, "invalid input: n must be between 1 and 1000000, got 1000001"},
		{`{"k":5,"seed":1,"n":10,"x":1}`, `unknown field "x"`},
		{`{"k":5,"seed":-1,"n":10}`, "seed"},
		{`{"k":5,"n":10} {}`, "unexpected data after the JSON object"},
	} {
		t.Run("rejects "+tt.stdin, func(t *testing.T) {
			_, stderr, exit, _ := runNative(t, native, []byte(tt.stdin))
			if exit != 1 || !strings.Contains(string(stderr), tt.wantErr) {
				t.Errorf("native: exit %d, stderr %q, want 1 and %q", exit, stderr, tt.wantErr)
			}
			res, err := box.Exec(ctx, Run{ModuleSHA256: sha, Module: module, Stdin: []byte(tt.stdin)})
			if err != nil || res.ExitCode != 1 || !strings.Contains(string(res.Stderr), tt.wantErr) {
				t.Errorf("sandbox: %v, exit %d, stderr %q, want 1 and %q", err, res.ExitCode, res.Stderr, tt.wantErr)
			}
		})
	}
}

// BenchmarkSandboxSpeed runs one unit of the markers app (k=5, seed=1,
// n=1,000,000, the most a unit may ask: half a second natively in C, a
// second in Go) in the sandbox and as a process built for this machine,
// alternately, for the Go app and for the C app (clang -O2 both ways, as the build script does by default; and with the
// best flags found for wasm, -O3 -msimd128, against -O3 natively). An op is
// one run of each; every run is a whole program on the same input: start,
// parse the embedded CSV, score, print the JSON, which is checked.
//
// Metrics: native-ms and sandbox-ms are wall times per run (the sandbox's
// from Exec: instantiating the compiled module and running it);
// sandbox/native their ratio; cpu:sandbox/native the ratio of CPU times (all
// the native process's threads; the thread that ran the module), which
// other load on the machine disturbs less. The module is compiled before
// the timed runs: compile-ms, reported apart, is what a worker pays once
// per module (then it comes from the cache on disk). start-ms are the best
// of three runs with n=1: starting, parsing the data, printing.
func BenchmarkSandboxSpeed(b *testing.B) {
	in := markers.Input{K: 5, Seed: 1, N: markers.MaxN}
	b.Run("go", func(b *testing.B) {
		native, sha, module := buildGoMarkers(b)
		benchmarkSandboxSpeed(b, in, native, sha, module)
	})
	b.Run("c", func(b *testing.B) {
		native, sha, module := buildCMarkers(b)
		benchmarkSandboxSpeed(b, in, native, sha, module)
	})
	b.Run("c-O3-simd128", func(b *testing.B) {
		native, sha, module := buildCMarkers(b, "CFLAGS=-O3", "WASM_CFLAGS=-msimd128")
		benchmarkSandboxSpeed(b, in, native, sha, module)
	})
}

func benchmarkSandboxSpeed(b *testing.B, in markers.Input, native, sha string, module []byte) {
	ctx := context.Background()
	box, err := New(ctx, Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer box.Close(ctx)
	start := time.Now()
	if _, err := box.compile(ctx, sha, module); err != nil {
		b.Fatal(err)
	}
	compile := time.Since(start)

	// Each run is checked against the Go app's output: the same work,
	// computed once per input, outside the timed runs.
	wants := map[markers.Input][]byte{}
	runBoth := func(in markers.Input, nativeFirst bool) (nativeWall, nativeCPU, boxWall, boxCPU time.Duration) {
		stdin, err := json.Marshal(in)
		if err != nil {
			b.Fatal(err)
		}
		want, ok := wants[in]
		if !ok {
			want = goOutput(b, in)
			wants[in] = want
		}
		runNativeOnce := func() {
			start := time.Now()
			out, stderr, exit, cpu := runNative(b, native, stdin)
			nativeWall, nativeCPU = time.Since(start), cpu
			if exit != 0 || !bytes.Equal(out, want) {
				b.Fatalf("native: exit %d, stderr %q, output %.200s", exit, stderr, out)
			}
		}
		runBoxOnce := func() {
			start := time.Now()
			res, err := box.Exec(ctx, Run{ModuleSHA256: sha, Stdin: stdin})
			boxWall, boxCPU = time.Since(start), res.CPUTime
			if err != nil || res.ExitCode != 0 || !bytes.Equal(res.Stdout, want) {
				b.Fatalf("sandbox: %v, exit %d, stderr %q, output %.200s", err, res.ExitCode, res.Stderr, res.Stdout)
			}
		}
		if nativeFirst {
			runNativeOnce()
			runBoxOnce()
		} else {
			runBoxOnce()
			runNativeOnce()
		}
		return nativeWall, nativeCPU, boxWall, boxCPU
	}

	nativeStart, boxStart := time.Hour, time.Hour
	for i := range 3 {
		nw, _, bw, _ := runBoth(markers.Input{K: in.K, Seed: in.Seed, N: 1}, i%2 == 0)
		nativeStart, boxStart = min(nativeStart, nw), min(boxStart, bw)
	}

	var nativeWall, nativeCPU, boxWall, boxCPU time.Duration
	runs := 0
	for b.Loop() {
		// Alternate which goes first, so neither always finds the
		// caches cold or the other's garbage being collected.
		nw, nc, bw, bc := runBoth(in, runs%2 == 0)
		nativeWall += nw
		nativeCPU += nc
		boxWall += bw
		boxCPU += bc
		runs++
	}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(runs) }
	b.ReportMetric(ms(nativeWall), "native-ms")
	b.ReportMetric(ms(boxWall), "sandbox-ms")
	b.ReportMetric(float64(boxWall)/float64(nativeWall), "sandbox/native")
	b.ReportMetric(float64(boxCPU)/float64(nativeCPU), "cpu:sandbox/native")
	b.ReportMetric(compile.Seconds()*1000, "compile-ms")
	b.ReportMetric(nativeStart.Seconds()*1000, "native-start-ms")
	b.ReportMetric(boxStart.Seconds()*1000, "sandbox-start-ms")
}
