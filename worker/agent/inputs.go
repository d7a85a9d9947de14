package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// fetchInput puts a task's input range, when it has one, in its input
// file, checked against the range's SHA-256. A file already holding those
// bytes (a task resumed after a restart) is kept.
func (a *Agent) fetchInput(ctx context.Context, t api.Task, j Job) error {
	ref := t.InputRef
	if ref == nil {
		return nil
	}
	if sha, err := fileSHA256(j.inputPath()); err == nil && sha == ref.SHA256 {
		return nil
	}
	body, err := a.cfg.Client.BlobRange(ctx, *ref)
	if err != nil {
		return fmt.Errorf("downloading input: %w", err)
	}
	defer body.Close()
	tmp := j.inputPath() + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("keeping input: %w", err)
	}
	defer os.Remove(tmp) // a no-op once renamed
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(body, ref.Length+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("downloading input: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != ref.Length || got != ref.SHA256 {
		return fmt.Errorf("input hash mismatch: bytes %d+%d of blob %s came as %d bytes hashing to %s, want %s",
			ref.Offset, ref.Length, ref.Blob, n, got, ref.SHA256)
	}
	if err := os.Rename(tmp, j.inputPath()); err != nil {
		return fmt.Errorf("keeping input: %w", err)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
