package store

import (
	"context"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// HostContactTx is the part of Tx behind host contacts: the state each
// worker reports and the preferences a contributor sets on the web for
// their workers to pick up.
type HostContactTx interface {
	// ContributorPreferencesGet returns a contributor's web preferences;
	// one who never set any has the zero value (version 0).
	ContributorPreferencesGet(ctx context.Context, contributorID int64) (ContributorPreferences, error)
	// ContributorPreferencesPut replaces a contributor's web preferences
	// and returns them with their new version: one more than before (1 the
	// first time). An unknown contributor is a workunits.ENOTFOUND error.
	ContributorPreferencesPut(ctx context.Context, contributorID int64, prefs workunits.WebPreferences, now time.Time) (ContributorPreferences, error)
	// HostStateSet records the state a host reported, unless a state heard
	// later (by At) is already recorded. An unknown host is a
	// workunits.ENOTFOUND error.
	HostStateSet(ctx context.Context, hostID int64, state workunits.HostState) error
	// HostStateGetMany returns the last reported state of each given host;
	// a host that never reported one is left out.
	HostStateGetMany(ctx context.Context, hostIDs []int64) (map[int64]workunits.HostState, error)
}

// ContributorPreferences are a contributor's web preferences as stored.
type ContributorPreferences struct {
	ContributorID int64
	Preferences   workunits.WebPreferences
	Version       int64     // 0: never set
	UpdatedAt     time.Time // zero when never set
}
