// Package appbuild builds Nightshift's own programs from source with the Go
// toolchain: the sample WebAssembly apps and the worker binary. The demo and
// the tests use it so that a fresh clone needs nothing prebuilt.
package appbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Package paths inside the module.
const (
	MarkersApp = "./workunits/markers/cmd/markers"
	Worker     = "./worker"
)

// ModuleRoot finds the directory holding Nightshift's go.mod, starting from
// the working directory.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("running 'go env GOMOD' (is the Go toolchain on PATH?): %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the Nightshift source tree: run this from the repository")
	}
	return filepath.Dir(gomod), nil
}

// Wasm builds a WebAssembly (wasip1) program. -trimpath makes the bytes,
// and so the module's SHA-256, the same on every machine with the same
// toolchain.
func Wasm(ctx context.Context, pkg, out string) error {
	return build(ctx, pkg, out, "GOOS=wasip1", "GOARCH=wasm")
}

// Native builds a program for this machine.
func Native(ctx context.Context, pkg, out string) error {
	return build(ctx, pkg, out)
}

func build(ctx context.Context, pkg, out string, env ...string) error {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", pkg, err, stderr.String())
	}
	return nil
}
