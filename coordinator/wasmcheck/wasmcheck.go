// Package wasmcheck tells whether uploaded bytes are a WebAssembly module
// that workers can run, by compiling it the way they will.
package wasmcheck

import (
	"context"
	"fmt"

	"slices"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/nightshift-platform/nightshift/workunits/appiface"
)

// Check compiles module with wazero's interpreter, which validates the
// whole module without generating machine code, and makes sure it imports
// nothing but WASI and the app interface (yield and progress).
func Check(ctx context.Context, module []byte) error {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, module)
	if err != nil {
		return err
	}
	for _, f := range compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case wasi_snapshot_preview1.ModuleName:
		case appiface.Module:
			sig, ok := appiface.Funcs[name]
			if !ok || !slices.Equal(f.ParamTypes(), sig.Params) || !slices.Equal(f.ResultTypes(), sig.Results) {
				return fmt.Errorf("imports %s.%s with parameters %v and results %v: the app interface has %s",
					mod, name, f.ParamTypes(), f.ResultTypes(), appiface.Describe())
			}
		default:
			return fmt.Errorf("imports from %q: only %q and %q are provided to apps", mod, wasi_snapshot_preview1.ModuleName, appiface.Module)
		}
	}
	return nil
}
