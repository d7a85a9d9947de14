package api

import "time"

// ProjectAdmin names the member a new project's first key belongs to.
type ProjectAdmin struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// UpdateProjectRequest changes a project; absent fields stay as they are.
type UpdateProjectRequest struct {
	Name  *string `json:"name,omitempty"`
	Share *int    `json:"share,omitempty"` // fair-share weight, 1..1,000,000
	// Description replaces what the project says of its research; "" clears it.
	Description *string `json:"description,omitempty"`
}

// ProjectList is every project, for the operator.
type ProjectList struct {
	Projects []Project `json:"projects"`
}

// CreateAPIKeyRequest asks for a key for a member of the caller's project:
// the caller's own member unless member_id names another, with the
// member's role unless role names a lower one.
type CreateAPIKeyRequest struct {
	Name     string `json:"name"`
	Role     string `json:"role,omitempty"`
	MemberID int64  `json:"member_id,omitempty"`
}

// APIKey is a project key as listed. Key, the secret, is returned once,
// when the key is created; Prefix, its first 8 characters, tells keys apart.
type APIKey struct {
	ID        int64      `json:"id"`
	MemberID  int64      `json:"member_id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Prefix    string     `json:"prefix"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Key       string     `json:"key,omitempty"`
}

type APIKeyList struct {
	Keys []APIKey `json:"keys"`
}

// CreateMemberRequest adds a person to the caller's project.
type CreateMemberRequest struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
}

type Member struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Email     string     `json:"email,omitempty"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RemovedAt *time.Time `json:"removed_at,omitempty"`
}

type MemberList struct {
	Members []Member `json:"members"`
}
