package api

// PatchProjectRequest changes an operator's settings of a project; absent
// fields are left as they are.
type PatchProjectRequest struct {
	Share *int `json:"share,omitempty"` // fair-share weight, 1..1,000,000
}
