// Package wasmcheck tells whether uploaded bytes are a WebAssembly module
// that workers can run, by compiling it the way they will.
package wasmcheck

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Check compiles module with wazero's interpreter, which validates the
// whole module without generating machine code, and makes sure it imports
// nothing but WASI.
func Check(ctx context.Context, module []byte) error {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, module)
	if err != nil {
		return err
	}
	for _, f := range compiled.ImportedFunctions() {
		if mod, _, _ := f.Import(); mod != wasi_snapshot_preview1.ModuleName {
			return fmt.Errorf("imports from %q: only %q is provided to apps", mod, wasi_snapshot_preview1.ModuleName)
		}
	}
	return nil
}
