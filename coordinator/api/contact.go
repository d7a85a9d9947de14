package api

import (
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// HostContactRequest is what a worker says at each contact: what it is
// doing and why.
type HostContactRequest struct {
	State        string `json:"state"`            // running, suspended or idle
	Reason       string `json:"reason,omitempty"` // e.g. user_active, on_battery
	Detail       string `json:"detail,omitempty"` // the reason for people
	TasksRunning int    `json:"tasks_running"`
	// OpsPerSecond is the host's benchmark, for credit; absent if unknown.
	OpsPerSecond *float64 `json:"ops_per_second,omitempty"`
}

// HostContactResponse carries the contributor's web preferences; the
// worker applies those its volunteer did not set on the PC.
type HostContactResponse struct {
	Preferences        workunits.WebPreferences `json:"preferences"`
	PreferencesVersion int64                    `json:"preferences_version"` // 0: never set
}

// ContributorPreferences are a contributor's web preferences; a PUT
// replaces them whole with a WebPreferences body.
type ContributorPreferences struct {
	Preferences workunits.WebPreferences `json:"preferences"`
	Version     int64                    `json:"version"`              // 0: never set
	UpdatedAt   *time.Time               `json:"updated_at,omitempty"` // absent if never set
}
