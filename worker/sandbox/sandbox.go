// Package sandbox runs WebAssembly (WASI preview 1) modules with wazero:
// no network, no clock or randomness from the host, memory capped, and a
// scratch directory as the only file system. Modules may also import the
// app interface (HostModuleName) to yield to the worker and report progress.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/nightshift-platform/nightshift/workunits"
)

// Config sets the sandbox's limits.
type Config struct {
	MemoryLimitMiB int    // per running module; 0 means 512
	MaxOutputBytes int    // stdout beyond this fails the run; 0 means 1 MiB
	CacheDir       string // compiled modules are kept here across restarts, if set
}

// Sandbox compiles each module once and runs it any number of times,
// concurrently if asked.
type Sandbox struct {
	rt        wazero.Runtime
	maxOutput int

	mu       sync.Mutex
	compiled map[string]wazero.CompiledModule
}

// New starts a wazero runtime with WASI and the app interface.
func New(ctx context.Context, cfg Config) (*Sandbox, error) {
	if cfg.MemoryLimitMiB == 0 {
		cfg.MemoryLimitMiB = 512
	}
	if cfg.MaxOutputBytes == 0 {
		cfg.MaxOutputBytes = 1 << 20
	}
	rc := wazero.NewRuntimeConfig().WithMemoryLimitPages(uint32(cfg.MemoryLimitMiB) * 16) // 64 KiB pages
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("opening compilation cache %s: %w", cfg.CacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("instantiating WASI: %w", err)
	}
	if err := instantiateAppInterface(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return &Sandbox{rt: rt, maxOutput: cfg.MaxOutputBytes, compiled: map[string]wazero.CompiledModule{}}, nil
}

// Close releases the runtime and every compiled module.
func (s *Sandbox) Close(ctx context.Context) error { return s.rt.Close(ctx) }

// ErrHashMismatch means a module's bytes are not the ones asked for.
var ErrHashMismatch = errors.New("module bytes do not match their SHA-256")

// compile returns the compiled module for sha, compiling module on first use
// after checking that its bytes hash to sha.
func (s *Sandbox) compile(ctx context.Context, sha string, module []byte) (wazero.CompiledModule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.compiled[sha]; ok {
		return c, nil
	}
	if workunits.Hash(module) != sha {
		return nil, fmt.Errorf("module %s: %w", sha, ErrHashMismatch)
	}
	c, err := s.rt.CompileModule(ctx, module)
	if err != nil {
		return nil, fmt.Errorf("compiling module %s: %w", sha, err)
	}
	s.compiled[sha] = c
	return c, nil
}

// Run is one execution of a module.
type Run struct {
	ModuleSHA256 string
	Module       []byte // needed the first time a hash is seen
	Args         []string
	Stdin        []byte
	ScratchDir   string  // mounted at /scratch; empty for none
	Control      Control // answers the module's yield and progress calls; nil: yield returns Continue at once
}

// Result is what a module did.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode uint32
	CPUTime  time.Duration // of the thread that ran the module, where the OS tells; else wall time
}

// ErrOutputTooLarge means the module wrote more than MaxOutputBytes.
var ErrOutputTooLarge = errors.New("module output is over the limit")

// Exec runs a module to completion. A non-zero exit is a Result, not an
// error; errors mean the module could not be run at all or broke a limit.
// A module stops at its next yield once ctx is done, and Exec then returns
// ctx's error; one that never yields runs on to its end.
func (s *Sandbox) Exec(ctx context.Context, r Run) (Result, error) {
	compiled, err := s.compile(ctx, r.ModuleSHA256, r.Module)
	if err != nil {
		return Result{}, err
	}
	stdout := &limitedBuffer{max: s.maxOutput}
	stderr := &limitedBuffer{max: 64 << 10, truncate: true}
	fsConfig := wazero.NewFSConfig()
	if r.ScratchDir != "" {
		fsConfig = fsConfig.WithDirMount(r.ScratchDir, "/scratch")
	}
	mc := wazero.NewModuleConfig().
		WithName(""). // anonymous, so that many instances can run at once
		WithArgs(r.Args...).
		WithStdin(bytes.NewReader(r.Stdin)).
		WithStdout(stdout).
		WithStderr(stderr).
		WithFSConfig(fsConfig)

	// The module runs on this goroutine; pinning it to one OS thread lets
	// the thread's CPU clock measure the module alone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	startCPU, cpuOK := threadCPUTime()
	startWall := time.Now()
	mod, err := s.rt.InstantiateModule(withControl(ctx, r.Control), compiled, mc)
	res := Result{CPUTime: time.Since(startWall)}
	if endCPU, ok := threadCPUTime(); ok && cpuOK {
		res.CPUTime = endCPU - startCPU
	}
	if mod != nil {
		_ = mod.Close(ctx)
	}
	var exit *sys.ExitError
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()): // stopped at a yield
		return res, fmt.Errorf("running module %s: %w", r.ModuleSHA256, ctx.Err())
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	case err != nil:
		return res, fmt.Errorf("running module %s: %w", r.ModuleSHA256, err)
	}
	if stdout.overflow {
		return res, ErrOutputTooLarge
	}
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	return res, nil
}

// limitedBuffer keeps at most max bytes: beyond that it either records the
// overflow (stdout, which must be whole) or keeps the tail (stderr).
type limitedBuffer struct {
	bytes.Buffer
	max      int
	truncate bool
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) <= b.max {
		return b.Buffer.Write(p)
	}
	if !b.truncate {
		b.overflow = true
		return len(p), nil
	}
	b.Buffer.Write(p)
	keep := b.Bytes()[b.Len()-b.max:]
	b.Reset()
	b.Buffer.Write(keep)
	return len(p), nil
}
