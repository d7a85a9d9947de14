package service

import (
	"bytes"
	"context"
	"fmt"
	"regexp"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// MaxModuleSize bounds an uploaded WebAssembly module.
const MaxModuleSize = 64 << 20

var appNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// wasmMagic is the preamble of every binary WebAssembly module, version 1.
var wasmMagic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// AppUpload is a new version of an app as a researcher uploads it.
type AppUpload struct {
	App       string
	Module    []byte
	Signature []byte              // ed25519 over the module's raw SHA-256, by the project's key
	Estimates workunits.Estimates // zero fields take workunits.DefaultEstimates
	Validator workunits.Validator // the zero one: bitwise
}

// UploadAppVersion stores up.Module as the next version of the project's
// app, once it compiles and its signature verifies against the project's
// signing key. The same module may be uploaded again as a new version; its
// bytes are stored once.
func (s *Service) UploadAppVersion(ctx context.Context, projectID int64, up AppUpload) (workunits.AppVersion, error) {
	appName, module := up.App, up.Module
	if !appNamePattern.MatchString(appName) {
		return workunits.AppVersion{}, workunits.Errorf(workunits.EINVALID,
			"app name %q must be 1–63 lowercase letters, digits, '-' or '_', starting with a letter or digit", appName)
	}
	if len(module) > MaxModuleSize {
		return workunits.AppVersion{}, workunits.Errorf(workunits.ETOOLARGE, "module is %d bytes, the limit is %d", len(module), MaxModuleSize)
	}
	est := up.Estimates.WithDefaults()
	if err := est.Validate(); err != nil {
		return workunits.AppVersion{}, err
	}
	if err := up.Validator.Validate(); err != nil {
		return workunits.AppVersion{}, err
	}
	if !bytes.HasPrefix(module, wasmMagic) {
		return workunits.AppVersion{}, workunits.Errorf(workunits.EINVALID, "upload is not a WebAssembly module (no \\0asm version 1 header)")
	}
	if err := s.checkModule(ctx, module); err != nil {
		return workunits.AppVersion{}, workunits.Errorf(workunits.EINVALID, "module does not compile: %v", err)
	}
	sha := workunits.Hash(module)
	var v workunits.AppVersion
	err := s.store.InTx(ctx, func(tx store.Tx) (err error) {
		// Read in the transaction, so an upload racing a key change is
		// checked against the key it is stored under.
		if err := checkSignature(ctx, tx, projectID, module, up.Signature); err != nil {
			return err
		}
		if err := tx.BlobPut(ctx, sha, module); err != nil {
			return err
		}
		v, err = tx.AppVersionInsert(ctx, store.AppVersionInsertParams{ProjectID: projectID, AppName: appName,
			ModuleSHA256: sha, Size: int64(len(module)), Now: s.now(), Signature: up.Signature, Estimates: est,
			Validator: up.Validator.WithDefaults()})
		return err
	})
	if err != nil {
		return v, fmt.Errorf("uploading app %q: %w", appName, err)
	}
	s.log.Info("app version registered", "project", projectID, "app", appName, "version", v.Version, "sha256", sha)
	return v, nil
}

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Module returns the bytes of a registered WebAssembly module for a host.
func (s *Service) Module(ctx context.Context, sha string) ([]byte, error) {
	if !sha256Pattern.MatchString(sha) {
		return nil, workunits.Errorf(workunits.EINVALID, "module id must be a lowercase hex SHA-256")
	}
	var data []byte
	err := s.store.InReadTx(ctx, func(tx store.Tx) error {
		// Only modules registered as app versions are served: blobs may
		// later hold researchers' private inputs.
		ok, err := tx.BlobReferenced(ctx, sha)
		if err != nil {
			return err
		}
		if !ok {
			return workunits.Errorf(workunits.ENOTFOUND, "module %s not found", sha)
		}
		data, err = tx.BlobGet(ctx, sha)
		return err
	})
	return data, err
}
