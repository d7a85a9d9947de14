package store

import (
	"context"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// SigningTx keeps projects' signing keys and lists and deprecates their
// app versions.
type SigningTx interface {
	// ProjectSigningKeySet sets the ed25519 public key that verifies the
	// project's app versions.
	ProjectSigningKeySet(ctx context.Context, projectID int64, key []byte) error
	// ProjectSigningKeyGet returns the project's public key, nil if none
	// is set.
	ProjectSigningKeyGet(ctx context.Context, projectID int64) ([]byte, error)

	// AppList returns the project's apps in name order.
	AppList(ctx context.Context, projectID int64) ([]AppSummary, error)
	// AppVersionList returns every version of a project's app in version
	// order; an app the project does not have is ENOTFOUND.
	AppVersionList(ctx context.Context, projectID int64, appName string) ([]workunits.AppVersion, error)
	// AppVersionDeprecate marks a version deprecated at now, unless it
	// already is (it keeps its first time), and returns it.
	AppVersionDeprecate(ctx context.Context, projectID int64, appName string, version int, now time.Time) (workunits.AppVersion, error)
}

// AppSummary is an app and where its versions stand.
type AppSummary struct {
	Name     string
	Versions int // how many, deprecated ones included
	// Latest is the highest version not deprecated, which jobs naming no
	// version get; 0 if every version is deprecated.
	Latest int
}
