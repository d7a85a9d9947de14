package wasmcheck

import (
	"strings"
	"testing"
)

// Value types in the binary format.
const (
	i32 = 0x7f
	i64 = 0x7e
	f64 = 0x7c
)

type importFunc struct {
	module, name    string
	params, results []byte
}

// moduleImporting assembles a module that imports the given functions and
// does nothing else.
func moduleImporting(funcs ...importFunc) []byte {
	vec := func(items ...[]byte) []byte {
		out := []byte{byte(len(items))}
		for _, it := range items {
			out = append(out, it...)
		}
		return out
	}
	name := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	section := func(id byte, body []byte) []byte { return append([]byte{id, byte(len(body))}, body...) }
	var types, imports [][]byte
	for i, f := range funcs {
		types = append(types, append(append([]byte{0x60, byte(len(f.params))}, f.params...), append([]byte{byte(len(f.results))}, f.results...)...))
		imports = append(imports, append(append(name(f.module), name(f.name)...), 0x00, byte(i)))
	}
	out := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	out = append(out, section(1, vec(types...))...)
	return append(out, section(2, vec(imports...))...)
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		module  []byte
		wantErr string
	}{
		{"nothing imported", moduleImporting(), ""},
		{"WASI", moduleImporting(importFunc{"wasi_snapshot_preview1", "proc_exit", []byte{i32}, nil}), ""},
		{"the app interface", moduleImporting(
			importFunc{"nightshift", "yield", nil, []byte{i32}},
			importFunc{"nightshift", "progress", []byte{f64}, nil}), ""},
		{"yield with the wrong result", moduleImporting(importFunc{"nightshift", "yield", nil, []byte{i64}}), "nightshift.yield"},
		{"progress with the wrong parameter", moduleImporting(importFunc{"nightshift", "progress", []byte{i32}, nil}), "nightshift.progress"},
		{"a function the app interface lacks", moduleImporting(importFunc{"nightshift", "network", nil, nil}), "nightshift.network"},
		{"another host module", moduleImporting(importFunc{"env", "open_socket", nil, nil}), `imports from "env"`},
		{"not WebAssembly", []byte("#!/bin/sh\nrm -rf /\n"), "magic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(t.Context(), tt.module)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Check = %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Check = %v, want an error about %s", err, tt.wantErr)
			}
		})
	}
}
