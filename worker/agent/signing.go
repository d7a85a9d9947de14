package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/worker/atomicfile"
	"github.com/nightshift-platform/nightshift/workunits"
)

// fetchModule makes sure the task's module is on disk at path and may run:
// its bytes match the task's SHA-256 and its signature verifies against
// the project's signing key, as pinned here. It checks before every run,
// since a file on disk may have been changed; a module that fails is not
// kept.
func (a *Agent) fetchModule(ctx context.Context, t api.Task, path string) error {
	a.modMu.Lock()
	defer a.modMu.Unlock()
	if m, err := os.ReadFile(path); err == nil && workunits.Hash(m) == t.ModuleSHA256 {
		if err := a.verifyModule(t, m); err != nil {
			_ = os.Remove(path)
			return err
		}
		return nil
	}
	m, err := a.cfg.Client.Module(ctx, t.ModuleSHA256)
	if err != nil {
		return fmt.Errorf("downloading module: %w", err)
	}
	if err := a.verifyModule(t, m); err != nil {
		return err
	}
	if err := atomicfile.Write(path, m, 0o600); err != nil {
		return fmt.Errorf("keeping module %s: %w", t.ModuleSHA256, err)
	}
	return nil
}

// verifyModule checks module against what the task says it is and who
// signed it. Its errors are what the task's report says.
func (a *Agent) verifyModule(t api.Task, module []byte) error {
	if got := workunits.Hash(module); got != t.ModuleSHA256 {
		return fmt.Errorf("module hash mismatch: the module received has SHA-256 %s, the task names %s", got, t.ModuleSHA256)
	}
	if t.ProjectID <= 0 {
		return fmt.Errorf("refusing module %s: the task names no project, so its signing key cannot be checked", t.ModuleSHA256)
	}
	if len(t.SigningKey) == 0 {
		return fmt.Errorf("refusing module %s: project %d has no signing key", t.ModuleSHA256, t.ProjectID)
	}
	if err := a.pins.check(filepath.Join(a.cfg.StateDir, pinsFile), t.ProjectID, t.SigningKey); err != nil {
		return fmt.Errorf("refusing module %s: %w", t.ModuleSHA256, err)
	}
	if err := signing.Verify(t.SigningKey, module, t.ModuleSignature); err != nil {
		if errors.Is(err, signing.ErrBadSignature) {
			return fmt.Errorf("module signature does not verify: module %s is not signed by project %d's key %s",
				t.ModuleSHA256, t.ProjectID, signing.Encode(t.SigningKey))
		}
		return fmt.Errorf("module signature does not verify: module %s: %w", t.ModuleSHA256, err)
	}
	return nil
}

// pinsFile, in the state directory, holds the signing key of every
// project whose tasks this worker has taken.
const pinsFile = "signing-keys.json"

// keyPins trusts each project's signing key on first use: the first key
// the coordinator sends for a project is kept on disk, and a task of that
// project with another key is refused. A coordinator taken over later
// cannot then have the worker run code signed with a key of its own.
type keyPins struct {
	mu   sync.Mutex
	keys map[string]string // project id → base64 key; nil until read
}

// pinFile is the file's form.
type pinFile struct {
	Projects map[string]string `json:"projects"`
}

// check pins key for project if none is pinned yet, and refuses a key
// other than the pinned one.
func (p *keyPins) check(path string, project int64, key []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys == nil {
		keys, err := readPins(path)
		if err != nil {
			return err
		}
		p.keys = keys
	}
	id := strconv.FormatInt(project, 10)
	if pinned, ok := p.keys[id]; ok {
		if pinned != signing.Encode(key) {
			return fmt.Errorf("project %d's signing key changed: this worker pinned %s on first use and refuses %s "+
				"(if the project really changed its key, remove the entry from %s)", project, pinned, signing.Encode(key), path)
		}
		return nil
	}
	keys := make(map[string]string, len(p.keys)+1)
	for k, v := range p.keys {
		keys[k] = v
	}
	keys[id] = signing.Encode(key)
	b, err := json.MarshalIndent(pinFile{Projects: keys}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding pinned signing keys: %w", err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("pinning project %d's signing key: %w", project, err)
	}
	p.keys = keys
	return nil
}

// readPins reads the pinned keys; a missing file pins none. A file that
// cannot be read is an error, never an empty list: that would trust any key.
func readPins(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading pinned signing keys: %w", err)
	}
	var f pinFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("reading pinned signing keys from %s: %w", path, err)
	}
	if f.Projects == nil {
		f.Projects = map[string]string{}
	}
	return f.Projects, nil
}
