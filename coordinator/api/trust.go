package api

import "time"

// HostStanding is a host's daily quota, invalid streak and block, and its
// trust in each app version it has results in, as an operator sees them.
type HostStanding struct {
	HostID        int64      `json:"host_id"`
	DailyQuota    int        `json:"daily_quota"`
	LeasedToday   int        `json:"leased_today"` // tasks leased since UTC midnight
	InvalidStreak int        `json:"invalid_streak"`
	Blocked       bool       `json:"blocked"`
	BlockedAt     *time.Time `json:"blocked_at,omitempty"`
	BlockedReason string     `json:"blocked_reason,omitempty"`
	// OpsPerSecond is the benchmark the host last sent (Whetstone
	// instructions per second); absent if it sent none.
	OpsPerSecond *float64          `json:"ops_per_second,omitempty"`
	AppVersions  []AppVersionTrust `json:"app_versions"`
}

// AppVersionTrust is what a host has shown with one app version.
type AppVersionTrust struct {
	AppVersionID      int64      `json:"app_version_id"`
	ConsecutiveValid  int        `json:"consecutive_valid"`
	ValidTotal        int        `json:"valid_total"`
	InvalidTotal      int        `json:"invalid_total"`
	SpotCheckFailures int        `json:"spot_check_failures"`
	LastVerifiedAt    *time.Time `json:"last_verified_at,omitempty"`
	// ReplicateProbability is the chance that the host's next result in an
	// adaptive job is checked against another host's.
	ReplicateProbability float64 `json:"replicate_probability"`
}

// ClawbackRequest names what an operator found: results since Since are
// reversed, for Reason.
type ClawbackRequest struct {
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`
}

// Clawback is what reversing a host's results did.
type Clawback struct {
	ID               int64      `json:"id"`
	HostID           int64      `json:"host_id"`
	Since            *time.Time `json:"since,omitempty"` // absent while an automatic one is pending
	Reason           string     `json:"reason"`
	RequestedAt      time.Time  `json:"requested_at"`
	DoneAt           *time.Time `json:"done_at,omitempty"` // absent while pending
	TasksInvalidated int        `json:"tasks_invalidated"`
	UnitsReopened    int        `json:"units_reopened"`
	UnitsFailed      int        `json:"units_failed"`
	AmountMicros     int64      `json:"amount_micros"` // rewards reversed
}

// ClawbackList is a host's clawbacks, newest first.
type ClawbackList struct {
	Clawbacks []Clawback `json:"clawbacks"`
}
