// Package appiface is the app interface: what a Nightshift app may import
// from the worker besides WASI. Apps call it through workunits/appkit, the
// worker's sandbox provides it, and the coordinator accepts an uploaded
// module only if it imports nothing else. Defined once here, so the three
// cannot drift apart.
package appiface

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Module is the import module of the app interface.
const Module = "nightshift"

// Action is yield's answer to the app.
type Action int32

const (
	Continue   Action = 0 // carry on
	Checkpoint Action = 1 // write a checkpoint now, then carry on: the worker may stop the process soon
)

// WebAssembly value types as the binary format numbers them (and as
// wazero's api.ValueType, an alias of byte, does).
const (
	I32 byte = 0x7f
	F64 byte = 0x7c
)

// Func is the signature of one function of the interface.
type Func struct {
	Params, Results []byte
}

// Funcs are the interface's functions by name.
var Funcs = map[string]Func{
	// yield blocks while the task is suspended and returns an Action.
	"yield": {Results: []byte{I32}},
	// progress tells the fraction of the work done, 0 to 1.
	"progress": {Params: []byte{F64}},
}

// Describe is the interface as people read it: "progress(f64), yield() -> i32".
func Describe() string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(Funcs)) {
		f := Funcs[name]
		s := fmt.Sprintf("%s(%s)", name, typeNames(f.Params))
		if len(f.Results) > 0 {
			s += " -> " + typeNames(f.Results)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func typeNames(types []byte) string {
	names := make([]string, len(types))
	for i, t := range types {
		switch t {
		case I32:
			names[i] = "i32"
		case F64:
			names[i] = "f64"
		default:
			names[i] = fmt.Sprintf("0x%02x", t)
		}
	}
	return strings.Join(names, ", ")
}
