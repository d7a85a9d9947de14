package agent

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/workunits"
)

// moduleServer serves body for every module asked for.
func moduleServer(t *testing.T, body []byte) *client.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/modules/") {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return client.New(srv.URL, "nsh_test", nil)
}

func TestFetchModuleVerifies(t *testing.T) {
	module := []byte("\x00asm\x01\x00\x00\x00 the real module")
	priv, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	good := api.Task{ID: 1, ProjectID: 7, ModuleSHA256: workunits.Hash(module),
		ModuleSignature: signing.Sign(priv, module), SigningKey: signing.PublicKey(priv)}
	with := func(change func(*api.Task)) api.Task {
		t := good
		change(&t)
		return t
	}
	tests := []struct {
		name    string
		served  []byte
		task    api.Task
		wantErr string // "" for none
	}{
		{"Valid", module, good, ""},
		{"TamperedModule", append(bytes.Clone(module), '!'), good, "module hash mismatch"},
		{"SignedByAnotherKey", module, with(func(t *api.Task) { t.ModuleSignature = signing.Sign(other, module) }), "module signature does not verify"},
		{"SignatureOfAnotherModule", module, with(func(t *api.Task) { t.ModuleSignature = signing.Sign(priv, []byte("x")) }), "module signature does not verify"},
		{"NoSignature", module, with(func(t *api.Task) { t.ModuleSignature = nil }), "module has no signature"},
		{"NoKey", module, with(func(t *api.Task) { t.SigningKey = nil }), "has no signing key"},
		{"NoProject", module, with(func(t *api.Task) { t.ProjectID = 0 }), "names no project"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := New(Config{Client: moduleServer(t, tt.served), StateDir: dir})
			path := filepath.Join(dir, "modules", tt.task.ModuleSHA256+".wasm")
			err := a.fetchModule(context.Background(), tt.task, path)
			_, statErr := os.Stat(path)
			if tt.wantErr == "" {
				if err != nil || statErr != nil {
					t.Fatalf("fetchModule = %v (module on disk: %v), want the module kept", err, statErr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("fetchModule = %v, want an error containing %q", err, tt.wantErr)
			}
			if !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("the refused module was kept at %s", path)
			}
		})
	}

	t.Run("CachedModuleCheckedAgain", func(t *testing.T) {
		dir := t.TempDir()
		a := New(Config{Client: moduleServer(t, module), StateDir: dir})
		path := filepath.Join(dir, "modules", good.ModuleSHA256+".wasm")
		if err := a.fetchModule(context.Background(), good, path); err != nil {
			t.Fatal(err)
		}
		bad := with(func(t *api.Task) { t.ModuleSignature = signing.Sign(other, module) })
		if err := a.fetchModule(context.Background(), bad, path); err == nil || !strings.Contains(err.Error(), "does not verify") {
			t.Fatalf("fetchModule of a cached module with a bad signature = %v, want it refused", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the cached module was kept after a task's signature for it failed")
		}
	})
}

func TestSigningKeyPinnedOnFirstUse(t *testing.T) {
	module := []byte("\x00asm\x01\x00\x00\x00 pinned")
	first, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	second, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	task := func(project int64, priv []byte) api.Task {
		k := signing.PublicKey(priv)
		return api.Task{ProjectID: project, ModuleSHA256: workunits.Hash(module), ModuleSignature: signing.Sign(priv, module), SigningKey: k}
	}
	dir := t.TempDir()
	a := New(Config{StateDir: dir})
	if err := a.verifyModule(task(1, first), module); err != nil {
		t.Fatalf("first key of project 1: %v", err)
	}
	if err := a.verifyModule(task(2, second), module); err != nil {
		t.Fatalf("first key of project 2: %v", err)
	}
	// A key change, though the new key signs correctly, is refused.
	if err := a.verifyModule(task(1, second), module); err == nil || !strings.Contains(err.Error(), "signing key changed") {
		t.Fatalf("another key for project 1 = %v, want it refused as changed", err)
	}
	// The pins survive a restart.
	restarted := New(Config{StateDir: dir})
	if err := restarted.verifyModule(task(1, second), module); err == nil || !strings.Contains(err.Error(), "signing key changed") {
		t.Errorf("after a restart, another key for project 1 = %v, want it refused", err)
	}
	if err := restarted.verifyModule(task(1, first), module); err != nil {
		t.Errorf("after a restart, project 1's pinned key = %v", err)
	}

	// A pin file that cannot be read trusts nothing.
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, pinsFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := New(Config{StateDir: broken}).verifyModule(task(1, first), module); err == nil || !strings.Contains(err.Error(), "pinned signing keys") {
		t.Errorf("with an unreadable pin file = %v, want a refusal naming it", err)
	}
}
