package service

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// ParseSigningKey reads a project's ed25519 public key in its text form
// (standard base64 of 32 bytes).
func ParseSigningKey(s string) (ed25519.PublicKey, error) {
	key, err := signing.ParsePublicKey(s)
	if err != nil {
		return nil, workunits.Errorf(workunits.EINVALID, "public_key: %v", err)
	}
	return key, nil
}

// SetProjectSigningKey sets the ed25519 public key that every new version
// of the project's apps must be signed with. Only the operator may: a
// leaked project key must not let anyone swap it. Workers pin the first
// key they see for a project and refuse another, so replacing a key in
// use stops those workers running the project's tasks.
func (s *Service) SetProjectSigningKey(ctx context.Context, projectID int64, key ed25519.PublicKey) (workunits.Project, error) {
	if len(key) != ed25519.PublicKeySize {
		return workunits.Project{}, workunits.Errorf(workunits.EINVALID, "public_key must be %d bytes", ed25519.PublicKeySize)
	}
	var p workunits.Project
	if err := s.store.InTx(ctx, func(tx store.Tx) (err error) {
		if err := tx.ProjectSigningKeySet(ctx, projectID, key); err != nil {
			return err
		}
		p, err = tx.ProjectGet(ctx, projectID)
		return err
	}); err != nil {
		return p, fmt.Errorf("setting the signing key of project %d: %w", projectID, err)
	}
	s.log.Info("project signing key set", "project", projectID, "key", signing.Encode(key))
	return p, nil
}

// checkSignature verifies an upload against the project's signing key.
func checkSignature(ctx context.Context, tx store.Tx, projectID int64, module, sig []byte) error {
	key, err := tx.ProjectSigningKeyGet(ctx, projectID)
	if err != nil {
		return err
	}
	if key == nil {
		return workunits.Errorf(workunits.ECONFLICT, "project %d has no signing key: the operator must set one "+
			"(PUT /api/v1/projects/%d/signing-key) before app versions can be uploaded", projectID, projectID)
	}
	if len(sig) == 0 {
		return workunits.Errorf(workunits.EINVALID, "the Nightshift-Signature header is required: "+
			"the base64 ed25519 signature over the module's raw SHA-256 (see 'coordinator sign')")
	}
	if err := signing.Verify(key, module, sig); err != nil {
		if errors.Is(err, signing.ErrBadSignature) {
			return workunits.Errorf(workunits.EINVALID, "Nightshift-Signature does not verify against project %d's signing key "+
				"(it must sign the module's raw SHA-256 with the private key of %s)", projectID, signing.Encode(key))
		}
		return workunits.Errorf(workunits.EINVALID, "Nightshift-Signature: %v", err)
	}
	return nil
}

// Apps lists the project's apps by name.
func (s *Service) Apps(ctx context.Context, projectID int64) ([]store.AppSummary, error) {
	var out []store.AppSummary
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		out, err = tx.AppList(ctx, projectID)
		return err
	})
	return out, err
}

// AppVersions lists every version of a project's app, oldest first.
func (s *Service) AppVersions(ctx context.Context, projectID int64, app string) ([]workunits.AppVersion, error) {
	var out []workunits.AppVersion
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		out, err = tx.AppVersionList(ctx, projectID, app)
		return err
	})
	return out, err
}

// AppVersion returns one version of a project's app.
func (s *Service) AppVersion(ctx context.Context, projectID int64, app string, version int) (workunits.AppVersion, error) {
	if version < 1 {
		return workunits.AppVersion{}, workunits.Errorf(workunits.EINVALID, "version must be a positive integer")
	}
	var v workunits.AppVersion
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		v, err = tx.AppVersionGet(ctx, projectID, app, version)
		return err
	})
	return v, err
}

// DeprecateAppVersion stops new jobs from using a version; jobs already
// running on it carry on. Deprecating it again changes nothing.
func (s *Service) DeprecateAppVersion(ctx context.Context, projectID int64, app string, version int) (workunits.AppVersion, error) {
	if version < 1 {
		return workunits.AppVersion{}, workunits.Errorf(workunits.EINVALID, "version must be a positive integer")
	}
	var v workunits.AppVersion
	err := s.store.InTx(ctx, func(tx store.Tx) (err error) {
		v, err = tx.AppVersionDeprecate(ctx, projectID, app, version, s.now())
		return err
	})
	if err != nil {
		return v, fmt.Errorf("deprecating version %d of app %q: %w", version, app, err)
	}
	s.log.Info("app version deprecated", "project", projectID, "app", app, "version", version)
	return v, nil
}
