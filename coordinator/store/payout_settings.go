package store

import (
	"context"
	"time"

	"github.com/nightshift-platform/nightshift/payouts"
)

// PayoutSettingsTx is the part of Tx behind contributors' payout
// settings: one row per contributor, replaced whole.
type PayoutSettingsTx interface {
	// PayoutSettingsGet returns a contributor's settings; a contributor
	// who never set any gets the zero settings (with ContributorID set
	// and UpdatedAt zero).
	PayoutSettingsGet(ctx context.Context, contributorID int64) (PayoutSettings, error)
	// PayoutSettingsPut replaces a contributor's settings with s, stamped
	// s.UpdatedAt. ENOTFOUND if there is no such contributor; the caller
	// has validated s (a method needs a destination and the other way
	// round; a threshold is 0 or positive).
	PayoutSettingsPut(ctx context.Context, s PayoutSettings) (PayoutSettings, error)
}

// PayoutSettings are how, where and from what balance a contributor is paid.
type PayoutSettings struct {
	ContributorID   int64
	ThresholdMicros int64          // 0: the run's threshold
	Method          payouts.Method // "": none, so no run pays the contributor
	Destination     string         // IBAN, email, …: personal data, never logged
	UpdatedAt       time.Time      // zero if never set
}
