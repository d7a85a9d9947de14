package api

import (
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// SignatureHeader carries an app version's signature on upload: the
// base64 ed25519 signature over the module's raw SHA-256.
const SignatureHeader = "Nightshift-Signature"

// SigningKeyRequest sets a project's signing key (operator only).
type SigningKeyRequest struct {
	PublicKey string `json:"public_key"` // base64 of the 32-byte ed25519 key
}

// SigningKey is a project's signing key as set.
type SigningKey struct {
	ProjectID int64  `json:"project_id"`
	PublicKey string `json:"public_key"`
}

// Estimates are what one unit of an app version costs to run. On upload
// they are the query parameters ops, memory_mib, disk_mib and
// deadline_seconds (positive integers); an absent one takes the default.
type Estimates struct {
	Ops             int64 `json:"ops"`
	MemoryMiB       int   `json:"memory_mib"`
	DiskMiB         int   `json:"disk_mib"`
	DeadlineSeconds int   `json:"deadline_seconds"`
}

// EstimatesOf is a version's estimates as the API shows them.
func EstimatesOf(e workunits.Estimates) Estimates {
	return Estimates{Ops: e.Ops, MemoryMiB: e.MemoryMiB, DiskMiB: e.DiskMiB, DeadlineSeconds: int(e.Deadline / time.Second)}
}

// App is one of a project's apps.
type App struct {
	Name     string `json:"name"`
	Versions int    `json:"versions"`
	// LatestVersion is what a job naming version 0 gets: the highest
	// version not deprecated, 0 if every version is.
	LatestVersion int       `json:"latest_version"`
	CreatedAt     time.Time `json:"created_at"`
}
