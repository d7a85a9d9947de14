package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// Operator calls on projects.

// CreateProjectWith creates a project as req says: its first member if
// req.Admin is set, its signing key if req.SigningPublicKey is.
func (c *Client) CreateProjectWith(ctx context.Context, req api.CreateProjectRequest) (api.Project, error) {
	var p api.Project
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/projects", req, &p)
	return p, err
}

// Projects lists every project.
func (c *Client) Projects(ctx context.Context) ([]api.Project, error) {
	var out api.ProjectList
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/projects", nil, &out)
	return out.Projects, err
}

// ProjectByID returns any project, as the operator sees it.
func (c *Client) ProjectByID(ctx context.Context, projectID int64) (api.Project, error) {
	var p api.Project
	err := c.doJSON(ctx, http.MethodGet, fmt.Sprintf("/api/v1/projects/%d", projectID), nil, &p)
	return p, err
}

func (c *Client) UpdateProject(ctx context.Context, projectID int64, req api.UpdateProjectRequest) (api.Project, error) {
	var p api.Project
	err := c.doJSON(ctx, http.MethodPatch, fmt.Sprintf("/api/v1/projects/%d", projectID), req, &p)
	return p, err
}

// Project admin calls: the keys and members of the key's own project.

// APIKeys lists the project's keys, revoked ones too.
func (c *Client) APIKeys(ctx context.Context) ([]api.APIKey, error) {
	var out api.APIKeyList
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/project/keys", nil, &out)
	return out.Keys, err
}

// CreateAPIKey creates a key; the result's Key is the secret, returned
// this once.
func (c *Client) CreateAPIKey(ctx context.Context, req api.CreateAPIKeyRequest) (api.APIKey, error) {
	var k api.APIKey
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/project/keys", req, &k)
	return k, err
}

// RevokeAPIKey revokes a key: from then on it is refused with 401.
func (c *Client) RevokeAPIKey(ctx context.Context, keyID int64) error {
	return c.do(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/project/keys/%d", keyID), "", nil, nil)
}

// Members lists the project's members, removed ones too.
func (c *Client) Members(ctx context.Context) ([]api.Member, error) {
	var out api.MemberList
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/project/members", nil, &out)
	return out.Members, err
}

func (c *Client) AddMember(ctx context.Context, req api.CreateMemberRequest) (api.Member, error) {
	var m api.Member
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/project/members", req, &m)
	return m, err
}

// RemoveMember removes a member and revokes their keys.
func (c *Client) RemoveMember(ctx context.Context, memberID int64) error {
	return c.do(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/project/members/%d", memberID), "", nil, nil)
}
