// Package signing signs and verifies WebAssembly modules with ed25519, the
// way Nightshift expects them: a project holds an ed25519 key pair, keeps
// the private key offline and gives the coordinator the public key; each
// app version carries a signature over the 32 raw bytes of its module's
// SHA-256. The coordinator checks it on upload and every worker checks it
// again before running anything, so a coordinator (or a mirror) that
// serves altered code cannot make volunteers run it.
//
// The functions here are pure: no files, no network. Any ed25519 tool
// produces the same signatures, for instance OpenSSL 3:
//
//	openssl genpkey -algorithm ed25519 -out key.pem
//	openssl pkey -in key.pem -pubout -outform DER | tail -c 32 | base64 -w0   # public key
//	openssl dgst -sha256 -binary app.wasm > h
//	openssl pkeyutl -sign -inkey key.pem -rawin -in h | base64 -w0         # signature
package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
)

// ErrBadSignature means a signature does not verify against the key.
var ErrBadSignature = errors.New("module signature does not verify")

// Digest is what is signed: the raw SHA-256 of the module.
func Digest(module []byte) []byte {
	d := sha256.Sum256(module)
	return d[:]
}

// Sign signs module's digest.
func Sign(priv ed25519.PrivateKey, module []byte) []byte {
	return ed25519.Sign(priv, Digest(module))
}

// Verify checks sig over module's digest against pub.
func Verify(pub ed25519.PublicKey, module, sig []byte) error {
	return VerifyDigest(pub, Digest(module), sig)
}

// VerifyDigest checks sig over a module's SHA-256 digest against pub.
func VerifyDigest(pub ed25519.PublicKey, digest, sig []byte) error {
	switch {
	case len(pub) != ed25519.PublicKeySize:
		return fmt.Errorf("signing key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	case len(sig) == 0:
		return errors.New("module has no signature")
	case len(sig) != ed25519.SignatureSize:
		return fmt.Errorf("%w: signature is %d bytes, want %d", ErrBadSignature, len(sig), ed25519.SignatureSize)
	case !ed25519.Verify(pub, digest, sig):
		return ErrBadSignature
	}
	return nil
}

// Encode is the text form of keys and signatures: standard base64.
func Encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// ParsePublicKey reads a public key in its text form.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("an ed25519 public key is the standard base64 encoding of %d bytes", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// ParseSignature reads a signature in its text form.
func ParseSignature(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.SignatureSize {
		return nil, fmt.Errorf("an ed25519 signature is the standard base64 encoding of %d bytes", ed25519.SignatureSize)
	}
	return b, nil
}

// GenerateKey makes a new key pair from the system's randomness.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating an ed25519 key: %w", err)
	}
	return priv, nil
}

// PublicKey returns the public half of priv.
func PublicKey(priv ed25519.PrivateKey) ed25519.PublicKey {
	return priv.Public().(ed25519.PublicKey)
}

// MarshalPrivateKey encodes priv as a PKCS#8 PEM block, the form OpenSSL
// reads and writes.
func MarshalPrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey reads an ed25519 private key from a PKCS#8 PEM block.
func ParsePrivateKey(pemBytes []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PKCS#8 PEM block (-----BEGIN PRIVATE KEY-----) found")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the PKCS#8 private key: %w", err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private key is a %T, want ed25519", key)
	}
	return priv, nil
}
