package api

// SignatureHeader carries an app version's signature on upload: the
// base64 ed25519 signature over the module's raw SHA-256.
const SignatureHeader = "Nightshift-Signature"

// SigningKeyRequest sets a project's signing key (operator only).
type SigningKeyRequest struct {
	PublicKey string `json:"public_key"` // base64 of the 32-byte ed25519 key
}

// App is one of a project's apps.
type App struct {
	Name     string `json:"name"`
	Versions int    `json:"versions"`
	// LatestVersion is what a job naming version 0 gets: the highest
	// version not deprecated, 0 if every version is.
	LatestVersion int `json:"latest_version"`
}
