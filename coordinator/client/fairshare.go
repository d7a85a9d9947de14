package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// CreateProjectWithShare creates a project with a fair-share weight
// (operator key).
func (c *Client) CreateProjectWithShare(ctx context.Context, name string, share int) (api.Project, error) {
	var p api.Project
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/projects", api.CreateProjectRequest{Name: name, Share: &share}, &p)
	return p, err
}

// SetProjectShare changes a project's fair-share weight (operator key).
func (c *Client) SetProjectShare(ctx context.Context, projectID int64, share int) (api.Project, error) {
	var p api.Project
	err := c.doJSON(ctx, http.MethodPatch, fmt.Sprintf("/api/v1/projects/%d", projectID), api.UpdateProjectRequest{Share: &share}, &p)
	return p, err
}
