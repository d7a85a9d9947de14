package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/nightshift-platform/nightshift/workunits/appiface"
)

// Control lets the worker steer a running module through the app interface.
// Its methods run on the module's goroutine; Yield should return once ctx
// is done, and the module then stops (see Exec).
type Control interface {
	// Yield blocks while the task is suspended and says what the module should do next.
	Yield(ctx context.Context) appiface.Action
	// Progress records the fraction of the work done, 0 to 1.
	Progress(fraction float64)
}

// controlKey carries a run's Control to the host functions: wazero calls
// them with the context the module was instantiated with, so runs sharing
// one runtime each reach their own Control.
type controlKey struct{}

func withControl(ctx context.Context, c Control) context.Context {
	return context.WithValue(ctx, controlKey{}, c)
}

func controlFrom(ctx context.Context) Control {
	c, _ := ctx.Value(controlKey{}).(Control)
	return c
}

// hostFuncs implement appiface.Funcs.
var hostFuncs = map[string]api.GoModuleFunc{"yield": yield, "progress": progress}

// instantiateAppInterface registers the host module once per runtime.
// GoModuleFuncs avoid the reflection of WithFunc on a path apps call
// every few milliseconds.
func instantiateAppInterface(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(appiface.Module)
	for name, sig := range appiface.Funcs {
		fn, ok := hostFuncs[name]
		if !ok {
			return fmt.Errorf("host module %s: the app interface has %s, which the sandbox does not provide", appiface.Module, name)
		}
		b = b.NewFunctionBuilder().WithGoModuleFunction(fn, sig.Params, sig.Results).Export(name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiating host module %s: %w", appiface.Module, err)
	}
	return nil
}

// yield is also where a cancelled run stops: wazero's close-on-done would
// do it anywhere, but at the price of slowing every loop in the module.
func yield(ctx context.Context, mod api.Module, stack []uint64) {
	action := appiface.Continue
	if c := controlFrom(ctx); c != nil {
		action = c.Yield(ctx)
	}
	if err := ctx.Err(); err != nil {
		code := sys.ExitCodeContextCanceled
		if errors.Is(err, context.DeadlineExceeded) {
			code = sys.ExitCodeDeadlineExceeded
		}
		// As WASI's proc_exit does: close, then unwind the module's stack.
		_ = mod.CloseWithExitCode(ctx, code)
		panic(sys.NewExitError(code))
	}
	stack[0] = api.EncodeI32(int32(action))
}

// progress passes the worker only fractions in [0, 1]: the module is not
// trusted to send sane ones.
func progress(ctx context.Context, _ api.Module, stack []uint64) {
	c := controlFrom(ctx)
	f := api.DecodeF64(stack[0])
	if c == nil || math.IsNaN(f) {
		return
	}
	c.Progress(min(max(f, 0), 1))
}
