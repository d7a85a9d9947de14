package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/nightshift-platform/nightshift/coordinator/signing"
)

// runKeygen makes a project's signing key pair: the private key goes to a
// new file, readable by its owner only, to be kept offline; the public key
// is printed for the operator to set on the project.
func runKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coordinator keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write the private key (PKCS#8 PEM) to this new file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return errors.New("usage: coordinator keygen -out KEY.pem")
	}
	priv, err := signing.GenerateKey()
	if err != nil {
		return err
	}
	pemBytes, err := signing.MarshalPrivateKey(priv)
	if err != nil {
		return err
	}
	// O_EXCL: never overwrite a key, which would orphan every version
	// signed with it.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating the key file: %w", err)
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	fmt.Fprintln(stdout, signing.Encode(signing.PublicKey(priv)))
	fmt.Fprintf(stderr, "private key written to %s: keep it offline. The line above is the public key: "+
		"give it to the operator (PUT /api/v1/projects/{id}/signing-key).\n", *out)
	return nil
}

// runSign prints the signature of a module for its upload's
// Nightshift-Signature header: ed25519 over the module's raw SHA-256.
func runSign(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coordinator sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyPath := fs.String("key", "", "the private key file written by 'coordinator keygen' (or openssl genpkey -algorithm ed25519)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keyPath == "" || fs.NArg() != 1 {
		return errors.New("usage: coordinator sign -key KEY.pem APP.wasm")
	}
	pemBytes, err := os.ReadFile(*keyPath)
	if err != nil {
		return fmt.Errorf("reading the key: %w", err)
	}
	priv, err := signing.ParsePrivateKey(pemBytes)
	if err != nil {
		return fmt.Errorf("%s: %w", *keyPath, err)
	}
	module, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("reading the module: %w", err)
	}
	fmt.Fprintln(stdout, signing.Encode(signing.Sign(priv, module)))
	return nil
}
