package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/signing"
)

func TestKeygenAndSign(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "key.pem")
	modulePath := filepath.Join(dir, "app.wasm")
	module := []byte("\x00asm\x01\x00\x00\x00 signed on the command line")
	if err := os.WriteFile(modulePath, module, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
		return strings.TrimSpace(stdout.String()), err
	}

	pubText, err := cmd("keygen", "-out", keyPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.ParsePublicKey(pubText)
	if err != nil {
		t.Fatalf("keygen printed %q: %v", pubText, err)
	}
	info, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %o, want 600", perm)
	}
	if _, err := cmd("keygen", "-out", keyPath); err == nil {
		t.Errorf("keygen over an existing key file succeeded, want it refused")
	}

	sigText, err := cmd("sign", "-key", keyPath, modulePath)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signing.ParseSignature(sigText)
	if err != nil {
		t.Fatalf("sign printed %q: %v", sigText, err)
	}
	if err := signing.Verify(pub, module, sig); err != nil {
		t.Errorf("the signature 'coordinator sign' printed does not verify against the key keygen printed: %v", err)
	}

	for name, args := range map[string][]string{
		"keygen without -out":  {"keygen"},
		"sign without a key":   {"sign", modulePath},
		"sign without module":  {"sign", "-key", keyPath},
		"sign with a bad key":  {"sign", "-key", modulePath, modulePath},
		"sign a missing file":  {"sign", "-key", keyPath, filepath.Join(dir, "missing.wasm")},
		"sign two files":       {"sign", "-key", keyPath, modulePath, modulePath},
		"keygen with argument": {"keygen", "-out", filepath.Join(dir, "k2.pem"), "extra"},
	} {
		if _, err := cmd(args...); err == nil {
			t.Errorf("%s: succeeded, want an error", name)
		}
	}

	// The openssl recipe in the documentation signs the same bytes.
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is not installed (apt-get install openssl): %v", err)
		}
		t.Skip("openssl is not installed")
	}
	sh := exec.Command("sh", "-c", openssl+" dgst -sha256 -binary app.wasm > h && "+openssl+" pkeyutl -sign -inkey key.pem -rawin -in h | base64 -w0")
	sh.Dir = dir
	out, err := sh.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != sigText {
		t.Errorf("openssl signs %q, coordinator sign %q; want the same (ed25519 is deterministic)", got, sigText)
	}
}
