package signing

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	module := []byte("\x00asm\x01\x00\x00\x00 a module")
	sig := Sign(priv, module)
	flipped := bytes.Clone(sig)
	flipped[0] ^= 1
	tests := []struct {
		name    string
		pub     ed25519.PublicKey
		module  []byte
		sig     []byte
		wantErr string // "" for none
		badSig  bool   // errors.Is ErrBadSignature
	}{
		{"Valid", PublicKey(priv), module, sig, "", false},
		{"OtherModule", PublicKey(priv), append(bytes.Clone(module), 0), sig, "does not verify", true},
		{"OtherKey", PublicKey(other), module, sig, "does not verify", true},
		{"FlippedBit", PublicKey(priv), module, flipped, "does not verify", true},
		{"ShortSignature", PublicKey(priv), module, sig[:10], "signature is 10 bytes", true},
		{"NoSignature", PublicKey(priv), module, nil, "has no signature", false},
		{"ShortKey", PublicKey(priv)[:31], module, sig, "signing key is 31 bytes", false},
		{"NoKey", nil, module, sig, "signing key is 0 bytes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.pub, tt.module, tt.sig)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Verify = %v, want an error containing %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrBadSignature) != tt.badSig {
				t.Errorf("errors.Is(%v, ErrBadSignature) = %v, want %v", err, !tt.badSig, tt.badSig)
			}
		})
	}
}

func TestParse(t *testing.T) {
	priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub := Encode(PublicKey(priv))
	sig := Encode(Sign(priv, []byte("m")))
	tests := []struct {
		name  string
		parse func(string) error
		in    string
		ok    bool
	}{
		{"Key", func(s string) error { _, err := ParsePublicKey(s); return err }, pub, true},
		{"KeyNotBase64", func(s string) error { _, err := ParsePublicKey(s); return err }, "not base64!", false},
		{"KeyURLEncoding", func(s string) error { _, err := ParsePublicKey(s); return err }, strings.NewReplacer("+", "-", "/", "_").Replace(pub) + "-", false},
		{"KeyTooShort", func(s string) error { _, err := ParsePublicKey(s); return err }, Encode(make([]byte, 31)), false},
		{"KeyEmpty", func(s string) error { _, err := ParsePublicKey(s); return err }, "", false},
		{"Signature", func(s string) error { _, err := ParseSignature(s); return err }, sig, true},
		{"SignatureTooLong", func(s string) error { _, err := ParseSignature(s); return err }, Encode(make([]byte, 65)), false},
		{"SignatureNotBase64", func(s string) error { _, err := ParseSignature(s); return err }, "%%%", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.parse(tt.in); (err == nil) != tt.ok {
				t.Errorf("parse(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestPrivateKeyRoundTrip(t *testing.T) {
	priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(priv) {
		t.Errorf("ParsePrivateKey(MarshalPrivateKey(k)) is another key")
	}
	for name, in := range map[string][]byte{
		"Empty":     nil,
		"NotPEM":    []byte("hello"),
		"PublicKey": []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"),
	} {
		if _, err := ParsePrivateKey(in); err == nil {
			t.Errorf("ParsePrivateKey(%s) = nil error, want one", name)
		}
	}
}

// TestOpenSSLInterop checks that the openssl commands the documentation
// gives sign what Verify accepts, and that OpenSSL reads our PEM keys.
func TestOpenSSLInterop(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is not installed (apt-get install openssl): %v", err)
		}
		t.Skip("openssl is not installed")
	}
	dir := t.TempDir()
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(openssl, args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("openssl %s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
			}
			t.Fatalf("openssl %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	module := []byte("\x00asm\x01\x00\x00\x00 signed by openssl")
	if err := os.WriteFile(filepath.Join(dir, "app.wasm"), module, 0o600); err != nil {
		t.Fatal(err)
	}
	priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	// Our key, OpenSSL's signature, exactly as documented.
	cmd := exec.Command("sh", "-c", openssl+" dgst -sha256 -binary app.wasm > h && "+openssl+" pkeyutl -sign -inkey key.pem -rawin -in h | base64 -w0")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("signing with openssl: %v", err)
	}
	sig, err := ParseSignature(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("openssl's signature %q: %v", out, err)
	}
	if err := Verify(PublicKey(priv), module, sig); err != nil {
		t.Errorf("Verify(openssl's signature) = %v", err)
	}
	if !bytes.Equal(sig, Sign(priv, module)) {
		t.Errorf("openssl's signature differs from Sign's (ed25519 is deterministic)")
	}

	// OpenSSL's key, its public half as documented, read by us.
	run("genpkey", "-algorithm", "ed25519", "-out", "theirs.pem")
	der := run("pkey", "-in", "theirs.pem", "-pubout", "-outform", "DER")
	pub, err := ParsePublicKey(Encode(der[len(der)-ed25519.PublicKeySize:]))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := os.ReadFile(filepath.Join(dir, "theirs.pem"))
	if err != nil {
		t.Fatal(err)
	}
	theirPriv, err := ParsePrivateKey(theirs)
	if err != nil {
		t.Fatalf("reading an openssl key: %v", err)
	}
	if !PublicKey(theirPriv).Equal(pub) {
		t.Errorf("the public key openssl prints is not the one in its private key")
	}
	if err := Verify(pub, module, Sign(theirPriv, module)); err != nil {
		t.Errorf("Verify(Sign with openssl's key) = %v", err)
	}
}
